"""Delivery's `api` process: the DeliveryService gRPC API."""

from __future__ import annotations

import datetime as dt

from onestop.delivery.v1 import delivery_pb2, delivery_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit
from onestop_chassis.errors import FieldViolation, InvalidArgument

from . import domain, totals
from .bootstrap import Delivery, bootstrap, prepare_database
from .carrier import CarrierStatus, Direction, Party, TrackingEvent
from .config import DeliverySettings
from .domain import Source
from .service import DeliveryService, NewShipment

STATES = {state: i for i, state in enumerate(domain.State, start=1)}  # proto ShipmentState numbers
DIRECTIONS = {Direction.OUTBOUND: delivery_pb2.DIRECTION_OUTBOUND, Direction.INBOUND: delivery_pb2.DIRECTION_INBOUND}
REPORTED = {STATES[domain.State(s.value)]: s for s in CarrierStatus if s is not CarrierStatus.ACCEPTED}
DESK = (auth.DESK_OFFICER, auth.AGENCY_ADMIN, auth.SERVICE)
READERS = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)


def party_to_proto(p: Party) -> delivery_pb2.PostalParty:
    return delivery_pb2.PostalParty(name=p.name, phone=p.phone, address_line=p.address_line,
                                    commune_code=p.commune_code, province_code=p.province_code)


def party_from_proto(m: delivery_pb2.PostalParty) -> Party:
    return Party(m.name.strip(), m.phone.strip(), m.address_line.strip(), m.commune_code.strip(),
                 m.province_code.strip())


def shipment_to_proto(s: domain.Shipment) -> delivery_pb2.Shipment:
    h = s.header
    message = delivery_pb2.Shipment(
        id=s.id, agency_code=s.agency_code, title=h.content, direction=DIRECTIONS[h.direction], ref=h.ref,
        booking=h.booking, state=STATES[s.state], failed_attempts=s.attempts, max_attempts=h.max_attempts,
        waybill=s.waybill, sender=party_to_proto(h.sender), receiver=party_to_proto(h.receiver),
        weight_grams=h.weight_grams, postal_charge_vnd=s.postal_charge, cod_vnd=h.fees.cod,
        agency_pays=h.fees.payer == "agency", rebooked_as=s.rebooked_as, dossier_code=s.dossier_code,
        pickup_fees_vnd=h.fees.pickup_fees)
    message.created_at.FromDatetime(h.created_at)
    if s.state_at:
        message.state_at.FromDatetime(s.state_at)
    return message


def entry_to_proto(e: domain.Entry) -> delivery_pb2.LogEntry:
    message = delivery_pb2.LogEntry(seq=e.seq, kind=e.kind.value, source=e.source.value,
                                    state=STATES[e.state] if e.state else 0, applied=e.applied,
                                    event_id=e.event_id, note=e.note, receipt_number=e.receipt)
    message.recorded_at.FromDatetime(e.at)
    message.happened_at.FromDatetime(e.happened_at)
    return message


