"""The REST gateway's transcoding against a fake upstream: a real in-process gRPC server whose
IntakeService records what it receives and answers, or fails, as told. The gateway's routes are the
real contracts' `google.api.http` options; requests go through werkzeug's test client."""

from __future__ import annotations

import dataclasses
import json
import socket
from concurrent import futures

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import Client

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.gateway import transcoding
from onestop_chassis.gateway.app import Gateway, Upstreams
from onestop_chassis.gateway.main import GatewaySettings
from onestop_chassis.gateway.routes import (
    SegmentsConverter,
    TemplateError,
    contract_files,
    routes_of,
    werkzeug_rule,
)

BEARER = "Bearer header.payload.signature"


def _status(code: grpc.StatusCode, message: str, reason: str, *details) -> grpc.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain="intake.onestop",
                                                          metadata={"code": "X"}))
    for detail in details:
        status.details.add().Pack(detail)
    return rpc_status.to_status(status)


class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """Records (request, metadata) per RPC; GetProcedure fails with the status its `code` names."""

    def __init__(self):
        self.calls: list[tuple[str, object, dict]] = []

    def _record(self, name, request, context):
        self.calls.append((name, request, dict(context.invocation_metadata())))

    def SubmitDossier(self, request, context):
        self._record("SubmitDossier", request, context)
        return intake_pb2.SubmitDossierResponse(
            dossier=intake_pb2.Dossier(code=f"000.00.21.H17-261130-{request.request_id[-4:]}",
                                       procedure_code=request.procedure_code),
            lookup_secret="ABCD2345")

    def LookupDossier(self, request, context):
        self._record("LookupDossier", request, context)
        return intake_pb2.LookupDossierResponse(dossier=intake_pb2.PublicDossier(code=request.code,
                                                                                 status_label="Đang xử lý"))

    def PutUnit(self, request, context):
        self._record("PutUnit", request, context)
        return intake_pb2.PutUnitResponse(unit=request.unit, created=True)

    def ListUnits(self, request, context):
        self._record("ListUnits", request, context)
        return intake_pb2.ListUnitsResponse()

    def ListProcedures(self, request, context):
        self._record("ListProcedures", request, context)
        return intake_pb2.ListProceduresResponse(total_size=3)

    def GetProcedure(self, request, context):
        self._record("GetProcedure", request, context)
        code = grpc.StatusCode[request.code]
        details = []
        if code is grpc.StatusCode.INVALID_ARGUMENT:
            details.append(error_details_pb2.BadRequest(field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="code", description="không hợp lệ")]))
        if code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE):
            details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=5)))
        context.abort_with_status(_status(code, f"refused: {request.code}", f"REASON_{request.code}", *details))


@pytest.fixture(scope="module")
def upstream():
    fake = FakeIntake()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield fake, f"127.0.0.1:{port}"
    server.stop(None)


@pytest.fixture
def client(upstream):
    fake, address = upstream
    fake.calls.clear()
    upstreams = Upstreams({"intake": address}, timeout=5)
    gateway = Gateway(routes_of(contract_files()), upstreams, max_body_bytes=2048, timeout=5,
                      openapi=b'{"swagger": "2.0"}')
    yield Client(gateway), fake
    upstreams.close()


def _json(response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.get_data())


def test_the_routes_are_the_contracts_annotations():
    routes = {(r.http_method, r.template): r for r in routes_of(contract_files())}
    submit = routes[("POST", "/v1/dossiers")]
    assert submit.rpc == "/onestop.intake.v1.IntakeService/SubmitDossier" and submit.body == "*"
    assert submit.service == "intake"
    lookup = routes[("POST", "/v1/dossiers/{code}:lookup")]
    assert lookup.rule == "/v1/dossiers/<v0>:lookup" and lookup.variables == {"v0": "code"}
    assert routes[("PUT", "/v1/units/{unit.code}")].body == "unit"
    assert routes[("GET", "/v1/procedures")].rpc.endswith("/ListProcedures")
    assert {r.service for r in routes.values()} >= {"intake", "routing", "delivery", "survey"}


