"""Transactional outbox that is correct on MongoDB and on FerretDB v1.

FerretDB v1 (the local default) loses concurrent updates of one document and scans whole
collections for every query other than `{_id: value}` (measured; docs/design.md). So the outbox
relies only on what both stores do atomically, the single-document write and the unique-key
insert, and the relay never polls the big aggregate collection and never writes an aggregate:

1. `OutboxWriter.stage` inserts one small pointer per event into the `<aggregates>_outbox`
   collection (`_id` = event id) *before* the aggregate write.
2. The aggregate write, ONE document write, carries the full events in its `outbox` array: that
   write is the commit point of the state change and its events together.
3. `OutboxRelay.run_once` reads the pointers (a small collection: only unpublished events), loads
   their aggregates by `_id`, publishes the events the aggregate really holds, in order, with
   broker confirms, then deletes the pointers. A pointer whose aggregate write never happened (the
   writer failed or crashed) is discarded after `grace_seconds`.

Nothing is lost while RabbitMQ is down: pointers stay until their events are confirmed. Delivery
is at least once (a crash between confirm and delete, or two relays, publish again), so consumers
remember event ids.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from google.protobuf.message import Message
from opentelemetry import trace

from . import events, metrics, tracing
from .clock import as_utc
from .logs import get_logger

log = get_logger("onestop.outbox")

OUTBOX = "outbox"  # the aggregate's array of its events (its event history)


def outbox_entry(message: Message, order: int = 0) -> dict:
    """The stored form of one event: payload as proto3 JSON plus the trace context of the write."""
    header = events.header_of(message)
    return {
        "event_id": header.event_id,
        "event_type": events.event_type(message),
        "producer": header.producer,
        "order": order,
        "payload": events.to_payload(message),
        "headers": tracing.inject({}),
        "created_at": header.occurred_at.ToDatetime(dt.UTC),
    }


def pointer_collection(aggregates):
    return aggregates.database[f"{aggregates.name}_outbox"]


class OutboxWriter:
    """Used by a repository around its aggregate write."""

    def __init__(self, aggregates, clock: Callable[[], dt.datetime] | None = None):
        self._pointers = pointer_collection(aggregates)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def stage(self, aggregate_id, messages: list[Message]) -> list[dict]:
        """Inserts the pointers and returns the entries to put in the aggregate's `outbox` array."""
        entries = [outbox_entry(m, i) for i, m in enumerate(messages)]
        if entries:
            staged_at = self._clock()  # the grace counts from here, not from the event time
            self._pointers.insert_many([
                {"_id": e["event_id"], "aggregate_id": aggregate_id, "created_at": e["created_at"],
                 "order": e["order"], "staged_at": staged_at} for e in entries])
        return entries

    @contextmanager
    def staged(self, aggregate_id, messages: list[Message]) -> Iterator[list[dict]]:
        """Stages the events and yields the entries for the aggregate write inside the block; if the
        write raises, its pointers are discarded (those events must never be published)."""
        entries = self.stage(aggregate_id, messages)
        try:
            yield entries
        except BaseException:
            self.discard(entries)
            raise

    def discard(self, entries: list[dict]) -> None:
        """After a failed aggregate write: its events must never be published."""
        if entries:
            self._pointers.delete_many({"_id": {"$in": [e["event_id"] for e in entries]}})


Publish = Callable[[dict, dict], None]  # (entry, headers) -> None; raises unless the broker confirmed


