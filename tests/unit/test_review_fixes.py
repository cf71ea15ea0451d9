"""Regressions for defects found in review: make-up working Saturdays, RS256 tokens, and status
codes a servicer sets itself."""

from __future__ import annotations

import datetime as dt
import socket

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import auth, metrics
from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.errors import Unauthenticated
from onestop_chassis.grpc_server import GrpcServer
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing.templates.api import TemplateRpcs  # the RPCs these tests do not call

from fakes import only_get_case


def test_a_make_up_saturday_is_a_working_day():
    calendar = WorkingCalendar()
    saturday = dt.date(2026, 8, 22)  # worked in exchange for Monday 31/8 (National Day bridge)
    assert calendar.is_working_day(saturday)
    friday = dt.datetime(2026, 8, 21, 9, 0, tzinfo=VIETNAM)
    assert calendar.add(friday, WorkingDuration(days=1)) == dt.datetime(2026, 8, 22, 9, 0, tzinfo=VIETNAM)
    assert not calendar.is_working_day(dt.date(2026, 8, 29)), "an ordinary Saturday is still off"


def test_rs256_tokens_verify_with_the_public_key_only():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    claims = {"sub": "idp-user", "roles": ["desk_officer"], "agency": "000.00.21.H17", "aud": "onestop",
              "iat": dt.datetime.now(dt.UTC), "exp": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)}
    verifier = auth.TokenVerifier(public_key=public)
    principal = verifier.verify(jwt.encode(claims, key, algorithm="RS256"))
    assert (principal.subject, principal.agency) == ("idp-user", "000.00.21.H17")
    with pytest.raises(Unauthenticated):  # an HS256 token signed with the public key text is refused
        verifier.verify(jwt.encode(claims, "some-shared-secret-nobody-should-accept", algorithm="HS256"))


@only_get_case
class SelfStatusServicer(routing_pb2_grpc.RoutingServiceServicer):
    @auth.public
    def GetCase(self, request, context):
        if request.dossier_code == "set-code":
            context.set_code(grpc.StatusCode.RESOURCE_EXHAUSTED)
            context.set_details("slow down")
            return routing_pb2.GetCaseResponse()
        context.abort(grpc.StatusCode.INTERNAL, "the servicer's own message")


@pytest.fixture(scope="module")
def stub():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = GrpcServer(load_settings(ServiceSettings, service_name="statusprobe", grpc_port=port))
    server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server, SelfStatusServicer(),
                        routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield routing_pb2_grpc.RoutingServiceStub(channel)
    server.stop(0)


def _count(code: str) -> float:
    return metrics.REGISTRY.get_sample_value(
        "onestop_grpc_requests_total", {"service": "statusprobe", "method": "GetCase", "code": code}) or 0.0


def test_a_status_set_by_the_servicer_is_returned_and_counted(stub):
    before = _count("RESOURCE_EXHAUSTED")
    with pytest.raises(grpc.RpcError) as failed:
        stub.GetCase(routing_pb2.GetCaseRequest(dossier_code="set-code"))
    assert (failed.value.code(), failed.value.details()) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")
    assert _count("RESOURCE_EXHAUSTED") == before + 1


def test_a_servicer_abort_keeps_its_message(stub):
    with pytest.raises(grpc.RpcError) as failed:
        stub.GetCase(routing_pb2.GetCaseRequest(dossier_code="abort"))
    assert (failed.value.code(), failed.value.details()) == (grpc.StatusCode.INTERNAL, "the servicer's own message")


def test_a_servicer_that_leaves_a_method_unimplemented_is_refused():
    class Lazy(TemplateRpcs, routing_pb2_grpc.RoutingServiceServicer):
        pass
    server = GrpcServer(load_settings(ServiceSettings, service_name="statusprobe"))
    with pytest.raises(TypeError, match="GetCase"):
        server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server, Lazy(),
                            routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])
