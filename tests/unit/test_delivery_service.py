"""Delivery: its use cases over an in-memory repository, and its one RPC through the chassis' real
gRPC server (auth, errors) wired by its composition root. Rendered from the service template."""

from __future__ import annotations

import datetime as dt
import socket

import grpc
import pytest

from onestop.delivery.v1 import delivery_pb2, delivery_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.config import load_settings
from onestop_chassis.errors import InvalidArgument, NotFound, PermissionDenied
from onestop_chassis.grpc_server import GrpcServer
from onestop_delivery import api, domain
from onestop_delivery.bootstrap import bootstrap
from onestop_delivery.config import DeliverySettings

UNIT, OTHER_UNIT = "000.00.21.H17", "000.00.22.H17"
NOW = dt.datetime(2026, 11, 17, 0, 31, tzinfo=dt.UTC)
OFFICER = auth.Principal(subject="officer", roles=frozenset({auth.DESK_OFFICER}), agency=UNIT)


class FakeShipments:
    def __init__(self):
        self.items: dict[str, domain.Shipment] = {}

    def add(self, item):
        self.items[item.id] = item

    def get(self, item_id):
        return self.items.get(item_id)


@pytest.fixture
def stored():
    store = FakeShipments()
    store.add(domain.new_shipment(UNIT, "Hồ sơ mẫu", NOW))
    return store


def test_an_officer_reads_one_of_their_agency(stored):
    service = bootstrap(DeliverySettings(), shipments=stored).service
    (item,) = stored.items.values()
    assert service.get_shipment(f" {item.id.upper()} ", OFFICER) == item


def test_malformed_unknown_and_other_agency_are_refused(stored):
    service = bootstrap(DeliverySettings(), shipments=stored).service
    (item,) = stored.items.values()
    with pytest.raises(InvalidArgument) as malformed:
        service.get_shipment("not-an-id", OFFICER)
    assert [v.field for v in malformed.value.violations] == ["id"]
    with pytest.raises(NotFound) as unknown:
        service.get_shipment("0" * 32, OFFICER)
    assert unknown.value.reason == "SHIPMENT_NOT_FOUND"
    stranger = auth.Principal(subject="other", roles=frozenset({auth.DESK_OFFICER}), agency=OTHER_UNIT)
    with pytest.raises(PermissionDenied):
        service.get_shipment(item.id, stranger)
    platform = auth.Principal(subject="svc", roles=frozenset({auth.SERVICE}))
    assert service.get_shipment(item.id, platform) == item


@pytest.fixture
def channel(stored):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings(DeliverySettings, grpc_port=port)
    server = GrpcServer(settings)
    api.register(server, bootstrap(settings, shipments=stored))
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch, settings
    server.stop(grace=0)


def test_the_rpc_answers_through_the_chassis(channel, stored):
    ch, settings = channel
    stub = delivery_pb2_grpc.DeliveryServiceStub(ch)
    (item,) = stored.items.values()
    request = delivery_pb2.GetShipmentRequest(id=item.id)

    def bearer(agency: str) -> tuple:
        token = auth.mint_token(settings.jwt_secret, subject="officer", roles=[auth.DESK_OFFICER], agency=agency)
        return (("authorization", f"Bearer {token}"),)

    answer = stub.GetShipment(request, metadata=bearer(UNIT), timeout=10).shipment
    assert (answer.id, answer.agency_code, answer.title) == (item.id, UNIT, item.title)
    assert answer.created_at.ToDatetime(dt.UTC) == NOW
    refusals = [((), grpc.StatusCode.UNAUTHENTICATED), (bearer(OTHER_UNIT), grpc.StatusCode.PERMISSION_DENIED)]
    for metadata, code in refusals:
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetShipment(request, metadata=metadata, timeout=10)
        assert refused.value.code() == code
    with pytest.raises(grpc.RpcError) as unknown:
        stub.GetShipment(delivery_pb2.GetShipmentRequest(id="0" * 32), metadata=bearer(UNIT), timeout=10)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
