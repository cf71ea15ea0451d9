"""Delivery's ports and plain values: what the use cases (service.py) ask of the store and of intake,
the desk's booking command, and the check of a sender/receiver every carrier needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from onestop_chassis.errors import FieldViolation, NotFound

from .carrier import Direction, Party
from .domain import Entry, Shipment

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


class Intake(Protocol):
    def dossier(self, code: str) -> DossierFacts | None: ...
    def postal_allowed(self, procedure_code: str) -> bool | None: ...  # None: no such procedure


@dataclass(frozen=True)
class Loaded:
    shipment: Shipment
    log: tuple[Entry, ...]


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
