"""Delivery's `api` process: the DeliveryService gRPC API."""

from __future__ import annotations

from onestop.delivery.v1 import delivery_pb2, delivery_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit

from . import domain
from .bootstrap import Delivery, bootstrap, prepare_database
from .config import DeliverySettings
from .service import DeliveryService


def shipment_to_proto(item: domain.Shipment) -> delivery_pb2.Shipment:
    message = delivery_pb2.Shipment(id=item.id, agency_code=item.agency_code, title=item.title)
    message.created_at.FromDatetime(item.created_at)
    return message


class DeliveryServicer(delivery_pb2_grpc.DeliveryServiceServicer):
    def __init__(self, service: DeliveryService):
        self._service = service

    @auth.requires(auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.AGENCY_ADMIN, auth.SERVICE)
    def GetShipment(self, request, context):
        item = self._service.get_shipment(request.id, auth.current_principal())
        return delivery_pb2.GetShipmentResponse(shipment=shipment_to_proto(item))


def register(server, delivery: Delivery) -> None:
    """Adds delivery's servicers to the chassis gRPC server."""
    server.add_servicer(delivery_pb2_grpc.add_DeliveryServiceServicer_to_server,
                        DeliveryServicer(delivery.service),
                        delivery_pb2.DESCRIPTOR.services_by_name["DeliveryService"])


def main() -> None:
    settings = load_or_exit(DeliverySettings)

    def start(server) -> None:
        prepare_database()
        register(server, bootstrap(settings))
    run_api(settings, start)
