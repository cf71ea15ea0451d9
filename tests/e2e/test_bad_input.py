"""Bad requests get the right status code and a reason a person can act on; nothing is stored."""

from __future__ import annotations

import json
import pathlib
import subprocess

import grpc
import pytest
from conftest import bearer, token

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2
from onestop.routing.v1 import routing_pb2

from support import error_info, submit_request

GRPCURL = pathlib.Path.home() / ".cache/onestop/bin/grpcurl"


@pytest.fixture()
def dossier_count(platform):
    dossiers = platform.db("intake")["dossiers"]
    return lambda: dossiers.count_documents({})


def _refused(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize("overrides, field", [
    ({"procedure_code": ""}, "procedure_code"),
    # ("1.000 948" is read as typed since issue 9: spaces in a code are dropped, NOT_FOUND)
    ({"procedure_code": "1.000/948"}, "procedure_code"),
    ({"channel": 99}, "channel"),
    ({"channel": 0}, "channel"),
    ({"applicant": common_pb2.Applicant(kind=1, full_name="Lê Văn Tám", citizen_id="12345")}, "applicant.citizen_id"),
    ({"applicant": common_pb2.Applicant(kind=1, full_name="Lê Văn Tám", citizen_id="001203004567",
                                        phone="12ab")}, "applicant.phone"),
    ({"applicant": common_pb2.Applicant(kind=7, full_name="Lê Văn Tám")}, "applicant.kind"),
    ({"receiving_unit_code": "H17"}, "receiving_unit_code"),
])
def test_invalid_fields_are_named(intake, dossier_count, overrides, field):
    before = dossier_count()
    err = _refused(intake.SubmitDossier, submit_request(**overrides), metadata=bearer())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    reason, _, fields = error_info(err)
    assert reason == "INVALID_FIELDS" and field in fields
    assert field in err.details()
    assert dossier_count() == before


def test_garbage_bytes_are_invalid_argument_not_internal(platform, dossier_count):
    before = dossier_count()
    with platform.channel("intake") as channel:
        call = channel.unary_unary("/onestop.intake.v1.IntakeService/SubmitDossier")
        err = _refused(call, b"\x0a\xff\xff\xff\xff\x0f", metadata=bearer())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(err)[0] == "MALFORMED_REQUEST"
    assert dossier_count() == before


@pytest.mark.parametrize("code, status, reason", [
    ("DP.NOPE.0001", grpc.StatusCode.NOT_FOUND, "PROCEDURE_NOT_FOUND"),
    ("DP.HT.0002", grpc.StatusCode.FAILED_PRECONDITION, "PROCEDURE_INACTIVE"),
])
def test_unknown_and_inactive_procedures(intake, dossier_count, code, status, reason):
    before = dossier_count()
    err = _refused(intake.SubmitDossier, submit_request(procedure_code=code), metadata=bearer())
    assert (err.code(), error_info(err)[0]) == (status, reason)
    assert code in err.details()
    assert dossier_count() == before


@pytest.mark.parametrize("metadata, reason", [
    ((), "TOKEN_MISSING"),
    ((("authorization", "Bearer not-a-jwt"),), "TOKEN_INVALID"),
    ((("authorization", "Basic dXNlcjpwYXNz"),), "TOKEN_MALFORMED"),
    ((("authorization", f"Bearer {token(ttl=-3600)}"),), "TOKEN_EXPIRED"),  # beyond the 30 s leeway
])
def test_calls_without_a_valid_token_are_unauthenticated(intake, routing, dossier_count, metadata, reason):
    before = dossier_count()
    err = _refused(intake.SubmitDossier, submit_request(), metadata=metadata)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.UNAUTHENTICATED, reason)
    err = _refused(routing.GetCase, routing_pb2.GetCaseRequest(dossier_code="000.00.21.H17-261123-0001"),
                   metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert dossier_count() == before


def test_officers_act_only_for_their_own_agency(intake, routing, dossier_count):
    before = dossier_count()
    other = bearer(token(agency="000.00.11.H17"))
    err = _refused(intake.SubmitDossier, submit_request(receiving_unit_code="000.00.21.H17"), metadata=other)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY")
    assert dossier_count() == before

    code = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code
    err = _refused(routing.GetCase, routing_pb2.GetCaseRequest(dossier_code=code), metadata=other)
    assert err.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)


