"""Delivery and its carrier (issue 13, the reviewer's faults): cancelling and rebooking close the order
at the carrier, reports of a superseded booking change nothing, request ids on the mutating RPCs, and
the webhook's answers (400 malformed, 401 bad signature, 503 a report to resend). Over the in-memory
fakes of test_delivery_service (store, intake, carrier)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from test_delivery_service import CARRIER, CITIZEN, CODE, NOW, OFFICER, UNIT, World

from onestop_chassis import auth
from onestop_chassis.errors import AlreadyExists, FailedPrecondition, InvalidArgument, Unavailable
from onestop_delivery.carrier import CarrierStatus, Direction, Party, TrackingEvent
from onestop_delivery.domain import Source, State
from onestop_delivery.service import NewShipment, pickup_ref

OTHER = f"{UNIT}-261117-0007"


@pytest.fixture
def world():
    w = World()
    w.intake.dossiers[OTHER] = dataclasses.replace(w.intake.dossiers[CODE], code=OTHER)
    return w


def _log(world, shipment_id):
    return list(world.store.logs[shipment_id])


def _names(world):
    return [type(e).__name__ for e in world.store.events]


def test_cancelling_cancels_the_order_at_the_carrier_and_again_changes_nothing(world):
    s = world.ordered()
    cancelled = world.service.cancel(s.id, "đổi ý", True, OFFICER)
    assert cancelled.state is State.CANCELLED and world.carrier.cancelled == [s.waybill]
    logged = _log(world, s.id)
    assert world.service.cancel(s.id, "", False, OFFICER).state is State.CANCELLED  # idempotent
    assert _log(world, s.id) == logged
    # rebooked after the cancellation: one live order at the carrier, the new one
    second = world.service.rebook(s.id, None, OFFICER)
    world.ordering.place_due()
    live = [n for n, r in world.carrier.orders.items() if r.waybill not in world.carrier.cancelled]
    assert live == [second.id]


def test_a_carrier_that_refuses_or_cannot_be_reached_leaves_the_shipment_as_it_was(world):
    s = world.ordered()
    logged, events = _log(world, s.id), len(world.store.events)
    world.carrier.picked_up.add(s.waybill)  # the carrier has it; its report has not arrived yet
    with pytest.raises(FailedPrecondition) as refused:
        world.service.cancel(s.id, "", False, OFFICER)
    assert refused.value.reason == "ALREADY_PICKED_UP" and "đã được thu gom" in refused.value.message
    world.carrier.picked_up.clear()
    world.carrier.cancel_down = True
    with pytest.raises(Unavailable) as down:
        world.service.cancel(s.id, "", False, OFFICER)
    assert down.value.reason == "CARRIER_UNAVAILABLE"
    assert _log(world, s.id) == logged and len(world.store.events) == events and world.carrier.cancelled == []
    assert world.service.get(s.id, "", OFFICER).shipment.state is State.CREATED
    world.carrier.cancel_down, world.carrier.forgotten = False, {s.waybill}  # e.g. a carrier that lost it
    assert world.service.cancel(s.id, "", False, OFFICER).state is State.CANCELLED  # nothing live there


def test_a_cancellation_while_the_order_is_on_its_way_cancels_the_order_too(world):
    s = world.book()
    create = world.carrier.create_order

    def desk_cancels_meanwhile(order):
        receipt = create(order)
        world.service.cancel(s.id, "", False, OFFICER)  # no waybill yet: nothing to cancel at the carrier
        return receipt
    world.carrier.create_order = desk_cancels_meanwhile
    assert world.ordering.place_due().placed == 1
    after = world.service.get(s.id, "", OFFICER).shipment
    assert after.state is State.CANCELLED and world.carrier.cancelled == [after.waybill] != [""]


def test_rebooking_closes_the_old_order_and_its_later_reports_change_nothing(world):
    s = world.ordered()  # max_delivery_attempts: 2
    world.report(s.waybill, CarrierStatus.OUT_FOR_DELIVERY, "a1", 10)
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "a2", 20)
    world.carrier.picked_up.add(s.waybill)  # the carrier keeps the parcel: it cannot be cancelled
    world.carrier.cancel_down = True
    stored = {k: list(v) for k, v in world.store.logs.items()}
    with pytest.raises(Unavailable):
        world.service.rebook(s.id, None, OFFICER)
    assert world.store.logs == stored  # nothing booked while the carrier cannot be asked
    world.carrier.cancel_down = False
    with pytest.raises(FailedPrecondition) as kept:  # nothing booked while the carrier keeps the parcel
        world.service.rebook(s.id, None, OFFICER)
    assert kept.value.reason == "ALREADY_PICKED_UP" and world.store.logs == stored
    world.carrier.picked_up.clear()  # the post agrees to close the order (the parcel waits at its office)
    second = world.service.rebook(s.id, None, OFFICER)
    events = len(world.store.events)
    for event_id, status, minutes in (("a3", CarrierStatus.OUT_FOR_DELIVERY, 30),
                                      ("a4", CarrierStatus.FAILED_ATTEMPT, 40),
                                      ("a5", CarrierStatus.RETURNED_TO_SENDER, 50)):
        old, applied = world.report(s.waybill, status, event_id, minutes)
        assert not applied and (old.state, old.attempts) == (State.FAILED_ATTEMPT, 1)
    notes = [e.note for e in _log(world, s.id)[-3:]]
    assert all(n.startswith(f"superseded: rebooked as {second.id}") for n in notes)
    assert len(world.store.events) == events  # no event: intake and the lookup never hear of them
    assert world.service.get("", CODE, OFFICER).shipment.id == second.id


def test_a_failed_attempt_reported_after_delivery_counts_and_tells_intake_nothing_twice(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.OUT_FOR_DELIVERY, "d1", 10)
    world.report(s.waybill, CarrierStatus.OUT_FOR_DELIVERY, "d3", 30)  # second round: not a "repeat"
    assert world.service.get(s.id, "", OFFICER).log[-1].applied
    world.report(s.waybill, CarrierStatus.DELIVERED, "d4", 40)
    late, applied = world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "d2", 20)
    assert not applied and (late.state, late.attempts) == (State.DELIVERED, 1)
    assert _names(world).count("ShipmentDelivered") == 1


def test_create_shipment_with_a_request_id_answers_a_retry_with_the_same_shipment(world):
    def book(code=CODE, request_id="r-1", actor=OFFICER, **kw):
        return world.service.create_shipment(NewShipment(Direction.OUTBOUND, dossier_code=code, applicant=CITIZEN,
                                                         **kw), actor, request_id)
    first = book()
    assert book() == first and len(world.store.logs) == 1 and _names(world) == ["ShipmentCreated"]
    with pytest.raises(FailedPrecondition) as exists:
        book(request_id="")
    assert exists.value.reason == "SHIPMENT_EXISTS"
    other_officer = auth.Principal("officer-2", frozenset({auth.DESK_OFFICER}), UNIT)
    for call in (lambda: book(weight_grams=900), lambda: book(OTHER), lambda: book(actor=other_officer)):
        with pytest.raises(AlreadyExists) as reused:
            call()
        assert reused.value.reason == "REQUEST_ID_REUSED"
    assert list(world.store.logs) == [first.id]


def test_a_postal_intake_pickup_retried_is_one_pickup_and_one_order(world):
    def pickup(request_id, applicant=CITIZEN):
        return world.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                         applicant=applicant), OFFICER, request_id)
    with pytest.raises(InvalidArgument) as missing:
        pickup("")
    assert [v.field for v in missing.value.violations] == ["request_id"] and world.store.logs == {}
    first = pickup("pickup-7")
    world.ordering.place_due()
    again = pickup("pickup-7")
    world.ordering.place_due()
    assert again.id == first.id == f"{pickup_ref(UNIT, 'pickup-7')}-N1" and list(world.store.logs) == [first.id]
    assert list(world.carrier.orders) == [first.id] and world.carrier.calls == [first.id]
    assert pickup("pickup-8").id != first.id
    with pytest.raises(AlreadyExists):
        pickup("pickup-7", Party("Trần Thị Bình", CITIZEN.phone, CITIZEN.address_line, "20200", "48"))


def test_cancel_and_rebook_with_a_request_id_answer_a_retry_as_the_first_try(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "b1", 10)
    second = world.service.rebook(s.id, None, OFFICER, "rb-1")
    assert world.service.rebook(s.id, None, OFFICER, "rb-1").id == second.id  # not ALREADY_REBOOKED
    with pytest.raises(FailedPrecondition) as twice:
        world.service.rebook(s.id, None, OFFICER, "rb-2")
    assert twice.value.reason == "ALREADY_REBOOKED"
    moved = Party(CITIZEN.name, CITIZEN.phone, "99 Trần Phú", "20194", "48")
    with pytest.raises(AlreadyExists):
        world.service.rebook(s.id, moved, OFFICER, "rb-1")
    with pytest.raises(AlreadyExists):
        world.service.cancel(second.id, "", False, OFFICER, "rb-1")  # the id of another action
    world.service.cancel(second.id, "", False, OFFICER, "c-1")
    logged = _log(world, second.id)
    assert world.service.cancel(second.id, "", False, OFFICER, "c-1").state is State.CANCELLED
    assert _log(world, second.id) == logged


def _body(*reports) -> bytes:
    return json.dumps([{"event_id": e, "waybill": w, "status": st, "at": (NOW + dt.timedelta(minutes=m)).isoformat()}
                       for e, w, st, m in reports]).encode()


def test_the_webhook_answers_400_to_a_malformed_signed_body_401_to_a_bad_signature_503_to_a_lost_race(world):
    s = world.ordered()
    logged = _log(world, s.id)
    malformed = world.ordering.webhook(b'{"events": "not a list"', {"X-Signature": "s3cret"})
    assert (malformed.status, malformed.applied) == (400, 0) and malformed.error
    assert world.ordering.webhook(_body(("w0", s.waybill, "picked_up", 5)), {"X-Signature": "x"}).status == 401
    assert _log(world, s.id) == logged
    world.store.lose_next = 10  # every append loses its race: CONCURRENT_CHANGE
    body = _body(("w1", s.waybill, "picked_up", 5), ("w2", s.waybill, "in_transit", 9))
    lost = world.ordering.webhook(body, {"X-Signature": "s3cret"})
    assert lost.status == 503 and _log(world, s.id) == logged  # the carrier sends it again
    world.store.lose_next = 0
    resent = world.ordering.webhook(body, {"X-Signature": "s3cret"})
    assert (resent.status, resent.applied) == (200, 2)
    assert world.service.get(s.id, "", OFFICER).shipment.state is State.IN_TRANSIT


def test_a_report_on_the_grpc_path_of_a_rebooked_shipment_is_logged_by_order_number_too(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "g1", 10)
    world.service.rebook(s.id, None, OFFICER)
    event = TrackingEvent("g2", "", s.id, CarrierStatus.RETURNED_TO_SENDER, NOW + dt.timedelta(minutes=30))
    old, applied = world.service.record_report("", event, Source.CARRIER_POLL, CARRIER)
    assert not applied and old.state is State.FAILED_ATTEMPT
    assert "ShipmentReturnedToSender" not in _names(world)
