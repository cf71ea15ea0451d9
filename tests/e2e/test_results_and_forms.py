"""End-to-end: intake and documents together on their own vhost, as one agency runs them.

- every form the desk issues (01, 02, 03) is filed with the documents service, byte for byte what
  GetForm serves;
- the result is recorded (9) and returned (10); finishing puts the dossier's files under retention;
- the citizen downloads the result file with the code and lookup secret;
- units as a hierarchy, and a shared desk that receives only for the units it serves.
"""

from __future__ import annotations

import hashlib
import time
import urllib.request
import uuid

import grpc
import pytest
from conftest import UNIT, bearer, on_forms_vhost, stub_fixtures, token

from onestop.common.v1 import common_pb2
from onestop.documents.v1 import documents_pb2 as dpb
from onestop.intake.v1 import intake_pb2 as pb

from support import error_info, submit_request

DISTRICT_DESK = "000.40.21.H17"
DISTRICT_OFFICES = ["000.41.40.H17", "000.42.40.H17", "000.43.40.H17", "000.44.40.H17", "000.45.40.H17"]


@pytest.fixture(scope="module")
def agency(local_stack, tmp_path_factory):
    with on_forms_vhost(tmp_path_factory, "e2eforms", ("intake", "documents")) as p:
        yield p


intake, documents = stub_fixtures("agency", "intake", "documents")


