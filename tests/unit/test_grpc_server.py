"""The chassis gRPC server, in process on 127.0.0.1, called through a real grpcio channel."""

import contextlib
import re
import socket

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import auth, tracing
from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.errors import FieldViolation, InvalidArgument, NotFound
from onestop_chassis.grpc_server import GrpcServer

from fakes import only_get_case

METHOD = "/onestop.routing.v1.RoutingService/GetCase"
UNIT = "000.00.21.H17"
SECRET_TEXT = "mongodb://admin:hunter2@db"


@only_get_case
class Routing(routing_pb2_grpc.RoutingServiceServicer):
    @auth.requires(auth.DESK_OFFICER)
    def GetCase(self, request, context):
        code = request.dossier_code
        if code == "missing":
            raise NotFound("CASE_NOT_FOUND", "no case is open for dossier missing", metadata={"dossier_code": code})
        if code == "invalid":
            raise InvalidArgument.from_violations([FieldViolation("dossier_code", "is not a dossier code")])
        if code == "boom":
            raise RuntimeError(f"cannot reach {SECRET_TEXT}")
        principal = auth.current_principal()
        return routing_pb2.GetCaseResponse(case=routing_pb2.Case(dossier_code=code, applicant_name=principal.subject))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def spans():
    tracing.configure_tracing("test")
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="module")
def server(spans):
    settings = load_settings(ServiceSettings, service_name="intake", grpc_port=_free_port())
    grpc_server = GrpcServer(settings)
    grpc_server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server, Routing(),
                             routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])
    port = grpc_server.start()
    assert port == settings.grpc_port
    yield settings
    grpc_server.stop(grace=0)


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


@pytest.fixture
def stub(channel):
    return routing_pb2_grpc.RoutingServiceStub(channel)


def _bearer(server, roles, subject="officer-1"):
    token = auth.mint_token(server.jwt_secret, subject=subject, roles=roles, agency=UNIT)
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def officer(server):
    return _bearer(server, [auth.DESK_OFFICER])


def _call_error(stub, code, metadata=()) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        stub.GetCase(routing_pb2.GetCaseRequest(dossier_code=code), metadata=metadata, timeout=10)
    return info.value


def _details(err: grpc.RpcError, cls):
    status = rpc_status.from_call(err)
    assert status is not None, "no google.rpc.Status in the trailing metadata"
    found = []
    for any_detail in status.details:
        if any_detail.Is(cls.DESCRIPTOR):
            detail = cls()
            any_detail.Unpack(detail)
            found.append(detail)
    return found


def _count(method, code) -> float:
    return REGISTRY.get_sample_value("onestop_grpc_requests_total",
                                     {"service": "intake", "method": method, "code": code}) or 0.0


def test_authorised_call_succeeds(stub, officer):
    response = stub.GetCase(routing_pb2.GetCaseRequest(dossier_code="x"), metadata=officer, timeout=10)
    assert response.case.dossier_code == "x"
    assert response.case.applicant_name == "officer-1"  # the servicer saw the caller's principal


def test_no_token_is_unauthenticated(stub):
    err = _call_error(stub, "x")
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    assert [i.reason for i in _details(err, error_details_pb2.ErrorInfo)] == ["TOKEN_MISSING"]


def test_invalid_token_is_unauthenticated(stub):
    err = _call_error(stub, "x", (("authorization", "Bearer not-a-jwt"),))
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    assert [i.reason for i in _details(err, error_details_pb2.ErrorInfo)] == ["TOKEN_INVALID"]


def test_wrong_role_is_permission_denied(stub, server):
    err = _call_error(stub, "x", _bearer(server, [auth.CITIZEN]))
    assert err.code() is grpc.StatusCode.PERMISSION_DENIED
    assert [i.reason for i in _details(err, error_details_pb2.ErrorInfo)] == ["ROLE_REQUIRED"]