class DeliveryServicer(delivery_pb2_grpc.DeliveryServiceServicer):
    def __init__(self, service: DeliveryService):
        self._service = service

    @auth.requires(*DESK)
    def CreateShipment(self, request, context):
        directions = {v: k for k, v in DIRECTIONS.items()}
        if request.direction not in directions:
            raise InvalidArgument.from_violations([FieldViolation("direction", "must be OUTBOUND or INBOUND")])
        cmd = NewShipment(direction=directions[request.direction], dossier_code=request.dossier_code,
                          procedure_code=request.procedure_code,
                          applicant=party_from_proto(request.applicant) if request.HasField("applicant") else None,
                          weight_grams=request.weight_grams, cod_vnd=request.cod_vnd, agency_pays=request.agency_pays,
                          pickup_fees_vnd=request.pickup_fees_vnd)
        shipment = self._service.create_shipment(cmd, auth.current_principal(), request.request_id)
        return delivery_pb2.CreateShipmentResponse(shipment=shipment_to_proto(shipment))

    @auth.requires(*READERS)
    def GetShipment(self, request, context):
        loaded = self._service.get(request.id, request.dossier_code, auth.current_principal())
        return delivery_pb2.GetShipmentResponse(shipment=shipment_to_proto(loaded.shipment),
                                                log=[entry_to_proto(e) for e in loaded.log])

    @auth.requires(*READERS)
    def ListShipments(self, request, context):
        items, token = self._service.list(request.agency_code, request.page_size, request.page_token,
                                          auth.current_principal())
        return delivery_pb2.ListShipmentsResponse(shipments=[shipment_to_proto(s) for s in items],
                                                  next_page_token=token)

    @auth.requires(*DESK)
    def CancelShipment(self, request, context):
        shipment = self._service.cancel(request.id, request.reason, request.by_citizen, auth.current_principal(),
                                        request.request_id)
        return delivery_pb2.CancelShipmentResponse(shipment=shipment_to_proto(shipment))

    # desk roles only: a citizen's token names no dossier (its credential is the dossier's code and
    # secret, on intake's public lookup), and a parcel goes again only from the desk (see the proto)
    @auth.requires(*DESK)
    def RebookShipment(self, request, context):
        receiver = party_from_proto(request.receiver) if request.HasField("receiver") else None
        shipment = self._service.rebook(request.id, receiver, auth.current_principal(), request.request_id)
        return delivery_pb2.RebookShipmentResponse(shipment=shipment_to_proto(shipment))

    @auth.requires(*DESK)
    def HandOverPickup(self, request, context):
        if not request.shipment_id.strip():
            raise InvalidArgument.from_violations([FieldViolation("shipment_id", "is required")])
        shipment = self._service.hand_over_pickup(request.shipment_id, request.dossier_code,
                                                  auth.current_principal())
        return delivery_pb2.HandOverPickupResponse(shipment=shipment_to_proto(shipment))

    @auth.requires(auth.SERVICE)
    def RecordCarrierReport(self, request, context):
        v = []
        if not (request.waybill.strip() or request.order_number.strip()):
            v.append(FieldViolation("waybill", "is required (or order_number)"))
        if not request.event_id.strip():
            v.append(FieldViolation("event_id", "is required: the carrier's id of the report"))
        if request.state not in REPORTED:
            v.append(FieldViolation("state", "must be a state a carrier reports (PICKED_UP ... CANCELLED)"))
        if not request.HasField("happened_at"):
            v.append(FieldViolation("happened_at", "is required"))
        if v:
            raise InvalidArgument.from_violations(v)
        event = TrackingEvent(event_id=request.event_id.strip(), waybill=request.waybill.strip(),
                              order_number=request.order_number.strip(),
                              status=REPORTED[request.state], at=request.happened_at.ToDatetime(dt.UTC),
                              note=request.note.strip())
        shipment, applied = self._service.record_report(event.waybill, event, Source.CARRIER_POLL,
                                                        auth.current_principal())
        return delivery_pb2.RecordCarrierReportResponse(shipment=shipment_to_proto(shipment), applied=applied)


    @auth.requires(*READERS)
    def GetPostalTotals(self, request, context):
        principal = auth.current_principal()
        period, month = request.period.strip(), request.month.strip()
        if bool(period) == bool(month):
            raise InvalidArgument.from_violations([FieldViolation("period", "set period (2026-11, 2026-Q4, 2026) "
                                                                  "or month, not both")])
        if month and not totals.MONTH.fullmatch(month):
            raise InvalidArgument.from_violations([FieldViolation("month", "must be a month YYYY-MM, e.g. 2026-11")])
        amounts = self._service.fee_totals(request.agency_code, period or month, principal,
                                          "period" if period else "month")
        return delivery_pb2.GetPostalTotalsResponse(
            agency_code=request.agency_code.strip() or principal.agency, month=month, period=period or month,
            shipments=amounts["shipments"], postal_charge_vnd=amounts["postal_charge_vnd"],
            cod_vnd=amounts["cod_vnd"], delivered=amounts["delivered"], pickup_fees_vnd=amounts["pickup_fees_vnd"])


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
