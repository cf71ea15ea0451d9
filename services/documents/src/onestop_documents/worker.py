"""Documents' `worker` process: relays its outbox, sweeps orphaned objects, files the forms intake
issues (FormIssued) and puts a finished dossier's files under retention (DossierFinished)."""

from __future__ import annotations

import datetime as dt

import eventlet
from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import auth, events
from onestop_chassis.errors import InvalidArgument, PermanentError, ServiceError, Unavailable
from onestop_chassis.logs import bind_dossier, get_logger
from onestop_chassis.worker import MongoConnection, Observability, OutboxRelayRunner, event_handler, worker_settings

from . import domain
from .adapters import mongo
from .adapters.minio_store import MinioStore
from .api import policy  # imports grpc stubs only; no gRPC call is made here
from .service import DocumentsService

log = get_logger("onestop.documents")
ORPHANS_REMOVED = Counter("onestop_documents_orphans_removed",
                          "Stored objects no document version points at, removed by the sweep")


def sweep_orphans(store: MinioStore, documents: mongo.MongoDocuments, grace: dt.timedelta,
                  now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    """Removes object versions older than `grace` that no document record references: what an
    upload leaves when its process dies between the object write and the record write."""
    now = now or dt.datetime.now(dt.UTC)
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

    uses_database = True  # the worker's MongoConnection closes the database after stop() returned

    def setup(self):
        settings = worker_settings()
        self._store = MinioStore.from_settings(settings)
        self._grace = dt.timedelta(seconds=settings.orphan_grace_seconds)
        self._interval = settings.orphan_sweep_seconds
        self._running = False
        self._thread = None

    def start(self):
        self._running = True
        self._wake = eventlet.Event()
        self._thread = self.container.spawn_managed_thread(self._loop, identifier="orphan-sweep")

    def stop(self):
        """Lets a sweep in progress finish and starts no other. Safe to call more than once."""
        self._running = False
        if self._thread is not None:
            if not self._wake.ready():
                self._wake.send()
            self._thread.wait()

    def kill(self):
        self._running = False

    def _loop(self):
        while self._running:
            self._wake.wait(self._interval)
            if not self._running:
                break
            try:
                sweep_orphans(self._store, mongo.MongoDocuments(), self._grace)
            except Exception:
                log.exception("orphan sweep failed; will try again")


class NoPeers:
    """The worker never transfers (transfers are gRPC calls, made by the api process)."""

    def knows(self, agency_code: str) -> bool:
        return False


class Documents(DependencyProvider):
    """The documents use cases, acting as this service for the events it handles."""

    PRINCIPAL = auth.Principal("documents-worker", frozenset({auth.SERVICE}))

    def setup(self):
        settings = worker_settings()
        self.service = DocumentsService(
            mongo.MongoDocuments(), MinioStore.from_settings(settings), NoPeers(), policy(settings))

    def start(self):
        # After every setup (the database is connected): the worker files forms too, so it migrates
        # and makes the indexes as the api does (whichever starts first; both is harmless).
        mongo.ensure_indexes()

    def get_dependency(self, worker_ctx):
        return self.service


def _event(payload, cls):
    event = events.from_payload(payload, cls)  # InvalidEvent (a PermanentError): dead-lettered
    bind_dossier(event.dossier_code)
    return event


def _requeue_later(exc: Exception) -> None:
    # The chassis' event_handler pauses before the event goes back when a store is down.
    log.warning("store unavailable; the event goes back to the queue", error=str(exc))


class DocumentsWorker:
    name = "documents"
    observability = Observability()
    database = MongoConnection()
    outbox = OutboxRelayRunner(*mongo.outbox_collections())
    sweeper = OrphanSweeper()
    documents = Documents()

    @event_handler("intake", "FormIssued")
    def file_form(self, payload):
        event = _event(payload, ev.FormIssued)
        if event is None:
            return
        request = domain.UploadRequest(
            request_id=event.request_id, dossier_code=event.dossier_code, kind=domain.Kind.FORM,
            component=event.title, file_name=event.file_name, sha256=event.sha256, agency_code=event.agency_code)
        try:
            result = self.documents.upload(request, iter([event.pdf]), Documents.PRINCIPAL)
        except Unavailable as exc:
            _requeue_later(exc)
            raise
        except (InvalidArgument, ServiceError) as exc:  # bad content or data: retrying cannot help
            raise PermanentError(f"form {event.form} refused: {exc.reason}: {exc.message}") from exc
        log.info("form filed", form=event.form, document_id=result.document.document_id,
                 version=result.document.version, replayed=result.replayed)

    @event_handler("intake", "DossierFinished")
    def retain_finished_dossier(self, payload):
        event = _event(payload, ev.DossierFinished)
        if event is None:
            return
        try:
            retained = self.documents.apply_retention(event.dossier_code, event.receiving_unit.code,
                                                      Documents.PRINCIPAL)
        except Unavailable as exc:
            _requeue_later(exc)
            raise
        except ServiceError as exc:
            raise PermanentError(f"retention refused: {exc.reason}: {exc.message}") from exc
        log.info("dossier finished: documents retained", documents=len(retained))
