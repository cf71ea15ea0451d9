"""Delivery's store and order timer under the faults a review proved (issue 13): a write after the
booking's log entry lost (a retry, a redelivered event or a read by dossier repairs it), one order
the carrier keeps failing (the others are ordered in the same pass; a carrier down as a whole ends
it), and a refused request that must leave its request_id free for the corrected one."""

from __future__ import annotations

import datetime as dt

import pytest
from test_delivery_service import CITIZEN, CODE, NOT_CHOSEN, NOW, OFFICER, World

from onestop_chassis.errors import FailedPrecondition, NotFound
from onestop_delivery.carrier import CarrierStatus, CarrierUnavailable, Direction, Party
from onestop_delivery.domain import Kind, State
from onestop_delivery.ordering import CONSECUTIVE_UNAVAILABLE
from onestop_delivery.service import NewShipment

from fakes import FakeCarrier


@pytest.fixture
def world():
    return World()


POISON = Party("Trần Thị Bình", "0912345679", "Hẻm 5/7 Lê Lợi", "20200", "48")


def _outbound(code=CODE):
    return NewShipment(Direction.OUTBOUND, dossier_code=code, applicant=CITIZEN)


def _pickup(applicant=CITIZEN):
    return NewShipment(Direction.INBOUND, procedure_code="1.000001", applicant=applicant)


def _crashed_booking(world, request_id="req-1"):
    """A desk booking whose process died after the log entry, before the views and the due key."""
    world.store.crash_after_log = 1
    with pytest.raises(RuntimeError):
        world.service.create_shipment(_outbound(), OFFICER, request_id)
    assert list(world.store.logs) == [f"{CODE}-R1"] and world.store.views == {} and world.store.due == set()
    return f"{CODE}-R1"


def test_the_desks_retry_after_a_crash_past_the_log_entry_repairs_the_views_and_the_order(world):
    shipment_id = _crashed_booking(world)
    again = world.service.create_shipment(_outbound(), OFFICER, "req-1")
    assert again.id == shipment_id and world.store.due == {shipment_id} and shipment_id in world.store.views
    assert [s.id for s in world.service.list("", 10, "", OFFICER)[0]] == [shipment_id]
    assert world.ordering.place_due().placed == 1 and world.carrier.calls == [shipment_id]
    assert world.service.get("", CODE, OFFICER).shipment.waybill == "EB000000001VN"
    assert world.store.due == set()


def test_a_read_by_dossier_finds_a_booking_whose_view_was_lost_and_repairs_it(world):
    shipment_id = _crashed_booking(world)
    found = world.service.get("", CODE, OFFICER)
    assert found.shipment.id == shipment_id and [e.kind for e in found.log] == [Kind.CREATED]
    assert world.store.due == {shipment_id} and world.ordering.place_due().placed == 1


def test_a_redelivered_result_event_repairs_a_booking_it_crashed_after(world):
    world.store.crash_after_log = 1
    with pytest.raises(RuntimeError):
        world.service.book_result(CODE, "1.000001", CITIZEN, "ev-1")
    assert world.store.due == set()
    assert world.service.book_result(CODE, "1.000001", CITIZEN, "ev-1") is False  # booked before: not again
    assert world.store.due == {f"{CODE}-R1"} and world.ordering.place_due().placed == 1


def test_a_repair_never_brings_back_an_order_placed_or_refused(world):
    s = world.service.create_shipment(_outbound(), OFFICER, "req-1")
    world.ordering.place_due()
    world.service.create_shipment(_outbound(), OFFICER, "req-1")  # a late retry of the booking
    assert world.store.due == set() and world.ordering.place_due().placed == 0 and world.carrier.calls == [s.id]
    world.carrier.refuse = "address not served"
    refused = world.service.create_shipment(_pickup(), OFFICER, "p-1")
    assert world.ordering.place_due().refused == 1
    world.service.create_shipment(_pickup(), OFFICER, "p-1")
    assert world.store.due == set() and world.carrier.calls == [s.id, refused.id]


class PoisonCarrier(FakeCarrier):
    """Answers 500 to every order whose sender lives in a lane (`Hẻm`): a character its code chokes on."""

    def create_order(self, order):
        if order.sender.address_line.startswith("Hẻm"):
            self.calls.append(order.order_number)
            raise CarrierUnavailable("the carrier answered 500: internal error")
        return super().create_order(order)


