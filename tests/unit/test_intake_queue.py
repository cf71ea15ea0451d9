"""Queue tickets with an in-memory store."""

from __future__ import annotations

import datetime as dt

import pytest

from onestop_chassis import auth
from onestop_chassis.errors import InvalidArgument, NotFound, PermissionDenied
from onestop_chassis.worktime import VIETNAM
from onestop_intake.queue.service import QueueDesk

from fakes import Clock, FakeTickets

UNIT = "000.00.21.H17"
OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), UNIT)


@pytest.fixture()
def desk():
    clock = Clock(dt.datetime(2026, 11, 30, 8, 0, tzinfo=VIETNAM))
    return QueueDesk(FakeTickets(), unit_exists=lambda code: code == UNIT, clock=clock), clock


def test_numbers_count_per_queue_and_restart_every_day(desk):
    queue, clock = desk
    assert [queue.take(UNIT, "dat-dai")[0].number for _ in range(3)] == [1, 2, 3]
    first_civil, waiting = queue.take(UNIT, "ho-tich")
    assert (first_civil.number, first_civil.display, waiting) == (1, "HT-001", 0)
    assert queue.take(UNIT, "dat-dai")[1] == 3, "three wait before the fourth"
    clock.now += dt.timedelta(days=1)
    assert queue.take(UNIT, "dat-dai")[0].display == "DD-001"


def test_counters_call_the_oldest_waiting_ticket_once(desk):
    queue, _ = desk
    for _ in range(2):
        queue.take(UNIT, "dat-dai")
    first = queue.call_next(UNIT, "dat-dai", 3, OFFICER)
    second = queue.call_next(UNIT, "dat-dai", 5, OFFICER)
    assert (first.number, first.counter, second.number, second.counter) == (1, 3, 2, 5)
    with pytest.raises(NotFound) as empty:
        queue.call_next(UNIT, "dat-dai", 3, OFFICER)
    assert empty.value.reason == "QUEUE_EMPTY"
    [(name, serving, waiting)] = queue.serving(UNIT)
    assert (name, [t.display for t in serving], waiting) == ("dat-dai", ["DD-002", "DD-001"], 0)


def test_bad_input_and_other_agencies(desk):
    queue, _ = desk
    with pytest.raises(InvalidArgument):
        queue.take(UNIT, "Đất đai")
    with pytest.raises(NotFound):
        queue.take("000.00.99.H17", "dat-dai")
    queue.take(UNIT, "dat-dai")
    with pytest.raises(InvalidArgument):
        queue.call_next(UNIT, "dat-dai", 0, OFFICER)
    with pytest.raises(PermissionDenied):
        queue.call_next(UNIT, "dat-dai", 1, auth.Principal("x", frozenset({auth.DESK_OFFICER}), "000.00.11.H17"))
