"""The authorisation matrix (issue 9, kind 9): every role the platform knows, and no token at all,
× every RPC of every service × a token of the target's own agency and of another agency.

The services run in process behind the chassis' real gRPC server and interceptor (JWT, policies,
error mapping), over a real grpcio channel; only their stores are in-memory fakes. The RPCs come
from the generated service descriptors, so a new RPC fails `test_every_rpc_has_a_request` until
it is given a request aimed at the own agency, and is then covered by every rule below:

- no token: UNAUTHENTICATED, except for the RPCs declared `@public`;
- a role the RPC's policy does not name: PERMISSION_DENIED `ROLE_REQUIRED`;
- a role it names, acting for ANOTHER agency: PERMISSION_DENIED (an agency refusal), never a
  success and never an answer that says whether the target exists. Exempt by design: SERVICE
  (platform accounts act for every agency) and a citizen's online submission (citizens belong to
  no agency);
- a role it names, acting for the OWN agency: never UNAUTHENTICATED or PERMISSION_DENIED.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onestop.common.v1 import common_pb2
from onestop.delivery.v1 import delivery_pb2, delivery_pb2_grpc
from onestop.documents.v1 import documents_pb2, documents_pb2_grpc
from onestop.intake.v1 import intake_pb2, intake_pb2_grpc, queue_pb2, queue_pb2_grpc
from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop.survey.v1 import survey_pb2, survey_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.grpc_server import GrpcServer
from onestop_chassis.worktime import VIETNAM, WorkingDuration
from onestop_delivery import fees as delivery_fees
from onestop_delivery.api import DeliveryServicer
from onestop_delivery.bootstrap import Delivery
from onestop_delivery.bootstrap import bootstrap as delivery_bootstrap
from onestop_delivery.carrier import CarrierStatus, Direction, Party, TrackingEvent
from onestop_delivery.config import PACKAGED_TABLES, DeliverySettings
from onestop_delivery.domain import Source as DeliverySource
from onestop_delivery.service import DossierFacts, NewShipment
from onestop_documents import domain as docs_domain
from onestop_documents.api import DocumentsServicer
from onestop_documents.service import DocumentsService, PeerReceipt, Policy
from onestop_intake.api import IntakeServicer
from onestop_intake.bootstrap import bootstrap
from onestop_intake.catalogue import domain as catalogue
from onestop_intake.catalogue import files as catalogue_files
from onestop_intake.config import IntakeSettings
from onestop_intake.demo_data import UNITS
from onestop_intake.public.lookup_limits import LookupLimits
from onestop_intake.queue.api import QueueServicer, TicketLimits
from onestop_intake.queue.domain import Ticket
from onestop_intake.queue.service import QueueDesk
from onestop_intake.reception import domain
from onestop_intake.shared import proto
from onestop_intake.units import domain as units
from onestop_routing import domain as routing_domain
from onestop_routing.api import RoutingServicer
from onestop_routing.domain.journey import AssigneeKind
from onestop_routing.domain.process import Action, Performer, ProcessTemplate, Published, Step, StepKind, Transition
from onestop_routing.service import RoutingService
from onestop_routing.templates import files as template_files
from onestop_routing.templates.api import template_to_proto
from onestop_routing.templates.service import TemplateService
from onestop_survey.answers.limits import SurveyLimits
from onestop_survey.api import SurveyServicer
from onestop_survey.bootstrap import bootstrap as survey_bootstrap
from onestop_survey.bootstrap import feedback_policy
from onestop_survey.config import SurveySettings
from onestop_survey.feedback import domain as feedback_domain
from onestop_survey.feedback.limits import FeedbackLimits
from onestop_survey.feedback.service import FeedbackService
from onestop_survey.invitations import domain as survey_invitations

from fakes import (
    FakeAnswers,
    FakeCarrier,
    FakeCases,
    FakeCatalogue,
    FakeDocuments,
    FakeDossiers,
    FakeFeedback,
    FakeIntakeFacts,
    FakeInvitationStore,
    FakeKiosks,
    FakeObjectStore,
    FakeQuestionnaires,
    FakeRatings,
    FakeSequence,
    FakeShipmentStore,
    FakeTallyDays,
    FakeTemplates,
    FakeTickets,
    FakeUnitTree,
)
from routing_samples import UNITS as SAMPLE_UNITS
from routing_samples import land_registration

OWN = "000.00.21.H17"     # the province's service centre (a desk)
OTHER = "000.40.21.H17"   # the old district's shared desk: another agency
NOW = dt.datetime(2026, 11, 17, 2, 0, tzinfo=dt.UTC)
CODE = f"{OWN}-261117-0001"
DOC_ID = "doc-own-1"
POSTAL_CODE, PICKUP_CODE = f"{OWN}-261117-0008", f"{OWN}-261117-0009"  # delivery's seeded shipments
SHIPMENT_ID, WAYBILL, UNPICKED_ID = f"{POSTAL_CODE}-R1", "EB000000001VN", f"{PICKUP_CODE}-R1"
CITIZEN_PARTY = Party("Nguyễn Văn An", "0912345678", "12 Lê Lợi", "20200", "48")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NO_TOKEN = "(no token)"
AGENCY_EXEMPT = {("SubmitDossier", auth.CITIZEN)}  # citizens submit online to any agency's desk


# --- in-memory stores ----------------------------------------------------------------------------
def _document() -> docs_domain.Document:
    return docs_domain.Document(
        document_id=DOC_ID, request_id="r-1", dossier_code=CODE, agency_code=OWN, kind=docs_domain.Kind.RESULT,
        component="Kết quả", version=1, file_name="ket-qua.pdf", content_type="application/pdf",
        size_bytes=len(PDF), sha256="0" * 64, bucket="onestop-own", object_key=f"{CODE}/k", object_version="v1",
        stored_at=NOW, uploaded_by="officer")


class Peers:
    def knows(self, agency_code):
        return True

    def upload(self, agency_code, request, chunks):
        for _ in chunks:
            pass
        return PeerReceipt(f"peer-{request.request_id}", request.sha256, replayed=False)


class KnownUnits:
    """Intake's unit list, as routing's template checks read it."""

    def codes(self):
        return frozenset(u.code for u in UNITS) | SAMPLE_UNITS


def _own_template():
    """A process template of the OWN agency (routing's template RPCs)."""
    return dataclasses.replace(land_registration(), agency_code=OWN)
# --- routing's process template for the seeded case ---------------------------------------------
def _matrix_template() -> ProcessTemplate:
    def task(code: str) -> Step:
        return Step(code, f"Bước {code}", StepKind.TASK, Performer(OWN, auth.PROCESSING_OFFICER),
                    WorkingDuration(days=2))
    return ProcessTemplate(
        process_code="QT.MATRIX", version=1, name="Ma trận", legal_limit=WorkingDuration(days=10), start_step="tach",
        steps=(Step("tach", "Tách", StepKind.SPLIT), task("a"), task("b"), Step("gop", "Gộp", StepKind.JOIN),
               task("ket_qua")),
        transitions=(Transition("tach", Action.FORWARD, "a"), Transition("tach", Action.FORWARD, "b"),
                     Transition("a", Action.FORWARD, "gop"), Transition("b", Action.FORWARD, "gop"),
                     Transition("gop", Action.FORWARD, "ket_qua"), Transition("ket_qua", Action.FINISH)))


ROUTING_TEMPLATES = FakeTemplates(_matrix_template())


# --- the platform in process ---------------------------------------------------------------------
def _procedure() -> catalogue.Procedure:
    shipped = catalogue_files.entries_to_procedures(*catalogue_files.parse_file(
        (__import__("importlib.resources").resources.files("onestop_intake") / "catalogue.yaml").read_bytes(),
        "yaml"), lambda code: True)
    first = next(p for p in shipped if p.in_force(NOW.date()))
    return dataclasses.replace(first, competent_unit_code=OWN, version=1)


def _dossier(store: FakeCatalogue, procedure: catalogue.Procedure) -> domain.Dossier:
    cmd = domain.SubmitDossier(
        request_id="seed", procedure_code=procedure.code, channel=domain.Channel.IN_PERSON,
        applicant=domain.Applicant(kind=domain.ApplicantKind.PERSON, full_name="Nguyễn Văn An",
                                   citizen_id="001203004567", phone="0912345678"))
    dossier, _ = domain.receive(cmd, request_id="seed", code=CODE, lookup_secret="ABCDEFGH", fingerprint="f",
                                procedure=procedure, unit=store.unit(OWN), received_at=NOW,
                                appointment_at=NOW + dt.timedelta(days=3), actor="officer")
    return dossier


@dataclasses.dataclass
class World:
    """Fresh stores for every call, so one call's change never decides another's answer."""
    procedure: catalogue.Procedure
    catalogue: FakeCatalogue = None
    dossiers: FakeDossiers = None
    tickets: FakeTickets = None
    cases: FakeCases = None
    documents: FakeDocuments = None
    templates: FakeTemplates = None
    survey_stores: dict = None
    invitation_id: str = ""
    survey_token: str = ""
    kiosk_key: str = ""
    feedback: FeedbackService = None  # over a FakeFeedback: an open item of OWN and an answered one
    feedback_store: object = None
    feedback_open: str = ""
    feedback_answered: str = ""
    feedback_secret: str = ""  # the answered item's
    delivery: Delivery = None

    def reset(self):
        self.catalogue = FakeCatalogue([self.procedure], UNITS)
        self.dossiers = FakeDossiers()
        self.dossiers.items[CODE] = _dossier(self.catalogue, self.procedure)
        self.tickets = FakeTickets()
        self.tickets.issue(Ticket("t-1", OWN, "ho-tich", NOW.astimezone(VIETNAM).date(), 1, NOW))
        # The case runs a template whose two parallel steps OWN performs: "a" assigned to OWN's
        # processing officer (who may act on it), "b" unassigned (to claim or assign).
        self.cases = FakeCases()
        routing = RoutingService(self.cases, ROUTING_TEMPLATES, clock=lambda: NOW)
        routing.open_case(routing_domain.OpenCase(
            event_id="e-1", dossier_code=CODE, procedure_code=self.procedure.code,
            procedure_name=self.procedure.name, receiving_unit_code=OWN, receiving_unit_name="Trung tâm",
            channel=1, applicant_name="Nguyễn Văn An", received_at=NOW, due_at=NOW + dt.timedelta(days=10),
            process_code="QT.MATRIX"))
        routing.assign([CODE], "a", f"{auth.PROCESSING_OFFICER}-{OWN}", AssigneeKind.PRIMARY, "seed",
                       auth.Principal("leader", frozenset({auth.UNIT_LEADER}), OWN))
        self.documents = FakeDocuments(_document())
        self.templates = FakeTemplates(_own_template())
        self.survey_stores = {"invitations": FakeInvitationStore(), "questionnaires": FakeQuestionnaires(),
                              "answers": FakeAnswers(), "ratings": FakeRatings(), "tallies": FakeTallyDays(),
                              "kiosks": FakeKiosks(), "units": FakeUnitTree({OWN: "", OTHER: ""})}
        invitations = _survey(self).invitations
        self.kiosk_key = _survey(self).answers.kiosks.register(OWN, "k1", auth.Principal(
            "seed", frozenset({auth.SERVICE})))[1]  # the own unit's registered kiosk
        invitation, _ = invitations.issue(survey_invitations.ResultReturned(
            "e-1", CODE, OWN, "", "1.000948", "Cấp phiếu lý lịch tư pháp", "desk", "desk", 1, NOW))
        self.invitation_id = invitation.id
        self.survey_token = invitations.desk_view(invitation).link.rsplit("/", 1)[1]
        self.feedback_store = FakeFeedback()
        self.feedback = FeedbackService(self.feedback_store, feedback_policy(SurveySettings()),
                                        FakeUnitTree({OWN: "", OTHER: ""}), clock=lambda: NOW)
        filing = feedback_domain.Filing(
            code="", secret_hash="", agency_code=OWN, type_code="thu-tuc", content="Hướng dẫn chưa rõ",
            complainant=feedback_domain.Complainant(feedback_domain.FiledBy.PERSON, "Nguyễn Văn An", "0912345678"))
        self.feedback_open = self.feedback.file(filing)[0].code
        answered, self.feedback_secret = self.feedback.file(filing)
        self.feedback_answered = answered.code
        self.feedback.answer(answered.code, "Đã hướng dẫn lại", False, "seed",
                             auth.Principal("seed", frozenset({auth.SERVICE})))
        self.delivery = _delivery_world()


def _survey(world: World):
    """Survey's composition over the world's stores, its public limits lifted."""
    lifted = SurveyLimits(per_kiosk="100000/minute", per_client="100000/minute", token_requests="100000/minute",
                          token_mismatches="100000/hour")
    return survey_bootstrap(SurveySettings(), **world.survey_stores, limits=lifted, clock=lambda: NOW,
                            feedback=world.feedback_store, feedback_limits=FeedbackLimits("100000/hour", "100000/hour"))


def _delivery_world() -> Delivery:
    """Delivery over fakes: CODE chose postal return; POSTAL_CODE's shipment was ordered and failed
    one attempt (rebookable); PICKUP_CODE's is booked, not picked up (cancellable)."""
    facts = [DossierFacts(code, OWN, "1.000001", True, True) for code in (CODE, POSTAL_CODE, PICKUP_CODE)]
    delivery = delivery_bootstrap(
        DeliverySettings(), shipments=FakeShipmentStore(), intake=FakeIntakeFacts(facts, {"1.000001": True}),
        tables=delivery_fees.read_tables(PACKAGED_TABLES), carrier=FakeCarrier(), clock=lambda: NOW)
    desk = auth.Principal("desk", frozenset({auth.DESK_OFFICER}), OWN)
    delivery.service.create_shipment(NewShipment(Direction.OUTBOUND, POSTAL_CODE, applicant=CITIZEN_PARTY), desk)
    assert delivery.ordering is not None and delivery.ordering.place_due().placed == 1
    delivery.service.record_report(WAYBILL, TrackingEvent("m-1", WAYBILL, "", CarrierStatus.FAILED_ATTEMPT, NOW),
                                   DeliverySource.CARRIER_POLL, auth.Principal("carrier", frozenset({auth.SERVICE})))
    delivery.service.create_shipment(NewShipment(Direction.OUTBOUND, PICKUP_CODE, applicant=CITIZEN_PARTY), desk)
    return delivery


class Delegate:
    """Forwards to the servicer built over the world's current stores (rebuilt on every reset)."""

    def __init__(self, build):
        self._build = build
        self.target = None

    def __getattr__(self, name):
        return getattr(self.target, name)


def _servicers(world: World):
    def intake():
        return IntakeServicer(bootstrap(
            load_settings(IntakeSettings, documents_address=""), dossiers=world.dossiers, catalogue=world.catalogue,
            sequence=FakeSequence(), tickets=world.tickets, clock=lambda: NOW,
            lookup_limits=LookupLimits(lookups_per_client="100000/minute", mismatches_per_client="100000/hour",
                                       mismatches_per_code_and_client="100000/hour")))

    def queue():
        desk = QueueDesk(world.tickets, unit_exists=lambda code: world.catalogue.unit(code) is not None,
                         clock=lambda: NOW)
        return QueueServicer(desk, TicketLimits(per_client="100000/hour"))

    def routing():
        return RoutingServicer(RoutingService(world.cases, ROUTING_TEMPLATES, clock=lambda: NOW),
                               TemplateService(world.templates, KnownUnits(), clock=lambda: NOW))

    def documents():
        return DocumentsServicer(DocumentsService(world.documents, FakeObjectStore(PDF), Peers(), Policy(),
                                                  clock=lambda: NOW))
    def survey():
        return SurveyServicer(_survey(world))

    def delivery():
        return DeliveryServicer(world.delivery.service)
    return {"intake": intake, "queue": queue, "routing": routing, "documents": documents,
            "survey": survey, "delivery": delivery}


SERVICES = {  # name → (servicer class, add function, descriptor)
    "intake": (IntakeServicer, intake_pb2_grpc.add_IntakeServiceServicer_to_server,
               intake_pb2.DESCRIPTOR.services_by_name["IntakeService"]),
    "queue": (QueueServicer, queue_pb2_grpc.add_QueueServiceServicer_to_server,
              queue_pb2.DESCRIPTOR.services_by_name["QueueService"]),
    "routing": (RoutingServicer, routing_pb2_grpc.add_RoutingServiceServicer_to_server,
                routing_pb2.DESCRIPTOR.services_by_name["RoutingService"]),
    "documents": (DocumentsServicer, documents_pb2_grpc.add_DocumentsServiceServicer_to_server,
                  documents_pb2.DESCRIPTOR.services_by_name["DocumentsService"]),
    "survey": (SurveyServicer, survey_pb2_grpc.add_SurveyServiceServicer_to_server,
               survey_pb2.DESCRIPTOR.services_by_name["SurveyService"]),
    "delivery": (DeliveryServicer, delivery_pb2_grpc.add_DeliveryServiceServicer_to_server,
                 delivery_pb2.DESCRIPTOR.services_by_name["DeliveryService"]),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def platform():
    world = World(_procedure())
    world.reset()
    settings = load_settings(ServiceSettings, service_name="matrix", grpc_port=_free_port())
    server = GrpcServer(settings)
    builders = _servicers(world)
    delegates = {}
    for name, (cls, add, descriptor) in SERVICES.items():
        # The servicer class itself is registered (its policies), with calls forwarded to a fresh instance.
        proxy_cls = type(f"Matrix{cls.__name__}", (cls,), {
            m.name: (lambda method: lambda self, request, context: getattr(self._delegate.target, method)(
                request, context))(m.name) for m in descriptor.methods})
        for m in descriptor.methods:
            getattr(proxy_cls, m.name).__onestop_policy__ = auth.policy_of(getattr(cls, m.name))
        proxy = proxy_cls.__new__(proxy_cls)
        proxy._delegate = delegates[name] = Delegate(builders[name])
        server.add_servicer(add, proxy, descriptor)
    server.start()

    def reset():
        world.reset()
        for delegate in delegates.values():
            delegate.target = delegate._build()
    with grpc.insecure_channel(f"127.0.0.1:{settings.grpc_port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel, reset, world, settings
    server.stop(grace=0)


# --- one request per RPC, aimed at the OWN agency ------------------------------------------------
def _requests(world: World) -> dict[str, object]:
    procedure = proto.procedure_to_proto(world.procedure, unit_names={}, today=NOW.date())
    new_procedure = intake_pb2.Procedure()
    new_procedure.CopyFrom(procedure)
    new_procedure.code = "DP.HT.9001"
    new_procedure.is_local_code = True
    applicant = common_pb2.Applicant(kind=common_pb2.APPLICANT_KIND_PERSON, full_name="Nguyễn Văn An",
                                     citizen_id="001203004567", phone="0912345678")
    import yaml
    entry = catalogue_files.dump_file(
        [dataclasses.replace(world.procedure, code="DP.HT.9002", is_local_code=True)], "yaml")
    assert yaml.safe_load(entry)
    return {
        # intake: the desk
        "SubmitDossier": intake_pb2.SubmitDossierRequest(
            request_id="m-1", procedure_code=world.procedure.code, channel=common_pb2.CHANNEL_ONLINE,
            applicant=applicant, receiving_unit_code=OWN,
            documents=[intake_pb2.SubmittedDocument(name=d.name, count=1) for d in world.procedure.required_documents]),
        "LookupDossier": intake_pb2.LookupDossierRequest(code=CODE, secret="WRONGSEC"),
        "GetResultLinks": intake_pb2.GetResultLinksRequest(code=CODE, secret="WRONGSEC"),
        "GetReceipt": intake_pb2.GetReceiptRequest(code=CODE),
        "GetForm": intake_pb2.GetFormRequest(code=CODE, form=intake_pb2.FORM_KIND_RECEIPT),
        "GetDossier": intake_pb2.GetDossierRequest(code=CODE),
        "AcceptDossier": intake_pb2.AcceptDossierRequest(code=CODE),
        "RequestSupplement": intake_pb2.RequestSupplementRequest(code=CODE, reason="Thiếu bản sao",
                                                                 documents_to_add=["Bản sao CCCD"]),
        "ReceiveSupplement": intake_pb2.ReceiveSupplementRequest(code=CODE),
        "RefuseDossier": intake_pb2.RefuseDossierRequest(code=CODE, reasons=["Không thuộc thẩm quyền"]),
        "RequestWithdrawal": intake_pb2.RequestWithdrawalRequest(code=CODE, reason="Công dân rút hồ sơ"),
        "RecordResult": intake_pb2.RecordResultRequest(code=CODE, summary="Đã cấp"),
        "ReturnResult": intake_pb2.ReturnResultRequest(code=CODE, method=intake_pb2.RETURN_METHOD_ONLINE),
        # intake: units and the catalogue
        "PutUnit": intake_pb2.PutUnitRequest(unit=proto.unit_to_proto(units.Unit(
            "000.01.21.H17", "Quầy mới", OWN, units.UnitKind.DESK, units.UnitLevel.PROVINCE))),
        "GetUnit": intake_pb2.GetUnitRequest(code=OWN),
        "ListUnits": intake_pb2.ListUnitsRequest(parent_code=OWN),
        "CreateProcedure": intake_pb2.CreateProcedureRequest(procedure=new_procedure),
        "UpdateProcedure": intake_pb2.UpdateProcedureRequest(procedure=procedure),
        "DeactivateProcedure": intake_pb2.DeactivateProcedureRequest(code=world.procedure.code, version=1),
        "GetProcedure": intake_pb2.GetProcedureRequest(code=world.procedure.code),
        "ListProcedures": intake_pb2.ListProceduresRequest(),
        "ImportProcedures": intake_pb2.ImportProceduresRequest(content=entry, format=intake_pb2.CATALOGUE_FORMAT_YAML),
        "ExportProcedures": intake_pb2.ExportProceduresRequest(format=intake_pb2.CATALOGUE_FORMAT_YAML),
        # queue
        "TakeTicket": queue_pb2.TakeTicketRequest(unit_code=OWN, queue="ho-tich"),
        "CallNextTicket": queue_pb2.CallNextTicketRequest(unit_code=OWN, queue="ho-tich", counter=1),
        "ListServing": queue_pb2.ListServingRequest(unit_code=OWN),
        # routing
        "GetCase": routing_pb2.GetCaseRequest(dossier_code=CODE),
        "PutProcessTemplate": routing_pb2.PutProcessTemplateRequest(template=template_to_proto(Published(
            dataclasses.replace(_own_template(), name="Đăng ký biến động (bản 2)"), NOW, "admin")), request_id="m-t"),
        "GetProcessTemplate": routing_pb2.GetProcessTemplateRequest(process_code=_own_template().process_code,
                                                                    agency_code=OWN),
        "ListProcessTemplates": routing_pb2.ListProcessTemplatesRequest(agency_code=OWN),
        "ImportProcessTemplates": routing_pb2.ImportProcessTemplatesRequest(
            content=template_files.dump_file([_own_template()], "yaml"), format=routing_pb2.TEMPLATE_FILE_FORMAT_YAML),
        "GetJourney": routing_pb2.GetJourneyRequest(dossier_code=CODE),
        "GetCaseForm": routing_pb2.GetCaseFormRequest(dossier_code=CODE, form=routing_pb2.CASE_FORM_CONTROL_SLIP),
        "GetTrackingBook": routing_pb2.GetTrackingBookRequest(unit_code=OWN, period=f"{NOW:%Y-%m}",
                                                              format=routing_pb2.BOOK_FORMAT_XLSX),
        "ListInbox": routing_pb2.ListInboxRequest(unit_code=OWN, scope=routing_pb2.ListInboxRequest.SCOPE_UNASSIGNED),
        "ClaimStep": routing_pb2.ClaimStepRequest(dossier_code=CODE, step_code="b", request_id="m-claim"),
        "AssignSteps": routing_pb2.AssignStepsRequest(dossier_codes=[CODE], step_code="b", assignee="cv-2",
                                                      kind=routing_pb2.ASSIGNEE_KIND_PRIMARY, request_id="m-assign"),
        "ActOnStep": routing_pb2.ActOnStepRequest(dossier_code=CODE, step_code="a",
                                                  action=routing_pb2.STEP_ACTION_FORWARD, request_id="m-act"),
        "ExtendCase": routing_pb2.ExtendCaseRequest(dossier_code=CODE, extra=common_pb2.WorkingDuration(days=2),
                                                    reason="Chờ ý kiến liên ngành", request_id="m-extend"),
        "ConfirmPayment": routing_pb2.ConfirmPaymentRequest(dossier_code=CODE, note="Biên lai 001",
                                                            request_id="m-pay"),
        # documents
        "UploadDocument": [
            documents_pb2.UploadDocumentRequest(metadata=documents_pb2.UploadMetadata(
                request_id="m-up", dossier_code=CODE, kind=documents_pb2.DOCUMENT_KIND_COMPONENT,
                component="Giấy đề nghị", file_name="de-nghi.pdf", agency_code=OWN)),
            documents_pb2.UploadDocumentRequest(chunk=PDF)],
        "DownloadDocument": documents_pb2.DownloadDocumentRequest(document_id=DOC_ID),
        "GetDownloadLink": documents_pb2.GetDownloadLinkRequest(document_id=DOC_ID, ttl_seconds=60),
        "ListDocuments": documents_pb2.ListDocumentsRequest(dossier_code=CODE, agency_code=OWN),
        "WithdrawDocument": documents_pb2.WithdrawDocumentRequest(document_id=DOC_ID, reason="Nhầm tệp"),
        "ApplyRetention": documents_pb2.ApplyRetentionRequest(dossier_code=CODE, agency_code=OWN),
        "SetLegalHold": documents_pb2.SetLegalHoldRequest(document_id=DOC_ID, on=True),
        "TransferDocuments": documents_pb2.TransferDocumentsRequest(
            dossier_code=CODE, source_agency_code=OWN, target_agency_code=OTHER),
        "GetDigitisationStatus": documents_pb2.GetDigitisationStatusRequest(dossier_code=CODE, agency_code=OWN),
        # survey
        "GetInvitation": survey_pb2.GetInvitationRequest(id=world.invitation_id),
        "PutQuestionnaire": survey_pb2.PutQuestionnaireRequest(
            agency_code=OWN, format=survey_pb2.QUESTIONNAIRE_FILE_FORMAT_YAML, content=(
                "- code: quay-1\n  name: Phiếu tại quầy\n  questions:\n    - id: y-kien\n      kind: text\n"
                "      text: Ý kiến\n      max_length: 100\n").encode()),
        "SetInvitationQuestionnaire": survey_pb2.SetInvitationQuestionnaireRequest(
            agency_code=OWN, questionnaire_code="sipas-5"),
        "GetSurvey": survey_pb2.GetSurveyRequest(token=world.survey_token),
        "SubmitAnswers": survey_pb2.SubmitAnswersRequest(token=world.survey_token, answers=[
            survey_pb2.Answer(question_id=str(i), value=2) for i in range(1, 10)]),
        "RateOfficer": survey_pb2.RateOfficerRequest(agency_code=OWN, kiosk_id="k1", officer="desk", level=3,
                                                     kiosk_key=world.kiosk_key, request_id="m-1"),
        "RegisterKiosk": survey_pb2.RegisterKioskRequest(unit_code=OWN, kiosk_id="k2"),
        "RevokeKiosk": survey_pb2.RevokeKioskRequest(unit_code=OWN, kiosk_id="k1"),
        "GetSatisfactionIndex": survey_pb2.GetSatisfactionIndexRequest(
            agency_code=OWN, from_date="2026-11-01", to_date="2026-11-30"),
        "FileFeedback": survey_pb2.FileFeedbackRequest(
            agency_code=OWN, type_code="thu-tuc", content="Thời gian chờ quá lâu",
            complainant=survey_pb2.Complainant(kind=1, name="Trần Thị Bình", phone="0987654321")),
        "GetFeedback": survey_pb2.GetFeedbackRequest(code=world.feedback_answered, secret=world.feedback_secret),
        "ListFeedback": survey_pb2.ListFeedbackRequest(unit_code=OWN),
        "AssignFeedback": survey_pb2.AssignFeedbackRequest(code=world.feedback_open, type_code="khac",
                                                           request_id="m-1"),
        "AnswerFeedback": survey_pb2.AnswerFeedbackRequest(code=world.feedback_open, answer="Đã xử lý",
                                                           request_id="m-1"),
        "PublishFeedback": survey_pb2.PublishFeedbackRequest(code=world.feedback_answered, request_id="m-1",
                                                             public_content="Hướng dẫn", public_answer="Đã trả lời"),
        "ReopenFeedback": survey_pb2.ReopenFeedbackRequest(code=world.feedback_answered,
                                                           secret=world.feedback_secret, reason="Chưa thỏa đáng"),
        "RateFeedbackAnswer": survey_pb2.RateFeedbackAnswerRequest(code=world.feedback_answered,
                                                                   secret=world.feedback_secret, rating=2),
        "GetFeedbackIndicators": _indicators_request(),
        "ListPublishedFeedback": survey_pb2.ListPublishedFeedbackRequest(agency_code=OWN),
        # delivery
        "GetShipment": delivery_pb2.GetShipmentRequest(id=SHIPMENT_ID),
        "CreateShipment": delivery_pb2.CreateShipmentRequest(
            direction=delivery_pb2.DIRECTION_OUTBOUND, dossier_code=CODE,
            applicant=delivery_pb2.PostalParty(name="Nguyễn Văn An", phone="0912345678", address_line="12 Lê Lợi",
                                               commune_code="20200", province_code="48")),
        "ListShipments": delivery_pb2.ListShipmentsRequest(agency_code=OWN),
        "CancelShipment": delivery_pb2.CancelShipmentRequest(id=UNPICKED_ID, reason="Công dân đổi ý"),
        "RebookShipment": delivery_pb2.RebookShipmentRequest(id=SHIPMENT_ID),
        "HandOverPickup": delivery_pb2.HandOverPickupRequest(shipment_id=UNPICKED_ID, dossier_code=PICKUP_CODE),
        "GetPostalTotals": delivery_pb2.GetPostalTotalsRequest(agency_code=OWN, month="2026-11"),
        "RecordCarrierReport": delivery_pb2.RecordCarrierReportRequest(
            waybill=WAYBILL, event_id="m-2", state=delivery_pb2.SHIPMENT_STATE_OUT_FOR_DELIVERY,
            happened_at=timestamp_pb2.Timestamp(seconds=int(NOW.timestamp()) + 7200)),
    }


def _indicators_request():
    request = survey_pb2.GetFeedbackIndicatorsRequest(agency_code=OWN)
    request.start.FromDatetime(NOW - dt.timedelta(days=30))
    request.end.FromDatetime(NOW + dt.timedelta(days=1))
    return request


def _rpcs():
    for name, (cls, _, descriptor) in SERVICES.items():
        for method in descriptor.methods:
            yield name, cls, method


RPCS = list(_rpcs())
CALLERS = [(NO_TOKEN, "")] + [(role, agency) for role in sorted(auth.ROLES) for agency in (OWN, OTHER)]


def _contract_services():
    """Every gRPC service of every contract under onestop/ (libs/contracts), by its full name."""
    import importlib
    import pkgutil

    import onestop
    found = {}
    for module in pkgutil.walk_packages(onestop.__path__, "onestop."):
        if module.name.endswith("_pb2"):
            for service in importlib.import_module(module.name).DESCRIPTOR.services_by_name.values():
                found[service.full_name] = service
    return found


def test_every_service_with_rpcs_is_in_the_matrix():
    """A new service (or a reserved one, as survey and delivery are today) joins the matrix with
    its first RPC: add its servicer to SERVICES and _servicers, and a request per RPC."""
    contracts = _contract_services()
    assert "onestop.survey.v1.SurveyService" in contracts  # the walk reaches every contract
    in_matrix = {descriptor.full_name for _, _, descriptor in SERVICES.values()}
    missing = sorted(name for name, service in contracts.items() if service.methods and name not in in_matrix)
    assert missing == [], f"services with RPCs outside the matrix: {missing}"


def test_every_rpc_has_a_request():
    requests = _requests(World(_procedure()))
    missing = [m.full_name for _, _, m in RPCS if m.name not in requests]
    assert not missing, f"add a request aimed at the own agency for {missing}"


def _serialise(message) -> bytes:
    return message.SerializeToString()


def _call(channel, method, request, metadata):
    path = f"/{method.containing_service.full_name}/{method.name}"
    kinds = (method.client_streaming, method.server_streaming)
    out = method.output_type._concrete_class.FromString
    try:
        if kinds == (False, False):
            channel.unary_unary(path, _serialise, out)(request, metadata=metadata, timeout=20)
        elif kinds == (False, True):
            list(channel.unary_stream(path, _serialise, out)(request, metadata=metadata, timeout=20))
        elif kinds == (True, False):
            channel.stream_unary(path, _serialise, out)(iter(request), metadata=metadata, timeout=20)
        else:
            list(channel.stream_stream(path, _serialise, out)(iter(request), metadata=metadata, timeout=20))
    except grpc.RpcError as err:
        reason = ""
        status = rpc_status.from_call(err)
        for detail in status.details if status else []:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
        return err.code(), reason
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize("service_name, servicer, method", RPCS, ids=[m.full_name for _, _, m in RPCS])
def test_matrix(platform, service_name, servicer, method):
    channel, reset, world, settings = platform
    policy = auth.policy_of(getattr(servicer, method.name))
    outcomes = {}
    for role, agency in CALLERS:
        reset()
        request = _requests(world)[method.name]
        metadata = () if role == NO_TOKEN else (("authorization", "Bearer " + auth.mint_token(
            settings.jwt_secret, subject=f"{role}-{agency}", roles=[role], agency=agency)),)
        outcomes[role, agency] = _call(channel, method, request, metadata)

    wrong = []
    for (role, agency), (code, reason) in outcomes.items():
        where = f"{method.name} as {role} of {'own' if agency == OWN else 'other' if agency else 'no'} agency"
        refused = code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
        if policy.public:
            if code == grpc.StatusCode.UNAUTHENTICATED:
                wrong.append(f"{where}: public RPC refused a caller ({code.name})")
        elif role == NO_TOKEN:
            if code != grpc.StatusCode.UNAUTHENTICATED:
                wrong.append(f"{where}: expected UNAUTHENTICATED, got {code.name} {reason}")
        elif policy.roles and role not in policy.roles:
            if (code, reason) != (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED"):
                wrong.append(f"{where}: role not allowed, expected ROLE_REQUIRED, got {code.name} {reason}")
        elif agency == OTHER and role != auth.SERVICE and (method.name, role) not in AGENCY_EXEMPT:
            if code != grpc.StatusCode.PERMISSION_DENIED or reason == "ROLE_REQUIRED":
                wrong.append(f"{where}: CROSS-AGENCY expected PERMISSION_DENIED, got {code.name} {reason}")
        elif refused and not (method.name == "SubmitDossier" and reason == "CHANNEL_NOT_ALLOWED") \
                and not (method.name in STEP_RULES and reason in STEP_RULES[method.name]):
            wrong.append(f"{where}: refused its own agency: {code.name} {reason}")
    assert not wrong, "\n".join(wrong)
    # Not vacuous: a role the RPC allows, of its own agency, gets it done.
    own = [outcomes[r, OWN] for r in sorted(policy.roles or auth.ROLES) if r != auth.SERVICE]
    assert policy.public or any(code == grpc.StatusCode.OK for code, _ in own) or method.name in NOT_OK_ALONE, \
        f"{method.name}: no own-agency role succeeded: {own}"


# RPCs whose own-agency call cannot succeed on this seed (the seeded dossier is status 2, so an
# action from another status is FAILED_PRECONDITION; the authorisation checks ran before that).
NOT_OK_ALONE = {"ReceiveSupplement", "ReturnResult", "AcceptDossier",
                # the seeded case does not wait for a payment (its officers' refusals are FAILED_PRECONDITION)
                "ConfirmPayment",
                # carriers' reports: SERVICE only, and the own-agency check leaves SERVICE out
                "RecordCarrierReport",
                # the seeded shipments carry results, not picked-up dossiers (NOT_INBOUND)
                "HandOverPickup"}
# Routing decides who acts on a step per step, not per RPC (onestop_routing.domain.actions): of an
# RPC's roles, an officer of the own agency who is not the step's assigned handler, or not of the
# role that performs it, is refused with these reasons; the agency rules above still hold.
STEP_RULES = {"ActOnStep": {"NOT_ASSIGNED"}, "ClaimStep": {"ROLE_REQUIRED"}}


def test_the_matrix_catches_a_cross_agency_success(platform):
    """The rule bites: the desk-creation example of the issue, before the fix, would be a success."""
    channel, reset, world, settings = platform
    reset()
    method = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].methods_by_name["PutUnit"]
    desk = units.Unit("000.40.22.H17", "Quầy thứ hai", "000.00.40.H17", units.UnitKind.DESK,
                       units.UnitLevel.DISTRICT, receives_for=("000.00.12.H17",))
    token = auth.mint_token(settings.jwt_secret, subject="district-admin", roles=[auth.AGENCY_ADMIN],
                            agency="000.00.40.H17")
    code, reason = _call(channel, method, intake_pb2.PutUnitRequest(unit=proto.unit_to_proto(desk)),
                         (("authorization", f"Bearer {token}"),))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "RECEIVES_FOR_OTHER_AGENCY")
    assert "000.40.22.H17" not in world.catalogue.units
