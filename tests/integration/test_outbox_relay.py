"""The chassis outbox (writer and relay) against the real FerretDB and RabbitMQ."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events
from onestop_chassis.outbox import OutboxRelay, OutboxWriter, pointer_collection


def _event(code: str) -> ev.DossierReceived:
    return ev.DossierReceived(header=events.new_header("itest"), dossier_code=code)


@pytest.fixture()
def exchange_and_queue(local_stack):
    """A topic exchange of this test only, and a queue bound to everything published to it."""
    name = f"itest-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(f"{name}.events", type="topic", durable=False, auto_delete=True)
    queue = Queue(f"{name}-q", exchange=exchange, routing_key="#", auto_delete=True)
    with Connection(local_stack["amqp_uri"]) as conn:
        queue(conn.default_channel).declare()
        yield name, exchange, queue, conn


def _publisher(amqp_uri: str, exchange: Exchange):
    publisher = Publisher(amqp_uri, use_confirms=True, serializer="json",
                          retry_policy={"max_retries": 0}, transport_options={"max_retries": 0})

    def publish(entry: dict, headers: dict) -> None:
        publisher.publish(entry["payload"], exchange=exchange, routing_key=entry["event_type"],
                          headers=headers, message_id=entry["event_id"])
    return publish


def _drain(conn, queue, expected: int, timeout: float = 10.0) -> list:
    received = []
    with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append((body, msg)), msg.ack())],
                       accept=["json"]):
        while len(received) < expected:
            try:
                conn.drain_events(timeout=timeout)
            except TimeoutError:
                break
    return received


def _commit(aggregates, aggregate_id: str, *codes: str) -> list[str]:
    """What a repository does: stage the events, then ONE aggregate write carrying them."""
    messages = [_event(c) for c in codes]
    entries = OutboxWriter(aggregates).stage(aggregate_id, messages)
    aggregates.insert_one({"_id": aggregate_id, "outbox": entries})
    return [m.header.event_id for m in messages]


def test_relay_publishes_each_committed_event_once_in_order(mongo_db, local_stack, exchange_and_queue):
    _, exchange, queue, conn = exchange_and_queue
    aggregates = mongo_db["aggregates"]
    written = {f"D{i}": _commit(aggregates, f"D{i}", f"D{i}-a", f"D{i}-b") for i in range(3)}

    relay = OutboxRelay("itest", aggregates, _publisher(local_stack["amqp_uri"], exchange))
    assert relay.run_once() == 6
    assert relay.run_once() == 0

    received = _drain(conn, queue, 6)
    ids = [msg.properties["message_id"] for _, msg in received]
    assert sorted(ids) == sorted(i for pair in written.values() for i in pair)
    for first, second in written.values():
        assert ids.index(first) < ids.index(second), "events of one aggregate keep their order"
    body, msg = received[0]
    assert body["header"]["eventId"] == msg.properties["message_id"]
    assert msg.delivery_info["routing_key"] == "DossierReceived"
    assert "traceparent" in msg.headers
    assert pointer_collection(aggregates).count_documents({}) == 0
    assert all(len(doc["outbox"]) == 2 for doc in aggregates.find()), "the relay never writes an aggregate"


def test_unreachable_broker_keeps_events_until_it_is_back(mongo_db, local_stack, exchange_and_queue):
    _, exchange, queue, conn = exchange_and_queue
    aggregates = mongo_db["aggregates"]
    [event_id] = _commit(aggregates, "D1", "D1")

    down = OutboxRelay("itest", aggregates, _publisher("amqp://guest:guest@127.0.0.1:1/", exchange))
    assert down.run_once() == 0
    assert pointer_collection(aggregates).count_documents({"_id": event_id}) == 1

    up = OutboxRelay("itest", aggregates, _publisher(local_stack["amqp_uri"], exchange))
    assert up.run_once() == 1
    assert [m.properties["message_id"] for _, m in _drain(conn, queue, 1)] == [event_id]
    assert pointer_collection(aggregates).count_documents({}) == 0


def test_events_of_a_failed_aggregate_write_are_never_published(mongo_db, local_stack, exchange_and_queue):
    _, exchange, queue, conn = exchange_and_queue
    aggregates = mongo_db["aggregates"]
    _commit(aggregates, "D1", "D1")
    entries = OutboxWriter(aggregates).stage("D1", [_event("D1-again")])  # the write that will fail
    with pytest.raises(Exception):  # noqa: B017 - as it was asserted: any refusal, whatever its type
        aggregates.insert_one({"_id": "D1", "outbox": entries})          # duplicate _id
    crashed = OutboxWriter(aggregates).stage("D2", [_event("D2")])       # writer died before its write

    clock = {"now": None}
    relay = OutboxRelay("itest", aggregates, _publisher(local_stack["amqp_uri"], exchange),
                        grace_seconds=30, clock=lambda: clock["now"] or _now())
    assert relay.run_once() == 1, "only the committed event goes out"
    assert pointer_collection(aggregates).count_documents({}) == 2, "uncommitted pointers wait out the grace"
    clock["now"] = _now() + dt.timedelta(seconds=31)
    assert relay.run_once() == 0
    assert pointer_collection(aggregates).count_documents({}) == 0, "then they are discarded"
    ids = [m.properties["message_id"] for _, m in _drain(conn, queue, 2, timeout=2)]
    assert entries[0]["event_id"] not in ids and crashed[0]["event_id"] not in ids and len(ids) == 1


def test_concurrent_relays_lose_nothing(mongo_db, local_stack, exchange_and_queue):
    _, exchange, queue, conn = exchange_and_queue
    aggregates = mongo_db["aggregates"]
    expected = {i for n in range(40) for i in _commit(aggregates, f"D{n}", f"D{n}")}
    counts = []

    def run():
        relay = OutboxRelay("itest", aggregates, _publisher(local_stack["amqp_uri"], exchange), batch_size=5)
        total = 0
        while published := relay.run_once():
            total += published
        counts.append(total)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = {m.properties["message_id"] for _, m in _drain(conn, queue, sum(counts))}
    assert ids == expected, "every event is published at least once (consumers drop repeats)"
    assert pointer_collection(aggregates).count_documents({}) == 0


def test_a_relay_with_threads_publishes_every_event_once_each_aggregate_in_order(mongo_db, local_stack,
                                                                                  exchange_and_queue):
    """The relay process's shape (OUTBOX_RELAY_CONCURRENCY): aggregates at once, each one's events
    in order, every event once, no pointer left."""
    _, exchange, queue, conn = exchange_and_queue
    aggregates = mongo_db["aggregates"]
    written = [_commit(aggregates, f"D{n}", *(f"D{n}-{k}" for k in range(3))) for n in range(30)]
    relay = OutboxRelay("itest", aggregates, _publisher(local_stack["amqp_uri"], exchange), concurrency=8)
    total = 0
    while published := relay.run_once():
        total += published
    assert total == 90
    ids = [m.properties["message_id"] for _, m in _drain(conn, queue, 90)]
    assert sorted(ids) == sorted(i for events_ in written for i in events_), "each event once"
    for events_ in written:
        assert [ids.index(i) for i in events_] == sorted(ids.index(i) for i in events_), "order per aggregate"
    assert pointer_collection(aggregates).count_documents({}) == 0


def test_a_relay_with_threads_stops_at_a_failing_broker_and_keeps_everything(mongo_db, local_stack, exchange_and_queue):
    _, exchange, queue, conn = exchange_and_queue
    aggregates = mongo_db["aggregates"]
    expected = {i for n in range(10) for i in _commit(aggregates, f"D{n}", f"D{n}-a", f"D{n}-b")}
    down = OutboxRelay("itest", aggregates, _publisher("amqp://guest:guest@127.0.0.1:1/", exchange), concurrency=4)
    assert down.run_once() == 0
    assert pointer_collection(aggregates).count_documents({}) == 20, "nothing confirmed, nothing dropped"
    up = OutboxRelay("itest", aggregates, _publisher(local_stack["amqp_uri"], exchange), concurrency=4)
    assert up.run_once() == 20
    assert {m.properties["message_id"] for _, m in _drain(conn, queue, 20)} == expected


def _now():
    return dt.datetime.now(dt.UTC)
