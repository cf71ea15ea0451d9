"""Every worker event handler and timer, driven with nameko's own test tools: `worker_factory` (the
service instance, dependencies given), and `entrypoint_hook` on a `ServiceContainer` whose
dependencies `replace_dependencies` swapped for the shared in-memory fakes (tests/fakes.py).

The container is never started: entrypoint_hook runs a worker through the container (its worker
context, the chassis' Observability, the handler's return or exception) without consuming from a
queue, so no broker is needed. What a started container adds (queues, retries, dead letters) is
tested against the real RabbitMQ in tests/integration/test_dead_letters.py.

This process is not monkey patched by eventlet (that would change every other unit test's threads),
but entrypoint_hook's waiter blocks on a `threading.Semaphore`, which would then block the eventlet
hub running the worker: these tests give nameko's waiter eventlet's Semaphore, and only it.

Intake's form filing is hosted without IntakeWorker's web pages: importing nameko's web server would
change this process's threads for the tests after it (see test_outages).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io

import eventlet.event
import eventlet.semaphore
import nameko.testing.waiting
import pytest
import structlog
from nameko import config as nameko_config
from nameko.containers import ServiceContainer
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.testing.services import entrypoint_hook, replace_dependencies, worker_factory
from nameko.testing.utils import get_extension
from prometheus_client import REGISTRY
from reportlab.pdfgen import canvas
from test_intake_units_results import _dossier, _received_with_documents, _refused, _supplemented

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import auth, events
from onestop_chassis.errors import PermanentError
from onestop_chassis.worker import (
    Observability,
    ReliableEventHandler,
    SettingsTimer,
    nameko_config_for,
    periodic,
)
from onestop_delivery.booking import ShipmentBooking
from onestop_documents import domain as docs
from onestop_documents.adapters.peers import NoPeers
from onestop_documents.bootstrap import bootstrap
from onestop_documents.config import DocumentsSettings
from onestop_documents.worker import DocumentsWorker
from onestop_intake.config import IntakeSettings
from onestop_intake.forms.filing import FormFiling
from onestop_intake.forms.issued import Form
from onestop_intake.reception.following_worker import RoutingFollowing
from onestop_intake.reception.postal_worker import PostalFollowing
from onestop_routing.bootstrap import bootstrap as routing_bootstrap
from onestop_routing.config import RoutingSettings
from onestop_routing.domain.actions import Act
from onestop_routing.domain.process import Action
from onestop_routing.service import RoutingService
from onestop_routing.worker import RoutingWorker

from fakes import FakeCases, FakeDocuments, FakeDossiers, FakeObjectStore, FakeTemplates
from routing_samples import land_registration

CODE = "000.00.21.H17-261117-0001"
UNIT = "000.00.21.H17"
NOW = dt.datetime(2026, 11, 17, 0, 31, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _green_waiter(monkeypatch):
    monkeypatch.setattr(nameko.testing.waiting, "Semaphore", eventlet.semaphore.Semaphore)


@contextlib.contextmanager
def hosted(service_cls, settings, **replacements):
    """A ServiceContainer of `service_cls` under `settings`, not started: the named dependencies
    are replaced by the given values, every other provider but Observability by a MagicMock."""
    with nameko_config.patch(nameko_config_for(settings)):
        container = ServiceContainer(service_cls)
        mocked = [d.attr_name for d in container.dependencies
                  if d.attr_name not in replacements and not isinstance(d, Observability)]
        replace_dependencies(container, *mocked, **replacements)
        for provider in container.dependencies:
            if isinstance(provider, Observability):
                provider.setup()  # the real span, log context and handler metrics around each worker
        yield container


def _count(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _duplicates(service: str, event_type: str) -> float:
    return _count("onestop_event_duplicates_total", service=service, event_type=event_type)


def _calls(service: str, handler: str, outcome: str) -> float:
    return _count("onestop_worker_calls_total", service=service, handler=handler, outcome=outcome)


@pytest.mark.parametrize("service_cls", [RoutingWorker, DocumentsWorker, FormFiling, RoutingFollowing,
                                        PostalFollowing, ShipmentBooking],
                         ids=lambda c: c.__name__)
def test_every_consumer_gets_its_event_parsed_by_the_chassis(service_cls):
    """Each handler names its message type (event_handler(..., message=...)), so none repeats the
    parsing, the log binding or the duplicate count."""
    handlers = {name: getattr(service_cls, name) for name in dir(service_cls)
                if any(isinstance(e, ReliableEventHandler)
                       for e in getattr(getattr(service_cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()))}
    assert handlers
    assert {name: events.event_type(h.event_message) for name, h in handlers.items()
            if getattr(h, "event_message", None)} == {
        name: next(iter(getattr(h, ENTRYPOINT_EXTENSIONS_ATTR))).event_type for name, h in handlers.items()}


# --- routing: DossierReceived opens the case ------------------------------------------------------

def _received(code: str = CODE) -> dict:
    message = ev.DossierReceived(header=events.new_header("intake"), dossier_code=code, procedure_code="1.000948",
                                 procedure_name="Cấp phiếu lý lịch tư pháp", channel=1)
    message.receiving_unit.code, message.receiving_unit.name = UNIT, "Sở Tư pháp"
    message.applicant.full_name = "Nguyễn Văn An"
    message.received_at.FromDatetime(NOW)
    message.appointment_at.FromDatetime(NOW + dt.timedelta(days=3))
    return events.to_payload(message)


@pytest.fixture
def routing():
    cases = FakeCases()
    with hosted(RoutingWorker, RoutingSettings(), routing=routing_bootstrap(RoutingSettings(), cases=cases).service) \
            as container:
        yield container, cases


def test_routing_opens_a_case_for_a_received_dossier(routing):
    container, cases = routing
    before = _calls("routing", "on_dossier_received", "ok")
    with entrypoint_hook(container, "on_dossier_received") as handle:
        assert handle(_received()) is True
    assert list(cases.cases) == [CODE] and cases.cases[CODE].receiving_unit_code == UNIT
    assert _calls("routing", "on_dossier_received", "ok") == before + 1  # the worker ran under Observability


def test_routing_counts_a_redelivered_dossier_and_writes_nothing(routing):
    container, cases = routing
    payload = _received()
    before = _duplicates("routing", "DossierReceived")
    with entrypoint_hook(container, "on_dossier_received") as handle:
        assert handle(payload) is True
        assert handle(payload) is False
    assert _duplicates("routing", "DossierReceived") == before + 1
    assert cases.writes == 1


@pytest.mark.parametrize("payload", [
    {"dossierCode": CODE},  # no header.eventId
    {"header": {"eventId": "e-1"}, "dossierCode": CODE, "channel": "not a channel"},
    "not an object",
], ids=["no-event-id", "wrong-type", "not-an-object"])
def test_routing_refuses_a_malformed_event_for_the_dead_letter_queue(routing, payload):
    container, cases = routing
    with entrypoint_hook(container, "on_dossier_received") as handle, pytest.raises(events.InvalidEvent):
        handle(payload)
    assert cases.cases == {}


def test_routing_refuses_an_event_without_what_a_case_needs(routing):
    container, cases = routing
    with entrypoint_hook(container, "on_dossier_received") as handle, pytest.raises(events.InvalidEvent):
        handle(_received(code="not-a-code"))
    assert cases.cases == {}


def test_the_chassis_binds_the_dossier_to_the_logs():
    structlog.contextvars.clear_contextvars()
    worker = worker_factory(RoutingWorker, routing=RoutingService(FakeCases(), FakeTemplates()))
    try:
        assert worker.on_dossier_received(_received()) is True
        assert structlog.contextvars.get_contextvars()["dossier_code"] == CODE
    finally:
        structlog.contextvars.clear_contextvars()


# --- routing: a template's case, and the supplement received at the desk -------------------------

@pytest.fixture
def routing_with_template():
    cases = FakeCases()
    service = routing_bootstrap(RoutingSettings(), cases=cases, templates=FakeTemplates(land_registration())).service
    with hosted(RoutingWorker, RoutingSettings(), routing=service) as container:
        yield container, cases, service


def _supplement_received(code: str = CODE, event_id: str = "") -> dict:
    message = ev.DossierSupplementReceived(header=events.new_header("intake"), dossier_code=code)
    if event_id:
        message.header.event_id = event_id
    return events.to_payload(message)


def _paused_for_a_supplement(container, service):
    """Received with process code QT-1.000948, forwarded to the land office, which asks for a supplement."""
    payload = _received()
    payload["processCode"] = "QT-1.000948"
    with entrypoint_hook(container, "on_dossier_received") as handle:
        assert handle(payload) is True
    desk = auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), UNIT)
    land = auth.Principal("cv-minh", frozenset({auth.PROCESSING_OFFICER}), "000.01.21.H17")
    service.claim(CODE, "tiep_nhan", "r-1", desk)
    service.act(CODE, Act("tiep_nhan", Action.FORWARD), "r-2", desk)
    service.claim(CODE, "tham_dinh", "r-3", land)
    return service.act(CODE, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao"), "r-4", land)


def test_routing_opens_a_case_with_the_template_of_its_process_code(routing_with_template):
    container, cases, service = routing_with_template
    paused = _paused_for_a_supplement(container, service)
    assert (cases.cases[CODE].process_code, cases.cases[CODE].process_version) == ("QT-1.000948", 1)
    assert paused.view.national_status == 5


def test_routing_resumes_a_case_once_when_the_desk_received_the_supplement(routing_with_template):
    container, cases, service = routing_with_template
    _paused_for_a_supplement(container, service)
    payload = _supplement_received(event_id="evt-supp-1")
    before = _duplicates("routing", "DossierSupplementReceived")
    with entrypoint_hook(container, "on_supplement_received") as handle:
        assert handle(payload) is True
        appended = cases.appends
        assert handle(payload) is False  # redelivered: nothing changes
    assert cases.appends == appended
    assert _duplicates("routing", "DossierSupplementReceived") == before + 1
    assert [type(m).__name__ for m in cases.events][-1] == "CaseResumed"
    assert cases.logs[CODE][-1].entry.request_id == "evt-supp-1"


def test_routing_retries_a_supplement_received_for_a_dossier_without_case(routing_with_template):
    """Review of issue 11: the receipt may overtake the DossierReceived that opens the case, as the
    request may: retried with growing delays and dead-lettered only after the last attempt
    (test_dead_letter_policy), not at once. Nothing is stored meanwhile."""
    from onestop_routing.cases import CaseNotOpenedYet

    container, cases, _ = routing_with_template
    with entrypoint_hook(container, "on_supplement_received") as handle, \
            pytest.raises(CaseNotOpenedYet, match="not open yet") as waiting:
        handle(_supplement_received())
    assert not isinstance(waiting.value, PermanentError)
    assert cases.cases == {} and cases.events == []


def test_routing_times_the_desk_s_pause_by_the_events_occurred_at(routing_with_template):
    """Review of issue 11: the handlers pass the header's occurred_at, so a backlog does not lengthen
    the pause: the paused entry is dated when the desk asked, the resumed one when it received."""
    container, cases, service = routing_with_template
    _processing(container, service)
    last = cases.logs[CODE][-1].entry.at  # the desk asked an hour after it, received a day after
    asked, received = last + dt.timedelta(hours=1), last + dt.timedelta(days=1)
    requested = _supplement_requested("evt-asked")
    requested["header"]["occurredAt"] = asked.isoformat().replace("+00:00", "Z")
    answered = _supplement_received(event_id="evt-answered")
    answered["header"]["occurredAt"] = received.isoformat().replace("+00:00", "Z")
    with entrypoint_hook(container, "on_supplement_requested") as handle:
        assert handle(requested) is True
    with entrypoint_hook(container, "on_supplement_received") as handle:
        assert handle(answered) is True
    paused, resumed = (item.entry for item in cases.logs[CODE][-2:])
    assert (paused.kind, resumed.kind) == ("paused", "resumed")
    assert (paused.at, resumed.at) == (asked, received)


def _supplement_requested(event_id: str, routing_event_id: str = "") -> dict:
    message = ev.DossierSupplementRequested(header=events.new_header("intake"), dossier_code=CODE,
                                            reason="Thiếu bản sao hợp đồng", routing_event_id=routing_event_id)
    message.header.event_id = event_id
    return events.to_payload(message)


def _processing(container, service):
    """Received with process code QT-1.000948 and forwarded by the desk to the land office."""
    payload = _received()
    payload["processCode"] = "QT-1.000948"
    with entrypoint_hook(container, "on_dossier_received") as handle:
        assert handle(payload) is True
    desk = auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), UNIT)
    service.claim(CODE, "tiep_nhan", "r-1", desk)
    return service.act(CODE, Act("tiep_nhan", Action.FORWARD), "r-2", desk)


def test_routing_pauses_once_for_the_desks_own_supplement_request_and_resumes(routing_with_template):
    container, cases, service = routing_with_template
    _processing(container, service)
    events_before = len(cases.events)
    before = _duplicates("routing", "DossierSupplementRequested")
    with entrypoint_hook(container, "on_supplement_requested") as handle:
        assert handle(_supplement_requested("evt-desk-1")) is True
        appended = cases.appends
        assert handle(_supplement_requested("evt-desk-1")) is False  # redelivered: nothing changes
    assert cases.appends == appended
    assert _duplicates("routing", "DossierSupplementRequested") == before + 1
    paused = cases.logs[CODE][-1].entry
    assert (paused.kind, paused.pause, paused.request_id) == ("paused", "supplement", "evt-desk-1")
    assert len(cases.events) == events_before  # intake shows 5 and issued form 02 already
    assert service.get_case(CODE, auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), UNIT)
                            ).view.national_status == 5
    with entrypoint_hook(container, "on_supplement_received") as handle:
        assert handle(_supplement_received(event_id="evt-desk-2")) is True
    assert [type(m).__name__ for m in cases.events][-1] == "CaseResumed"


def test_routing_does_not_pause_again_for_the_desks_request_carrying_out_its_own(routing_with_template):
    container, cases, service = routing_with_template
    _paused_for_a_supplement(container, service)
    appended = cases.appends
    with entrypoint_hook(container, "on_supplement_requested") as handle:
        assert handle(_supplement_requested("evt-desk-3", routing_event_id="evt-routing-1")) is True
    assert cases.appends == appended


def test_routing_retries_a_desk_supplement_request_for_a_dossier_without_case(routing_with_template):
    """Gaps item 5 changed this: the request may have overtaken the case's opening, so it is retried
    (growing delays, EVENT_MAX_ATTEMPTS) and dead-lettered only after the last attempt
    (test_dead_letter_policy), not at once. Nothing is stored meanwhile."""
    from onestop_routing.cases import CaseNotOpenedYet

    container, cases, _ = routing_with_template
    with entrypoint_hook(container, "on_supplement_requested") as handle, \
            pytest.raises(CaseNotOpenedYet, match="not open yet"):
        handle(_supplement_requested("evt-desk-4"))
    assert cases.cases == {} and cases.events == []


# --- documents: forms filed, retention, the orphan sweep ------------------------------------------

def _pdf(text: str = "mau 01") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=True)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def _form_issued(pdf: bytes, request_id: str = "form-1-x") -> dict:
    return events.to_payload(ev.FormIssued(
        header=events.new_header("intake"), dossier_code=CODE, agency_code=UNIT, form=1, title="Giấy tiếp nhận",
        file_name="mau-01.pdf", pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), request_id=request_id))


def _finished() -> dict:
    message = ev.DossierFinished(header=events.new_header("intake"), dossier_code=CODE)
    message.receiving_unit.code = UNIT
    return events.to_payload(message)


@pytest.fixture
def documents():
    """The documents worker over the fakes, composed by documents' own bootstrap."""
    settings = DocumentsSettings(orphan_grace_seconds=3600, orphan_sweep_seconds=42)
    records, objects = FakeDocuments(), FakeObjectStore()
    built = bootstrap(settings, documents=records, store=objects, peers=NoPeers())
    with hosted(DocumentsWorker, settings, documents=built.service, records=records, objects=objects) as container:
        yield container, records, objects


