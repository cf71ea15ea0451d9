"""Transactional outbox on the aggregate document.

A state change and the events it causes are ONE MongoDB write: the aggregate document carries an
`outbox` array of entries and an `outbox_pending` flag. No multi-document transaction is needed
(FerretDB has none). The relay claims one aggregate at a time with a lease (so several relays never
publish the same entries at once), publishes its entries in order with broker confirms, removes
exactly the published entries with $pullAll (FerretDB v1 ignores a conditional $pull), and clears
the flag only if the outbox is empty at that moment (a concurrent new event keeps it set).

Delivery is at least once: a crash between publish and removal publishes again, so consumers
remember event ids.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from google.protobuf.message import Message
from opentelemetry import trace
from pymongo import ReturnDocument

from . import events, metrics, tracing
from .logs import get_logger

log = get_logger("onestop.outbox")

OUTBOX = "outbox"
PENDING = "outbox_pending"
LEASE = "outbox_lease_until"


def outbox_entry(message: Message) -> dict:
    """The stored form of one event: payload as proto3 JSON plus the trace context of the write."""
    header = message.header
    return {
        "event_id": header.event_id,
        "event_type": events.event_type(message),
        "producer": header.producer,
        "payload": events.to_payload(message),
        "headers": tracing.inject({}),
        "created_at": header.occurred_at.ToDatetime(dt.timezone.utc),
    }


def outbox_fields(messages: list[Message]) -> dict:
    """Fields to include in the aggregate's write so that its events leave with it."""
    entries = [outbox_entry(m) for m in messages]
    return {OUTBOX: entries, PENDING: True} if entries else {OUTBOX: [], PENDING: False}


Publish = Callable[[dict, dict], None]  # (entry, headers) -> None, raises when not confirmed


class OutboxRelay:
    def __init__(self, service: str, collection, publish: Publish, *, batch_size: int = 100,
                 lease_seconds: float = 30.0):
        self._service = service
        self._collection = collection
        self._publish = publish
        self._batch_size = batch_size
        self._lease = dt.timedelta(seconds=lease_seconds)

    def ensure_indexes(self) -> None:
        self._collection.create_index(PENDING)

    def run_once(self) -> int:
        """Publishes pending events of up to batch_size aggregates; returns how many were published."""
        published = claimed = 0
        while claimed < self._batch_size:
            now = dt.datetime.now(dt.timezone.utc)
            doc = self._collection.find_one_and_update(
                {PENDING: True, "$or": [{LEASE: {"$exists": False}}, {LEASE: {"$lt": now}}]},
                {"$set": {LEASE: now + self._lease}},
                return_document=ReturnDocument.AFTER)  # no projection: FerretDB v1 lacks it here
            if doc is None:
                break
            claimed += 1
            sent, failed = self._publish_entries(doc.get(OUTBOX) or [])
            published += len(sent)
            update: dict = {"$unset": {LEASE: ""}}
            if sent:
                update["$pullAll"] = {OUTBOX: sent}
            self._collection.update_one({"_id": doc["_id"]}, update)
            self._collection.update_one({"_id": doc["_id"], OUTBOX: {"$size": 0}}, {"$set": {PENDING: False}})
            if failed:
                break  # the broker is failing: leave the rest for the next pass
        metrics.OUTBOX_PENDING.labels(self._service).set(claimed)
        return published

    def _publish_entries(self, entries: list[dict]) -> tuple[list[dict], bool]:
        sent: list[dict] = []
        for entry in entries:
            parent = tracing.extract(entry.get("headers") or {})
            with tracing.tracer().start_as_current_span(
                    f"publish {entry['event_type']}", context=parent, kind=trace.SpanKind.PRODUCER):
                try:
                    self._publish(entry, tracing.inject({}))
                except Exception as exc:
                    metrics.OUTBOX_FAILURES.labels(self._service).inc()
                    log.warning("outbox publish failed; will retry", event_id=entry["event_id"],
                                event_type=entry["event_type"], error=str(exc))
                    return sent, True
            sent.append(entry)
            metrics.OUTBOX_PUBLISHED.labels(self._service, entry["event_type"]).inc()
            created = entry["created_at"]
            if created.tzinfo is None:
                created = created.replace(tzinfo=dt.timezone.utc)
            metrics.OUTBOX_RELAY_DELAY.labels(self._service).observe(
                max(0.0, time.time() - created.timestamp()))
        return sent, False