def wait_until(probe, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def listed(documents, code: str) -> list[dpb.Document]:
    return list(documents.ListDocuments(dpb.ListDocumentsRequest(dossier_code=code, agency_code=UNIT),
                                        metadata=bearer()).documents)


def filed_form(documents, code: str, title_prefix: str) -> dpb.Document | None:
    return next((d for d in listed(documents, code)
                 if d.kind == dpb.DOCUMENT_KIND_FORM and d.component.startswith(title_prefix)), None)


def form_bytes(intake, code: str, form: int) -> bytes:
    return intake.GetForm(pb.GetFormRequest(code=code, form=form), metadata=bearer()).pdf


def test_issued_forms_are_filed_with_documents_byte_for_byte(intake, documents):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code = submitted.dossier.code
    receipt = wait_until(lambda: filed_form(documents, code, "Mẫu số 01"), "form 01 to be filed")
    served = form_bytes(intake, code, pb.FORM_KIND_RECEIPT)
    assert served.startswith(b"%PDF")
    assert receipt.sha256 == hashlib.sha256(served).hexdigest()
    assert receipt.file_name == f"giay-tiep-nhan-{code}.pdf" and receipt.content_type == "application/pdf"

    with pytest.raises(grpc.RpcError) as err:  # no supplement requested yet
        form_bytes(intake, code, pb.FORM_KIND_SUPPLEMENT_REQUEST)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(err.value)[0] == "FORM_NOT_ISSUED"

    intake.RequestSupplement(pb.RequestSupplementRequest(
        code=code, reason="Thiếu bản sao giấy tờ pháp lý", documents_to_add=["Bản sao căn cước"]), metadata=bearer())
    supplement = wait_until(lambda: filed_form(documents, code, "Mẫu số 02"), "form 02 to be filed")
    assert supplement.sha256 == hashlib.sha256(form_bytes(intake, code, pb.FORM_KIND_SUPPLEMENT_REQUEST)).hexdigest()

    refused_code = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code
    intake.RefuseDossier(pb.RefuseDossierRequest(code=refused_code, reasons=["Hồ sơ không thuộc thẩm quyền"]),
                         metadata=bearer())
    refusal = wait_until(lambda: filed_form(documents, refused_code, "Mẫu số 03"), "form 03 to be filed")
    assert refusal.sha256 == hashlib.sha256(form_bytes(intake, refused_code, pb.FORM_KIND_REFUSAL)).hexdigest()

    with pytest.raises(grpc.RpcError) as err:
        intake.GetForm(pb.GetFormRequest(code=code, form=9), metadata=bearer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def upload_result(documents, code: str, data: bytes) -> dpb.Document:
    def messages():
        yield dpb.UploadDocumentRequest(metadata=dpb.UploadMetadata(
            request_id=str(uuid.uuid4()), dossier_code=code, kind=dpb.DOCUMENT_KIND_RESULT,
            component="Giấy chứng nhận đăng ký doanh nghiệp", file_name="ket-qua.pdf", agency_code=UNIT))
        yield dpb.UploadDocumentRequest(chunk=data)
    return documents.UploadDocument(messages(), metadata=bearer()).document


def test_result_is_recorded_retained_downloaded_by_the_citizen_and_returned(intake, documents):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code, secret = submitted.dossier.code, submitted.lookup_secret

    with pytest.raises(grpc.RpcError) as err:  # not finished yet
        intake.GetResultLinks(pb.GetResultLinksRequest(code=code, secret=secret))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(err.value)[0] == "RESULT_NOT_READY"
    with pytest.raises(grpc.RpcError) as err:  # returning before finishing is refused, nothing changes
        intake.ReturnResult(pb.ReturnResultRequest(code=code, method=pb.RETURN_METHOD_ONLINE), metadata=bearer())
    assert error_info(err.value)[0] == "ACTION_NOT_ALLOWED_IN_STATUS"

    wait_until(lambda: filed_form(documents, code, "Mẫu số 01"), "form 01 to be filed")
    result_pdf = b"%PDF-1.7\n" + b"Giay chung nhan dang ky doanh nghiep\n" * 500 + b"%%EOF\n"
    upload_result(documents, code, result_pdf)
    with pytest.raises(grpc.RpcError) as err:
        intake.RecordResult(pb.RecordResultRequest(code=code, summary="  "), metadata=bearer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finished = intake.RecordResult(pb.RecordResultRequest(
        code=code, summary="Giấy chứng nhận đăng ký doanh nghiệp số 3301234567"), metadata=bearer()).dossier
    assert finished.status == common_pb2.DOSSIER_STATUS_FINISHED
    assert finished.result.timeliness == pb.TIMELINESS_EARLY  # finished the day it was received
    assert finished.version == submitted.dossier.version + 1

    # DossierFinished → the documents worker retains every file of the dossier (the form 01 too).
    def all_retained():
        docs = listed(documents, code)
        return docs if len(docs) >= 2 and all(d.HasField("retention") for d in docs) else None
    retained = wait_until(all_retained, "retention of the finished dossier's files")
    assert {d.kind for d in retained} >= {dpb.DOCUMENT_KIND_RESULT, dpb.DOCUMENT_KIND_FORM}

    with pytest.raises(grpc.RpcError) as err:  # a wrong secret: the same NOT_FOUND as a wrong code
        intake.GetResultLinks(pb.GetResultLinksRequest(code=code, secret="WRONG234"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    links = intake.GetResultLinks(pb.GetResultLinksRequest(code=code, secret=secret)).files
    assert [f.component for f in links] == ["Giấy chứng nhận đăng ký doanh nghiệp"]
    with urllib.request.urlopen(links[0].url, timeout=10) as response:
        downloaded = response.read()
    assert hashlib.sha256(downloaded).hexdigest() == links[0].sha256 == hashlib.sha256(result_pdf).hexdigest()

    with pytest.raises(grpc.RpcError) as err:  # at the desk: the collector's ID is required
        intake.ReturnResult(pb.ReturnResultRequest(code=code, method=pb.RETURN_METHOD_AT_DESK,
                                                   receiver_name="Nguyễn Thị Hồng Nhung"), metadata=bearer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "receiver_identity_document" in error_info(err.value)[2]  # neither field sent: the new one is named
    returned = intake.ReturnResult(pb.ReturnResultRequest(
        code=code, method=pb.RETURN_METHOD_AT_DESK, receiver_name="Nguyễn Thị Hồng Nhung",
        receiver_id_number="079203004567"), metadata=bearer()).dossier
    assert returned.status == common_pb2.DOSSIER_STATUS_RESULT_RETURNED
    assert returned.result_return.receiver_name == "Nguyễn Thị Hồng Nhung"
    assert [h.status for h in returned.history][-2:] == [common_pb2.DOSSIER_STATUS_FINISHED,
                                                          common_pb2.DOSSIER_STATUS_RESULT_RETURNED]
    lookup = intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=secret)).dossier
    assert lookup.status_label == "Đã trả kết quả"


def test_postal_return_only_where_the_procedure_allows_it(intake):
    procedure = intake.GetProcedure(pb.GetProcedureRequest(code="1.000894")).procedure
    assert not procedure.postal_return_allowed
    request = submit_request(procedure_code=procedure.code, documents=[
        pb.SubmittedDocument(name=d.name, copy_kind=d.copy_kind, count=1)
        for d in procedure.required_documents if d.required])
    code = intake.SubmitDossier(request, metadata=bearer()).dossier.code
    intake.RecordResult(pb.RecordResultRequest(code=code, summary="Giấy chứng nhận kết hôn"), metadata=bearer())
    with pytest.raises(grpc.RpcError) as err:
        intake.ReturnResult(pb.ReturnResultRequest(code=code, method=pb.RETURN_METHOD_BY_POST,
                                                   postal_tracking_number="EV123456789VN"), metadata=bearer())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(err.value)[0] == "POSTAL_RETURN_NOT_ALLOWED"
    assert intake.GetDossier(pb.GetDossierRequest(code=code), metadata=bearer()).dossier.status == \
        common_pb2.DOSSIER_STATUS_FINISHED  # unchanged


def test_units_are_a_hierarchy_and_a_shared_desk_receives_only_for_what_it_serves(intake):
    desk = intake.GetUnit(pb.GetUnitRequest(code=DISTRICT_DESK))
    assert desk.unit.kind == pb.UNIT_KIND_DESK and desk.unit.level == pb.UNIT_LEVEL_DISTRICT
    assert [a.code for a in desk.ancestors] == ["000.00.00.H17", "000.00.40.H17"]
    assert sorted(u.code for u in desk.serves) == sorted([DISTRICT_DESK, *DISTRICT_OFFICES])
    under_district = intake.ListUnits(pb.ListUnitsRequest(parent_code="000.00.40.H17", descendants=True)).units
    assert {u.code for u in under_district} >= {DISTRICT_DESK, "000.40.31.H17", *DISTRICT_OFFICES}
    assert {u.code for u in intake.ListUnits(pb.ListUnitsRequest(kind=pb.UNIT_KIND_DESK)).units} == \
        {"000.00.21.H17", DISTRICT_DESK}

    # An officer of the district desk cannot receive a provincial department's procedure there.
    officer = bearer(token(agency=DISTRICT_DESK))
    with pytest.raises(grpc.RpcError) as err:
        intake.SubmitDossier(submit_request(receiving_unit_code=DISTRICT_DESK), metadata=officer)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    reason, metadata, _ = error_info(err.value)
    assert reason == "DESK_DOES_NOT_SERVE" and "000.00.21.H17" in metadata["desks"].split(",")

    # The hierarchy is data: a sixth office joins the district desk, and the desk serves it at once.
    admin = bearer(token(roles=("service",), agency="", subject="e2e-platform-admin"))
    office = pb.Unit(code="000.46.40.H17", name="Phòng Văn hóa và Thông tin huyện (e2e)",
                     parent_code="000.00.40.H17", kind=pb.UNIT_KIND_DEPARTMENT, level=pb.UNIT_LEVEL_DISTRICT)
    assert intake.PutUnit(pb.PutUnitRequest(unit=office), metadata=admin).created
    changed = pb.Unit()
    changed.CopyFrom(desk.unit)
    changed.receives_for.append(office.code)
    assert not intake.PutUnit(pb.PutUnitRequest(unit=changed), metadata=admin).created
    assert office.code in {u.code for u in intake.GetUnit(pb.GetUnitRequest(code=DISTRICT_DESK)).serves}

    # Bad units are refused with the field named, and nothing changes.
    loop = pb.Unit(code="000.00.40.H17", name="UBND huyện", parent_code=DISTRICT_DESK,
                   kind=pb.UNIT_KIND_PEOPLES_COMMITTEE, level=pb.UNIT_LEVEL_DISTRICT)
    with pytest.raises(grpc.RpcError) as err:
        intake.PutUnit(pb.PutUnitRequest(unit=loop), metadata=admin)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unit.parent_code" in error_info(err.value)[2]
    assert intake.GetUnit(pb.GetUnitRequest(code="000.00.40.H17")).unit.parent_code == "000.00.00.H17"
    with pytest.raises(grpc.RpcError) as err:  # a desk officer is not an administrator
        intake.PutUnit(pb.PutUnitRequest(unit=office), metadata=officer)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
