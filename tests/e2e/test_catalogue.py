"""The procedure catalogue through the running intake processes, as the public and agency admins use it."""

from __future__ import annotations

import grpc
import pytest
import yaml
from conftest import bearer, token

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2

from support import error_info, submit_request

COMMUNE = "000.20.31.H17"
ADMIN = bearer(token(roles=("agency_admin",), agency=COMMUNE, subject="admin-xa"))
OTHER_ADMIN = bearer(token(roles=("agency_admin",), agency="000.00.11.H17", subject="admin-so-xd"))
COMMUNE_OFFICER = bearer(token(roles=("desk_officer",), agency=COMMUNE, subject="officer-xa"))


def _refused(call, request, metadata=None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, metadata=metadata)
    return caught.value


def _procedure(code: str, name: str = "Đăng ký lại khai sinh (thử nghiệm)") -> intake_pb2.Procedure:
    return intake_pb2.Procedure(
        code=code, is_local_code=True, name=name, field_code="ho_tich", competent_agency_code=COMMUNE,
        level="Cấp xã", legal_duration=common_pb2.WorkingDuration(days=5), result="Giấy khai sinh (bản chính)",
        online_level=intake_pb2.ONLINE_LEVEL_PARTIAL, postal_return_allowed=True, active=True,
        required_documents=[intake_pb2.RequiredDocument(name="Tờ khai đăng ký lại khai sinh",
                                                        copy_kind=intake_pb2.COPY_KIND_ORIGINAL, count=1,
                                                        required=True)],
        fees=[intake_pb2.Fee(name="Lệ phí", amount=common_pb2.Money(currency_code="VND", amount=0))])


def test_the_public_lists_the_catalogue_page_by_page_without_a_token(intake):
    first = intake.ListProcedures(intake_pb2.ListProceduresRequest(page_size=10))
    assert len(first.procedures) == 10 and first.next_page_token and first.total_size >= 30
    codes = [p.code for p in first.procedures]
    assert codes == sorted(codes)
    seen, token_ = list(codes), first.next_page_token
    while token_:
        page = intake.ListProcedures(intake_pb2.ListProceduresRequest(page_size=10, page_token=token_))
        seen += [p.code for p in page.procedures]
        token_ = page.next_page_token
    assert len(seen) == len(set(seen)) == first.total_size and "DP.HT.0002" not in seen, "inactive ones hidden"

    civil = intake.ListProcedures(intake_pb2.ListProceduresRequest(field_code="ho_tich", page_size=100))
    assert civil.procedures and {p.field_name for p in civil.procedures} == {"Hộ tịch"}
    land = intake.ListProcedures(intake_pb2.ListProceduresRequest(competent_agency_code=COMMUNE, page_size=100))
    assert {p.competent_agency_code for p in land.procedures} == {COMMUNE}
    assert all(p.competent_agency_name.startswith("UBND xã") and p.in_force for p in land.procedures)

    found = intake.ListProcedures(intake_pb2.ListProceduresRequest(text="dang ky khai sinh")).procedures
    assert "Đăng ký khai sinh" in [p.name for p in found]
    birth = next(p for p in found if p.code == "1.001193")
    assert birth.legal_duration.hours == 4 and birth.required_documents[0].name.startswith("Tờ khai")

    err = _refused(intake.ListProcedures, intake_pb2.ListProceduresRequest(page_token="bm90LWEtdG9rZW4="))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_create_update_with_a_stale_version_and_deactivate(intake):
    created = intake.CreateProcedure(intake_pb2.CreateProcedureRequest(procedure=_procedure("DP.HT.9001")),
                                     metadata=ADMIN).procedure
    assert created.version == 1 and created.in_force
    assert intake.GetProcedure(intake_pb2.GetProcedureRequest(code="DP.HT.9001")).procedure == created
    err = _refused(intake.CreateProcedure, intake_pb2.CreateProcedureRequest(procedure=_procedure("DP.HT.9001")), ADMIN)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.ALREADY_EXISTS, "PROCEDURE_EXISTS")

    changed = intake_pb2.Procedure()
    changed.CopyFrom(created)
    changed.legal_duration.days = 3
    updated = intake.UpdateProcedure(intake_pb2.UpdateProcedureRequest(procedure=changed), metadata=ADMIN).procedure
    assert updated.version == 2 and updated.legal_duration.days == 3
    stale = intake_pb2.Procedure()
    stale.CopyFrom(created)  # still version 1
    stale.result = "Trích lục"
    err = _refused(intake.UpdateProcedure, intake_pb2.UpdateProcedureRequest(procedure=stale), ADMIN)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.ABORTED, "VERSION_MISMATCH")

    bad = intake_pb2.Procedure()
    bad.CopyFrom(updated)
    bad.fees[0].amount.amount = -1
    del bad.required_documents[:]
    err = _refused(intake.UpdateProcedure, intake_pb2.UpdateProcedureRequest(procedure=bad), ADMIN)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error_info(err)[2]) == {"procedure.fees[0].amount", "procedure.required_documents"}

    gone = intake.DeactivateProcedure(intake_pb2.DeactivateProcedureRequest(code="DP.HT.9001", version=2),
                                      metadata=ADMIN).procedure
    assert not gone.active and not gone.in_force and gone.version == 3
    err = _refused(intake.SubmitDossier, submit_request(procedure_code="DP.HT.9001"), COMMUNE_OFFICER)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "PROCEDURE_INACTIVE")
    listed = intake.ListProcedures(intake_pb2.ListProceduresRequest(text="DP.HT.9001", include_inactive=True))
    assert [p.code for p in listed.procedures] == ["DP.HT.9001"]
    assert not intake.ListProcedures(intake_pb2.ListProceduresRequest(text="DP.HT.9001")).procedures


