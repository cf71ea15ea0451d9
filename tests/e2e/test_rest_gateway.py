"""End-to-end: the REST gateway (`onestop-gateway`) in front of a real intake answers SubmitDossier,
LookupDossier and the catalogue with the same results, and the same error statuses and reasons,
as intake's gRPC API; a replayed request_id returns the first dossier whichever protocol sends it;
its OpenAPI document is served and valid."""

from __future__ import annotations

import json

import grpc
import pytest
import requests
from conftest import ISSUED_SECRETS, PUBLIC_ENV, Platform, bearer, purge_event_queues, running, token
from google.protobuf import json_format
from openapi_spec_validator import OpenAPIV2SpecValidator, validate

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc

from stack import AMQP_RELAY_TEST_URI, ROOT
from support import error_info, submit_request


@pytest.fixture(scope="module")
def platform(local_stack, tmp_path_factory):
    purge_event_queues(AMQP_RELAY_TEST_URI)
    try:
        with running(Platform(log_dir=tmp_path_factory.mktemp("e2e-gateway"), services=("intake", "survey"),
                              prefix="e2egateway", amqp_uri=AMQP_RELAY_TEST_URI, gateway=True,
                              extra_env={"OUTBOX_POLL_SECONDS": "0.1", **PUBLIC_ENV})) as p:
            yield p
    finally:
        purge_event_queues(AMQP_RELAY_TEST_URI)


@pytest.fixture()
def intake(platform):
    with platform.channel("intake") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)


def _rest(platform, method: str, path: str, body=None, tok: str | None = None,
          forwarded_for: str = "") -> requests.Response:
    headers = {"Authorization": f"Bearer {tok}"} if tok else {}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    data = body if isinstance(body, bytes | None) else json.dumps(body)
    return requests.request(method, platform.gateway_url + path, data=data, headers=headers, timeout=30)


def _as_json(message) -> dict:
    return json_format.MessageToDict(message)


def _rest_error(response: requests.Response) -> tuple[int, str, dict, list[str]]:
    """(gRPC code number, ErrorInfo reason, its metadata, BadRequest fields) of a REST error body."""
    body = response.json()
    reason, metadata, fields = "", {}, []
    for detail in body.get("details", []):
        if detail["@type"].endswith("google.rpc.ErrorInfo"):
            reason, metadata = detail["reason"], detail.get("metadata", {})
        elif detail["@type"].endswith("google.rpc.BadRequest"):
            fields = [v["field"] for v in detail["fieldViolations"]]
    return body["code"], reason, metadata, fields


def _grpc_error(call) -> tuple[grpc.StatusCode, str, dict, list[str]]:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return (caught.value.code(), *error_info(caught.value))


def _dossiers(platform) -> int:
    return platform.db("intake")["dossiers"].count_documents({})


def test_submit_and_lookup_give_the_grpc_answers(platform, intake):
    tok = token()
    request = submit_request()
    rest = _rest(platform, "POST", "/v1/dossiers", _as_json(request), tok)
    assert rest.status_code == 200, rest.text
    submitted = rest.json()
    code, secret = submitted["dossier"]["code"], submitted["lookupSecret"]
    assert code.startswith("000.00.21.H17-") and submitted["dossier"]["procedureCode"] == request.procedure_code

    # the same dossier as gRPC sees it: GetDossier through both
    by_grpc = intake.GetDossier(intake_pb2.GetDossierRequest(code=code), metadata=bearer(tok))
    by_rest = _rest(platform, "GET", f"/v1/dossiers/{code}", tok=tok)
    assert by_rest.status_code == 200 and by_rest.json() == _as_json(by_grpc)
    assert by_rest.json()["dossier"]["applicant"]["fullName"] == "Nguyễn Thị Hồng Nhung"

    # the public lookup: no token, the same answer as gRPC's
    looked_up = _rest(platform, "POST", f"/v1/dossiers/{code}:lookup", {"secret": secret})
    assert looked_up.status_code == 200, looked_up.text
    grpc_lookup = intake.LookupDossier(intake_pb2.LookupDossierRequest(code=code, secret=secret))
    assert looked_up.json() == _as_json(grpc_lookup)
    assert looked_up.json()["dossier"]["code"] == code and looked_up.json()["dossier"]["statusLabel"]


def test_a_replayed_request_id_returns_the_first_dossier_through_either_protocol(platform, intake):
    tok = token()
    request = submit_request()
    first = _rest(platform, "POST", "/v1/dossiers", _as_json(request), tok)
    before = _dossiers(platform)
    again = _rest(platform, "POST", "/v1/dossiers", _as_json(request), tok)
    assert again.status_code == 200 and again.json() == first.json()
    by_grpc = intake.SubmitDossier(request, metadata=bearer(tok))
    assert by_grpc.dossier.code == first.json()["dossier"]["code"]
    assert by_grpc.lookup_secret == first.json()["lookupSecret"]
    assert _dossiers(platform) == before


