"""Delivery's domain: shipments of the public postal service (bưu chính công ích), Decision 45/2016/QĐ-TTg.

Plain Python: no database, no gRPC, no chassis. A shipment is its append-only log: the first entry
holds the header (`ShipmentHeader`), every later entry one change with its time and source, and
the shipment's state is the fold of the log (`fold`). The rules of the state machine:

- states: created → picked up → in transit → out for delivery → delivered; out for delivery →
  failed attempt (counted) → out for delivery again ... → returned to sender: the failed attempt
  that reaches `ShipmentHeader.max_attempts` (3 by default) moves the shipment there, whether or not
  the carrier reports the return; cancelled by the desk or the citizen before the parcel is picked
  up. Delivered, returned to sender and cancelled are final.
- a carrier report seen before (same carrier `event_id`) is not logged again and changes nothing:
  "repeated" means the same report, never the same stage (a second out-for-delivery after a failed
  attempt is a new report, and applied);
- a report older than the state (by its rank in the chain above, or by its time when of the same
  rank) is logged, marked not applied, and does not move the state back ("out of order");
- a report no state reaches from the current one (e.g. DELIVERED after RETURNED_TO_SENDER) is
  logged, not applied, with the reason.
- failed attempts are counted from the distinct FAILED_ATTEMPT reports (one per carrier event id),
  whatever their order: one that arrives after a newer out-for-delivery, or after the parcel was
  delivered, still counts (its entry is not applied: the state stays), up to `max_attempts`; the
  one that reaches `max_attempts` returns the parcel even when it arrives late.
- a shipment rebooked (superseded by its next booking) keeps logging its old parcel's reports, never
  applied: the old waybill never moves the shipment, nor, through its events, the dossier.
- rebooking (another attempt, a new booking: a new shipment, order number `<ref>-R<n+1>`): only of
  a parcel no carrier holds. After a failed attempt or a cancellation the service asks the carrier
  to cancel the old order first and refuses the rebooking when the carrier keeps the parcel (wait for
  the return, or ask the post to redeliver): the post never holds two live orders for one result.
  After a return to sender the parcel is back at the desk: the desk rebooks it (the applicant's new
  choice of postal return, Decision 45/2016 art. 5), unless the result was collected there meanwhile.
- the pickup time (`picked_up_at`) is the earliest time of any report past created: a pickup report
  that arrives after a later stage corrects it (even one not applied).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field, replace

from .carrier import CarrierStatus, Direction, Party

DEFAULT_MAX_ATTEMPTS = 3
# A shipment's id is its carrier order number: the dossier code (or, for a postal intake, the pickup
# reference), the direction letter and the booking number; code-like, so `_id` ranges serve it.
SHIPMENT_ID = re.compile(r"(?P<ref>[0-9A-Za-z.]+(?:-[0-9A-Za-z.]+)*)-(?P<dir>[RN])(?P<booking>[1-9][0-9]{0,2})")
PICKUP_REF = re.compile(r"BC[0-9A-F]{10}")


class State(enum.Enum):
    CREATED = "created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    FAILED_ATTEMPT = "failed_attempt"
    DELIVERED = "delivered"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"


FINAL = frozenset({State.DELIVERED, State.RETURNED_TO_SENDER, State.CANCELLED})
# How far along the chain a state is: a report of a lower rank than the state is out of order.
# A failed attempt and out-for-delivery share a rank (one follows the other, attempt after attempt).
RANK = {State.CREATED: 0, State.PICKED_UP: 1, State.IN_TRANSIT: 2, State.OUT_FOR_DELIVERY: 3,
        State.FAILED_ATTEMPT: 3, State.DELIVERED: 4, State.RETURNED_TO_SENDER: 4, State.CANCELLED: 4}
_FROM_CARRIER = {CarrierStatus.PICKED_UP: State.PICKED_UP, CarrierStatus.IN_TRANSIT: State.IN_TRANSIT,
                 CarrierStatus.OUT_FOR_DELIVERY: State.OUT_FOR_DELIVERY, CarrierStatus.DELIVERED: State.DELIVERED,
                 CarrierStatus.FAILED_ATTEMPT: State.FAILED_ATTEMPT,
                 CarrierStatus.RETURNED_TO_SENDER: State.RETURNED_TO_SENDER, CarrierStatus.CANCELLED: State.CANCELLED}


class Source(enum.Enum):
    """Where a change came from."""
    DESK = "desk"                      # an officer of the agency
    CITIZEN = "citizen"                # the applicant (a cancellation it asked for: by_citizen)
    CARRIER_WEBHOOK = "carrier_webhook"
    CARRIER_POLL = "carrier_poll"      # `Carrier.track`, or a report posted through gRPC
    SYSTEM = "system"                  # delivery itself (intake's result event, the order timer)


class Kind(enum.Enum):
    CREATED = "created"          # seq 1: the header
    ORDERED = "ordered"          # the carrier accepted the order: waybill and postal charge
    REPORT = "report"            # a carrier report (applied or not)
    CANCELLED = "cancelled"      # cancelled by the desk or the citizen
    REBOOKED = "rebooked"        # superseded by the next booking (its id in `note`)
    ORDER_REFUSED = "order_refused"  # the carrier refused the order for good (its reason in `note`)
    HANDED_OVER = "handed_over"  # inbound: the desk received the parcel as the dossier in `note`


@dataclass(frozen=True)
class Fees:
    """Money of one shipment, whole VND. `postal_charge` is the carrier's tariff (the agency's table,
    fees.py), `cod` the procedure's fees collected from the receiver on delivery (cash on delivery,
    Decision 45/2016 art. 11: fees may be paid to the public postal operator)."""
    postal_charge: int = 0
    cod: int = 0
    payer: str = "receiver"  # who pays the postal charge: "receiver" or "agency"
    # INBOUND: the procedure's fees the postal worker collects from the applicant at the pickup,
    # against a receipt (Decision 45/2016 art. 11; receipts.py)
    pickup_fees: int = 0


@dataclass(frozen=True)
class ShipmentHeader:
    """What a shipment is, fixed at creation."""
    id: str                    # = the carrier order number, e.g. "000.00.21.H17-261130-0001-R1"
    agency_code: str           # the agency whose desk sends or receives, e.g. "000.00.21.H17"
    ref: str                   # the dossier code (outbound) or the pickup reference (inbound)
    direction: Direction
    booking: int               # 1, 2, ... (rebookings)
    sender: Party
    receiver: Party
    weight_grams: int
    content: str
    fees: Fees
    procedure_code: str
    created_at: dt.datetime    # UTC
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


@dataclass(frozen=True)
class Entry:
    """One entry of a shipment's log. `at` is when delivery recorded it; `happened_at` when it
    happened by its source (a carrier's report time). `applied` is False for a report logged
    without moving the state (out of order, impossible), `note` says why."""
    seq: int
    kind: Kind
    source: Source
    at: dt.datetime
    happened_at: dt.datetime
    state: State | None = None       # the state a REPORT/CANCELLED entry asks for
    applied: bool = True
    event_id: str = ""               # the carrier's report id (REPORT)
    waybill: str = ""                # ORDERED
    postal_charge: int = 0           # ORDERED: the carrier's charge, VND
    note: str = ""
    actor: str = ""
    receipt: str = ""                # the number of the receipt (biên lai) of a collection (receipts.py)
    request_id: str = ""             # CREATED/CANCELLED/REBOOKED: the caller's id of the request (retries)


@dataclass(frozen=True)
class Shipment:
    """A shipment as its log folds up: header plus the current state."""
    header: ShipmentHeader
    state: State = State.CREATED
    state_at: dt.datetime | None = None   # when the state was reached, by its source's time
    attempts: int = 0                     # failed delivery attempts so far
    waybill: str = ""
    postal_charge: int = 0                # the carrier's charge once ordered (else the table's)
    seq: int = 1
    event_ids: frozenset[str] = field(default_factory=frozenset)
    rebooked_as: str = ""
    picked_up_at: dt.datetime | None = None  # when the parcel left its sender (the first report past created)
    dossier_code: str = ""  # inbound: the dossier the desk received from the parcel (HANDED_OVER)

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def agency_code(self) -> str:
        return self.header.agency_code

    @property
    def final(self) -> bool:
        return self.state in FINAL


class Refused(Exception):
    """A change the shipment's state does not allow. `reason` is an UPPER_SNAKE code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def shipment_id(ref: str, direction: Direction, booking: int) -> str:
    """The order number `<ref>-R<booking>` (outbound) or `<ref>-N<booking>` (inbound)."""
    return f"{ref}-{'R' if direction is Direction.OUTBOUND else 'N'}{booking}"


def start(header: ShipmentHeader, actor: str, source: Source) -> tuple[Shipment, Entry]:
    """A new shipment and its first log entry."""
    first = Entry(1, Kind.CREATED, source, header.created_at, header.created_at, State.CREATED, actor=actor)
    return Shipment(header, state_at=header.created_at, postal_charge=header.fees.postal_charge), first


def apply(shipment: Shipment, entry: Entry) -> Shipment:
    """The shipment after `entry` (which must be the next seq). Entries not applied only count."""
    s = replace(shipment, seq=entry.seq)
    if entry.event_id:
        s = replace(s, event_ids=s.event_ids | {entry.event_id})
    if entry.kind is Kind.ORDERED:
        return replace(s, waybill=entry.waybill, postal_charge=entry.postal_charge or s.postal_charge)
    if entry.kind is Kind.REBOOKED:
        return replace(s, rebooked_as=entry.note)
    if entry.kind is Kind.HANDED_OVER:
        return replace(s, dossier_code=entry.note)
    if entry.waybill and not s.waybill:
        s = replace(s, waybill=entry.waybill)
    attempts = s.attempts + (entry.kind is Kind.REPORT and counts_attempt(s, entry.state))
    if _dates_pickup(s, entry):
        # the parcel left its sender no later than this report: the earliest such time (a late
        # PICKED_UP after DELIVERED corrects it, though not applied)
        s = replace(s, picked_up_at=min(s.picked_up_at or entry.happened_at, entry.happened_at))
    if not entry.applied or entry.state is None:
        return replace(s, attempts=attempts)  # a late failed attempt still counts
    state = entry.state
    if state is State.FAILED_ATTEMPT and attempts >= s.header.max_attempts:
        state = State.RETURNED_TO_SENDER  # the last allowed attempt failed: the parcel goes back
    return replace(s, state=state, state_at=entry.happened_at, attempts=attempts)


def _dates_pickup(s: Shipment, entry: Entry) -> bool:
    """Whether `entry` is a carrier report past created whose time bounds the pickup: an applied one,
    or one not applied (out of order) of a live booking that was picked up already (a report never
    makes a cancelled or superseded booking picked up: no postage, no handover record)."""
    if entry.kind is not Kind.REPORT or entry.state is None or RANK[entry.state] == 0 \
            or entry.state is State.CANCELLED:
        return False
    return entry.applied or (s.picked_up_at is not None and not s.rebooked_as)


def fold(header: ShipmentHeader, entries: list[Entry]) -> Shipment:
    """The shipment its log describes (entries in seq order, the CREATED entry first)."""
    shipment = Shipment(header, state_at=header.created_at, postal_charge=header.fees.postal_charge)
    for entry in entries[1:]:
        shipment = apply(shipment, entry)
    return shipment


def report_entry(s: Shipment, status: CarrierStatus, event_id: str, happened_at: dt.datetime,
                 source: Source, at: dt.datetime, note: str = "", waybill: str = "") -> Entry | None:
    """The log entry of a carrier report, or None when the report was seen before (its event_id):
    a repeat changes nothing and is not logged again. See the module's rules for what is applied.
    `waybill`: the carrier's, learnt from a report naming the order when the order's answer was lost."""
    if event_id and event_id in s.event_ids:
        return None
    target = State.CREATED if status is CarrierStatus.ACCEPTED else _FROM_CARRIER[status]
    base = Entry(s.seq + 1, Kind.REPORT, source, at, happened_at, target, event_id=event_id, note=note,
                 waybill="" if s.waybill else waybill)
    if s.rebooked_as:  # the old parcel of a rebooked shipment: its log only
        why = f"superseded: rebooked as {s.rebooked_as}, this waybill's reports change nothing"
        return replace(base, applied=False, note=f"{why}; {note}" if note else why)
    counted = counts_attempt(s, target)
    last = counted and s.attempts + 1 >= s.header.max_attempts and not s.final
    why = "" if last else _not_applied(s, target, happened_at)
    if why:
        if counted:
            why += f"; counted as failed attempt {s.attempts + 1}"
        return replace(base, applied=False, note=f"{why}; {note}" if note else why)
    if last:
        # The last allowed attempt failed: the carrier returns the parcel; the log says so.
        return replace(base, note=(note + "; " if note else "") + f"lần phát thứ {s.attempts + 1} "
                       f"(tối đa {s.header.max_attempts}) không thành công")
    return base


def _not_applied(s: Shipment, target: State, happened_at: dt.datetime) -> str:
    """Why a report to `target` does not move the state; "" when it does."""
    if s.final:
        return f"out of order: the shipment is already {s.state.value}"
    if RANK[target] < RANK[s.state]:
        return f"out of order: {target.value} is behind {s.state.value}"
    if s.state_at and happened_at < s.state_at and RANK[target] == RANK[s.state]:
        return f"out of order: older than the {s.state.value} report"
    if target is State.CANCELLED and s.state is not State.CREATED:
        return "not applied: a parcel already picked up is not cancelled"
    if target is State.CREATED:
        return "not applied: the carrier accepted the order (already created)"
    return ""


def counts_attempt(s: Shipment, target: State | None) -> bool:
    """Whether a report to `target` is one more failed attempt of `s`: a FAILED_ATTEMPT report (each
    is logged once, by its event id) of a booking still live (not rebooked, not cancelled), while
    fewer than `max_attempts` are counted."""
    return (target is State.FAILED_ATTEMPT and not s.rebooked_as and s.state is not State.CANCELLED
            and s.attempts < s.header.max_attempts)


def cancel_entry(s: Shipment, source: Source, actor: str, at: dt.datetime, reason: str) -> Entry:
    """Cancels a shipment not yet picked up. Raises Refused: SHIPMENT_FINAL once it is delivered,
    returned or cancelled, ALREADY_PICKED_UP once the carrier has it."""
    if s.final:
        raise Refused("SHIPMENT_FINAL", f"shipment {s.id} is already {s.state.value}")
    if s.state is not State.CREATED:
        raise Refused("ALREADY_PICKED_UP", f"shipment {s.id} is {s.state.value}: the carrier has it")
    return Entry(s.seq + 1, Kind.CANCELLED, source, at, at, State.CANCELLED, actor=actor, note=reason)


def check_rebooking(s: Shipment) -> None:
    """Raises Refused unless `s` may be booked again (after a failed attempt, a cancellation or a
    return to sender; the service then checks the carrier and intake): ALREADY_DELIVERED,
    ALREADY_REBOOKED, NOT_REBOOKABLE (the parcel is on its way)."""
    if s.rebooked_as:
        raise Refused("ALREADY_REBOOKED", f"shipment {s.id} was rebooked as {s.rebooked_as}")
    if s.state is State.DELIVERED:
        raise Refused("ALREADY_DELIVERED", f"shipment {s.id} was delivered")
    if s.state not in (State.FAILED_ATTEMPT, State.CANCELLED, State.RETURNED_TO_SENDER):
        raise Refused("NOT_REBOOKABLE", f"shipment {s.id} is {s.state.value}: it can be rebooked after a "
                      "failed attempt, a cancellation or a return to sender")


def rebooked(s: Shipment, receiver: Party | None, at: dt.datetime) -> ShipmentHeader:
    """The header of the next booking of `s` (check_rebooking first): same parcel, a new order
    number, the new receiver address if given."""
    h = s.header
    booking = h.booking + 1
    return replace(h, id=shipment_id(h.ref, h.direction, booking), booking=booking,
                   receiver=receiver or h.receiver, created_at=at)
