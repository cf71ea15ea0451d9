"""The desk's PDF forms 01-03: Vietnamese text that survives extraction, A4 pages, an embedded
TrueType font, and a Code128 barcode and QR code that real decoders read back from the rendered page."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import unicodedata

import pypdf
import pypdfium2 as pdfium
import pytest
import zxingcpp

from onestop_chassis import worktime
from onestop_intake.forms import layout as forms
from onestop_intake.forms import printed
from onestop_intake.reception import domain
from onestop_intake.units import domain as units

UTC = dt.UTC
CODE = "000.00.21.H17-261117-0001"
LOOKUP_URL = f"https://dichvucong.example.vn/tra-cuu?ma={CODE}"
UNIT = units.Unit(code="000.00.21.H17", name="Trung tâm Phục vụ hành chính công tỉnh Thừa Thiên Huế")
PERSON = domain.Applicant(
    kind=domain.ApplicantKind.PERSON, full_name="Nguyễn Thị Hồng Nhung", citizen_id="046190001234",
    phone="0912345678", email="nhung.nguyen@example.vn",
    address=domain.Address(line="Số 12 đường Lê Lợi", commune="Phường Thuận Hóa", province="Thành phố Huế"))
ORGANISATION = domain.Applicant(
    kind=domain.ApplicantKind.ORGANISATION, full_name="Lê Hoàng Phúc",
    organisation_name="Công ty TNHH Thương mại Dịch vụ Hương Giang", tax_code="3301234567-001",
    phone="0234381234")
OFFICER = "Trần Văn Đức"
DOCUMENTS = [
    forms.ReceiptDocument("Tờ khai đăng ký khai sinh (theo mẫu)", "original", 1),
    forms.ReceiptDocument("Giấy chứng sinh do cơ sở y tế cấp", "certified_copy", 1),
    forms.ReceiptDocument("Giấy tờ tùy thân của người đi đăng ký", "photocopy", 2),
]


def _dossier(**changes) -> domain.Dossier:
    base = domain.Dossier(
        code=CODE, request_id="req-1", fingerprint="fp", procedure_code="1.000948",
        procedure_name="Đăng ký khai sinh có yếu tố nước ngoài", applicant=PERSON,
        channel=domain.Channel.IN_PERSON, status=domain.DossierStatus.RECEIVED, receiving_unit=UNIT,
        # 02:05 UTC is 09:05 in Vietnam (UTC+7); the appointment is 3 working days later.
        received_at=dt.datetime(2026, 11, 17, 2, 5, tzinfo=UTC),
        appointment_at=dt.datetime(2026, 11, 20, 9, 35, tzinfo=UTC),
        legal_duration=worktime.WorkingDuration(days=3),
        request_content="Đăng ký khai sinh cho cháu Lê Minh Khôi")
    return dataclasses.replace(base, **changes)


def _receipt(dossier: domain.Dossier | None = None, **changes) -> bytes:
    kwargs = dict(documents=DOCUMENTS, lookup_url=LOOKUP_URL, lookup_secret="7KQ4-M2XP", sets=2,
                  collect_at="Quầy số 3, Trung tâm Phục vụ hành chính công tỉnh", officer_name=OFFICER,
                  book="Quyển số 02, số thứ tự 0125")
    return printed.render_receipt(dossier or _dossier(), **{**kwargs, **changes})


def _text(pdf: bytes) -> str:
    """Every page's text, NFC, with runs of whitespace (line breaks included) made one space."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text))


