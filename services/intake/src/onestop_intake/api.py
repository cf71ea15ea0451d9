"""Intake's `api` process: the IntakeService gRPC API."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc, queue_pb2, queue_pb2_grpc
from onestop_chassis import auth, codes
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit
from onestop_chassis.errors import FailedPrecondition, FieldViolation, InvalidArgument
from onestop_chassis.logs import bind_dossier, get_logger
from onestop_chassis.ratelimits import grpc_client, parse_networks

from .config import IntakeSettings
from .forms import issued as issued_forms
from .public.lookup_limits import LookupLimits
from .queue.adapters.mongo import MongoTickets
from .queue.api import QueueServicer, TicketLimits
from .queue.domain import QueueDesk
from .reception.adapters import mongo
from .reception.adapters.documents_client import DocumentsClient
from .reception.service import CatalogueService, IntakeService, UnitService
from .shared import proto
from .shared.worktime import WorkingCalendar

log = get_logger("onestop.intake")
DOSSIERS_RECEIVED = Counter("onestop_intake_dossiers_submitted",
                            "Dossiers registered at a desk, by channel and resulting status",
                            ["channel", "status"])
DESK_ACTIONS = Counter("onestop_intake_desk_actions", "Desk actions carried out, by action", ["action"])
DESK = (auth.DESK_OFFICER, auth.SERVICE)
ADMIN = (auth.AGENCY_ADMIN, auth.SERVICE)
CATALOGUE_CHANGES = Counter("onestop_intake_catalogue_changes", "Procedure catalogue changes, by action", ["action"])
SUBMISSIONS_REPLAYED = Counter("onestop_intake_submissions_replayed",
                               "SubmitDossier retries answered with the dossier of the same request_id")


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, service: IntakeService, catalogue: CatalogueService | None = None,
                 catalogue_store: mongo.MongoCatalogue | None = None,
                 lookup_url: str = "http://127.0.0.1:8051/tra-cuu", documents: DocumentsClient | None = None,
                 result_link_seconds: int = 300, trusted_proxies=(), lookup_limits: LookupLimits | None = None):
        self._service = service
        self._trusted_proxies = tuple(trusted_proxies)
        self._lookup_url = lookup_url
        self._documents = documents
        self._result_link_seconds = result_link_seconds
        self._lookups = lookup_limits or LookupLimits()
        self._catalogue_store = catalogue_store or mongo.MongoCatalogue()
        self._catalogue = catalogue or CatalogueService(self._catalogue_store)
        self._units = UnitService(self._catalogue_store)

    @auth.requires(auth.DESK_OFFICER, auth.CITIZEN, auth.SERVICE)
    def SubmitDossier(self, request, context):
        result = self._service.submit(proto.submit_command(request), auth.current_principal())
        dossier = result.dossier
        bind_dossier(dossier.code)
        if result.replayed:
            SUBMISSIONS_REPLAYED.inc()
            log.info("dossier submission replayed", request_id=dossier.request_id)
        else:
            DOSSIERS_RECEIVED.labels(dossier.channel.name.lower(), dossier.status.name.lower()).inc()
            log.info("dossier registered", status=int(dossier.status), procedure_code=dossier.procedure_code,
                     channel=int(dossier.channel), appointment_at=str(dossier.appointment_at))
        return intake_pb2.SubmitDossierResponse(dossier=proto.dossier_to_proto(dossier),
                                                lookup_secret=dossier.lookup_secret)

    def _limited(self, context, code: str, find):
        """A public read by code and secret, under the lookup rate limits (lookup_limits)."""
        return self._lookups.guarded(client=grpc_client(context, self._trusted_proxies), code=code, find=find)

    @auth.public
    def LookupDossier(self, request, context):
        code = request.code.strip()
        dossier = self._limited(context, code, lambda: self._service.lookup(code, request.secret))
        return intake_pb2.LookupDossierResponse(dossier=proto.public_dossier(dossier))

    @auth.public
    def GetResultLinks(self, request, context):
        code = request.code.strip()
        dossier = self._limited(context, code, lambda: self._service.finished(code, request.secret))
        bind_dossier(dossier.code)
        if self._documents is None:
            raise FailedPrecondition("NO_DOCUMENTS_SERVICE", "this desk keeps no result files: collect the result "
                                     f"at {issued_forms.collect_at(dossier)}")
        links = self._documents.result_links(dossier_code=dossier.code, agency_code=dossier.receiving_unit.code,
                                             ttl_seconds=self._result_link_seconds)
        response = intake_pb2.GetResultLinksResponse()
        for link in links:
            file = response.files.add(file_name=link.file_name, component=link.component,
                                      content_type=link.content_type, size_bytes=link.size_bytes,
                                      sha256=link.sha256, url=link.url)
            file.expires_at.FromDatetime(link.expires_at)
        log.info("result links issued", files=len(links))
        return response

    @auth.requires(*DESK)
    def GetReceipt(self, request, context):
        code = request.code.strip()
        bind_dossier(code)
        dossier = self._service.get(code, auth.current_principal())
        if dossier.appointment_at is None:
            raise FailedPrecondition("NO_APPOINTMENT", f"dossier {code} has no appointment yet: accept it first")
        pdf = issued_forms.render(dossier, issued_forms.Form.RECEIPT, self._lookup_url)
        return intake_pb2.GetReceiptResponse(pdf=pdf, file_name=issued_forms.file_name(issued_forms.Form.RECEIPT, dossier.code))

    @auth.requires(*DESK)
    def GetForm(self, request, context):
        code = request.code.strip()
        bind_dossier(code)
        if request.form not in issued_forms.Form.__members__.values():
            raise InvalidArgument.from_violations([FieldViolation(
                "form", "must be 1 (receipt), 2 (supplement request) or 3 (refusal)")])
        dossier = self._service.get(code, auth.current_principal())
        form = issued_forms.Form(request.form)
        return intake_pb2.GetFormResponse(pdf=issued_forms.render(dossier, form, self._lookup_url),
                                          file_name=issued_forms.file_name(form, dossier.code))

    @auth.requires(*DESK)
    def GetDossier(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.get(request.code.strip(), auth.current_principal())
        return intake_pb2.GetDossierResponse(dossier=proto.dossier_to_proto(dossier))

    def _acted(self, action: str, dossier) -> object:
        DESK_ACTIONS.labels(action).inc()
        log.info("desk action", action=action, status=int(dossier.status), version=dossier.version)
        return proto.dossier_to_proto(dossier)

    @auth.requires(*DESK)
    def AcceptDossier(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.accept(request.code.strip(), auth.current_principal())
        return intake_pb2.AcceptDossierResponse(dossier=self._acted("accept", dossier))

    @auth.requires(*DESK, auth.PROCESSING_OFFICER)
    def RequestSupplement(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.request_supplement(request.code.strip(), request.reason,
                                                   list(request.documents_to_add), auth.current_principal())
        return intake_pb2.RequestSupplementResponse(dossier=self._acted("request_supplement", dossier))

    @auth.requires(*DESK)
    def ReceiveSupplement(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.receive_supplement(request.code.strip(), request.note, auth.current_principal())
        return intake_pb2.ReceiveSupplementResponse(dossier=self._acted("receive_supplement", dossier))

    @auth.requires(*DESK)
    def RefuseDossier(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.refuse(request.code.strip(), list(request.reasons), auth.current_principal())
        return intake_pb2.RefuseDossierResponse(dossier=self._acted("refuse", dossier))

    @auth.requires(*DESK)
    def RequestWithdrawal(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.request_withdrawal(request.code.strip(), request.reason, auth.current_principal())
        return intake_pb2.RequestWithdrawalResponse(dossier=self._acted("request_withdrawal", dossier))

    @auth.requires(*DESK)
    def RecordResult(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.record_result(request.code.strip(), request.summary, auth.current_principal())
        return intake_pb2.RecordResultResponse(dossier=self._acted("record_result", dossier))

    @auth.requires(*DESK)
    def ReturnResult(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._service.return_result(
            request.code.strip(), auth.current_principal(), method=request.method, receiver_name=request.receiver_name,
            receiver_id_number=request.receiver_id_number, postal_tracking_number=request.postal_tracking_number,
            note=request.note,
            receiver_identity=proto.identity_from_proto(request, "receiver_identity_document"))
        return intake_pb2.ReturnResultResponse(dossier=self._acted("return_result", dossier))

    # -- agencies and units -----------------------------------------------------------------------
    @auth.requires(*ADMIN)
    def PutUnit(self, request, context):
        unit, created = self._units.put(proto.unit_from_proto(request.unit), auth.current_principal())
        log.info("unit stored", unit_code=unit.code, created=created)
        return intake_pb2.PutUnitResponse(unit=proto.unit_to_proto(unit), created=created)

    @auth.public
    def GetUnit(self, request, context):
        view = self._units.get(request.code)
        return intake_pb2.GetUnitResponse(unit=proto.unit_to_proto(view.unit),
                                          ancestors=[proto.unit_ref(u) for u in view.ancestors],
                                          children=[proto.unit_ref(u) for u in view.children],
                                          serves=[proto.unit_ref(u) for u in view.serves])

    @auth.public
    def ListUnits(self, request, context):
        found = self._units.list(request.parent_code.strip(), request.descendants, request.kind)
        return intake_pb2.ListUnitsResponse(units=[proto.unit_to_proto(u) for u in found])


    # -- the procedure catalogue ------------------------------------------------------------------
    def _procedure(self, procedure, unit_names: dict[str, str] | None = None):
        if unit_names is None:
            unit = self._catalogue_store.unit(procedure.competent_unit_code)
            unit_names = {unit.code: unit.name} if unit else {}
        return proto.procedure_to_proto(procedure, unit_names=unit_names, today=self._catalogue.today())

    def _changed(self, action: str, procedure):
        CATALOGUE_CHANGES.labels(action).inc()
        log.info("procedure changed", action=action, procedure_code=procedure.code, version=procedure.version)
        return self._procedure(procedure)

    @auth.requires(*ADMIN)
    def CreateProcedure(self, request, context):
        procedure = self._catalogue.create(proto.procedure_from_proto(request.procedure), auth.current_principal())
        return intake_pb2.CreateProcedureResponse(procedure=self._changed("create", procedure))

    @auth.requires(*ADMIN)
    def UpdateProcedure(self, request, context):
        procedure = self._catalogue.update(proto.procedure_from_proto(request.procedure), auth.current_principal())
        return intake_pb2.UpdateProcedureResponse(procedure=self._changed("update", procedure))

    @auth.requires(*ADMIN)
    def DeactivateProcedure(self, request, context):
        procedure = self._catalogue.deactivate(request.code.strip(), request.version, auth.current_principal())
        return intake_pb2.DeactivateProcedureResponse(procedure=self._changed("deactivate", procedure))

    @auth.public
    def GetProcedure(self, request, context):
        return intake_pb2.GetProcedureResponse(procedure=self._procedure(self._catalogue.get(request.code)))

    @auth.public
    def ListProcedures(self, request, context):
        page = self._catalogue.page(
            page_size=request.page_size, page_token=request.page_token,
            field_code=request.field_code.strip().lower(),  # field codes are lower case: ho_tich
            agency=codes.normalise_code(request.competent_agency_code),
            text=request.text,
            include_inactive=request.include_inactive)
        names = {u.code: u.name for u in self._catalogue_store.all_units()}
        return intake_pb2.ListProceduresResponse(
            procedures=[self._procedure(p, names) for p in page.procedures],
            next_page_token=page.next_page_token, total_size=page.total_size)

    @auth.requires(*ADMIN)
    def ImportProcedures(self, request, context):
        fmt = proto.catalogue_format(request.format)
        result = self._catalogue.import_file(request.content, fmt, auth.current_principal())
        log.info("procedures imported", created=result.created, updated=result.updated, unchanged=result.unchanged)
        for action, count in (("import_create", result.created), ("import_update", result.updated)):
            CATALOGUE_CHANGES.labels(action).inc(count)
        return intake_pb2.ImportProceduresResponse(created_count=result.created, updated_count=result.updated,
                                                   unchanged_count=result.unchanged)

    @auth.public
    def ExportProcedures(self, request, context):
        fmt = proto.catalogue_format(request.format)
        content, count = self._catalogue.export(
            fmt, field_code=request.field_code.strip(), agency=request.competent_agency_code.strip(),
            include_inactive=request.include_inactive)
        return intake_pb2.ExportProceduresResponse(content=content, content_type=proto.CONTENT_TYPES[fmt],
                                                   procedure_count=count)


def build_service(settings: IntakeSettings) -> IntakeService:
    mongo.ensure_indexes()
    mongo.migrate()  # once per database: stored names in NFC, documents in the catalogue's wording
    return IntakeService(mongo.MongoDossiers(), mongo.MongoCatalogue(), mongo.MongoCodeSequence(),
                         calendar=WorkingCalendar(cutoff=settings.cutoff_time))


def register(server, settings: IntakeSettings) -> None:
    server.add_servicer(intake_pb2_grpc.add_IntakeServiceServicer_to_server,
                        IntakeServicer(build_service(settings), lookup_url=settings.public_lookup_url,
                                       documents=DocumentsClient(settings.documents_address, auth.service_token(settings))
                                       if settings.documents_address else None,
                                       result_link_seconds=settings.result_link_seconds,
                                       trusted_proxies=settings.trusted_networks),
                        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"])
    catalogue = mongo.MongoCatalogue()
    server.add_servicer(queue_pb2_grpc.add_QueueServiceServicer_to_server,
                        QueueServicer(QueueDesk(MongoTickets(), unit_exists=lambda code: catalogue.unit(code) is not None),
                                      TicketLimits(parse_networks(settings.queue_kiosks), settings.tickets_per_kiosk,
                                                   settings.tickets_per_client),
                                      trusted_proxies=settings.trusted_networks),
                        queue_pb2.DESCRIPTOR.services_by_name["QueueService"])


def main() -> None:
    settings = load_or_exit(IntakeSettings)
    run_api(settings, lambda server: register(server, settings))