def test_documents_files_an_issued_form(documents):
    container, records, objects = documents
    with entrypoint_hook(container, "file_form") as handle:
        assert handle(_form_issued(_pdf())) is True
    [stored] = records.records
    assert (stored.kind, stored.dossier_code, stored.agency_code) == (docs.Kind.FORM, CODE, UNIT)
    assert len(objects.objects) == 1


def test_documents_counts_a_redelivered_form_and_stores_it_once(documents):
    container, records, objects = documents
    payload = _form_issued(_pdf())
    before = _duplicates("documents", "FormIssued")
    with entrypoint_hook(container, "file_form") as handle:
        assert handle(payload) is True
        assert handle(payload) is False
    assert _duplicates("documents", "FormIssued") == before + 1
    assert len(records.records) == 1 and len(objects.objects) == 1


def test_documents_refuses_a_malformed_form_event(documents):
    container, records, _ = documents
    with entrypoint_hook(container, "file_form") as handle, pytest.raises(events.InvalidEvent):
        handle({"header": {"eventId": "e-1"}, "pdf": "not base64 !"})
    assert records.records == []


def test_documents_dead_letters_a_form_that_can_never_be_filed(documents):
    container, records, _ = documents
    with entrypoint_hook(container, "file_form") as handle, pytest.raises(PermanentError):
        handle(_form_issued(b"plain text, not a PDF"))
    assert records.records == []


