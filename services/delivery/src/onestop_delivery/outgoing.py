"""The events of a shipment's log entries (onestop.events.v1 delivery_events), written with the entry
through the transactional outbox and published by delivery's relay."""

from __future__ import annotations

from google.protobuf.message import Message

from onestop.events.v1 import delivery_events_pb2 as ev
from onestop_chassis import events

from . import handover, receipts, totals
from .carrier import Direction
from .domain import Entry, Kind, Shipment, State

PRODUCER = "delivery"


def ref(s: Shipment) -> ev.ShipmentRef:
    return ev.ShipmentRef(shipment_id=s.id, ref=s.header.ref, agency_code=s.agency_code,
                          direction=1 if s.header.direction is Direction.OUTBOUND else 2, waybill=s.waybill)


def created(s: Shipment) -> list[Message]:
    return [ev.ShipmentCreated(header=events.new_header(PRODUCER, s.header.created_at), shipment=ref(s),
                               postal_charge_vnd=s.header.fees.postal_charge, cod_vnd=s.header.fees.cod)]


def after(before: Shipment, s: Shipment, entry: Entry) -> list[Message]:
    """The events of `entry`, which turned `before` into `s`, and the handover records it completes
    (an outbound parcel leaving the desk, then reaching the applicant: handover.py)."""
    records: list[Message] = []
    if s.header.direction is Direction.OUTBOUND and s.picked_up_at and not before.picked_up_at:
        records.append(handover.form_issued(s, handover.Record.AGENCY_TO_POST, s.picked_up_at, ""))
    if s.header.direction is Direction.OUTBOUND and s.state is State.DELIVERED and before.state is not State.DELIVERED:
        records.append(handover.form_issued(s, handover.Record.POST_TO_APPLICANT, entry.happened_at, ""))
    if s.header.direction is Direction.OUTBOUND and entry.receipt:  # COD collected on delivery
        records.append(receipts.form_issued(s, entry.happened_at))
    if entry.kind is Kind.HANDED_OVER:  # postal intake reached the desk: filed under the new dossier
        records += _pickup_records(s)
        records.append(handover.form_issued(s, handover.Record.POST_TO_AGENCY, entry.happened_at, ""))
    return _state_events(before, s, entry) + totals.recorded(before, s, entry, ref(s)) + records


def _pickup_records(s: Shipment) -> list[Message]:
    """Postal intake: the pickup's record applicant → post and its receipt, dated at the pickup,
    filed once the dossier exists (HandOverPickup)."""
    at = s.picked_up_at or s.state_at or s.header.created_at
    found: list[Message] = [handover.form_issued(s, handover.Record.APPLICANT_TO_POST, at, "")]
    if receipts.lines(s):
        found.append(receipts.form_issued(s, at))
    return found


def _state_events(before: Shipment, s: Shipment, entry: Entry) -> list[Message]:
    header = events.new_header(PRODUCER, entry.at)
    if entry.kind is Kind.ORDERED:
        return [ev.ShipmentOrdered(header=header, shipment=ref(s), postal_charge_vnd=s.postal_charge)]
    if entry.kind is Kind.REBOOKED:
        return [ev.ShipmentRebooked(header=header, shipment=ref(s), next_shipment_id=s.rebooked_as)]
    if s.state is before.state and (s.attempts == before.attempts or s.final):
        return []  # logged, not applied (a late failed attempt counted on a final shipment: no event)
    if s.state is State.CANCELLED:
        return [ev.ShipmentCancelled(header=header, shipment=ref(s), reason=entry.note)]
    if s.state is State.DELIVERED:
        message = ev.ShipmentDelivered(header=header, shipment=ref(s))
        message.delivered_at.FromDatetime(entry.happened_at)
        if s.picked_up_at and s.picked_up_at < entry.happened_at:
            # unset when no earlier report dated the pickup (DELIVERED came first): intake then shows
            # no transit time rather than "0 giờ"; a late PICKED_UP corrects the shipment's view only
            message.picked_up_at.FromDatetime(s.picked_up_at)
        return [message]
    progressed = ev.ShipmentProgressed(header=header, shipment=ref(s), state=(entry.state or s.state).value,
                                       failed_attempts=s.attempts, note=entry.note)
    progressed.happened_at.FromDatetime(entry.happened_at)
    if s.state is State.RETURNED_TO_SENDER:
        returned = ev.ShipmentReturnedToSender(header=events.new_header(PRODUCER, entry.at), shipment=ref(s),
                                               failed_attempts=s.attempts)
        returned.returned_at.FromDatetime(entry.happened_at)
        return [progressed, returned] if entry.state is State.FAILED_ATTEMPT else [returned]
    return [progressed]