@pytest.mark.parametrize("case", ["bad input", "unknown procedure", "no token", "bad token"])
def test_a_refused_submission_has_the_grpc_status_and_reason(platform, intake, case):
    request = submit_request()
    tok: str | None = token()
    if case == "bad input":
        del request.documents[:]
        request.applicant.full_name = ""
    elif case == "unknown procedure":
        request.procedure_code = "9.999999"
    elif case == "no token":
        tok = None
    else:
        tok = "not-a-jwt"
    before = _dossiers(platform)
    rest = _rest(platform, "POST", "/v1/dossiers", _as_json(request), tok)
    metadata = (("authorization", f"Bearer {tok}"),) if tok else ()
    grpc_code, reason, info, fields = _grpc_error(lambda: intake.SubmitDossier(request, metadata=metadata))
    assert rest.status_code == {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.NOT_FOUND: 404,
                                grpc.StatusCode.UNAUTHENTICATED: 401}[grpc_code]
    assert _rest_error(rest) == (grpc_code.value[0], reason, info, fields)
    assert reason and rest.json()["message"]
    assert _dossiers(platform) == before


def test_a_wrong_secret_is_the_same_not_found_as_grpc(platform, intake):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code = submitted.dossier.code
    rest = _rest(platform, "POST", f"/v1/dossiers/{code}:lookup", {"secret": "WRONGSEC"})
    grpc_code, reason, info, fields = _grpc_error(
        lambda: intake.LookupDossier(intake_pb2.LookupDossierRequest(code=code, secret="WRONGSEC")))
    assert grpc_code is grpc.StatusCode.NOT_FOUND and rest.status_code == 404
    assert _rest_error(rest) == (grpc_code.value[0], reason, info, fields)


def test_json_that_does_not_fit_is_400_and_stores_nothing(platform):
    before = _dossiers(platform)
    body = {**_as_json(submit_request()), "colour": "red"}
    rest = _rest(platform, "POST", "/v1/dossiers", body, token())
    assert rest.status_code == 400 and "colour" in rest.json()["message"]
    assert _rest_error(rest)[:2] == (grpc.StatusCode.INVALID_ARGUMENT.value[0], "INVALID_JSON")
    assert _rest(platform, "POST", "/v1/dossiers", b"{not json", token()).status_code == 400
    assert _rest(platform, "GET", "/v1/nothing").status_code == 404
    assert _rest(platform, "DELETE", "/v1/dossiers").status_code == 405
    assert _dossiers(platform) == before


def test_the_catalogue_reads_match_grpc(platform, intake):
    page = intake.ListProcedures(intake_pb2.ListProceduresRequest(page_size=5, text="doanh nghiep"))
    rest = _rest(platform, "GET", "/v1/procedures?page_size=5&text=doanh%20nghiep")
    assert rest.status_code == 200 and rest.json() == _as_json(page) and page.procedures
    one = page.procedures[0].code
    assert _rest(platform, "GET", f"/v1/procedures/{one}").json() == _as_json(
        intake.GetProcedure(intake_pb2.GetProcedureRequest(code=one)))


def test_the_openapi_document_is_served_and_valid(platform):
    served = _rest(platform, "GET", "/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads((ROOT / "docs/openapi/onestop.swagger.json").read_text(encoding="utf-8"))
    validate(served.json(), cls=OpenAPIV2SpecValidator)


def test_the_gateway_is_live_ready_and_counts_its_requests(platform):
    probes = f"http://127.0.0.1:{platform.metrics['gateway']}"
    assert requests.get(f"{probes}/healthz/live", timeout=5).status_code == 200
    ready = requests.get(f"{probes}/healthz/ready", timeout=5)
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    _rest(platform, "GET", "/v1/procedures?page_size=1")
    metrics = requests.get(f"{probes}/metrics", timeout=5).text
    assert 'onestop_gateway_requests_total{route="GET /v1/procedures",status="200"}' in metrics
    assert 'onestop_build_info{process="gateway"' in metrics


def test_feedback_filed_through_rest_is_read_back_with_its_secret(platform):
    filed = _rest(platform, "POST", "/v1/feedback", {
        "agencyCode": "000.00.21.H17", "typeCode": "thu-tuc", "content": "Niêm yết thủ tục không rõ ràng",
        "complainant": {"kind": 1, "name": "Trần Văn Bình", "phone": "0912345678"}})
    assert filed.status_code == 200, filed.text
    code, secret = filed.json()["feedback"]["code"], filed.json()["secret"]
    ISSUED_SECRETS.add(secret)
    read = _rest(platform, "POST", f"/v1/feedback/{code}:lookup", {"secret": secret})
    assert read.status_code == 200, read.text
    assert read.json()["feedback"]["code"] == code
    assert read.json()["feedback"]["content"] == "Niêm yết thủ tục không rõ ràng"
    wrong = _rest(platform, "POST", f"/v1/feedback/{code}:lookup", {"secret": "WRONGSEC"})
    assert wrong.status_code in (403, 404), wrong.text


def test_rest_callers_with_different_forwarded_addresses_have_separate_budgets(platform):
    """Issue 14 item 8: intake trusts the gateway (TRUSTED_PROXIES), so one stranger who spends
    their lookup budget on wrong guesses is refused alone; a citizen at another address is served."""
    submitted = _rest(platform, "POST", "/v1/dossiers", _as_json(submit_request()), token()).json()
    code, secret = submitted["dossier"]["code"], submitted["lookupSecret"]
    stranger, citizen = "203.0.113.66", "198.51.100.7"
    answers = [_rest(platform, "POST", f"/v1/dossiers/000.00.21.H17-261130-9{i:03d}:lookup",
                     {"secret": "WRONGSEC"}, forwarded_for=stranger).status_code for i in range(31)]
    assert answers[0] == 404 and answers[-1] == 429, answers
    honest = _rest(platform, "POST", f"/v1/dossiers/{code}:lookup", {"secret": secret}, forwarded_for=citizen)
    assert honest.status_code == 200, honest.text
