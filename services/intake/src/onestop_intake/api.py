"""Intake's `api` process: the IntakeService and QueueService gRPC APIs.

IntakeService is one proto service whose RPCs live with what they act on: reception (dossiers and
desk actions), forms, units and the catalogue each hold a mixin of its RPCs; `IntakeServicer`
composes them into the one servicer the server registers.
"""

from __future__ import annotations

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc, queue_pb2, queue_pb2_grpc
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit

from .bootstrap import Intake, bootstrap, prepare_database
from .catalogue.api import CatalogueRpcs
from .config import IntakeSettings
from .forms.api import FormRpcs
from .queue.api import QueueServicer
from .reception.api import ReceptionRpcs
from .units.api import UnitRpcs


class IntakeServicer(ReceptionRpcs, FormRpcs, UnitRpcs, CatalogueRpcs, intake_pb2_grpc.IntakeServiceServicer):
    """onestop.intake.v1.IntakeService over the composition's use cases."""

    def __init__(self, intake: Intake):
        settings = intake.settings
        self._reception = intake.reception
        self._catalogue = intake.catalogue
        self._units = intake.units
        self._unit_directory = intake.unit_directory
        self._lookups = intake.lookup_limits
        self._documents = intake.documents
        self._lookup_url = settings.public_lookup_url
        self._result_link_seconds = settings.result_link_seconds
        self._trusted_proxies = tuple(settings.trusted_networks)


def register(server, intake: Intake) -> None:
    """Adds intake's servicers to the chassis gRPC server."""
    server.add_servicer(intake_pb2_grpc.add_IntakeServiceServicer_to_server, IntakeServicer(intake),
                        intake_pb2.DESCRIPTOR.services_by_name["IntakeService"])
    server.add_servicer(queue_pb2_grpc.add_QueueServiceServicer_to_server,
                        QueueServicer(intake.queue, intake.ticket_limits,
                                      trusted_proxies=intake.settings.trusted_networks),
                        queue_pb2.DESCRIPTOR.services_by_name["QueueService"])


def main() -> None:
    settings = load_or_exit(IntakeSettings)

    def start(server) -> None:
        prepare_database()
        register(server, bootstrap(settings))
    run_api(settings, start)
