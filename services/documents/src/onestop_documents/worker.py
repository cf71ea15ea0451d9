"""Documents' `worker` process: relays its outbox and sweeps orphaned objects."""

from __future__ import annotations

import datetime as dt

import eventlet
from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from onestop_chassis.logs import get_logger
from onestop_chassis.worker import MongoConnection, Observability, OutboxRelayRunner, worker_settings

from .adapters import mongo
from .adapters.minio_store import MinioStore

log = get_logger("onestop.documents")
ORPHANS_REMOVED = Counter("onestop_documents_orphans_removed",
                          "Stored objects no document version points at, removed by the sweep")


def sweep_orphans(store: MinioStore, documents: mongo.MongoDocuments, grace: dt.timedelta,
                  now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    """Removes object versions older than `grace` that no document record references: what an
    upload leaves when its process dies between the object write and the record write."""
    now = now or dt.datetime.now(dt.timezone.utc)
    removed = []
    for bucket in store.buckets():
        referenced = documents.object_keys(bucket)
        for key, version, modified in store.versions(bucket):
            if key not in referenced and modified is not None and now - modified > grace \
                    and store.remove(bucket, key, version):  # a locked version is refused: left alone
                removed.append((bucket, key, version))
    if removed:
        ORPHANS_REMOVED.inc(len(removed))
        log.warning("orphaned objects removed", count=len(removed))
    return removed


class OrphanSweeper(DependencyProvider):
    """Runs `sweep_orphans` every ORPHAN_SWEEP_SECONDS in a managed green thread."""

    def setup(self):
        settings = worker_settings()
        self._store = MinioStore.from_settings(settings)
        self._grace = dt.timedelta(seconds=settings.orphan_grace_seconds)
        self._interval = settings.orphan_sweep_seconds
        self._running = False

    def start(self):
        self._running = True
        self.container.spawn_managed_thread(self._loop, identifier="orphan-sweep")

    def stop(self):
        self._running = False

    kill = stop

    def _loop(self):
        while self._running:
            eventlet.sleep(self._interval)
            try:
                sweep_orphans(self._store, mongo.MongoDocuments(), self._grace)
            except Exception:
                log.exception("orphan sweep failed; will try again")


class DocumentsWorker:
    name = "documents"
    observability = Observability()
    database = MongoConnection()
    outbox = OutboxRelayRunner(*mongo.outbox_collections())
    sweeper = OrphanSweeper()
