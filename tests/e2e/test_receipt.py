"""The receipt (form 01) over gRPC: a PDF whose text keeps the diacritics and whose codes decode."""

from __future__ import annotations

import io
import urllib.parse

import grpc
import pypdf
import pypdfium2
import pytest
import zxingcpp
from conftest import bearer, token

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2

from support import error_info, submit_request


def test_the_receipt_pdf_names_the_applicant_and_its_codes_decode(intake, platform):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code = submitted.dossier.code
    receipt = intake.GetReceipt(intake_pb2.GetReceiptRequest(code=code), metadata=bearer())
    assert receipt.pdf.startswith(b"%PDF") and receipt.file_name == f"giay-tiep-nhan-{code}.pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(receipt.pdf)).pages)
    assert "Nguyễn Thị Hồng Nhung" in text and "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert submitted.lookup_secret[:4] in text and "Giấy đề nghị đăng ký doanh nghiệp" in text
    image = pypdfium2.PdfDocument(receipt.pdf)[0].render(scale=200 / 72).to_pil()
    decoded = {r.format.name: r.text for r in zxingcpp.read_barcodes(image)}
    assert decoded.get("Code128") == code
    assert decoded.get("QRCode", "").endswith("?" + urllib.parse.urlencode({"ma": code}))


def test_no_receipt_before_acceptance_nor_for_another_agency(intake):
    citizen = bearer(token(roles=("citizen",), agency="", subject="citizen-9"))
    code = intake.SubmitDossier(submit_request(channel=common_pb2.CHANNEL_ONLINE), metadata=citizen).dossier.code
    with pytest.raises(grpc.RpcError) as waiting:
        intake.GetReceipt(intake_pb2.GetReceiptRequest(code=code), metadata=bearer())
    assert error_info(waiting.value)[0] == "NO_APPOINTMENT"
    with pytest.raises(grpc.RpcError) as other:
        intake.GetReceipt(intake_pb2.GetReceiptRequest(code=code), metadata=bearer(token(agency="000.00.11.H17")))
    assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED
