"""Routing's forms on the real stack: a case running a shipped template (QT.DN.01) is extended by
the leader of the unit holding it, and form 04 is filed with the documents service (routing's
worker → FormIssued → documents' worker); GetCaseForm returns the control slip of its journey."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
import uuid

import grpc
import openpyxl
import pypdf
import pytest
from conftest import UNIT, bearer, on_forms_vhost, stub_fixtures, token
from test_results_and_forms import filed_form, wait_until

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2
from onestop.routing.v1 import routing_pb2 as pb
from onestop_chassis import pdf

from support import error_info, submit_request, wait_for_case

BUSINESS_OFFICE = "000.00.15.H17"  # QT.DN.01's Phòng Đăng ký kinh doanh
DESK = bearer(token(roles=("desk_officer",), agency=UNIT, subject="mc-lan"))
LEADER = bearer(token(roles=("unit_leader",), agency=BUSINESS_OFFICE, subject="tp-dkkd"))


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", " ".join(p.extract_text() for p in reader.pages)))


@pytest.fixture(scope="module")
def agency(local_stack, tmp_path_factory):
    with on_forms_vhost(tmp_path_factory, "e2eroutingforms", ("intake", "routing", "documents")) as p:
        yield p


intake, routing, documents = stub_fixtures("agency", "intake", "routing", "documents")


@pytest.fixture()
def names(intake):
    """The Vietnamese names intake gives the desk's unit and the business office."""
    return {code: intake.GetUnit(intake_pb2.GetUnitRequest(code=code), metadata=DESK).unit.name
            for code in (UNIT, BUSINESS_OFFICE)}


@pytest.fixture()
def at_the_business_office(intake, routing):
    """A dossier of 2.001610 received, its case (QT.DN.01, seeded with the platform) forwarded by the
    desk to the office."""
    code = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code
    case = wait_for_case(routing, code, DESK)
    assert (case.process_code, case.process_version >= 1) == ("QT.DN.01", True)
    routing.ClaimStep(pb.ClaimStepRequest(dossier_code=code, step_code="tiep_nhan", request_id=str(uuid.uuid4())),
                      metadata=DESK)
    routing.ActOnStep(pb.ActOnStepRequest(dossier_code=code, step_code="tiep_nhan", action=pb.STEP_ACTION_FORWARD,
                                          request_id=str(uuid.uuid4())), metadata=DESK)
    return code


def test_an_extended_case_gets_its_apology_filed_with_documents(routing, documents, at_the_business_office, names):
    code = at_the_business_office
    routing.ExtendCase(pb.ExtendCaseRequest(dossier_code=code, extra=common_pb2.WorkingDuration(days=2),
                                            reason="Chờ ý kiến của Sở Kế hoạch", request_id=str(uuid.uuid4())),
                       metadata=LEADER)
    filed = wait_until(lambda: filed_form(documents, code, "Mẫu số 04"), "form 04 filed with documents")
    assert filed.file_name == f"van-ban-xin-loi-{code}-1.pdf"
    letter = routing.GetCaseForm(pb.GetCaseFormRequest(dossier_code=code, form=pb.CASE_FORM_APOLOGY), metadata=DESK)
    assert filed.sha256 == hashlib.sha256(letter.pdf).hexdigest()  # the same letter, rendered again
    text = _text(letter.pdf)
    # The agency at fault by its name (routing's api read it from intake; the worker took it from
    # CaseExtended), in the letter filed and the one rendered again.
    assert "Chờ ý kiến của Sở Kế hoạch" in text and f"lỗi của {names[BUSINESS_OFFICE]}" in text and "xin lỗi" in text


