"""Intake's `api` process: the IntakeService gRPC API."""

from __future__ import annotations

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from prometheus_client import Counter

from onestop_chassis import auth
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit
from onestop_chassis.logs import bind_dossier, get_logger

from .adapters import mongo, proto
from .config import IntakeSettings
from .service import IntakeService

log = get_logger("onestop.intake")
DOSSIERS_RECEIVED = Counter("onestop_intake_dossiers_submitted",
                            "Dossiers registered at a desk, by channel and resulting status",
                            ["channel", "status"])
SUBMISSIONS_REPLAYED = Counter("onestop_intake_submissions_replayed",
                               "SubmitDossier retries answered with the dossier of the same request_id")


class IntakeServicer(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, service: IntakeService):
        self._service = service

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
        return intake_pb2.SubmitDossierResponse(dossier=proto.dossier_to_proto(dossier))


def build_service() -> IntakeService:
    mongo.ensure_indexes()
    return IntakeService(mongo.MongoDossiers(), mongo.MongoCatalogue(), mongo.MongoCodeSequence())


def main() -> None:
    settings = load_or_exit(IntakeSettings)
    run_api(settings, lambda server: server.add_servicer(
        intake_pb2_grpc.add_IntakeServiceServicer_to_server, IntakeServicer(build_service()),
        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"]))