def test_one_order_the_carrier_keeps_failing_blocks_no_other_and_waits_longer_each_time(world):
    world.ordering._carrier = carrier = PoisonCarrier()
    poison = world.service.create_shipment(_pickup(POISON), OFFICER, "p-0")  # the oldest: tried first
    good = []
    for n in range(1, 6):
        world.clock.now = NOW + dt.timedelta(minutes=n)
        good.append(world.service.create_shipment(_pickup(), OFFICER, f"p-{n}").id)
    done = world.ordering.place_due()
    assert (done.placed, done.unavailable) == (5, 1) and sorted(carrier.orders) == sorted(good)
    assert carrier.calls == [poison.id, *good]  # the oldest booking first
    assert world.ordering.place_due().unavailable == 1  # the next pass asks again: the 2nd failure
    for failures in (2, 3):  # then it waits 1, then 3 periods of the timer
        wait = world.ordering.backoff(failures)
        world.clock.now += dt.timedelta(seconds=wait - 1)
        assert world.ordering.place_due().unavailable == 0
        world.clock.now += dt.timedelta(seconds=1)
        assert world.ordering.place_due().unavailable == 1
    assert carrier.calls.count(poison.id) == 4 and world.store.due == {poison.id}
    assert world.ordering.backoff(2) < world.ordering.backoff(3) < world.ordering.backoff(30) == 16 * 30


def test_a_carrier_down_as_a_whole_ends_the_pass_and_nothing_is_lost(world):
    made = []
    for n in range(5):
        world.clock.now = NOW + dt.timedelta(minutes=n)
        made.append(world.service.create_shipment(_pickup(), OFFICER, f"p-{n}").id)
    world.carrier.down = True
    assert world.ordering.place_due().unavailable == CONSECUTIVE_UNAVAILABLE
    assert world.carrier.calls == made[:CONSECUTIVE_UNAVAILABLE]
    world.carrier.down = False
    assert world.ordering.place_due().placed == 5 and sorted(world.carrier.orders) == sorted(made)
    assert world.store.due == set()


def test_a_cancel_refused_leaves_its_request_id_free_for_the_corrected_one(world):
    s = world.ordered()
    with pytest.raises(NotFound) as typo:
        world.service.cancel(s.id.replace("-R1", "-R9"), "typo", False, OFFICER, "c-1")
    assert typo.value.reason == "SHIPMENT_NOT_FOUND"
    other = world.service.create_shipment(_pickup(), OFFICER, "p-1")
    world.ordering.place_due()
    world.report(world.service.get(other.id, "", OFFICER).shipment.waybill, CarrierStatus.PICKED_UP, "e1", 1)
    with pytest.raises(FailedPrecondition) as taken:
        world.service.cancel(other.id, "", False, OFFICER, "c-1")
    assert taken.value.reason == "ALREADY_PICKED_UP"
    assert world.service.cancel(s.id, "đổi ý", False, OFFICER, "c-1").state is State.CANCELLED
    assert world.service.cancel(s.id, "đổi ý", False, OFFICER, "c-1").state is State.CANCELLED  # its retry


def test_a_booking_refused_leaves_its_request_id_free_for_the_corrected_one(world):
    with pytest.raises(FailedPrecondition) as not_chosen:
        world.service.create_shipment(_outbound(NOT_CHOSEN), OFFICER, "r-1")
    assert not_chosen.value.reason == "POSTAL_RETURN_NOT_CHOSEN"
    booked = world.service.create_shipment(_outbound(), OFFICER, "r-1")
    with pytest.raises(FailedPrecondition) as exists:
        world.service.create_shipment(_outbound(), OFFICER, "r-2")
    assert exists.value.reason == "SHIPMENT_EXISTS"
    assert world.service.cancel(booked.id, "", False, OFFICER, "r-2").state is State.CANCELLED


def test_a_rebooking_refused_leaves_its_request_id_free_for_the_corrected_one(world):
    s = world.ordered()  # on its way: not yet rebookable
    cancelled = world.service.create_shipment(_pickup(), OFFICER, "p-1")
    world.service.cancel(cancelled.id, "", False, OFFICER, "c-1")
    with pytest.raises(NotFound):
        world.service.rebook(s.id.replace("-R1", "-R9"), None, OFFICER, "rb-1")
    with pytest.raises(FailedPrecondition) as on_its_way:
        world.service.rebook(s.id, None, OFFICER, "rb-1")
    assert on_its_way.value.reason == "NOT_REBOOKABLE"
    again = world.service.rebook(cancelled.id, None, OFFICER, "rb-1")  # the one meant
    assert again.id == cancelled.id.replace("-N1", "-N2")
    assert world.service.rebook(cancelled.id, None, OFFICER, "rb-1") == again  # its retry
