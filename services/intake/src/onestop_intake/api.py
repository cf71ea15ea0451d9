"""Intake's `api` process: the IntakeService gRPC API."""

from __future__ import annotations

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc, queue_pb2, queue_pb2_grpc
from prometheus_client import Counter

from onestop_chassis import auth
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit
from onestop_chassis.logs import bind_dossier, get_logger

from .adapters import mongo, proto
from .adapters.queue_mongo import MongoTickets
from .queue import QueueDesk
from .queue_api import QueueServicer
from .config import IntakeSettings
from .lookup_limits import LookupLimits
from .service import IntakeService

log = get_logger("onestop.intake")
DOSSIERS_RECEIVED = Counter("onestop_intake_dossiers_submitted",
                            "Dossiers registered at a desk, by channel and resulting status",
                            ["channel", "status"])
DESK_ACTIONS = Counter("onestop_intake_desk_actions", "Desk actions carried out, by action", ["action"])
DESK = (auth.DESK_OFFICER, auth.SERVICE)
SUBMISSIONS_REPLAYED = Counter("onestop_intake_submissions_replayed",
                               "SubmitDossier retries answered with the dossier of the same request_id")


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, service: IntakeService):
        self._service = service
        self._lookups = LookupLimits()

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

    @auth.public
    def LookupDossier(self, request, context):
        code = request.code.strip()
        self._lookups.allow(client=context.peer().rsplit(":", 1)[0], code=code)
        try:
            dossier = self._service.lookup(code, request.secret)
        except Exception:
            self._lookups.failed(code)
            raise
        return intake_pb2.LookupDossierResponse(dossier=proto.public_dossier(dossier))

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


def build_service() -> IntakeService:
    mongo.ensure_indexes()
    return IntakeService(mongo.MongoDossiers(), mongo.MongoCatalogue(), mongo.MongoCodeSequence())


def register(server) -> None:
    server.add_servicer(intake_pb2_grpc.add_IntakeServiceServicer_to_server, IntakeServicer(build_service()),
                        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"])
    catalogue = mongo.MongoCatalogue()
    server.add_servicer(queue_pb2_grpc.add_QueueServiceServicer_to_server,
                        QueueServicer(QueueDesk(MongoTickets(), unit_exists=lambda code: catalogue.unit(code) is not None)),
                        queue_pb2.DESCRIPTOR.services_by_name["QueueService"])


def main() -> None:
    run_api(load_or_exit(IntakeSettings), register)
