"""Routing's `api` process: the RoutingService gRPC API."""

from __future__ import annotations

from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit
from onestop_chassis.logs import bind_dossier

from . import domain
from .bootstrap import Routing, bootstrap, prepare_database
from .config import RoutingSettings
from .service import RoutingService
from .templates.api import TemplateRpcs
from .templates.service import TemplateService


def case_to_proto(case: domain.Case) -> routing_pb2.Case:
    message = routing_pb2.Case(
        dossier_code=case.dossier_code, procedure_code=case.procedure_code,
        procedure_name=case.procedure_name, state=int(case.state), applicant_name=case.applicant_name,
        channel=case.channel)
    message.receiving_unit.code = case.receiving_unit_code
    message.receiving_unit.name = case.receiving_unit_name
    message.received_at.FromDatetime(case.received_at)
    message.due_at.FromDatetime(case.due_at)
    message.opened_at.FromDatetime(case.opened_at)
    return message


class RoutingServicer(TemplateRpcs, routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, service: RoutingService, templates: TemplateService):
        self._service = service
        self._templates = templates

    @auth.requires(auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.AGENCY_ADMIN, auth.SERVICE)
    def GetCase(self, request, context):
        code = request.dossier_code.strip()
        bind_dossier(code)
        case = self._service.get_case(code, auth.current_principal())
        return routing_pb2.GetCaseResponse(case=case_to_proto(case))


def register(server, routing: Routing) -> None:
    """Adds routing's servicers to the chassis gRPC server."""
    server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server,
                        RoutingServicer(routing.service, routing.templates),
                        routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])


def main() -> None:
    settings = load_or_exit(RoutingSettings)

    def start(server) -> None:
        prepare_database()
        register(server, bootstrap(settings))
    run_api(settings, start)
