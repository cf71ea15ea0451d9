"""The chassis outbox (OutboxWriter, OutboxRelay) on mongomock: pointers in `<aggregates>_outbox`,
events in the aggregate's `outbox` array, and a relay that never writes an aggregate."""

import copy
import datetime as dt

import mongomock
import pytest
from prometheus_client import REGISTRY

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events, outbox, tracing

from fakes import Clock

OCCURRED = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
GRACE = 60.0


def _event(code: str, occurred: dt.datetime = OCCURRED) -> ev.DossierReceived:
    return ev.DossierReceived(header=events.new_header("intake", occurred), dossier_code=code)


@pytest.fixture
def aggregates():
    return mongomock.MongoClient().db["aggregates"]


@pytest.fixture
def pointers(aggregates):
    return outbox.pointer_collection(aggregates)


@pytest.fixture
def clock():
    return Clock(OCCURRED + dt.timedelta(seconds=1))


@pytest.fixture
def service_name(request):
    """A metrics label of this test only, so counters of other tests do not interfere."""
    return f"test-{request.node.name}"[:100]


class RecordingPublish:
    """Publishes into a list; fails the calls whose dossier codes are in `failing` (once each)."""

    def __init__(self, failing=()):
        self.sent: list[str] = []
        self.calls: list[tuple[dict, dict]] = []
        self.failing = set(failing)

    def __call__(self, entry: dict, headers: dict) -> None:
        code = entry["payload"]["dossierCode"]
        if code in self.failing:
            self.failing.discard(code)
            raise ConnectionError("broker did not confirm")
        self.sent.append(code)
        self.calls.append((entry, headers))


def _commit(aggregates, aggregate_id: str, *codes: str, occurred: dt.datetime = OCCURRED) -> list[str]:
    """What a repository does: stage the events, then ONE aggregate write carrying them."""
    messages = [_event(c, occurred) for c in codes]
    entries = outbox.OutboxWriter(aggregates).stage(aggregate_id, messages)
    aggregates.insert_one({"_id": aggregate_id, "state": "written", outbox.OUTBOX: entries})
    return [m.header.event_id for m in messages]


def _pointer_ids(pointers) -> set[str]:
    return {p["_id"] for p in pointers.find()}


