"""Delivery's ports and plain values: what the use cases (service.py) ask of the store and of intake,
the desk's booking command, and the check of a sender/receiver every carrier needs."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from onestop_chassis.errors import FieldViolation, NotFound

from .carrier import Direction, Party
from .domain import Entry, Kind, Shipment, State

PARTY_FIELDS = ("name", "phone", "address_line", "commune_code", "province_code")
UNIT_CODE_DIGITS = re.compile(r"[0-9]{2,6}")


@dataclass(frozen=True)
class DossierFacts:
    """What delivery needs to know of a dossier at intake."""
    code: str
    agency_code: str            # the receiving agency (its desk returns the result)
    procedure_code: str
    return_by_post: bool        # the applicant chose postal return (Decision 45/2016 art. 5)
    postal_return_allowed: bool  # the procedure allows postal handling
    channel: int = 0             # common.v1.Channel the desk received it on (3: by post)
    status: int = 0              # common.v1.DossierStatus

    @property
    def handed_over(self) -> bool:
        """Status 10 (DOSSIER_STATUS_RESULT_RETURNED): the result reached the applicant."""
        return self.status == 10


class Intake(Protocol):
    def dossier(self, code: str) -> DossierFacts | None: ...
    def postal_allowed(self, procedure_code: str) -> bool | None: ...  # None: no such procedure


@dataclass(frozen=True)
class Loaded:
    shipment: Shipment
    log: tuple[Entry, ...]


@dataclass(frozen=True)
class Due:
    """An order still to place: its key in the due list (due_key), the shipment, and how many
    times the carrier was unavailable for it so far (the backoff's exponent, ordering.py)."""
    key: str
    shipment_id: str
    failures: int = 0


def due_key(at: dt.datetime, shipment_id: str) -> str:
    """`<UTC YYYY-MM-DDTHH:MM:SSZ>|<shipment id>`: keys sort by the time of their next try."""
    return f"{at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}|{shipment_id}"


def still_to_order(loaded: Loaded) -> bool:
    """Whether the carrier order of a shipment is still to place: created, no waybill, and no
    refusal of the carrier logged (a refused order is not asked again)."""
    s = loaded.shipment
    return (s.state is State.CREATED and not s.waybill
            and not any(e.kind is Kind.ORDER_REFUSED for e in loaded.log))


@dataclass(frozen=True)
class NewShipment:
    """The desk's booking (CreateShipment)."""
    direction: Direction
    dossier_code: str = ""
    procedure_code: str = ""
    applicant: Party | None = None
    weight_grams: int = 0
    cod_vnd: int = 0
    agency_pays: bool = False
    pickup_fees_vnd: int = 0  # INBOUND: the procedure's fees collected at the pickup (receipts.py)


class UnknownWaybill(NotFound):
    def __init__(self, waybill: str):
        super().__init__("WAYBILL_NOT_FOUND", f"no shipment has the waybill {waybill}", metadata={"waybill": waybill})


def check_party(party: Party | None, field: str) -> list[FieldViolation]:
    """The problems of a sender/receiver: every field required, unit codes as digits."""
    if party is None:
        return [FieldViolation(field, "is required")]
    v = [FieldViolation(f"{field}.{key}", "is required") for key in PARTY_FIELDS if not getattr(party, key).strip()]
    for key in ("commune_code", "province_code"):
        value = getattr(party, key).strip()
        if value and not UNIT_CODE_DIGITS.fullmatch(value):
            v.append(FieldViolation(f"{field}.{key}", "must be the administrative unit's code: 2 to 6 digits"))
    return v


class ShipmentStore(Protocol):
    """The log (`<shipment>|<seq>` documents, the unique insert being the concurrency control), the
    views by id, by agency (`<agency>|<created>|<id>`) and by waybill, the orders still to place,
    and the postal fee lines (`<agency>|<day>|<id>|<kind>`, totals.py: the store keeps one per
    PostalFeeRecorded event it writes), with the events of each entry in its outbox."""
    def create(self, shipment: Shipment, first: Entry, events: Sequence) -> bool: ...
    def repair(self, loaded: Loaded) -> None: ...  # the views and the due key the log implies (idempotent)
    def append(self, shipment: Shipment, entry: Entry, events: Sequence) -> bool: ...
    def load(self, shipment_id: str) -> Loaded | None: ...
    def latest(self, ref: str) -> Shipment | None: ...
    def page(self, agency_code: str, after: str, limit: int) -> list[tuple[str, Shipment]]: ...
    def by_waybill(self, waybill: str) -> str | None: ...
    def orders_due(self, now: dt.datetime, limit: int) -> list[Due]: ...  # next try ≤ now, earliest first
    def order_done(self, key: str) -> None: ...
    def order_later(self, due: Due, at: dt.datetime) -> None: ...  # next try at `at`, one more failure
    def fee_amounts(self, agency_code: str, first: str, last: str) -> list[tuple[str, int]]: ...
    def record_fees(self, events: Sequence) -> int: ...
    def claim(self, key: str, value: str) -> str: ...  # the value `key` holds: `value` if this call wrote it


def pickup_ref(agency: str, request_id: str) -> str:
    """A postal intake's reference, `BC` + 10 hex of SHA-256(agency|request_id): the same request is
    the same pickup, so its order number (`<ref>-N1`) is the same order at the carrier."""
    return "BC" + hashlib.sha256(f"{agency}|{request_id}".encode()).hexdigest()[:10].upper()