def _codes(pdf: bytes, dpi: int = 200) -> dict[str, list[str]]:
    """Barcodes a decoder finds on page 1 rendered at `dpi`, by format."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    found: dict[str, list[str]] = {}
    for result in zxingcpp.read_barcodes(image):
        found.setdefault(result.format.name, []).append(result.text)
    return found


def _assert_form_basics(pdf: bytes, title: str) -> str:
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    for page in reader.pages:  # A4 portrait: 210 x 297 mm
        assert float(page.mediabox.width) == pytest.approx(595.28, abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(841.89, abs=0.5)
    text = _text(pdf)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert title in text
    assert CODE in text
    return text


# --- form 01: receipt and appointment --------------------------------------------------------------

def test_receipt_text_keeps_vietnamese_and_every_field():
    text = _assert_form_basics(_receipt(), "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH THỪA THIÊN HUẾ" in text  # the receiving unit, at the top
    assert text.index("TRUNG TÂM PHỤC VỤ") < text.index("GIẤY TIẾP NHẬN HỒ SƠ")
    for expected in ("Nguyễn Thị Hồng Nhung", "046190001234", "0912345678", "nhung.nguyen@example.vn",
                     "Số 12 đường Lê Lợi, Phường Thuận Hóa, Thành phố Huế",
                     "Đăng ký khai sinh có yếu tố nước ngoài", "Đăng ký khai sinh cho cháu Lê Minh Khôi",
                     "Mã tra cứu: 7KQ4-M2XP", "Số lượng hồ sơ: 02 bộ",
                     "Quầy số 3, Trung tâm Phục vụ hành chính công tỉnh", "Quyển số 02, số thứ tự 0125",
                     "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN", OFFICER):
        assert expected in text, expected
    assert "Thời gian giải quyết hồ sơ theo quy định: 03 ngày làm việc" in text
    # Reception and appointment in Vietnam time (UTC+7), not in the UTC they are stored in.
    assert "Thời gian nhận hồ sơ: 09 giờ 05 phút, ngày 17/11/2026" in text
    assert "Thời gian trả kết quả giải quyết hồ sơ: 16 giờ 35 phút, ngày 20/11/2026" in text


def test_receipt_lists_each_document_with_its_form_and_quantity():
    text = _text(_receipt())
    for header in ("STT", "Tên giấy tờ", "Số lượng"):
        assert header in text
    assert "1 Tờ khai đăng ký khai sinh (theo mẫu) Bản chính 01" in text
    assert "2 Giấy chứng sinh do cơ sở y tế cấp Bản sao chứng thực 01" in text
    assert "3 Giấy tờ tùy thân của người đi đăng ký Bản chụp 02" in text


def test_receipt_barcode_decodes_to_the_dossier_code_and_qr_to_the_lookup_address():
    found = _codes(_receipt())
    assert found.get("Code128") == [CODE]
    assert found.get("QRCode") == [LOOKUP_URL]


def test_receipt_codes_still_decode_at_a_modest_resolution():
    found = _codes(_receipt(), dpi=150)
    assert found.get("Code128") == [CODE]
    assert found.get("QRCode") == [LOOKUP_URL]


def test_receipt_embeds_a_truetype_font_and_uses_no_standard_font():
    reader = pypdf.PdfReader(io.BytesIO(_receipt()))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        assert "BeVietnamPro" in font["/BaseFont"]  # Helvetica has no glyphs for ạ, ế, ữ, ...
        assert "/FontFile2" in font["/FontDescriptor"].get_object()  # the TrueType program is embedded
        assert "/ToUnicode" in font  # so text can be searched and copied


@pytest.mark.parametrize("duration, phrase", [
    (worktime.WorkingDuration(days=3), "03 ngày làm việc"),
    (worktime.WorkingDuration(hours=4), "04 giờ làm việc"),
    (worktime.WorkingDuration(days=1, hours=4), "01 ngày 04 giờ làm việc"),
    (worktime.WorkingDuration(days=15), "15 ngày làm việc"),
    (worktime.WorkingDuration(minutes=30), "30 phút làm việc"),
])
def test_legal_duration_in_vietnamese(duration, phrase):
    assert forms.format_legal_duration(duration) == phrase


def test_receipt_prints_a_legal_time_in_hours():
    dossier = _dossier(legal_duration=worktime.WorkingDuration(hours=4),
                       appointment_at=dt.datetime(2026, 11, 17, 6, 5, tzinfo=UTC))
    text = _text(_receipt(dossier))
    assert "Thời gian giải quyết hồ sơ theo quy định: 04 giờ làm việc" in text
    assert "Thời gian trả kết quả giải quyết hồ sơ: 13 giờ 05 phút, ngày 17/11/2026" in text


def test_times_are_printed_in_vietnam_time_across_midnight_and_naive_ones_are_utc():
    assert forms.format_moment(dt.datetime(2026, 11, 17, 18, 30, tzinfo=UTC)) == "01 giờ 30 phút, ngày 18/11/2026"
    assert forms.format_moment(dt.datetime(2026, 11, 17, 18, 30)) == "01 giờ 30 phút, ngày 18/11/2026"
    hanoi = dt.timezone(dt.timedelta(hours=7))
    assert forms.format_moment(dt.datetime(2026, 1, 2, 7, 5, tzinfo=hanoi)) == "07 giờ 05 phút, ngày 02/01/2026"


def test_receipt_for_an_organisation_shows_its_name_tax_code_and_representative():
    text = _text(_receipt(_dossier(applicant=ORGANISATION)))
    assert "Công ty TNHH Thương mại Dịch vụ Hương Giang" in text
    assert "Mã số thuế: 3301234567-001" in text
    assert "Lê Hoàng Phúc" in text


def test_decomposed_input_prints_as_composed_vietnamese():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hồng Nhung")
    assert decomposed != "Nguyễn Thị Hồng Nhung"
    text = _text(_receipt(_dossier(applicant=dataclasses.replace(PERSON, full_name=decomposed))))
    assert "Nguyễn Thị Hồng Nhung" in text


def test_user_text_is_printed_literally_not_read_as_markup():
    applicant = dataclasses.replace(ORGANISATION, organisation_name="Công ty A & B <b>Việt Nam</b>")
    unit = units.Unit(code=UNIT.code, name="Sở Nông nghiệp & Môi trường")
    text = _text(_receipt(_dossier(applicant=applicant, receiving_unit=unit,
                                   request_content="Cấp phép x < 5 & y > 3")))
    assert "SỞ NÔNG NGHIỆP & MÔI TRƯỜNG" in text
    assert "Công ty A & B <b>Việt Nam</b>" in text
    assert "Cấp phép x < 5 & y > 3" in text


def test_a_long_list_of_documents_flows_onto_a_second_page_and_codes_stay_on_the_first():
    documents = [forms.ReceiptDocument(f"Giấy tờ số {n} của hồ sơ đất đai", "photocopy", 1) for n in range(1, 41)]
    pdf = _receipt(documents=documents)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) >= 2
    text = _text(pdf)
    assert "Giấy tờ số 1 của hồ sơ đất đai" in text and "Giấy tờ số 40 của hồ sơ đất đai" in text
    assert "NGƯỜI TIẾP NHẬN" in text
    assert _codes(pdf).get("Code128") == [CODE]


def test_receipt_refuses_a_dossier_without_appointment_and_bad_arguments():
    with pytest.raises(ValueError, match="no appointment"):
        _receipt(_dossier(appointment_at=None, status=domain.DossierStatus.NEW))
    with pytest.raises(ValueError, match="sets"):
        _receipt(sets=0)
    with pytest.raises(ValueError, match="lookup_url"):
        _receipt(lookup_url=" ")


@pytest.mark.parametrize("kwargs", [
    dict(name="Tờ khai", copy_kind="scan", quantity=1),
    dict(name="Tờ khai", copy_kind="original", quantity=0),
    dict(name="  ", copy_kind="original", quantity=1),
])
def test_receipt_document_is_validated(kwargs):
    with pytest.raises(ValueError):
        forms.ReceiptDocument(**kwargs)


def test_receipt_document_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DOCUMENTS[0].quantity = 5


# --- form 02: request to supplement ----------------------------------------------------------------

def test_supplement_request_names_the_documents_reason_and_contact():
    pdf = printed.render_supplement_request(
        _dossier(), documents_to_add=["Bản sao chứng thực Giấy chứng nhận kết hôn", "Giấy chứng sinh bản chính"],
        reason="Hồ sơ thiếu giấy tờ chứng minh quan hệ hôn nhân", officer_name=OFFICER,
        contact="điện thoại 0234 3822 123 (quầy số 3)", issued_at=dt.datetime(2026, 11, 17, 17, 30, tzinfo=UTC))
    text = _assert_form_basics(pdf, "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ")
    for expected in ("Nguyễn Thị Hồng Nhung", "Đăng ký khai sinh có yếu tố nước ngoài",
                     "1 Bản sao chứng thực Giấy chứng nhận kết hôn", "2 Giấy chứng sinh bản chính",
                     "Lý do: Hồ sơ thiếu giấy tờ chứng minh quan hệ hôn nhân",
                     "điện thoại 0234 3822 123 (quầy số 3)", OFFICER,
                     "Ngày 18 tháng 11 năm 2026"):  # issued at 00:30 in Vietnam
        assert expected in text, expected


def test_supplement_request_needs_something_to_add():
    with pytest.raises(ValueError):
        printed.render_supplement_request(_dossier(), documents_to_add=[], reason="x", officer_name=OFFICER, contact="")
    with pytest.raises(ValueError):
        printed.render_supplement_request(_dossier(), documents_to_add=[" "], reason="x", officer_name=OFFICER,
                                        contact="")


# --- form 03: refusal ------------------------------------------------------------------------------

REASONS = [
    "Thủ tục không thuộc thẩm quyền giải quyết của Trung tâm.",
    "Hồ sơ thiếu chữ ký của người đại diện theo pháp luật.",
    "Giấy chứng nhận đăng ký doanh nghiệp đã hết hiệu lực.",
]


def test_refusal_lists_every_reason():
    pdf = printed.render_refusal(_dossier(), reasons=REASONS, officer_name=OFFICER)
    text = _assert_form_basics(pdf, "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ")
    assert "Nguyễn Thị Hồng Nhung" in text
    assert OFFICER in text
    for number, reason in enumerate(REASONS, start=1):
        assert f"{number}. {reason}" in text


def test_refusal_of_an_organisation_shows_its_name_and_tax_code():
    pdf = printed.render_refusal(_dossier(applicant=ORGANISATION, request_content=""), reasons=REASONS[:1],
                               officer_name=OFFICER)
    text = _text(pdf)
    assert "Công ty TNHH Thương mại Dịch vụ Hương Giang" in text
    assert "3301234567-001" in text
    assert "Trần Văn Đức" in text


def test_refusal_needs_a_reason():
    with pytest.raises(ValueError):
        printed.render_refusal(_dossier(), reasons=[], officer_name=OFFICER)


def test_refusal_of_an_online_dossier_without_appointment_renders():
    online = _dossier(channel=domain.Channel.ONLINE, status=domain.DossierStatus.NEW, appointment_at=None)
    assert CODE in _text(printed.render_refusal(online, reasons=REASONS, officer_name=OFFICER))