def test_path_templates_become_werkzeug_rules():
    assert werkzeug_rule("/v1/{name=units/*}/children") == (
        '/v1/<segments("units/[^/]+"):v0>/children', {"v0": "name"})
    assert werkzeug_rule("/v1/files/{path=**}") == ('/v1/files/<segments(".+"):v0>', {"v0": "path"})
    assert werkzeug_rule("/v1/a/{x}/b/{y.z=*}:do") == ("/v1/a/<v0>/b/<v1>:do", {"v0": "x", "v1": "y.z"})
    for bad in ("v1/no-slash", "/v1/{open", "/v1/{x=a*b}"):
        with pytest.raises(TemplateError):
            werkzeug_rule(bad)


def test_a_template_variable_matches_a_whole_segment_only():
    rule, variables = werkzeug_rule("/v1/{name=units/*}")
    url_map = Map([Rule(rule, endpoint="x")], converters={"segments": SegmentsConverter})
    adapter = url_map.bind("gateway")
    assert adapter.match("/v1/units/000.00.21.H17") == ("x", {"v0": "units/000.00.21.H17"})
    with pytest.raises(NotFound):
        adapter.match("/v1/units/a/b")


def test_the_whole_body_becomes_the_request_and_auth_and_request_id_pass_through(client):
    http, fake = client
    body = {"requestId": "req-0001", "procedure_code": "1.000948", "applicant": {"fullName": "Nguyễn Văn A"},
            "channel": "CHANNEL_IN_PERSON", "documents": [{"name": "Tờ khai", "count": 2}]}
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = http.post("/v1/dossiers", json=body, headers={"Authorization": BEARER, "traceparent": trace},
                         environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 200
    assert _json(response) == {"dossier": {"code": "000.00.21.H17-261130-0001", "procedureCode": "1.000948"},
                               "lookupSecret": "ABCD2345"}
    name, request, metadata = fake.calls[-1]
    assert name == "SubmitDossier" and request.request_id == "req-0001"
    assert request.applicant.full_name == "Nguyễn Văn A" and request.documents[0].count == 2
    assert metadata["authorization"] == BEARER
    assert metadata["x-forwarded-for"] == "198.51.100.7"
    assert metadata["traceparent"] == trace


def test_no_authorization_header_sends_no_token(client):
    http, fake = client
    assert http.post("/v1/dossiers/X-1:lookup", json={"secret": "S"},
                     headers={"X-Forwarded-For": "203.0.113.9"},
                     environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    _, _, metadata = fake.calls[-1]
    assert "authorization" not in metadata
    assert metadata["x-forwarded-for"] == "203.0.113.9, 198.51.100.7"


def test_the_path_variable_wins_over_the_body(client):
    http, fake = client
    response = http.post("/v1/dossiers/000.00.21.H17-261130-0001:lookup",
                         json={"code": "SOMETHING-ELSE", "secret": "ABCD2345"})
    assert _json(response) == {"dossier": {"code": "000.00.21.H17-261130-0001", "statusLabel": "Đang xử lý"}}
    _, request, _ = fake.calls[-1]
    assert (request.code, request.secret) == ("000.00.21.H17-261130-0001", "ABCD2345")


def test_a_body_field_and_a_nested_path_variable(client):
    http, fake = client
    response = http.put("/v1/units/000.00.21.H17", json={"name": "Sở Tư pháp", "parentCode": "000.00.00.H17"})
    assert response.status_code == 200
    _, request, _ = fake.calls[-1]
    assert request.unit.code == "000.00.21.H17" and request.unit.parent_code == "000.00.00.H17"
    assert _json(response)["created"] is True


def test_query_parameters_fill_scalars_booleans_and_enums(client):
    http, fake = client
    assert http.get("/v1/procedures?page_size=5&includeInactive=true&text=khai+sinh").status_code == 200
    _, request, _ = fake.calls[-1]
    assert (request.page_size, request.include_inactive, request.text) == (5, True, "khai sinh")
    units = http.get("/v1/units?parent_code=000.00.00.H17&descendants=false&kind=UNIT_KIND_DEPARTMENT")
    assert units.status_code == 200
    _, request, _ = fake.calls[-1]
    assert request.parent_code == "000.00.00.H17" and request.kind == intake_pb2.UNIT_KIND_DEPARTMENT


def _route(http_method: str, template: str):
    (route,) = [r for r in routes_of(contract_files()) if (r.http_method, r.template) == (http_method, template)]
    return route


def test_body_then_query_then_path_each_win_over_the_one_before():
    route = _route("PUT", "/v1/units/{unit.code}")
    request = transcoding.build_request(
        route, {"v0": "000.00.21.H17"}, [("unit.name", "Sở Tư pháp"), ("unit.parentCode", "000.00.00.H17")],
        b'{"code": "IGNORED", "name": "from the body", "parent_code": "X", "kind": "UNIT_KIND_DEPARTMENT"}')
    assert request.unit.code == "000.00.21.H17" and request.unit.name == "Sở Tư pháp"
    assert request.unit.parent_code == "000.00.00.H17" and request.unit.kind == intake_pb2.UNIT_KIND_DEPARTMENT


def test_a_response_body_answers_that_field_alone():
    route = dataclasses.replace(_route("POST", "/v1/dossiers/{code}:lookup"), response_body="dossier")
    reply = intake_pb2.LookupDossierResponse(dossier=intake_pb2.PublicDossier(code="C-1", status_label="Đã trả"))
    assert json.loads(transcoding.response_json(route, reply)) == {"code": "C-1", "statusLabel": "Đã trả"}


@pytest.mark.parametrize("code, http_status", [
    ("INVALID_ARGUMENT", 400), ("NOT_FOUND", 404), ("PERMISSION_DENIED", 403), ("UNAUTHENTICATED", 401),
    ("ALREADY_EXISTS", 409), ("ABORTED", 409), ("FAILED_PRECONDITION", 400), ("RESOURCE_EXHAUSTED", 429),
    ("UNAVAILABLE", 503), ("INTERNAL", 500), ("DEADLINE_EXCEEDED", 504), ("UNIMPLEMENTED", 501),
])
def test_a_grpc_status_becomes_its_http_status_with_the_same_details(client, code, http_status):
    http, _ = client
    response = http.get(f"/v1/procedures/{code}")
    assert response.status_code == http_status
    body = _json(response)
    assert body["code"] == getattr(code_pb2, code) and body["message"] == f"refused: {code}"
    info = body["details"][0]
    assert info == {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": f"REASON_{code}",
                    "domain": "intake.onestop", "metadata": {"code": "X"}}
    if code == "INVALID_ARGUMENT":
        assert body["details"][1]["fieldViolations"] == [{"field": "code", "description": "không hợp lệ"}]
    if code in ("RESOURCE_EXHAUSTED", "UNAVAILABLE"):
        assert response.headers["Retry-After"] == "3"  # 2.000000005 s, rounded up
    else:
        assert "Retry-After" not in response.headers


def _refusal(response, http_status: int, reason: str) -> dict:
    assert response.status_code == http_status
    body = _json(response)
    info = body["details"][0]
    assert (info["reason"], info["domain"]) == (reason, "gateway.onestop")
    return body


@pytest.mark.parametrize("body, named", [
    (b"{not json", "not JSON"),
    (b'{"procedureCode": "1", "colour": "red"}', "colour"),
    (b'{"documents": [{"count": "many"}]}', "count"),
    (b'["a list"]', "JSON object"),
])
def test_a_body_that_does_not_fit_is_400_invalid_json_and_reaches_no_service(client, body, named):
    http, fake = client
    response = http.post("/v1/dossiers", data=body, content_type="application/json")
    refused = _refusal(response, 400, "INVALID_JSON")
    assert refused["code"] == code_pb2.INVALID_ARGUMENT and named in refused["message"]
    assert fake.calls == []


@pytest.mark.parametrize("query, named", [
    ("page_size=ten", "page_size"), ("colour=red", "colour"), ("include_inactive=yes", "true or false"),
    ("page_size=1&page_size=2", "2 times"),
])
def test_a_query_parameter_that_does_not_fit_is_400(client, query, named):
    http, fake = client
    assert named in _refusal(http.get(f"/v1/procedures?{query}"), 400, "INVALID_JSON")["message"]
    assert fake.calls == []


def test_query_parameters_are_refused_where_the_body_carries_every_field(client):
    http, fake = client
    body = _refusal(http.post("/v1/dossiers?request_id=x", json={}), 400, "INVALID_JSON")
    assert "request_id" in body["message"] and fake.calls == []


def test_a_body_too_large_is_413(client):
    http, fake = client
    response = http.post("/v1/dossiers", json={"requestContent": "x" * 3000})
    body = _refusal(response, 413, "REQUEST_TOO_LARGE")
    assert body["code"] == code_pb2.RESOURCE_EXHAUSTED and "2048 bytes" in body["message"]
    assert fake.calls == []


def test_an_unknown_path_is_404_and_a_wrong_method_is_405(client):
    http, _ = client
    assert "/v2/nothing" in _refusal(http.get("/v2/nothing"), 404, "ROUTE_NOT_FOUND")["message"]
    response = http.delete("/v1/dossiers")
    assert _refusal(response, 405, "METHOD_NOT_ALLOWED")["code"] == code_pb2.UNIMPLEMENTED
    assert response.headers["Allow"] == "POST"


def test_a_fault_of_the_gateway_itself_is_a_json_500(client, monkeypatch):
    http, fake = client

    def broken(*args):
        raise RuntimeError("a bug")
    monkeypatch.setattr("onestop_chassis.gateway.transcoding.build_request", broken)
    response = http.get("/v1/procedures")
    assert response.status_code == 500
    assert _json(response) == {"code": code_pb2.INTERNAL, "message": "the REST gateway failed on this request"}
    assert fake.calls == []


def test_the_openapi_document_is_served(client):
    http, _ = client
    assert _json(http.get("/openapi.json")) == {"swagger": "2.0"}


def test_a_service_that_does_not_answer_is_503_unavailable():
    with socket.socket() as placeholder:  # a port nothing listens on once closed
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    upstreams = Upstreams({"intake": f"127.0.0.1:{port}"}, timeout=5)
    gateway = Gateway(routes_of(contract_files()), upstreams, max_body_bytes=2048, timeout=5)
    response = Client(gateway).get("/v1/procedures")
    upstreams.close()
    assert response.status_code == 503
    assert json.loads(response.get_data())["code"] == code_pb2.UNAVAILABLE


def test_any_detail_type_survives_the_json_mapping():
    status = status_pb2.Status(code=3, message="m")
    status.details.add().Pack(error_details_pb2.PreconditionFailure())
    assert isinstance(status.details[0], any_pb2.Any)
    assert json.loads(transcoding.status_json(status))["details"] == [
        {"@type": "type.googleapis.com/google.rpc.PreconditionFailure"}]


def test_settings_take_each_service_address_and_production_refuses_loopback(monkeypatch):
    monkeypatch.setenv("INTAKE_ADDRESS", "intake:50051")
    settings = GatewaySettings()
    assert settings.addresses["intake"] == "intake:50051" and settings.addresses["routing"] == "127.0.0.1:50052"
    monkeypatch.setenv("ONESTOP_ENV", "production")
    with pytest.raises(ValueError, match="ROUTING_ADDRESS"):
        GatewaySettings()
    for name in ("routing", "documents", "survey", "delivery"):
        monkeypatch.setenv(f"{name.upper()}_ADDRESS", f"{name}:50050")
    assert GatewaySettings().addresses["delivery"] == "delivery:50050"
    monkeypatch.setenv("SURVEY_ADDRESS", "127.0.0.1:50054")
    with pytest.raises(ValueError, match="SURVEY_ADDRESS"):
        GatewaySettings()
