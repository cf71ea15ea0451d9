"""Rebooking and what the citizen sees (issue 13, the second review): a rebooking is refused while the
carrier keeps the parcel (so a parcel it then delivers reaches status 10 with its receipt and fee
line, and the post never holds two live orders), the desk rebooks a parcel returned to sender unless
the result was collected meanwhile, and a pickup reported after the delivery corrects the transit
time. Over the in-memory fakes of test_delivery_service."""

from __future__ import annotations

import dataclasses

import pytest
from test_delivery_service import CODE, NOW, OFFICER, UNIT, World

from onestop_chassis.errors import FailedPrecondition
from onestop_delivery.carrier import CarrierStatus
from onestop_delivery.domain import State


@pytest.fixture
def world():
    return World()


def _names(world, since=0):
    return [type(e).__name__ for e in world.store.events[since:]]


def test_a_rebooking_while_the_carrier_keeps_the_parcel_is_refused_and_its_delivery_counts(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.PICKED_UP, "e0", 0)
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "e1", 1)
    world.carrier.picked_up.add(s.waybill)  # the post has the parcel: it refuses the cancellation
    stored, events = {k: list(v) for k, v in world.store.logs.items()}, len(world.store.events)
    with pytest.raises(FailedPrecondition) as refused:
        world.service.rebook(s.id, None, OFFICER, "rb-1")
    assert refused.value.reason == "ALREADY_PICKED_UP"
    assert "wait for its return" in refused.value.message and "phát lại" in refused.value.message
    assert refused.value.metadata["waybill"] == s.waybill
    assert world.store.logs == stored and len(world.store.events) == events  # no second booking
    assert list(world.carrier.orders) == [s.id]  # one order at the post
    # the post redelivers the parcel it kept: it counts, with its receipt and fee line
    got, applied = world.report(s.waybill, CarrierStatus.DELIVERED, "e2", 60)
    assert applied and got.state is State.DELIVERED and got.rebooked_as == ""
    assert "ShipmentDelivered" in _names(world, events)
    assert world.store.logs[s.id][-1].receipt  # the COD receipt
    assert world.service.fee_totals(UNIT, "2026-11")["cod_vnd"] == 50000


def test_the_desk_rebooks_a_returned_parcel_unless_the_result_was_collected(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "e1", 1)
    returned, _ = world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "e2", 2)
    assert returned.state is State.RETURNED_TO_SENDER
    # collected at the desk meanwhile (status 10 at intake): nothing to send, nothing stored
    world.intake.dossiers[CODE] = dataclasses.replace(world.intake.dossiers[CODE], status=10)
    stored, events = {k: list(v) for k, v in world.store.logs.items()}, len(world.store.events)
    with pytest.raises(FailedPrecondition) as refused:
        world.service.rebook(s.id, None, OFFICER)
    assert refused.value.reason == "ALREADY_HANDED_OVER" and refused.value.metadata["shipment_id"] == s.id
    assert world.store.logs == stored and len(world.store.events) == events
    # booking it anew names the way: rebook the returned shipment
    with pytest.raises(FailedPrecondition) as exists:
        world.book()
    assert exists.value.reason == "RETURNED_TO_SENDER" and exists.value.metadata["shipment_id"] == s.id
    assert "RebookShipment" in exists.value.message and world.store.logs == stored
    # still at the desk (status 9): the desk books the parcel again, the next order number
    world.intake.dossiers[CODE] = dataclasses.replace(world.intake.dossiers[CODE], status=9)
    again = world.service.rebook(s.id, None, OFFICER, "rb-2")
    assert (again.id, again.state) == (f"{CODE}-R2", State.CREATED)
    assert world.service.get(s.id, "", OFFICER).shipment.rebooked_as == again.id
    assert _names(world, events) == ["ShipmentCreated", "ShipmentRebooked"]
    assert world.carrier.cancelled == []  # the returned order was closed by the post itself
    assert world.ordering.place_due().placed == 1 and sorted(world.carrier.orders) == [s.id, again.id]


def test_a_pickup_reported_after_the_delivery_corrects_the_transit_time(world):
    s = world.ordered()
    events = len(world.store.events)
    world.report(s.waybill, CarrierStatus.DELIVERED, "e3", 48 * 60)  # arrives first
    delivered = next(e for e in world.store.events[events:] if type(e).__name__ == "ShipmentDelivered")
    assert not delivered.HasField("picked_up_at")  # unknown, never "0 giờ"
    world.report(s.waybill, CarrierStatus.PICKED_UP, "e1", 0)  # the pickup, two days earlier, late
    shipment = world.service.get(s.id, "", OFFICER).shipment
    assert shipment.picked_up_at == NOW and shipment.state is State.DELIVERED
    world.report(s.waybill, CarrierStatus.IN_TRANSIT, "e2", 60)  # a later time never moves it back
    assert world.service.get(s.id, "", OFFICER).shipment.picked_up_at == NOW


def test_a_rebooking_with_a_request_id_used_for_another_action_leaves_the_live_order_alone(world):
    """The id is checked before the carrier is asked to cancel: a reused id is refused with the order
    still live at the post and nothing stored (found at the merge review, session 7)."""
    from onestop_chassis.errors import AlreadyExists
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "e1", 1)
    world.store.claim(f"{UNIT}|rb-used", "cancel something-else someone")
    stored, events = {k: list(v) for k, v in world.store.logs.items()}, len(world.store.events)
    with pytest.raises(AlreadyExists) as refused:
        world.service.rebook(s.id, None, OFFICER, "rb-used")
    assert refused.value.reason == "REQUEST_ID_REUSED"
    assert world.carrier.cancelled == []  # the live order was not cancelled at the post
    assert world.store.logs == stored and len(world.store.events) == events
