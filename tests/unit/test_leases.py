"""onestop_chassis.leases: one holder per job and term, on an in-memory collection (mongomock) with
a clock the test moves; the relay loop runs passes only while it holds. The real database and
processes: tests/e2e/test_relay_replicas.py."""

from __future__ import annotations

import mongomock
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo.errors import ServerSelectionTimeoutError

from onestop_chassis import leases
from onestop_chassis.relay import relay_until


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collection():
    return mongomock.MongoClient().db[leases.COLLECTION]


def pods(collection, clock, n: int = 3, term: float = 10.0) -> list[leases.Lease]:
    return [leases.Lease(collection, "intake.relay", f"pod-{i}", term_seconds=term, clock=clock) for i in range(n)]


def test_one_of_three_replicas_holds_and_keeps_the_job_while_it_lives(collection):
    clock = Clock()
    a, b, c = pods(collection, clock)
    assert [a.held(), b.held(), c.held()] == [True, False, False]
    for _ in range(10):  # ten terms: the holder claims each next one before it begins
        clock.now += 3
        assert [a.held(), b.held(), c.held()] == [True, False, False]
        clock.now += 4
        assert [a.held(), b.held(), c.held()] == [True, False, False]
        clock.now += 3


def test_a_dead_holder_is_replaced_within_two_terms(collection):
    clock = Clock()
    a, b, c = pods(collection, clock)
    assert a.held()
    clock.now += 6  # past half the term: a claims the next term too, then dies
    assert a.held() and not b.held()
    clock.now += 10
    assert not b.held() and not c.held(), "the term a claimed ahead stays a's"
    clock.now += 10
    assert [b.held(), c.held()] == [True, False]


def test_old_terms_are_removed_and_the_record_says_who_held_them(collection):
    clock = Clock()
    (a,) = pods(collection, clock, n=1)
    for _ in range(leases.KEEP_TERMS + 50):
        a.held()
        clock.now += 10
    assert leases.KEEP_TERMS <= collection.count_documents({}) <= leases.KEEP_TERMS + 2
    assert {d["holder"] for d in collection.find()} == {"pod-0"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0, 25)), min_size=1, max_size=60))
def test_never_two_holders_in_one_term(calls):
    """Whatever order and times the replicas ask in, a term has at most one holder."""
    collection = mongomock.MongoClient().db[leases.COLLECTION]
    clock = Clock()
    replicas = pods(collection, clock)
    holders: dict[int, set[int]] = {}
    for replica, step in calls:
        clock.now += step
        if replicas[replica].held():
            holders.setdefault(int(clock.now // 10), set()).add(replica)
    assert all(len(h) == 1 for h in holders.values()), holders


def test_a_bad_term_is_refused():
    with pytest.raises(ValueError):
        leases.Lease(mongomock.MongoClient().db.x, "j", "p", term_seconds=0)


def test_the_relay_loop_publishes_only_while_it_holds_and_waits_when_the_database_cannot_say():
    answers = iter([True, False, "down", True])
    passes, sleeps = [], []

    def held():
        answer = next(answers)
        if answer == "down":
            raise ServerSelectionTimeoutError("no server")
        return answer

    class Relay:
        def run_once(self):
            passes.append(1)
            return 0

    stopped = iter([False, False, False, False, True])
    relay_until("intake", [Relay()], 0.1, lambda: next(stopped), sleep=sleeps.append, held=held)
    assert len(passes) == 2, "a pass in the terms it held, none in the others"
    assert sleeps == [0.1] * 4


@pytest.mark.parametrize("answer, runs", [(True, True), (False, False), ("down", False)])
def test_a_periodic_tick_runs_only_on_the_replica_that_holds_its_lease(answer, runs):
    """@periodic (SettingsTimer): a sweep or scan every replica schedules runs on one of them."""
    from unittest import mock

    import eventlet

    from onestop_chassis.worker import SettingsTimer

    class Held:
        def held(self):
            if answer == "down":
                raise ServerSelectionTimeoutError("no server")
            return answer

    timer = SettingsTimer("orphan_sweep_seconds")
    timer.container = mock.Mock(service_name="documents")
    timer.method_name = "sweep"
    timer._lease = Held()
    timer.worker_complete = eventlet.Event()
    timer.handle_timer_tick()
    assert timer.container.spawn_worker.called is runs
    assert timer.worker_complete.ready() is not runs, "a skipped tick lets the timer loop go on"
