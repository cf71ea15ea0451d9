"""The carrier port: what delivery asks of a postal carrier, whoever the carrier is.

One protocol for every carrier (create, cancel, track, and reading a tracking webhook); the VNPost
adapter (`adapters/vnpost.py`) speaks the shape of VNPost's order API that the peers use. Amounts
are whole VND; weights are grams; times are UTC. Decision 45/2016/QĐ-TTg is the rule of postal
intake and return; the carrier only moves parcels.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class Direction(enum.Enum):
    OUTBOUND = "outbound"  # the result, from the agency's desk to the citizen's address
    INBOUND = "inbound"    # postal intake: the dossier, picked up at the citizen's address, to the desk


class CarrierStatus(enum.Enum):
    """What a carrier reports of a parcel (its own status codes map onto these in its adapter)."""
    ACCEPTED = "accepted"                  # order created, waybill issued, not yet picked up
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"      # a delivery attempt failed (nobody home, refused, ...)
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Party:
    """A sender or receiver. Commune and province are the national administrative unit codes
    (mã đơn vị hành chính, Decision 19/2025/QĐ-TTg), both required by every carrier."""
    name: str
    phone: str
    address_line: str
    commune_code: str
    province_code: str


@dataclass(frozen=True)
class CarrierOrder:
    """One order. `order_number` is the carrier's idempotency key: the dossier code, a direction
    letter and the shipment's booking number (`<dossier>-R1` outbound, `<dossier>-N1` inbound), so a
    retried create after a timeout finds the first order instead of making a second."""
    order_number: str
    customer_code: str      # the agency's contract with the carrier (mã khách hàng)
    direction: Direction
    sender: Party
    receiver: Party
    weight_grams: int
    cod_amount_vnd: int     # collected from the receiver on delivery (the procedure's fees); 0: none
    content: str            # what is inside, e.g. "Kết quả giải quyết TTHC hồ sơ <code>"


@dataclass(frozen=True)
class CarrierReceipt:
    """The carrier's answer to an order: its waybill (số hiệu bưu gửi) and its charge."""
    order_number: str
    waybill: str
    postal_charge_vnd: int


@dataclass(frozen=True)
class TrackingEvent:
    """One change of a parcel as the carrier reports it (by webhook or by `track`). `event_id` is
    the carrier's own id of the report, so a report delivered twice is recognised."""
    event_id: str
    waybill: str
    order_number: str
    status: CarrierStatus
    at: dt.datetime          # when it happened, UTC (may be earlier than a report already seen)
    note: str = ""           # e.g. the reason of a failed attempt, in the carrier's words


class CarrierUnavailable(Exception):
    """The carrier did not answer, timed out or answered 5xx: the call may be retried later."""


class CarrierRefused(Exception):
    """The carrier answered no for good (bad address, unknown waybill, ...): retrying will not help.
    `reason` is the carrier's, for the officer."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnknownParcel(CarrierRefused):
    """The carrier has no parcel with this waybill (e.g. its order was never placed there): nothing
    of it is live at the carrier."""


class BadSignature(Exception):
    """A webhook whose signature does not verify with the carrier's secret: ignored, never applied."""


class Carrier(Protocol):
    """A postal carrier. Every method may raise CarrierUnavailable; create/cancel/track may raise
    CarrierRefused."""

    name: str  # e.g. "vnpost"

    def create_order(self, order: CarrierOrder) -> CarrierReceipt:
        """Creates the order, or returns the existing one with the same `order_number`."""
        ...

    def cancel_order(self, waybill: str) -> None:
        """Cancels a parcel not yet picked up (again: nothing changes). Raises CarrierRefused once it
        has been picked up, UnknownParcel for a waybill the carrier does not know."""
        ...

    def track(self, waybill: str) -> list[TrackingEvent]:
        """Every report of the parcel so far, oldest first."""
        ...

    def read_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]:
        """The reports a tracking webhook carries. Raises BadSignature when the body's signature
        (computed with the carrier's webhook secret) does not match."""
        ...
