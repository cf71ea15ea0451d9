"""End-to-end: a foreigner with a passport submits a dossier and collects its result through gRPC
(issue 9, kind 5), on the real stack: the paper is checked by its type's rule, stored as type +
normalised number in FerretDB, printed on the receipt with its Vietnamese name, and travels in the
DossierReceived event to routing. The deprecated citizen_id still works."""

from __future__ import annotations

import io
import re
import time
import unicodedata

import grpc
import pypdf
import pytest
from conftest import bearer

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2 as pb

from support import error_info, submit_request, wait_for_case

PASSPORT = common_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT
# 1.001612 (QT.HKD.01) has no process template: the desk records its result itself (RecordResult is
# refused for a routed case, issue 11).
HOUSEHOLD_BUSINESS = {"procedure_code": "1.001612", "request_content": "Đăng ký thành lập hộ kinh doanh",
                      "documents": [pb.SubmittedDocument(name=n, copy_kind=pb.COPY_KIND_ORIGINAL, count=1) for n in (
                          "Giấy đề nghị đăng ký hộ kinh doanh",
                          "Bản sao giấy tờ pháp lý của chủ hộ kinh doanh và của các thành viên hộ gia đình đăng ký "
                          "hộ kinh doanh")]}


def _foreigner(number="12ab 34567", country="fr") -> common_pb2.Applicant:
    return common_pb2.Applicant(
        kind=common_pb2.APPLICANT_KIND_PERSON, full_name="Jean Dupont", phone="0912345678",
        identity_document=common_pb2.IdentityDocument(type=PASSPORT, number=number, issuing_country=country))


def _pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", " ".join(p.extract_text() for p in reader.pages)))


def test_a_foreigner_with_a_passport_submits_and_collects(platform, intake, routing):
    dossier = intake.SubmitDossier(submit_request(applicant=_foreigner(), **HOUSEHOLD_BUSINESS),
                                   metadata=bearer()).dossier
    paper = dossier.applicant.identity_document
    assert (paper.type, paper.number, paper.issuing_country) == (PASSPORT, "12AB34567", "FRA")
    assert dossier.applicant.citizen_id == ""

    stored = platform.db("intake")["dossiers"].find_one({"_id": dossier.code})
    assert stored["applicant"]["identity"] == {"type": 5, "number": "12AB34567", "issuing_country": "FRA"}
    assert wait_for_case(routing, dossier.code, bearer()).applicant_name == "Jean Dupont"  # the event got through
    # ... and routing's CaseOpened came back: intake notes that the desk records this result (a desk
    # action racing that note would get ABORTED CONCURRENT_CHANGE, reload and retry).
    deadline = time.monotonic() + 20
    while not any("Bộ phận Một cửa ghi nhận kết quả" in h.note for h in intake.GetDossier(
            pb.GetDossierRequest(code=dossier.code), metadata=bearer()).dossier.history):
        assert time.monotonic() < deadline, "intake never recorded routing's CaseOpened"
        time.sleep(0.1)

    receipt = intake.GetReceipt(pb.GetReceiptRequest(code=dossier.code), metadata=bearer()).pdf
    assert "Hộ chiếu số 12AB34567 (Pháp)" in _pdf_text(receipt)

    intake.RecordResult(pb.RecordResultRequest(
        code=dossier.code, summary="Giấy chứng nhận đăng ký hộ kinh doanh số 12/2026"), metadata=bearer())
    with pytest.raises(grpc.RpcError) as err:  # the collector's passport is checked by its rule too
        intake.ReturnResult(pb.ReturnResultRequest(
            code=dossier.code, method=pb.RETURN_METHOD_AT_DESK, receiver_name="Jean Dupont",
            receiver_identity_document=common_pb2.IdentityDocument(type=PASSPORT, number="12AB34567")),
            metadata=bearer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(err.value)[2] == ["receiver_identity_document.issuing_country"]

    returned = intake.ReturnResult(pb.ReturnResultRequest(
        code=dossier.code, method=pb.RETURN_METHOD_AT_DESK, receiver_name="Jean Dupont",
        receiver_identity_document=common_pb2.IdentityDocument(type=PASSPORT, number="12AB34567",
                                                               issuing_country="FRA")),
        metadata=bearer()).dossier
    assert returned.status == common_pb2.DOSSIER_STATUS_RESULT_RETURNED
    collector = returned.result_return.receiver_identity_document
    assert (collector.type, collector.number, collector.issuing_country) == (PASSPORT, "12AB34567", "FRA")
    assert returned.result_return.receiver_id_number == ""
    assert "Hộ chiếu số 12AB34567 (Pháp)" in returned.history[-1].note
    again = intake.GetDossier(pb.GetDossierRequest(code=dossier.code), metadata=bearer()).dossier
    assert again.result_return.receiver_identity_document == collector


def test_a_bad_passport_is_refused_naming_the_field_and_nothing_is_stored(platform, intake):
    dossiers = platform.db("intake")["dossiers"]
    before = dossiers.count_documents({})
    with pytest.raises(grpc.RpcError) as err:
        intake.SubmitDossier(submit_request(applicant=_foreigner(number="C12345678", country="VNM")),
                             metadata=bearer())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    reason, _, fields = error_info(err.value)
    assert (reason, fields) == ("INVALID_FIELDS", ["applicant.identity_document.number"])
    assert "1 letter and 7 digits" in err.value.details()
    assert dossiers.count_documents({}) == before


def test_the_deprecated_citizen_id_is_still_accepted_and_answered(intake):
    dossier = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier  # sends citizen_id only
    paper = dossier.applicant.identity_document
    assert (paper.type, paper.number) == (common_pb2.IDENTITY_DOCUMENT_TYPE_PERSONAL_ID_NUMBER, "079203004567")
    assert dossier.applicant.citizen_id == "079203004567"
    receipt = intake.GetReceipt(pb.GetReceiptRequest(code=dossier.code), metadata=bearer()).pdf
    assert "Số định danh cá nhân: 079203004567" in _pdf_text(receipt)
