"""Postal totals (issue 13 item 4): what the post charged and collected for an agency, each amount
counted once, and the periods they are summed over.

The rule (Decision 45/2016/QĐ-TTg art. 11: the procedure's fees may be paid to the public postal
operator; postal charges are the carrier's public tariff, fees.py):

- postage: once per parcel the post accepted, when it took the parcel (the shipment's first report
  past created: picked up, or anything later). An order cancelled before pickup costs nothing
  (cancelling is only allowed then); a rebooking is a new parcel, charged again when picked up.
  A parcel returned to sender adds nothing: the carrier port reports no return charge, and neither
  DOMAIN.md nor the peers name one; its postage stays counted.
- delivered: once per parcel delivered, with the procedure's fees collected on delivery (COD; 0 for
  postal intake, whose parcel goes to the desk). A parcel returned to sender collects no COD.
- pickup fees: postal intake, the procedure's fees the postal worker collected at the pickup.

Each amount is a line with a stable id `<agency>|<YYYY-MM-DD>|<shipment id>|<kind>` (the day is
Vietnam's day delivery recorded it, so a late carrier report never changes a day already reported).
The store keeps the lines by unique insert under that id and sums an `_id` range per period (two
writers never update one counter: FerretDB loses one of the updates); the same lines travel as
`PostalFeeRecorded` events, in the outbox of the log entry that makes them (written once), to the
reports projection. A repeated report is not logged; one out of order does not move the state: no
line either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from onestop.events.v1 import delivery_events_pb2 as ev
from onestop_chassis import events
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.worktime import VIETNAM

from . import receipts
from .carrier import Direction
from .domain import Entry, Shipment, State

POSTAGE, DELIVERED, PICKUP_FEES = "postage", "delivered", "pickup_fees"
MONTH = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])")
PERIOD = re.compile(r"(?P<year>20[0-9]{2})(?:-(?P<month>0[1-9]|1[0-2])|-Q(?P<quarter>[1-4]))?")


@dataclass(frozen=True)
class FeeLine:
    kind: str            # POSTAGE, DELIVERED or PICKUP_FEES
    amount_vnd: int
    day: str             # Vietnam's date it was recorded, "YYYY-MM-DD"
    receipt: str = ""    # the receipt given to the applicant for it, if the applicant paid it


def lines(before: Shipment, after: Shipment, entry: Entry) -> list[FeeLine]:
    """The amounts `entry` (turning `before` into `after`) adds to the totals (the module's rule)."""
    day = entry.at.astimezone(VIETNAM).date().isoformat()
    h, found = after.header, []
    paid_by_applicant = set(receipts.lines(after))
    if after.picked_up_at and not before.picked_up_at:
        found.append(FeeLine(POSTAGE, after.postal_charge, day,
                             entry.receipt if "postage" in paid_by_applicant else ""))
        if h.direction is Direction.INBOUND and h.fees.pickup_fees:
            found.append(FeeLine(PICKUP_FEES, h.fees.pickup_fees, day, entry.receipt))
    if after.state is State.DELIVERED and before.state is not State.DELIVERED:
        cod = h.fees.cod if h.direction is Direction.OUTBOUND else 0
        found.append(FeeLine(DELIVERED, cod, day, entry.receipt if cod else ""))
    return found


def fee_id(s: Shipment, line: FeeLine) -> str:
    return f"{s.agency_code}|{line.day}|{s.id}|{line.kind}"


def recorded(before: Shipment, after: Shipment, entry: Entry, ref: ev.ShipmentRef) -> list[ev.PostalFeeRecorded]:
    """The PostalFeeRecorded events of `entry` (the store keeps a line per event, by fee_id)."""
    found = []
    for line in lines(before, after, entry):
        message = ev.PostalFeeRecorded(header=events.new_header("delivery", entry.at), shipment=ref,
                                       fee_id=fee_id(after, line), kind=line.kind, amount_vnd=line.amount_vnd,
                                       day=line.day, payer=after.header.fees.payer, receipt_number=line.receipt)
        message.recorded_at.FromDatetime(entry.at)
        found.append(message)
    return found


def period_range(period: str, field: str = "period") -> tuple[str, str]:
    """The bounds of a period's days, as `_id` suffixes after `<agency>|`: "2026-11" →
    ("2026-11-", "2026-11-~"), "2026-Q4" → ("2026-10-", "2026-12-~"), "2026" → ("2026-", "2026-~").
    Raises InvalidArgument naming `field` for anything else."""
    m = PERIOD.fullmatch(period.strip())
    if not m:
        raise InvalidArgument.from_violations([FieldViolation(
            field, "must be a month 2026-11, a quarter 2026-Q4 or a year 2026")])
    year = m["year"]
    if m["month"]:
        return f"{year}-{m['month']}-", f"{year}-{m['month']}-~"
    if m["quarter"]:
        last = 3 * int(m["quarter"])
        return f"{year}-{last - 2:02d}-", f"{year}-{last:02d}-~"
    return f"{year}-", f"{year}-~"


def summed(amounts: list[tuple[str, int]]) -> dict[str, int]:
    """The totals of a period's lines ((kind, amount VND) pairs)."""
    def of(kind: str) -> list[int]:
        return [amount for k, amount in amounts if k == kind]
    return {"shipments": len(of(POSTAGE)), "postal_charge_vnd": sum(of(POSTAGE)), "delivered": len(of(DELIVERED)),
            "cod_vnd": sum(of(DELIVERED)), "pickup_fees_vnd": sum(of(PICKUP_FEES))}