class OutboxRelay:
    """Publishes what `OutboxWriter` staged. `concurrency` > 1 (the relay process;
    onestop_chassis.relay) relays that many aggregates at once from threads, each aggregate's events
    still in order on one thread: every publish waits for the broker's confirm (30–70 ms each on the
    loaded bench machine), and draining 300 staged events went from about 200 to about 370 a second
    with 8 threads (docs/design.md, "Outbox relay in a process of its own")."""

    def __init__(self, service: str, aggregates, publish: Publish, *, batch_size: int = 100,
                 grace_seconds: float = 60.0, clock: Callable[[], dt.datetime] | None = None,
                 concurrency: int = 1):
        self._service = service
        self._aggregates = aggregates
        self._pointers = pointer_collection(aggregates)
        self._publish = publish
        self._batch_size = batch_size
        self._grace = dt.timedelta(seconds=grace_seconds)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="outbox-relay") if concurrency > 1 else None

    @property
    def database(self):
        """The database of the aggregates (and of their pointers)."""
        return self._aggregates.database

    def ensure_indexes(self) -> None:
        self._pointers.create_index([("created_at", 1), ("order", 1)])

    def run_once(self) -> int:
        """One pass over up to batch_size pending events; returns how many were published."""
        pointers = list(self._pointers.find().sort([("created_at", 1), ("order", 1)]).limit(self._batch_size))
        metrics.OUTBOX_PENDING.labels(self._service).set(len(pointers))
        if not pointers:
            return 0
        by_aggregate: dict = {}
        for pointer in pointers:
            by_aggregate.setdefault(pointer["aggregate_id"], []).append(pointer)
        now, broker_failed = self._clock(), threading.Event()

        def relay(item) -> tuple[int, list]:
            return self._relay_aggregate(item[0], item[1], now, broker_failed)

        mapper = self._pool.map if self._pool is not None and len(by_aggregate) > 1 else map
        published, done = 0, []
        for count, ids in mapper(relay, by_aggregate.items()):
            published += count
            done += ids
        if done:
            self._pointers.delete_many({"_id": {"$in": done}})
        return published

    def _relay_aggregate(self, aggregate_id, pointers: list[dict], now: dt.datetime,
                         broker_failed: threading.Event) -> tuple[int, list]:
        """Publishes one aggregate's committed events in order; returns (published, pointer ids done)."""
        if broker_failed.is_set():
            return 0, []  # the broker is failing: leave the rest for the next pass
        # A find by `_id` per aggregate rather than one `$in` query: FerretDB v1 sends only
        # `{_id: value}` to its index, and scans the whole collection for `$in`.
        doc = self._aggregates.find_one({"_id": aggregate_id}, {OUTBOX: 1}) or {}
        committed = {e["event_id"]: e for e in doc.get(OUTBOX) or []}
        published, done = 0, []
        for pointer in pointers:
            entry = committed.get(pointer["_id"])
            if entry is None:
                staged = as_utc(pointer.get("staged_at") or pointer["created_at"])
                if now - staged > self._grace:
                    log.warning("outbox event discarded: its aggregate write never happened",
                                event_id=pointer["_id"], aggregate_id=aggregate_id)
                    metrics.OUTBOX_DISCARDED.labels(self._service).inc()
                    done.append(pointer["_id"])
                continue  # else the aggregate write may still be in flight
            if broker_failed.is_set() or not self._publish_entry(entry):
                broker_failed.set()
                break  # keep each aggregate's events in order; the rest waits for the next pass
            published += 1
            done.append(pointer["_id"])
        return published, done

    def _publish_entry(self, entry: dict) -> bool:
        parent = tracing.extract(entry.get("headers") or {})
        with tracing.tracer().start_as_current_span(
                f"publish {entry['event_type']}", context=parent, kind=trace.SpanKind.PRODUCER):
            try:
                self._publish(entry, tracing.inject({}))
            except Exception as exc:
                metrics.OUTBOX_FAILURES.labels(self._service).inc()
                log.warning("outbox publish failed; will retry", event_id=entry["event_id"],
                            event_type=entry["event_type"], error=str(exc))
                return False
        metrics.OUTBOX_PUBLISHED.labels(self._service, entry["event_type"]).inc()
        metrics.OUTBOX_RELAY_DELAY.labels(self._service).observe(
            max(0.0, time.time() - as_utc(entry["created_at"]).timestamp()))
        return True


def relay_pass(service: str, relays: list[OutboxRelay]) -> int:
    """One pass of every relay; returns how many events were published in all. A collection whose
    pass fails (store down) is logged and retried on the next pass; it never holds the others back."""
    published = 0
    for relay in relays:
        try:
            published += relay.run_once()
        except Exception:
            log.exception("outbox relay pass failed; retrying")
    metrics.OUTBOX_PASSES.labels(service).inc()
    return published