def test_not_found_carries_error_info(stub, officer):
    err = _call_error(stub, "missing", officer)
    assert err.code() is grpc.StatusCode.NOT_FOUND
    (info,) = _details(err, error_details_pb2.ErrorInfo)
    assert info.reason == "CASE_NOT_FOUND"
    assert info.domain == "intake.onestop"
    assert dict(info.metadata) == {"dossier_code": "missing"}
    assert "missing" in err.details()


def test_invalid_argument_carries_field_violations(stub, officer):
    err = _call_error(stub, "invalid", officer)
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    (info,) = _details(err, error_details_pb2.ErrorInfo)
    assert info.reason == "INVALID_FIELDS"
    (bad_request,) = _details(err, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("dossier_code", "is not a dossier code")]


def test_unexpected_error_is_internal_without_internals(stub, officer):
    err = _call_error(stub, "boom", officer)
    assert err.code() is grpc.StatusCode.INTERNAL
    assert "hunter2" not in err.details() and "RuntimeError" not in err.details()
    trace_id = dict(err.initial_metadata())["x-trace-id"]
    assert trace_id in err.details()


def test_garbage_request_bytes_are_invalid_argument(channel, officer):
    raw = channel.unary_unary(METHOD)  # no serializers: bytes in, bytes out
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\xff\xff\xff\xff", metadata=officer, timeout=10)
    err = info.value
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert [i.reason for i in _details(err, error_details_pb2.ErrorInfo)] == ["MALFORMED_REQUEST"]


def test_trace_id_is_returned(stub, officer):
    _, call = stub.GetCase.with_call(routing_pb2.GetCaseRequest(dossier_code="x"), metadata=officer, timeout=10)
    trace_id = dict(call.initial_metadata())["x-trace-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id) and trace_id != "0" * 32


def test_callers_trace_is_continued(stub, officer):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    metadata = officer + (("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"),)
    _, call = stub.GetCase.with_call(routing_pb2.GetCaseRequest(dossier_code="x"), metadata=metadata, timeout=10)
    assert dict(call.initial_metadata())["x-trace-id"] == trace_id


def test_refused_call_also_returns_a_trace_id(stub):
    err = _call_error(stub, "x")
    assert re.fullmatch(r"[0-9a-f]{32}", dict(err.initial_metadata())["x-trace-id"])


def test_health_service_answers_serving(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "onestop.routing.v1.RoutingService"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_requests_are_counted_by_code(stub, officer):
    before = {code: _count("GetCase", code) for code in ("OK", "NOT_FOUND", "UNAUTHENTICATED", "INTERNAL")}
    stub.GetCase(routing_pb2.GetCaseRequest(dossier_code="x"), metadata=officer, timeout=10)
    stub.GetCase(routing_pb2.GetCaseRequest(dossier_code="x"), metadata=officer, timeout=10)
    _call_error(stub, "missing", officer)
    _call_error(stub, "x")
    _call_error(stub, "boom", officer)
    after = {code: _count("GetCase", code) for code in before}
    assert {code: after[code] - before[code] for code in before} == {
        "OK": 2, "NOT_FOUND": 1, "UNAUTHENTICATED": 1, "INTERNAL": 1}


def _call_in_trace(stub, spans, trace_id, metadata=()):
    traceparent = (("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"),)
    with contextlib.suppress(grpc.RpcError):  # the spans are what is looked at, not the answer
        stub.GetCase(routing_pb2.GetCaseRequest(dossier_code="x"), metadata=metadata + traceparent, timeout=10)
    return [s for s in spans.get_finished_spans()
            if s.name == METHOD.lstrip("/") and format(s.context.trace_id, "032x") == trace_id]


def test_accepted_call_ends_its_server_span(stub, officer, spans):
    (span,) = _call_in_trace(stub, spans, "11111111111111111111111111111111", officer)
    assert span.kind is trace.SpanKind.SERVER
    assert span.attributes["enduser.id"] == "officer-1"


def test_refused_call_ends_its_server_span(stub, spans):
    """A call the policy refuses is a call too: its server span must end (and so be exported)."""
    (span,) = _call_in_trace(stub, spans, "22222222222222222222222222222222")
    assert span.kind is trace.SpanKind.SERVER
    assert span.status.status_code is trace.StatusCode.ERROR
