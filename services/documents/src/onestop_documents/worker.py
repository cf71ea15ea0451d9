"""Documents' `worker` process: relays its outbox, sweeps orphaned objects, files the forms intake
issues (FormIssued), puts a finished dossier's files under retention (DossierFinished) and records
who routing handed a dossier to (CaseOpened, CaseProgressed: liên thông grants)."""

from __future__ import annotations

import datetime as dt

from prometheus_client import Counter

from onestop.events.v1 import intake_events_pb2 as ev
from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis import auth
from onestop_chassis.errors import InvalidArgument, PermanentError, ServiceError, Unavailable
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import (
    Bootstrapped,
    DatabasePrepared,
    MongoConnection,
    Observability,
    OutboxRelayRunner,
    event_handler,
    periodic,
    worker_settings,
)

from . import domain
from .adapters import mongo
from .bootstrap import bootstrap_worker, prepare_database
from .service import DocumentRepository, ObjectStore

log = get_logger("onestop.documents")
ORPHANS_REMOVED = Counter("onestop_documents_orphans_removed",
                          "Stored objects no document version points at, removed by the sweep")
# The worker acts as this service for the events it handles.
PRINCIPAL = auth.Principal("documents-worker", frozenset({auth.SERVICE}))


def sweep_orphans(store: ObjectStore, documents: DocumentRepository, grace: dt.timedelta,
                  now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    """Removes object versions older than `grace` that no document record references: what an
    upload leaves when its process dies between the object write and the record write. Returns
    the (bucket, key, version) removed."""
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


def _requeue_later(exc: Exception) -> None:
    # The chassis' event_handler pauses before the event goes back when a store is down.
    log.warning("store unavailable; the event goes back to the queue", error=str(exc))


class DocumentsWorker:
    name = "documents"
    observability = Observability()
    database = MongoConnection()
    prepared = DatabasePrepared(prepare_database)  # the worker files forms too: migrations and indexes
    outbox = OutboxRelayRunner(*mongo.outbox_collections())  # only with OUTBOX_RELAY_IN_WORKER
    documents = Bootstrapped(bootstrap_worker, "service")
    records = Bootstrapped(bootstrap_worker, "documents")
    objects = Bootstrapped(bootstrap_worker, "store")

    @periodic("orphan_sweep_seconds")
    def sweep(self):
        """Every ORPHAN_SWEEP_SECONDS: `sweep_orphans` with ORPHAN_GRACE_SECONDS. A failure is
        logged and the next tick tries again."""
        try:
            sweep_orphans(self.objects, self.records, dt.timedelta(seconds=worker_settings().orphan_grace_seconds))
        except Exception:
            log.exception("orphan sweep failed; will try again")

    @event_handler("routing", "FormIssued", message=ev.FormIssued)
    def file_routing_form(self, event: ev.FormIssued) -> bool:
        """Routing's forms (04 apology, 05 stop notice): filed as the desk's are."""
        return self._file_form(event)

    @event_handler("delivery", "FormIssued", message=ev.FormIssued)
    def file_delivery_record(self, event: ev.FormIssued) -> bool:
        """Delivery's handover records of a result's parcel (biên bản bàn giao): filed as the desk's forms."""
        return self._file_form(event)

    @event_handler("intake", "FormIssued", message=ev.FormIssued)
    def file_form(self, event: ev.FormIssued) -> bool:
        """Files the form as a FORM document; False when this form was filed before (a replay)."""
        return self._file_form(event)

    def _file_form(self, event: ev.FormIssued) -> bool:
        request = domain.UploadRequest(
            request_id=event.request_id, dossier_code=event.dossier_code, kind=domain.Kind.FORM,
            component=event.title, file_name=event.file_name, sha256=event.sha256, agency_code=event.agency_code)
        try:
            result = self.documents.upload(request, iter([event.pdf]), PRINCIPAL)
        except Unavailable as exc:
            _requeue_later(exc)
            raise
        except (InvalidArgument, ServiceError) as exc:  # bad content or data: retrying cannot help
            raise PermanentError(f"form {event.form} refused: {exc.reason}: {exc.message}") from exc
        if result.replayed:
            return False
        log.info("form filed", form=event.form, document_id=result.document.document_id,
                 version=result.document.version)
        return True

    @event_handler("intake", "DossierFinished", message=ev.DossierFinished)
    def retain_finished_dossier(self, event: ev.DossierFinished) -> None:
        """Puts the dossier's documents under retention (a repeat changes nothing: documents
        already retained are skipped)."""
        try:
            retained = self.documents.apply_retention(event.dossier_code, event.receiving_unit.code, PRINCIPAL)
        except Unavailable as exc:
            _requeue_later(exc)
            raise
        except ServiceError as exc:
            raise PermanentError(f"retention refused: {exc.reason}: {exc.message}") from exc
        log.info("dossier finished: documents retained", documents=len(retained))

    @event_handler("routing", "CaseOpened", message=rev.CaseOpened)
    def grant_opened_case(self, event: rev.CaseOpened) -> bool | None:
        """The case's first steps: their units' officers may read the dossier's files."""
        return self._hand_over(event, event.steps)

    @event_handler("routing", "CaseProgressed", message=rev.CaseProgressed)
    def grant_handed_case(self, event: rev.CaseProgressed) -> bool | None:
        """The steps the case moved to (liên thông): their units' officers may read the dossier's
        files and file their step's results. False when every unit had its grant (a redelivery, or
        a step at a unit the case was at before): nothing changes."""
        return self._hand_over(event, event.steps)

    def _hand_over(self, event: rev.CaseOpened | rev.CaseProgressed, steps) -> bool | None:
        if not steps:
            return None  # no step running (a template without steps): no one to hand it to
        header = event.header
        fields = {"at": header.occurred_at.ToDatetime(tzinfo=dt.UTC) if header.HasField("occurred_at")
                  else dt.datetime.now(dt.UTC), "event_id": header.event_id,
                  "steps": sorted(s.step_code for s in steps)}
        try:
            granted = self.documents.hand_over(event.dossier_code, [s.unit.code for s in steps], fields)
        except Unavailable as exc:
            _requeue_later(exc)
            raise
        except InvalidArgument as exc:  # a code that is not one: a redelivery cannot mend it
            raise PermanentError(f"hand-over refused: {exc.reason}: {exc.message}") from exc
        if granted:
            log.info("dossier handed over: its files are readable by", agencies=granted)
        return bool(granted)