def test_citizens_cannot_use_desk_only_calls(intake, routing):
    citizen = bearer(token(roles=("citizen",), agency=""))
    err = _refused(intake.SubmitDossier, submit_request(channel=common_pb2.CHANNEL_IN_PERSON), metadata=citizen)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "CHANNEL_NOT_ALLOWED")
    err = _refused(routing.GetCase, routing_pb2.GetCaseRequest(dossier_code="000.00.21.H17-261123-0001"),
                   metadata=citizen)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED")


def test_get_case_with_a_malformed_or_unknown_code(routing):
    err = _refused(routing.GetCase, routing_pb2.GetCaseRequest(dossier_code="HS-1"), metadata=bearer())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "dossier_code" in error_info(err)[2]
    err = _refused(routing.GetCase, routing_pb2.GetCaseRequest(dossier_code="000.00.21.H17-991231-9999"),
                   metadata=bearer())
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.NOT_FOUND, "CASE_NOT_FOUND")


def _grpcurl_submit(platform, body: str) -> subprocess.CompletedProcess:
    assert GRPCURL.exists(), f"{GRPCURL} is missing: run `make tools`"
    return subprocess.run([str(GRPCURL), "-plaintext", "-H", f"authorization: Bearer {token()}", "-d", body,
                           f"127.0.0.1:{platform.intake_port}", "onestop.intake.v1.IntakeService/SubmitDossier"],
                          capture_output=True, text=True, timeout=30)


def test_through_grpcurl_bad_json_is_refused_and_bad_values_get_invalid_argument(platform, dossier_count):
    before = dossier_count()
    # Malformed JSON and unknown field or enum names: grpcurl checks them against the server's
    # reflected schema and refuses before sending, naming the problem.
    for body, problem in [('{"procedure_code": "2.001610",', "unexpected EOF"),
                          ('{"procedure_kode": "2.001610"}', "procedure_kode"),
                          ('{"channel": "CHANNEL_BY_PIGEON"}', "CHANNEL_BY_PIGEON")]:
        done = _grpcurl_submit(platform, body)
        assert done.returncode != 0 and problem in done.stderr, done.stderr
    # Values the schema allows but the service does not: the server answers InvalidArgument.
    done = _grpcurl_submit(platform, json.dumps({"procedure_code": "", "channel": 99}))
    assert "InvalidArgument" in done.stderr and "INVALID_FIELDS" in done.stderr
    assert "procedure_code" in done.stderr and "channel" in done.stderr
    assert dossier_count() == before


def test_missing_or_unknown_components_are_named(intake, dossier_count):
    before = dossier_count()
    only_form = submit_request(documents=[intake_pb2.SubmittedDocument(name="Giấy đề nghị đăng ký doanh nghiệp")])
    err = _refused(intake.SubmitDossier, only_form, metadata=bearer())
    reason, metadata, fields = error_info(err)
    assert (err.code(), reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MISSING_DOCUMENTS")
    assert metadata["missing"] == "Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân"
    assert "Bản sao giấy tờ pháp lý" in err.details()
    extra = submit_request(documents=[*submit_request().documents, intake_pb2.SubmittedDocument(name="Sổ đỏ")])
    err = _refused(intake.SubmitDossier, extra, metadata=bearer())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "documents[2].name" in error_info(err)[2]
    assert dossier_count() == before


def test_the_dossier_records_its_components_and_fees(intake):
    dossier = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier
    assert [d.name for d in dossier.documents] == [d.name for d in submit_request().documents]
    assert dossier.fees and all(f.amount.currency_code == "VND" for f in dossier.fees)