def _counter(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _relay(service_name, aggregates, publish, clock, **options):
    return outbox.OutboxRelay(service_name, aggregates, publish, clock=clock,
                              grace_seconds=options.pop("grace_seconds", GRACE), **options)


# --- writer ------------------------------------------------------------------------------------

def test_pointer_collection_is_named_after_the_aggregates(aggregates):
    collection = outbox.pointer_collection(aggregates)
    assert collection.name == "aggregates_outbox"
    assert collection.database.name == aggregates.database.name


def test_stage_inserts_pointers_and_returns_the_entries(aggregates, pointers):
    first, second = _event("A-1"), _event("A-2")

    entries = outbox.OutboxWriter(aggregates).stage("a", [first, second])

    assert [e["event_id"] for e in entries] == [first.header.event_id, second.header.event_id]
    entry = entries[0]
    assert entry["event_type"] == "DossierReceived"
    assert entry["producer"] == "intake"
    assert [e["order"] for e in entries] == [0, 1]
    assert entry["payload"] == events.to_payload(first)
    assert entry["payload"]["dossierCode"] == "A-1"
    assert isinstance(entry["headers"], dict)
    assert entry["created_at"] == OCCURRED
    stored = {p["_id"]: p for p in pointers.find()}
    assert set(stored) == {first.header.event_id, second.header.event_id}
    assert stored[first.header.event_id]["aggregate_id"] == "a"
    assert stored[second.header.event_id]["order"] == 1
    assert stored[first.header.event_id]["created_at"] == OCCURRED.replace(tzinfo=None)  # as Mongo keeps it
    assert aggregates.count_documents({}) == 0  # the aggregate write is the repository's


def test_stage_without_events(aggregates, pointers):
    assert outbox.OutboxWriter(aggregates).stage("a", []) == []
    assert pointers.count_documents({}) == 0


def test_discard_removes_the_pointers_of_a_failed_write(aggregates, pointers):
    writer = outbox.OutboxWriter(aggregates)
    kept = writer.stage("a", [_event("A-1")])
    dropped = writer.stage("b", [_event("B-1"), _event("B-2")])

    writer.discard(dropped)

    assert _pointer_ids(pointers) == {kept[0]["event_id"]}
    writer.discard([])  # nothing to do
    assert pointers.count_documents({}) == 1


def test_outbox_entry_carries_the_trace_of_the_write():
    tracing.configure_tracing("test")
    with tracing.tracer().start_as_current_span("write") as span:
        entry = outbox.outbox_entry(_event("A-1"))
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert trace_id in entry["headers"]["traceparent"]


# --- relay -------------------------------------------------------------------------------------

def test_relay_publishes_committed_events_in_order(aggregates, pointers, clock, service_name):
    a_ids = _commit(aggregates, "a", "A-1", "A-2", "A-3")
    b_ids = _commit(aggregates, "b", "B-1", occurred=OCCURRED + dt.timedelta(milliseconds=5))
    before = copy.deepcopy(list(aggregates.find().sort("_id")))
    publish = RecordingPublish()
    relay = _relay(service_name, aggregates, publish, clock)

    assert relay.run_once() == 4

    assert publish.sent == ["A-1", "A-2", "A-3", "B-1"]
    entry, headers = publish.calls[0]
    assert entry["event_id"] == a_ids[0] and entry["event_type"] == "DossierReceived"
    assert isinstance(headers, dict)
    assert pointers.count_documents({}) == 0
    assert list(aggregates.find().sort("_id")) == before  # the relay never writes an aggregate
    assert relay.run_once() == 0
    assert publish.sent == ["A-1", "A-2", "A-3", "B-1"]
    assert [c[0]["event_id"] for c in publish.calls] == a_ids + b_ids


def test_events_of_one_aggregate_keep_their_order_across_aggregates(aggregates, clock, service_name):
    """Two aggregates written at the same instant: the pointers sort by (created_at, order)."""
    _commit(aggregates, "b", "B-1", "B-2")
    _commit(aggregates, "a", "A-1", "A-2")
    publish = RecordingPublish()
    assert _relay(service_name, aggregates, publish, clock).run_once() == 4
    assert publish.sent.index("A-1") < publish.sent.index("A-2")
    assert publish.sent.index("B-1") < publish.sent.index("B-2")


def test_failed_publish_keeps_the_rest_for_the_next_pass(aggregates, pointers, clock, service_name):
    ids = _commit(aggregates, "a", "A-1", "A-2", "A-3")
    later = _commit(aggregates, "b", "B-1", occurred=OCCURRED + dt.timedelta(milliseconds=5))
    before = copy.deepcopy(list(aggregates.find().sort("_id")))
    publish = RecordingPublish(failing={"A-2"})
    relay = _relay(service_name, aggregates, publish, clock)

    assert relay.run_once() == 1
    assert publish.sent == ["A-1"]
    assert _pointer_ids(pointers) == {ids[1], ids[2], later[0]}  # the failed one and everything after it

    assert relay.run_once() == 3
    assert publish.sent == ["A-1", "A-2", "A-3", "B-1"]
    assert pointers.count_documents({}) == 0
    assert list(aggregates.find().sort("_id")) == before


def test_uncommitted_pointer_waits_for_the_grace_then_is_dropped(aggregates, pointers, clock, service_name):
    """The writer staged the pointer but its aggregate write never happened (failed or crashed)."""
    staged = outbox.OutboxWriter(aggregates, clock=lambda: OCCURRED).stage("ghost", [_event("G-1")])
    committed = _commit(aggregates, "a", "A-1", occurred=OCCURRED + dt.timedelta(milliseconds=5))
    publish = RecordingPublish()
    relay = _relay(service_name, aggregates, publish, clock)
    discarded = _counter("onestop_outbox_discarded_total", {"service": service_name})

    clock.now = OCCURRED + dt.timedelta(seconds=GRACE - 1)  # the write may still be in flight
    assert relay.run_once() == 1
    assert publish.sent == ["A-1"]  # an in-flight write does not hold back other aggregates
    assert _pointer_ids(pointers) == {staged[0]["event_id"]}
    assert _counter("onestop_outbox_discarded_total", {"service": service_name}) == discarded

    clock.now = OCCURRED + dt.timedelta(seconds=GRACE + 1)
    assert relay.run_once() == 0
    assert publish.sent == ["A-1"]  # dropped, never published
    assert pointers.count_documents({}) == 0
    assert _counter("onestop_outbox_discarded_total", {"service": service_name}) == discarded + 1
    assert aggregates.count_documents({"_id": "ghost"}) == 0
    assert [c[0]["event_id"] for c in publish.calls] == committed


def test_pointer_whose_aggregate_lacks_the_event_is_not_published(aggregates, pointers, clock, service_name):
    """The aggregate exists but its write that would have carried the event failed."""
    _commit(aggregates, "a", "A-1")
    lost = outbox.OutboxWriter(aggregates, clock=lambda: OCCURRED).stage(
        "a", [_event("A-2", OCCURRED + dt.timedelta(milliseconds=5))])
    publish = RecordingPublish()
    relay = _relay(service_name, aggregates, publish, clock)

    assert relay.run_once() == 1
    assert publish.sent == ["A-1"]
    assert _pointer_ids(pointers) == {lost[0]["event_id"]}

    clock.now = OCCURRED + dt.timedelta(seconds=GRACE + 1)
    assert relay.run_once() == 0
    assert publish.sent == ["A-1"]
    assert pointers.count_documents({}) == 0


def test_batch_size_limits_the_pointers_of_one_pass(aggregates, pointers, clock, service_name):
    for i, name in enumerate("abc"):
        _commit(aggregates, name, f"{name}-1", f"{name}-2", occurred=OCCURRED + dt.timedelta(milliseconds=i))
    publish = RecordingPublish()
    relay = _relay(service_name, aggregates, publish, clock, batch_size=4)

    assert relay.run_once() == 4
    assert publish.sent == ["a-1", "a-2", "b-1", "b-2"]
    assert pointers.count_documents({}) == 2
    assert relay.run_once() == 2
    assert publish.sent[4:] == ["c-1", "c-2"]
    assert pointers.count_documents({}) == 0
    assert relay.run_once() == 0


def test_publish_continues_the_trace_of_the_write(aggregates, clock, service_name):
    tracing.configure_tracing("test")
    with tracing.tracer().start_as_current_span("write") as span:
        _commit(aggregates, "a", "A-1")
    trace_id = format(span.get_span_context().trace_id, "032x")
    publish = RecordingPublish()

    assert _relay(service_name, aggregates, publish, clock).run_once() == 1

    entry, headers = publish.calls[0]
    assert trace_id in headers["traceparent"]
    assert headers["traceparent"] != entry["headers"]["traceparent"]  # a child span: the publish


def test_published_counter_moves(aggregates, clock, service_name):
    labels = {"service": service_name, "event_type": "DossierReceived"}
    published = _counter("onestop_outbox_published_total", labels)
    failures = _counter("onestop_outbox_publish_failures_total", {"service": service_name})
    _commit(aggregates, "a", "A-1", "A-2")
    relay = _relay(service_name, aggregates, RecordingPublish(failing={"A-2"}), clock)

    relay.run_once()
    assert _counter("onestop_outbox_published_total", labels) == published + 1
    assert _counter("onestop_outbox_publish_failures_total", {"service": service_name}) == failures + 1

    relay.run_once()
    assert _counter("onestop_outbox_published_total", labels) == published + 2


def test_pending_gauge_counts_the_pointers_seen(aggregates, clock, service_name):
    _commit(aggregates, "a", "A-1", "A-2")
    relay = _relay(service_name, aggregates, RecordingPublish(), clock)
    relay.run_once()
    assert REGISTRY.get_sample_value("onestop_outbox_pending_events", {"service": service_name}) == 2
    relay.run_once()
    assert REGISTRY.get_sample_value("onestop_outbox_pending_events", {"service": service_name}) == 0


@pytest.mark.parametrize("concurrency", [1, 4])
def test_relay_with_threads_keeps_each_aggregates_order_and_stops_at_a_failure(aggregates, pointers, clock,
                                                                               service_name, concurrency):
    for n in range(6):
        _commit(aggregates, f"d{n}", *(f"D{n}-{k}" for k in range(3)))
    publish = RecordingPublish()
    assert _relay(service_name, aggregates, publish, clock, concurrency=concurrency).run_once() == 18
    for n in range(6):
        positions = [publish.sent.index(f"D{n}-{k}") for k in range(3)]
        assert positions == sorted(positions), f"aggregate d{n} out of order: {publish.sent}"
    assert pointers.count_documents({}) == 0

    _commit(aggregates, "e", "E-1", "E-2")
    flaky = RecordingPublish(failing={"E-1"})
    relay = _relay(service_name, aggregates, flaky, clock, concurrency=concurrency)
    assert relay.run_once() == 0
    assert flaky.sent == [] and pointers.count_documents({}) == 2, "E-2 never overtakes E-1"
    assert relay.run_once() == 2
    assert flaky.sent == ["E-1", "E-2"]