def test_documents_retains_a_finished_dossier_once(documents):
    container, records, objects = documents
    with entrypoint_hook(container, "file_form") as file_form:
        file_form(_form_issued(_pdf()))
    with entrypoint_hook(container, "retain_finished_dossier") as handle:
        handle(_finished())
        assert len(records.saves) == 1 and len(objects.retained) == 1
        assert records.records[0].retention is not None
        handle(_finished())  # redelivered: every document is retained already
    assert len(records.saves) == 1 and len(objects.retained) == 1
    assert [kind for kind, _ in records.records_written] == ["retentions"]


def test_documents_refuses_a_malformed_finished_event(documents):
    container, records, _ = documents
    with entrypoint_hook(container, "retain_finished_dossier") as handle, pytest.raises(events.InvalidEvent):
        handle({"dossierCode": CODE})
    assert records.saves == []


class _Upload:
    def __init__(self, data: bytes):
        self.data = data

    def chunks(self):
        yield self.data


def test_the_orphan_sweep_removes_old_unreferenced_objects_only(documents):
    container, records, objects = documents
    with entrypoint_hook(container, "file_form") as file_form:
        file_form(_form_issued(_pdf()))
    kept = next(iter(objects.objects))
    bucket = kept[0]
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    objects.objects[kept] = (objects.objects[kept][0], old)  # referenced: stays however old
    orphan = (bucket, "orphan/old", objects.put(bucket, "orphan/old", _Upload(b"x")))
    objects.objects[orphan] = (b"x", old)
    young = (bucket, "orphan/young", objects.put(bucket, "orphan/young", _Upload(b"y")))  # within the grace
    with entrypoint_hook(container, "sweep") as sweep:
        sweep()
    assert set(objects.objects) == {kept, young}


