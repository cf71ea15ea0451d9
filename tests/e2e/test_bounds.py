"""Issue 9, kinds 4 and 6 against the running platform: requests past the contracts' bounds are
refused before anything runs, the error always reaches the caller as INVALID_ARGUMENT, and a
lying catalogue file stores nothing."""

from __future__ import annotations

import grpc
import pytest
import yaml
from conftest import bearer, token

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2
from onestop.routing.v1 import routing_pb2

from support import error_info, submit_request


def _refused(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture()
def received(intake):
    return intake.SubmitDossier(submit_request(), metadata=bearer()).dossier


def test_a_name_past_its_bound_is_field_too_long(intake, platform):
    dossiers = platform.db("intake")["dossiers"]
    before = dossiers.count_documents({})
    err = _refused(intake.SubmitDossier, submit_request(
        applicant=common_pb2.Applicant(kind=1, full_name="x" * 201, citizen_id="001203004567")), metadata=bearer())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    reason, metadata, fields = error_info(err)
    assert (reason, fields) == ("FIELD_TOO_LONG", ["applicant.full_name"])
    assert "applicant.full_name: is longer than 200 characters (201 sent)" in err.details()
    assert dossiers.count_documents({}) == before


def test_supplement_with_20000_items_and_refusal_with_3000_reasons_change_nothing(intake, received):
    code = received.code
    err = _refused(intake.RequestSupplement, intake_pb2.RequestSupplementRequest(
        code=code, reason="Thiếu giấy tờ", documents_to_add=["Bản sao CCCD"] * 20_000), metadata=bearer())
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "TOO_MANY_ITEMS")
    err = _refused(intake.RefuseDossier, intake_pb2.RefuseDossierRequest(
        code=code, reasons=["Hồ sơ không đúng thẩm quyền giải quyết"] * 3_000), metadata=bearer())
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "TOO_MANY_ITEMS")
    after = intake.GetDossier(intake_pb2.GetDossierRequest(code=code), metadata=bearer()).dossier
    assert after.status == received.status and after.version == received.version
    assert not after.refusal_reasons and not after.supplement_requested


def test_thirty_violations_reach_the_caller_as_invalid_argument(intake, received):
    err = _refused(intake.RefuseDossier, intake_pb2.RefuseDossierRequest(
        code=received.code, reasons=["Lý do " * 250] * 20), metadata=bearer())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = _refused(intake.SubmitDossier, submit_request(
        documents=[intake_pb2.SubmittedDocument(name="Giấy tờ " * 100)] * 40), metadata=bearer())
    reason, metadata, fields = error_info(err)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason == "FIELD_TOO_LONG"
    assert metadata["count"] == "40" and int(metadata["violations_omitted"]) == 40 - len(fields)


def test_a_100kb_code_gives_invalid_argument_from_every_service(routing, intake):
    """Within the default bound (1,000 characters) the service's own rule refuses the code; past it
    the chassis does, before the service runs. Either way the caller gets INVALID_ARGUMENT with a
    short message, never RESOURCE_EXHAUSTED."""
    for code in ("Đ" * 1_000, "Đ" * 100_000):
        err = _refused(routing.GetCase, routing_pb2.GetCaseRequest(dossier_code=code), metadata=bearer())
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, len(code)
        assert len(err.details().encode()) < 2_000
    err = _refused(intake.GetDossier, intake_pb2.GetDossierRequest(code="Đ" * 100_000), metadata=bearer())
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "FIELD_TOO_LONG")


def test_import_with_a_repeated_key_stores_nothing(intake):
    service = bearer(token(("service",)))
    before = intake.ExportProcedures(intake_pb2.ExportProceduresRequest(
        format=intake_pb2.CATALOGUE_FORMAT_YAML, include_inactive=True), metadata=service).content
    entry = yaml.safe_load(before)
    entry = (entry["procedures"] if isinstance(entry, dict) else entry)[0]
    # The entry as it is, then its required documents given a second time, emptied: the lie.
    lying = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False) + "  required_documents: []\n"
    err = _refused(intake.ImportProcedures, intake_pb2.ImportProceduresRequest(
        content=lying.encode(), format=intake_pb2.CATALOGUE_FORMAT_YAML), metadata=service)
    reason, _, fields = error_info(err)
    assert (err.code(), reason) == (grpc.StatusCode.INVALID_ARGUMENT, "REPEATED_KEY")
    assert "required_documents" in fields[0]
    nested = "procedures:\n" + "".join("  " * i + "- \n" for i in range(1, 1_001))
    err = _refused(intake.ImportProcedures, intake_pb2.ImportProceduresRequest(
        content=nested.encode(), format=intake_pb2.CATALOGUE_FORMAT_YAML), metadata=service)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "NESTED_TOO_DEEP")
    after = intake.ExportProcedures(intake_pb2.ExportProceduresRequest(
        format=intake_pb2.CATALOGUE_FORMAT_YAML, include_inactive=True), metadata=service).content
    assert after == before