def test_get_case_form_returns_the_control_slip_of_the_journey(routing, at_the_business_office, names):
    code = at_the_business_office
    slip = routing.GetCaseForm(pb.GetCaseFormRequest(dossier_code=code, form=pb.CASE_FORM_CONTROL_SLIP),
                               metadata=DESK)
    assert slip.file_name == f"phieu-kiem-soat-{code}.pdf"
    text = _text(slip.pdf)
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text and code in text
    assert f"Giao: Tiếp nhận, kiểm tra và chuyển hồ sơ — {names[UNIT]} / mc-lan" in text
    assert f"Nhận: Phòng Đăng ký kinh doanh thẩm định hồ sơ — {names[BUSINESS_OFFICE]}" in text
    # GetCase and GetJourney name every unit too.
    case = routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=DESK).case
    assert [(s.unit.code, s.unit.name) for s in case.steps] == [(BUSINESS_OFFICE, names[BUSINESS_OFFICE])]
    slip_rows = routing.GetJourney(pb.GetJourneyRequest(dossier_code=code), metadata=DESK).control_slip
    assert [(h.from_unit.name, h.to_unit.name) for h in slip_rows] == [(names[UNIT], names[BUSINESS_OFFICE])]
    assert re.search("Trước hạn|Đúng hạn|Quá hạn", text)
    with pytest.raises(grpc.RpcError) as info:  # not stopped: no form 05
        routing.GetCaseForm(pb.GetCaseFormRequest(dossier_code=code, form=pb.CASE_FORM_STOP_NOTICE), metadata=DESK)
    assert (info.value.code(), error_info(info.value)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "FORM_NOT_ISSUED")


def test_the_tracking_book_of_the_desk_lists_the_case_as_xlsx_and_pdf(routing, at_the_business_office, names):
    code = at_the_business_office
    day = code.split("-")[1]
    period = f"20{day[:2]}-{day[2:4]}"
    book = routing.GetTrackingBook(pb.GetTrackingBookRequest(unit_code=UNIT, period=period,
                                                             format=pb.BOOK_FORMAT_XLSX), metadata=DESK)
    assert book.file_name == f"so-theo-doi-{UNIT}-{period}.xlsx" and book.rows >= 1
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    row = next(r for r in sheet.iter_rows(min_row=5, values_only=True) if r[1] == code)
    assert row[2].startswith("Đăng ký thành lập doanh nghiệp") and row[7] == "Đang giải quyết"
    assert row[6].startswith(f"Giao {names[BUSINESS_OFFICE]}")
    pdf = routing.GetTrackingBook(pb.GetTrackingBookRequest(unit_code=UNIT, period=period,
                                                            format=pb.BOOK_FORMAT_PDF), metadata=DESK)
    assert code in _text(pdf.content) and pdf.media_type == "application/pdf"
    with pytest.raises(grpc.RpcError) as info:  # another unit's book
        routing.GetTrackingBook(pb.GetTrackingBookRequest(unit_code="000.00.22.H17", period=period,
                                                          format=pb.BOOK_FORMAT_PDF), metadata=DESK)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_tracking_book_of_a_department_lists_the_cases_its_steps_received(routing, at_the_business_office,
                                                                            names):
    """Form 07 of a unit that performs steps but receives nothing at a desk (gaps item 4)."""
    code = at_the_business_office
    case = routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=DESK).case
    day = code.split("-")[1]
    period = f"20{day[:2]}-{day[2:4]}"
    book = routing.GetTrackingBook(pb.GetTrackingBookRequest(unit_code=BUSINESS_OFFICE, period=period,
                                                             format=pb.BOOK_FORMAT_XLSX), metadata=LEADER)
    assert book.file_name == f"so-theo-doi-{BUSINESS_OFFICE}-{period}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet["A2"].value == f"{names[BUSINESS_OFFICE]} ({BUSINESS_OFFICE})"
    row = next(r for r in sheet.iter_rows(min_row=5, values_only=True) if r[1] == code)
    assert row[6].startswith(f"Nhận từ {names[UNIT]}, ") and row[7] == "Đang giải quyết"
    [step] = case.steps
    assert row[5] == _short(step.due_at)  # its own step's due time
    with pytest.raises(grpc.RpcError) as info:  # the desk reads its own book, not the office's
        routing.GetTrackingBook(pb.GetTrackingBookRequest(unit_code=BUSINESS_OFFICE, period=period,
                                                          format=pb.BOOK_FORMAT_PDF), metadata=DESK)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _short(moment) -> str:
    return pdf.short_moment(moment.ToDatetime(tzinfo=dt.UTC))