def test_a_failed_sweep_is_logged_and_the_next_tick_tries_again(documents):
    container, _, objects = documents

    def down():
        raise ConnectionError("MinIO is not answering")
    objects.buckets = down
    with entrypoint_hook(container, "sweep") as sweep:
        assert sweep() is None  # no error reaches the timer


def test_the_sweep_interval_comes_from_the_settings(documents):
    container, _, _ = documents
    timer = get_extension(container, SettingsTimer, method_name="sweep")
    with nameko_config.patch(nameko_config_for(DocumentsSettings(orphan_sweep_seconds=42))):
        timer.setup()
    assert timer.interval == 42.0


class _Database(DependencyProvider):
    """Stands for MongoConnection: records when it closes."""

    def __init__(self, journal: list):
        self.journal = journal

    def stop(self):
        self.journal.append("database closed")

    def get_dependency(self, worker_ctx):
        return self.journal


JOURNAL: list[str] = []
TICKING = eventlet.event.Event()


class _Ticking:
    name = "ticking"
    database = _Database(JOURNAL)

    @periodic("orphan_sweep_seconds")
    def tick(self):
        self.database.append("tick started")
        TICKING.send()
        eventlet.sleep(0.01)  # the shutdown begins while this tick runs
        self.database.append("tick ended")


