"""Text = text (issue 9, kinds 1 and 2) in the services, without servers: names matched by their
key and stored in one wording, codes as typed, masking on any form of input, and file types
sniffed as their readers read them."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import os
import struct
import unicodedata
import zipfile
import zlib

import pytest
from reportlab.pdfgen import canvas

from onestop_chassis import auth, worktime
from onestop_chassis.errors import InvalidArgument, NotFound, ResourceExhausted
from onestop_chassis.worktime import WorkingCalendar
from onestop_documents import domain as docs
from onestop_documents.service import DocumentsService
from onestop_intake.catalogue import domain as catalogue
from onestop_intake.catalogue import files as catalogue_files
from onestop_intake.public.lookup_limits import NO_MATCH, LookupLimits
from onestop_intake.reception import domain, service
from onestop_intake.units import domain as units

from fakes import FakeCatalogue, FakeDocuments, FakeDossiers, FakeObjectStore, FakeSequence


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


UNIT = units.Unit("000.00.21.H17", "Sở Kế hoạch và Đầu tư")
OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), UNIT.code)
REQUEST_FORM = "Giấy đề nghị đăng ký doanh nghiệp"
COPY = "Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân"
HEALTH = "Giấy khám sức khoẻ"  # the catalogue's own spelling: new-style tone mark
PROCEDURE = catalogue.Procedure(
    "2.001610", "Đăng ký thành lập doanh nghiệp tư nhân", worktime.WorkingDuration(days=3), UNIT.code,
    required_documents=(catalogue.RequiredDocument(REQUEST_FORM), catalogue.RequiredDocument(COPY),
                        catalogue.RequiredDocument(HEALTH, required=False)))
APPLICANT = domain.Applicant(kind=domain.ApplicantKind.PERSON, full_name="Nguyễn Văn An",
                             citizen_id="001203004567", phone="0912345678")
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def _cmd(*names: str) -> domain.SubmitDossier:
    return domain.SubmitDossier(request_id="", procedure_code=PROCEDURE.code, applicant=APPLICANT,
                                channel=domain.Channel.IN_PERSON,
                                documents=tuple(domain.SubmittedDocument(n) for n in names))


# -- intake: handed-in documents against the catalogue -------------------------------------------------
def test_documents_typed_any_way_match_and_take_the_catalogues_wording():
    handed = domain.check_documents(_cmd(nfd(REQUEST_FORM), "  BẢN SAO giấy tờ pháp lý của cá nhân là chủ "
                                         "doanh nghiệp tư nhân ", "Giấy khám sức khỏe"), PROCEDURE)
    assert [d.name for d in handed] == [REQUEST_FORM, COPY, HEALTH]


def test_one_component_handed_in_twice_under_two_spellings_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        domain.check_documents(_cmd(REQUEST_FORM, COPY, nfd(REQUEST_FORM)), PROCEDURE)
    assert [v.field for v in refused.value.violations] == ["documents[2].name"]
    assert "documents[0]" in refused.value.violations[0].description


def test_a_document_the_catalogue_does_not_list_is_still_refused():
    with pytest.raises(InvalidArgument) as refused:
        domain.check_documents(_cmd(REQUEST_FORM, COPY, "Giấy đề nghị"), PROCEDURE)
    assert [v.field for v in refused.value.violations] == ["documents[2].name"]


@pytest.fixture
def intake():
    dossiers = FakeDossiers()
    numbers = FakeSequence({(UNIT.code, dt.date(2026, 11, 30)): 2})  # the day's next code is -0003
    return (service.IntakeService(dossiers, FakeCatalogue([PROCEDURE], [UNIT]), numbers, WorkingCalendar(),
                                  clock=lambda: NOW), dossiers)


def test_the_dossier_stores_the_catalogues_wording_not_the_citizens_spelling(intake):
    svc, dossiers = intake
    submitted = svc.submit(_cmd(nfd(REQUEST_FORM), COPY.upper(), "giấy khám sức khỏe"), OFFICER)
    stored = dossiers.by_code(submitted.dossier.code)
    assert [d.name for d in stored.documents] == [REQUEST_FORM, COPY, HEALTH]


def test_a_supplement_request_names_catalogue_documents_in_the_catalogues_wording(intake):
    svc, dossiers = intake
    submitted = svc.submit(_cmd(REQUEST_FORM, COPY), OFFICER)
    requested = svc.request_supplement(submitted.dossier.code, "Thiếu giấy khám", [nfd("giấy khám sức khỏe"),
                                                                                   "Ảnh 4x6"], OFFICER)
    assert list(requested.supplement_request.documents_to_add) == [HEALTH, "Ảnh 4x6"]


@pytest.mark.parametrize("typed", [
    "000.00.21.h17-261130-0003", " 000.00.21.H17 - 261130 - 0003", "000.00.21.H17–261130–0003",
    "０００.００.２１.Ｈ１７-２６１１３０-０００３",
])
def test_lookup_and_desk_find_a_dossier_by_its_code_as_typed(intake, typed):
    svc, dossiers = intake
    submitted = svc.submit(_cmd(REQUEST_FORM, COPY), OFFICER)
    assert submitted.dossier.code == "000.00.21.H17-261130-0003"
    secret = submitted.dossier.lookup_secret
    assert svc.lookup(typed, secret.lower()).code == submitted.dossier.code
    assert svc.lookup(typed, f" {secret[:4]} {secret[4:]} ").code == submitted.dossier.code
    assert svc.get(typed, OFFICER).code == submitted.dossier.code


def test_codes_typed_in_a_submission_are_read_in_their_one_form(intake):
    svc, _ = intake
    submitted = svc.submit(dataclasses.replace(_cmd(REQUEST_FORM, COPY), procedure_code=" ２.001610 ",
                                               receiving_unit_code="000.00.21.h17"), OFFICER)
    assert (submitted.dossier.procedure_code, submitted.dossier.receiving_unit.code) == (PROCEDURE.code, UNIT.code)


def test_a_wrong_secret_is_still_no_match_whatever_the_codes_form(intake):
    svc, _ = intake
    submitted = svc.submit(_cmd(REQUEST_FORM, COPY), OFFICER)
    with pytest.raises(NotFound):
        svc.lookup(submitted.dossier.code.lower(), "WRONG123")


def test_wrong_secrets_count_against_one_code_however_it_is_typed():
    # One client's budget for one code (10 an hour) is one budget for every spelling of the code.
    limits = LookupLimits()
    forms = ["000.00.21.H17-261130-0003", "000.00.21.h17-261130-0003", "000.00.21.H17 - 261130 - 0003"]

    def no_match():
        raise NotFound(NO_MATCH, "no dossier matches this code and secret")

    for i in range(10):
        with pytest.raises(NotFound):
            limits.guarded(client="10.0.0.1", code=forms[i % 3], find=no_match)
    with pytest.raises(ResourceExhausted):
        limits.guarded(client="10.0.0.1", code="000.00.21.h17 -261130-0003", find=lambda: "found")
    # ... and never the owner's, who asks from elsewhere
    assert limits.guarded(client="10.9.9.9", code=forms[0], find=lambda: "found") == "found"


# -- masking on the public lookup ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Nguyễn Thị Hồng Nhung", nfd("Nguyễn Thị Hồng Nhung")])
def test_the_masked_name_is_the_same_whatever_form_it_was_stored_in(name):
    assert domain.mask_name(name) == "Ng**** Th* Hồ** Nh***"


def test_masking_never_shows_a_bare_accent_or_the_length_in_code_points():
    masked = domain.mask_name(nfd("Ấn Ộ"))
    assert masked == "Ấ* Ộ"
    assert not any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", masked).replace(
        unicodedata.normalize("NFD", "Ấ"), "").replace(unicodedata.normalize("NFD", "Ộ"), ""))


# -- the catalogue --------------------------------------------------------------------------------------
def test_search_folds_the_d_lookalike_and_tone_placement():
    p = dataclasses.replace(PROCEDURE, name="Đăng ký hộ kinh doanh hoà giải")
    assert catalogue.matches_text(p, "dang ky")
    assert catalogue.matches_text(p, "\u00d0ăng ký")
    assert catalogue.matches_text(p, nfd("hòa giải"))


def test_a_procedure_may_not_list_one_document_twice_under_two_spellings():
    p = dataclasses.replace(PROCEDURE, required_documents=(catalogue.RequiredDocument("Giấy khám sức khỏe"),
                                                             catalogue.RequiredDocument(HEALTH)))
    problems = {catalogue.label(path): problem for path, problem in catalogue.validate(p)}
    assert problems["required_documents[1].name"] == "names the same document as required_documents[0]"
    assert "required_documents[0].name" not in problems


def test_an_imported_file_is_stored_in_nfc():
    text = f"""\