def test_other_agencies_and_other_roles_may_not_change_it(intake):
    err = _refused(intake.CreateProcedure, intake_pb2.CreateProcedureRequest(procedure=_procedure("DP.HT.9002")),
                   OTHER_ADMIN)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY")
    err = _refused(intake.DeactivateProcedure, intake_pb2.DeactivateProcedureRequest(code="1.001193"), OTHER_ADMIN)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY")
    err = _refused(intake.DeactivateProcedure, intake_pb2.DeactivateProcedureRequest(code="1.001193"),
                   COMMUNE_OFFICER)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED")
    err = _refused(intake.DeactivateProcedure, intake_pb2.DeactivateProcedureRequest(code="1.001193"))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert intake.GetProcedure(intake_pb2.GetProcedureRequest(code="1.001193")).procedure.active


def test_import_with_a_bad_line_changes_nothing_and_export_round_trips(intake, platform):
    exported = intake.ExportProcedures(intake_pb2.ExportProceduresRequest(
        format=intake_pb2.CATALOGUE_FORMAT_YAML, competent_agency_code="000.00.11.H17", include_inactive=True))
    assert exported.content_type == "application/yaml" and exported.procedure_count >= 3
    again = intake.ImportProcedures(intake_pb2.ImportProceduresRequest(
        content=exported.content, format=intake_pb2.CATALOGUE_FORMAT_YAML), metadata=OTHER_ADMIN)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, exported.procedure_count)

    data = yaml.safe_load(exported.content)
    data["procedures"][0]["legal_duration"] = {"days": 30}  # a good change...
    data["procedures"][1]["fees"] = [{"name": "Lệ phí", "amount": -1}]  # ...and a bad line
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    bad_line = next(i for i, line in enumerate(text.splitlines(), 1) if "amount: -1" in line)
    before = list(platform.db("intake")["procedures"].find({}, sort=[("_id", 1)]))
    err = _refused(intake.ImportProcedures, intake_pb2.ImportProceduresRequest(
        content=text.encode(), format=intake_pb2.CATALOGUE_FORMAT_YAML), OTHER_ADMIN)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(err)[2] == [f"line {bad_line}: fees[0].amount"]
    assert f"line {bad_line}: fees[0].amount: must be 0 or more đồng" in err.details()
    assert list(platform.db("intake")["procedures"].find({}, sort=[("_id", 1)])) == before, "nothing changed"

    json_export = intake.ExportProcedures(intake_pb2.ExportProceduresRequest(format=intake_pb2.CATALOGUE_FORMAT_JSON))
    again = intake.ImportProcedures(intake_pb2.ImportProceduresRequest(
        content=json_export.content, format=intake_pb2.CATALOGUE_FORMAT_JSON),
        metadata=bearer(token(roles=("service",))))
    assert again.unchanged_count == json_export.procedure_count and again.created_count == again.updated_count == 0


def test_the_list_filters_read_codes_as_typed(intake):
    civil = intake.ListProcedures(intake_pb2.ListProceduresRequest(field_code="ho_tich", page_size=100)).procedures
    typed = intake.ListProcedures(intake_pb2.ListProceduresRequest(field_code=" HO_TICH ", page_size=100)).procedures
    assert civil and [p.code for p in typed] == [p.code for p in civil]
    land = intake.ListProcedures(intake_pb2.ListProceduresRequest(competent_agency_code=COMMUNE,
                                                                  page_size=100)).procedures
    lower = intake.ListProcedures(intake_pb2.ListProceduresRequest(competent_agency_code=f" {COMMUNE.lower()}",
                                                                   page_size=100)).procedures
    assert land and [p.code for p in lower] == [p.code for p in land]