def test_a_periodic_tick_in_progress_ends_before_the_database_closes():
    """What the sweep's green thread needed `uses_database` for: on shutdown nameko stops the timer,
    waits for the running tick, and only then stops dependency providers. A started container (a
    timer and a provider: no broker)."""
    with nameko_config.patch(nameko_config_for(DocumentsSettings(orphan_sweep_seconds=0.01))):
        container = ServiceContainer(_Ticking)
        container.start()
        TICKING.wait()
        container.stop()
    assert JOURNAL == ["tick started", "tick ended", "database closed"]


# --- intake: the forms the desk issues are filed --------------------------------------------------

class FilingWorker(FormFiling):
    """IntakeWorker's form-filing handlers with its observability, without its web pages."""
    name = "intake"
    observability = Observability()


@pytest.fixture
def filing():
    dossiers, published = FakeDossiers(), []
    with hosted(FilingWorker, IntakeSettings(), publish_event=published.append, dossiers=dossiers) as container:
        yield container, dossiers, published


def _intake_event(cls, dossier) -> dict:
    return events.to_payload(cls(header=events.new_header("intake"), dossier_code=dossier.code))


@pytest.mark.parametrize("handler, cls, make, form", [
    ("file_receipt", ev.DossierReceived, _received_with_documents, Form.RECEIPT),
    ("file_supplement_request", ev.DossierSupplementRequested, _supplemented, Form.SUPPLEMENT_REQUEST),
    ("file_refusal", ev.DossierRefused, _refused, Form.REFUSAL),
])
def test_intake_files_the_form_an_event_issues(filing, handler, cls, make, form):
    container, dossiers, published = filing
    dossier = make()
    dossiers.items[dossier.code] = dossier
    with entrypoint_hook(container, handler) as handle:
        handle(_intake_event(cls, dossier))
    [message] = published
    assert (message.form, message.dossier_code) == (int(form), dossier.code)
    assert message.request_id.startswith(f"form-{int(form)}-{dossier.code}-")