- code: DP.HT.0009
  is_local_code: true
  name: {nfd("Đăng ký kết hôn")}
  field_code: ho_tich
  competent_agency_code: {UNIT.code}
  level: {nfd("Cấp xã")}
  legal_duration: {{hours: 4}}
  result: {nfd("Giấy chứng nhận kết hôn")}
  online_level: full
  required_documents:
  - name: {nfd("Tờ khai đăng ký kết hôn")}
  legal_basis: [{nfd("Luật Hộ tịch 2014")}]
"""
    data, lines = catalogue_files.parse_file(text.encode(), "yaml")
    (p,) = catalogue_files.entries_to_procedures(data, lines, {UNIT.code}.__contains__)
    assert (p.name, p.level, p.result, p.required_documents[0].name, p.legal_basis) == (
        "Đăng ký kết hôn", "Cấp xã", "Giấy chứng nhận kết hôn", "Tờ khai đăng ký kết hôn", ("Luật Hộ tịch 2014",))


# -- documents: one component however its name is typed ---------------------------------------------------
AGENCY = UNIT.code
DOSSIER = "000.00.21.H17-261130-0001"


def _pdf(text: str = "ho so") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=True)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def _upload(svc, component: str, data: bytes, request_id: str = "", dossier: str = DOSSIER):
    request = docs.UploadRequest(request_id, dossier, int(docs.Kind.COMPONENT), component, "don.pdf", "", "")
    return svc.upload(request, iter([data]), OFFICER)


@pytest.fixture
def documents():
    store = FakeDocuments()
    return DocumentsService(store, FakeObjectStore(), peers=None), store


def test_a_decomposed_component_name_is_the_same_component(documents):
    svc, store = documents
    first = _upload(svc, REQUEST_FORM, _pdf("1"))
    second = _upload(svc, nfd(REQUEST_FORM), _pdf("2"))
    assert (first.document.version, second.document.version) == (1, 2)
    assert {d.component for d in store.records} == {REQUEST_FORM}


def test_identical_bytes_resent_under_another_spelling_are_no_new_version(documents):
    svc, store = documents
    data = _pdf()
    first = _upload(svc, nfd(REQUEST_FORM), data)
    again = _upload(svc, "giấy đề  nghị đăng ký doanh nghiệp", data)
    assert again.deduplicated and again.document.document_id == first.document.document_id
    assert len(store.records) == 1 and store.records[0].component == REQUEST_FORM  # stored in NFC


def test_a_later_version_keeps_the_name_the_component_was_first_stored_under(documents):
    svc, store = documents
    _upload(svc, "Giấy khám sức khỏe", _pdf("1"))
    later = _upload(svc, "GIẤY KHÁM SỨC KHOẺ", _pdf("2"))
    assert later.document.version == 2 and later.document.component == "Giấy khám sức khỏe"


def test_a_dossier_code_typed_in_lower_case_files_under_the_code(documents):
    svc, store = documents
    stored = _upload(svc, REQUEST_FORM, _pdf(), dossier=" 000.00.21.h17 - 261130 - 0001 ")
    assert stored.document.dossier_code == DOSSIER
    assert [d.document_id for d in svc.list("000.00.21.h17-261130-0001", "", OFFICER)] == [stored.document.document_id]


def test_a_replay_under_another_spelling_is_the_same_request(documents):
    svc, _ = documents
    data = _pdf()
    first = _upload(svc, REQUEST_FORM, data, request_id="r-1")
    again = _upload(svc, nfd(REQUEST_FORM).upper(), data, request_id="r-1")
    assert again.replayed and again.document.document_id == first.document.document_id


# -- kind 2: bytes that readers accept ------------------------------------------------------------------
@pytest.mark.parametrize("lead", [b"\n", b"\r\n", b"  \t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n",
                                  b"\x00" * 16, b"X-Mailer: scan gateway\r\n\r\n", b"\n" * 1000])
def test_a_pdf_with_leading_bytes_is_a_pdf(lead):
    data = lead + _pdf()
    assert docs.sniff(data[:docs.SNIFF_BYTES], "ho-so.pdf") == "application/pdf"


def test_the_bytes_of_a_pdf_with_a_leading_line_break_are_stored_unchanged(documents):
    svc, _ = documents
    data = b"\r\n" + _pdf()
    stored = _upload(svc, REQUEST_FORM, data)
    import hashlib
    assert stored.document.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.document.size_bytes == len(data) and stored.document.content_type == "application/pdf"


def _zip_with_a_stored_pdf() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("a.pdf", _pdf())
    return out.getvalue()


@pytest.mark.parametrize("data, why", [
    (b"<html><body>" + _pdf() + b"</body></html>", "markup with a PDF inside"),
    (b"\n  <!DOCTYPE html><p>%PDF-1.7\n1 0 obj</p>", "HTML that mentions a PDF"),
    (_zip_with_a_stored_pdf(), "a ZIP holding a PDF near its start"),
    (b"x" * 1100 + _pdf(), "%PDF- after the first 1024 bytes"),
    (b"notes.txt: see %PDF-1.4 in the standard\n" + b"plain text " * 200, "a text that mentions %PDF-"),
    (os.urandom(900) + b"%PDF-1.7", "a header with nothing after it"),
])
def test_junk_with_pdf_in_it_is_still_refused(data, why):
    with pytest.raises(InvalidArgument) as refused:
        docs.sniff(data[:docs.SNIFF_BYTES], "ho-so.pdf")
    assert refused.value.reason == "UNSUPPORTED_TYPE", why


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_an_animated_png_is_a_png():
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    apng = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"acTL", struct.pack(">II", 1, 0))
            + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00")) + _png_chunk(b"IEND", b""))
    assert docs.sniff(apng, "scan.png") == "image/png"


@pytest.mark.parametrize("header", [b"II\x2b\x00\x08\x00\x00\x00", b"MM\x00\x2b\x00\x08\x00\x00"])
def test_a_bigtiff_is_a_tiff(header):
    assert docs.sniff(header + bytes(8) + os.urandom(64), "scan.tif") == "image/tiff"


def test_leading_bytes_do_not_make_an_image():
    with pytest.raises(InvalidArgument) as refused:
        docs.sniff(b"\n\xff\xd8\xff\xe0" + os.urandom(2000), "scan.jpg")
    assert refused.value.reason == "UNSUPPORTED_TYPE"  # JPEG, PNG and TIFF readers read from byte 0


# -- found by the issue 9 review: codes typed in lower case at the queue, PutUnit and the filters ----
def test_unit_codes_in_a_unit_are_read_as_typed():
    from onestop.intake.v1 import intake_pb2
    from onestop_intake.shared import proto

    unit = proto.unit_from_proto(intake_pb2.Unit(code=" 000.00.21.h17", parent_code="000.00.00.h17 ",
                                                 receives_for=["000.00.13.h17", "000.00.13.H17 ", " "]))
    assert (unit.code, unit.parent_code, unit.receives_for) == ("000.00.21.H17", "000.00.00.H17", ("000.00.13.H17",))


def test_a_ticket_asked_for_a_lower_case_unit_code_is_taken_and_a_refused_one_costs_nothing():
    from types import SimpleNamespace

    from onestop.intake.v1 import queue_pb2
    from onestop_intake.queue.api import QueueServicer, TicketLimits

    taken = []
    desk = SimpleNamespace(take=lambda unit, queue: (taken.append((unit, queue)) or
                                                     (SimpleNamespace(ticket_id="t", unit_code=unit, queue=queue,
                                                                      number=1, display="A001", taken_at=None), 0)))
    servicer = QueueServicer(desk, TicketLimits((), "30/minute", "1/hour"))
    context = SimpleNamespace(peer=lambda: "ipv4:10.0.0.9:5000", invocation_metadata=lambda: ())
    for _ in range(3):  # refused: no queue. Before, each spent the client's one ticket an hour.
        with pytest.raises(InvalidArgument):
            servicer.TakeTicket(queue_pb2.TakeTicketRequest(unit_code="000.00.21.h17"), context)
    # The fake ticket has no times to map (AttributeError); what matters is what reached the desk.
    with contextlib.suppress(AttributeError):
        servicer.TakeTicket(queue_pb2.TakeTicketRequest(unit_code="000.00.21.h17 ", queue="dat-dai"), context)
    assert taken == [("000.00.21.H17", "dat-dai")]
