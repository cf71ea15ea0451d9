"""Text = text (issue 9, kind 1) through the running platform: what a Vietnamese keyboard, a phone
or a PDF copy sends is the same name or code as what the catalogue and the receipt print."""

from __future__ import annotations

import unicodedata
import urllib.parse
import urllib.request

from conftest import bearer

from onestop.intake.v1 import intake_pb2

from support import DN_DOCUMENTS, submit_request


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def test_decomposed_names_are_stored_in_nfc_and_in_the_catalogues_wording(intake):
    request = submit_request(documents=[
        intake_pb2.SubmittedDocument(name=nfd(DN_DOCUMENTS[0]), copy_kind=intake_pb2.COPY_KIND_ORIGINAL, count=1),
        intake_pb2.SubmittedDocument(name="  " + DN_DOCUMENTS[1].upper() + " ", copy_kind=intake_pb2.COPY_KIND_ORIGINAL,
                                     count=1)])
    request.applicant.full_name = nfd("Nguyễn Thị Hồng Nhung")
    submitted = intake.SubmitDossier(request, metadata=bearer())
    got = intake.GetDossier(intake_pb2.GetDossierRequest(code=submitted.dossier.code), metadata=bearer()).dossier
    assert [d.name for d in got.documents] == DN_DOCUMENTS
    assert got.applicant.full_name == "Nguyễn Thị Hồng Nhung"  # NFC: the same bytes as typed on Windows
    found = intake.LookupDossier(intake_pb2.LookupDossierRequest(code=submitted.dossier.code,
                                                                  secret=submitted.lookup_secret)).dossier
    assert found.applicant_name_masked == "Ng**** Th* Hồ** Nh***"


def test_a_code_typed_in_lower_case_or_with_spaces_is_found_by_lookup_desk_and_page(intake, platform):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code, secret = submitted.dossier.code, submitted.lookup_secret
    unit, day, seq = code.rsplit("-", 2)
    for typed in (code.lower(), f" {unit} - {day} - {seq} ", f"{unit.lower()}\u2013{day}\u2013{seq}"):
        found = intake.LookupDossier(intake_pb2.LookupDossierRequest(code=typed, secret=secret.lower())).dossier
        assert found.code == code
        got = intake.GetDossier(intake_pb2.GetDossierRequest(code=typed), metadata=bearer()).dossier
        assert got.code == code
    receipt = intake.GetReceipt(intake_pb2.GetReceiptRequest(code=code.lower()), metadata=bearer())
    assert receipt.file_name == f"giay-tiep-nhan-{code}.pdf"
    # the page posts its form (the secret never travels in a URL)
    body = urllib.parse.urlencode({"ma": f" {code.lower()} ", "ma_tra_cuu": secret.lower()}).encode()
    page_url = f"http://127.0.0.1:{platform.web_ports['intake']}/tra-cuu"
    with urllib.request.urlopen(urllib.request.Request(page_url, data=body, method="POST"), timeout=10) as page:
        html = page.read().decode()
    assert page.status == 200 and "Được tiếp nhận" in html