def test_intake_files_a_redelivered_event_under_the_same_request_id(filing):
    """Documents stores a form once per request_id: a redelivery publishes the same one again."""
    container, dossiers, published = filing
    dossier = _received_with_documents()
    dossiers.items[dossier.code] = dossier
    payload = _intake_event(ev.DossierReceived, dossier)
    with entrypoint_hook(container, "file_receipt") as handle:
        handle(payload)
        handle(payload)
    assert len(published) == 2 and published[0].request_id == published[1].request_id


def test_intake_files_nothing_for_an_unknown_dossier_or_a_form_not_issued(filing):
    container, dossiers, published = filing
    received = _dossier()
    dossiers.items[received.code] = received
    with entrypoint_hook(container, "file_receipt") as handle:
        handle(_intake_event(ev.DossierReceived, _dossier(code="000.00.21.H17-261130-0999")))
    with entrypoint_hook(container, "file_refusal") as handle:
        handle(_intake_event(ev.DossierRefused, received))  # not refused: no form 03 to issue
    assert published == []


@pytest.mark.parametrize("handler", ["file_receipt", "file_supplement_request", "file_refusal"])
def test_intake_refuses_a_malformed_event(filing, handler):
    container, _, published = filing
    with entrypoint_hook(container, handler) as handle, pytest.raises(events.InvalidEvent):
        handle({"dossierCode": CODE})
    assert published == []


def test_a_desk_supplement_request_that_overtook_the_case_s_opening_waits_and_applies_once(routing_with_template):
    """Gaps item 5: each event type has its own queue, so the desk's request can arrive before the
    DossierReceived that opens the case. It is retried (not dead-lettered) until the case is open,
    then pauses it once; delivered again, it changes nothing."""
    from onestop_routing.cases import CaseNotOpenedYet

    container, cases, service = routing_with_template
    with entrypoint_hook(container, "on_supplement_requested") as handle, \
            pytest.raises(CaseNotOpenedYet, match="not open yet") as waiting:
        handle(_supplement_requested("evt-early"))
    assert not isinstance(waiting.value, PermanentError)  # the chassis retries it with growing delays
    assert cases.cases == {} and cases.events == [] and cases.appends == 0
    _processing(container, service)  # the DossierReceived comes: the case opens and runs
    with entrypoint_hook(container, "on_supplement_requested") as handle:
        assert handle(_supplement_requested("evt-early")) is True   # the retry applies it
        appended = cases.appends
        assert handle(_supplement_requested("evt-early")) is False  # a redelivery changes nothing
    assert cases.appends == appended
    paused = cases.logs[CODE][-1].entry
    assert (paused.kind, paused.pause, paused.request_id) == ("paused", "supplement", "evt-early")
    desk = auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), UNIT)
    assert service.get_case(CODE, desk).view.supplements == 1


def test_a_supplement_received_for_an_unknown_dossier_waits_like_the_request(routing_with_template):
    """Was dead-lettered at once; the review of issue 11 makes it wait for the case's opening as the
    request does (retried, bounded, then dead-lettered: test_dead_letter_policy)."""
    from onestop_routing.cases import CaseNotOpenedYet

    container, cases, _ = routing_with_template
    with entrypoint_hook(container, "on_supplement_received") as handle, pytest.raises(CaseNotOpenedYet):
        handle(_supplement_received(code="000.00.21.H17-261101-0042"))
    assert cases.appends == 0
