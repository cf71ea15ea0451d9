"""The desk's printed forms (Circular 03/2025/TT-VPCP, Annex I) as A4 PDFs, in Vietnamese.

- 01 `render_receipt`: Giấy tiếp nhận hồ sơ và hẹn trả kết quả — dossier code with a Code128
  barcode and a QR code of the lookup address, applicant, request, documents received, legal time
  limit, reception and appointment times, where to collect, signatures, tracking-book entry.
- 02 `render_supplement_request`: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ.
- 03 `render_refusal`: Phiếu từ chối tiếp nhận giải quyết hồ sơ.

Pure rendering: no grpc, mongo or storage here; each function returns the PDF's bytes. Layout and
barcodes come from ReportLab; the text is set in Be Vietnam Pro (OFL), a TrueType family drawn for
Vietnamese and shipped on PyPI by `fontpkg-be-vietnam-pro`, embedded (subset) in every PDF, since
the PDF standard fonts (Helvetica, Times) have no glyphs for most Vietnamese letters. Times are
printed in Vietnam time (Asia/Ho_Chi_Minh); a naive datetime is taken as UTC, as stored.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape

import fontpkg
from reportlab.graphics.barcode import code128, qr
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from onestop_chassis import clock, identity

from ..reception import domain
from ..shared.worktime import VIETNAM

__all__ = ["COPY_KINDS", "ReceiptDocument", "format_legal_duration", "format_moment", "render_receipt",
           "render_refusal", "render_supplement_request"]

TITLE_RECEIPT = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
TITLE_SUPPLEMENT = "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"
TITLE_REFUSAL = "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

# How each document was handed in (hình thức), as printed in the receipt's table.
COPY_KINDS = {
    "original": "Bản chính",
    "certified_copy": "Bản sao chứng thực",
    "photocopy": "Bản chụp",
}


@dataclass(frozen=True)
class ReceiptDocument:
    """One line of the receipt's table of documents (thành phần hồ sơ)."""
    name: str
    copy_kind: str  # one of COPY_KINDS: "original", "certified_copy", "photocopy"
    quantity: int = 1

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a document needs a name")
        if self.copy_kind not in COPY_KINDS:
            raise ValueError(f"copy_kind must be one of {sorted(COPY_KINDS)}, not {self.copy_kind!r}")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity < 1:
            raise ValueError(f"quantity must be a whole number of at least 1, not {self.quantity!r}")


# --- fonts ----------------------------------------------------------------------------------------

FONT_FAMILY = "Be Vietnam Pro"
_FONT = "BeVietnamPro"
_BOLD, _ITALIC, _BOLD_ITALIC = f"{_FONT}-Bold", f"{_FONT}-Italic", f"{_FONT}-BoldItalic"
_fonts_lock = threading.Lock()
_fonts_registered = False


def _register_fonts() -> None:
    """Registers the family with ReportLab once per process (its font registry is global)."""
    global _fonts_registered
    with _fonts_lock:
        if _fonts_registered:
            return
        for name, weight, style in ((_FONT, 400, "normal"), (_BOLD, 700, "normal"),
                                    (_ITALIC, 400, "italic"), (_BOLD_ITALIC, 700, "italic")):
            pdfmetrics.registerFont(TTFont(name, str(fontpkg.path(FONT_FAMILY, weight, style))))
        pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_ITALIC, boldItalic=_BOLD_ITALIC)
        _fonts_registered = True


# --- text ----------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _plain(value: object) -> str:
    """NFC (the font has precomposed Vietnamese letters and ReportLab does no shaping), no control
    characters, line breaks kept."""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text).strip()


def _x(value: object) -> str:
    """User text made safe for a Paragraph: ReportLab reads <, > and & as markup."""
    return escape(_plain(value)).replace("\n", "<br/>")


CELL_LINES = 12  # line breaks kept in a table cell; the rest are joined with " / " (all text is printed)


def _x_cell(value: object) -> str:
    """`_x` for a table cell: at most CELL_LINES lines, so a name with 70 line breaks stays a
    short row instead of pages of one-word lines (100 such names: 253 pages and 2.7 s of CPU for form
    01; 43 pages and 0.95 s with the cap)."""
    lines = _plain(value).split("\n")
    if len(lines) > CELL_LINES:
        lines = lines[:CELL_LINES - 1] + [" / ".join(line.strip() for line in lines[CELL_LINES - 1:])]
    return "<br/>".join(escape(line) for line in lines)


def format_moment(moment: dt.datetime) -> str:
    """'14 giờ 05 phút, ngày 17/11/2026' in Vietnam time."""
    local = clock.as_utc(moment).astimezone(VIETNAM)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def _long_date(moment: dt.datetime) -> str:
    local = clock.as_utc(moment).astimezone(VIETNAM)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def format_legal_duration(duration: domain.WorkingDuration) -> str:
    """'03 ngày làm việc', '04 giờ làm việc', '01 ngày 04 giờ làm việc'."""
    parts = [f"{amount:02d} {unit}" for amount, unit in
             ((duration.days, "ngày"), (duration.hours, "giờ"), (duration.minutes, "phút")) if amount]
    return " ".join(parts) + " làm việc" if parts else "giải quyết ngay trong ngày tiếp nhận"


def _address(a: domain.Address) -> str:
    return ", ".join(p for p in (_plain(a.line), _plain(a.commune), _plain(a.province)) if p)


# --- layout --------------------------------------------------------------------------------------

_PAGE_W = A4[0]
_LEFT, _RIGHT, _TOP, _BOTTOM = 25 * mm, 15 * mm, 15 * mm, 18 * mm
_FRAME_W = _PAGE_W - _LEFT - _RIGHT


class _Styles:
    def __init__(self) -> None:
        base = dict(fontName=_FONT, fontSize=10.5, leading=14.5)
        self.body = ParagraphStyle("body", **base, alignment=TA_LEFT, spaceAfter=2.5)
        self.just = ParagraphStyle("just", parent=self.body, alignment=TA_JUSTIFY)
        self.cell = ParagraphStyle("cell", **{**base, "fontSize": 10, "leading": 13})
        self.cell_c = ParagraphStyle("cell_c", parent=self.cell, alignment=TA_CENTER)
        self.head_c = ParagraphStyle("head_c", parent=self.cell_c, fontName=_BOLD)
        self.hdr = ParagraphStyle("hdr", fontName=_BOLD, fontSize=10.5, leading=13.5, alignment=TA_CENTER)
        self.small_i = ParagraphStyle("small_i", fontName=_ITALIC, fontSize=9.5, leading=12, alignment=TA_CENTER)
        self.date = ParagraphStyle("date", fontName=_ITALIC, fontSize=10.5, leading=14, alignment=TA_CENTER)
        self.form_no = ParagraphStyle("form_no", fontName=_ITALIC, fontSize=8.5, leading=10,
                                      alignment=TA_RIGHT, textColor=colors.HexColor("#444444"))
        self.title = ParagraphStyle("title", fontName=_BOLD, fontSize=13.5, leading=18, alignment=TA_CENTER,
                                    spaceBefore=10, spaceAfter=2)
        self.sub_c = ParagraphStyle("sub_c", **base, alignment=TA_CENTER)
        self.section = ParagraphStyle("section", parent=self.body, fontName=_BOLD, spaceBefore=4)
        self.sign = ParagraphStyle("sign", fontName=_BOLD, fontSize=10.5, leading=14, alignment=TA_CENTER)
        self.sign_name = ParagraphStyle("sign_name", parent=self.sign, fontSize=11)


def _header(st: _Styles, unit: domain.Unit, form_no: str, dated: str) -> Table:
    """Issuing unit on the left, the national motto on the right, the date under it."""
    left = [Paragraph(_x(_plain(unit.name).upper()), st.hdr),
            HRFlowable(width=_FRAME_W * 0.40 * 0.35, thickness=0.7, color=colors.black, spaceBefore=2, spaceAfter=2)]
    if unit.code:
        left.append(Paragraph(f"Mã đơn vị: {_x(unit.code)}", st.small_i))
    right = [Paragraph(NATION, st.hdr),
             Paragraph(MOTTO, st.hdr),
             HRFlowable(width=_FRAME_W * 0.60 * 0.45, thickness=0.7, color=colors.black, spaceBefore=2, spaceAfter=5),
             Paragraph(dated[:1].upper() + dated[1:], st.date)]
    table = Table([[Paragraph(form_no, st.form_no), ""], [left, right]],
                  colWidths=[_FRAME_W * 0.40, _FRAME_W * 0.60])
    table.setStyle(TableStyle([
        ("SPAN", (0, 0), (1, 0)), ("FONTNAME", (0, 0), (-1, -1), _FONT),
        ("VALIGN", (0, 1), (-1, -1), "TOP"), ("ALIGN", (0, 1), (-1, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
    ]))
    return table


def _line(st: _Styles, label: str, value: str, *, bold_value: bool = True, style: ParagraphStyle | None = None) -> Paragraph:
    shown = f"<b>{value}</b>" if bold_value and value else value
    return Paragraph(f"{label}: {shown}", style or st.body)


def _identity_line(st: _Styles, a: domain.Applicant) -> list:
    """The identity paper with its Vietnamese name: 'Hộ chiếu số C1234567 (Pháp)',
    'Số định danh cá nhân: 001203004567'; none when the dossier has none (an organisation's)."""
    document = a.identity or (identity.personal_id_number(a.citizen_id) if a.citizen_id else None)
    if document is None:
        return []
    before, number, after = identity.parts_vi(document)  # _x strips the spaces around the number
    return [Paragraph(f"{_x(before)} <b>{_x(number)}</b>" + (f" {_x(after)}" if after.strip() else ""), st.body)]


def _applicant_lines(st: _Styles, a: domain.Applicant) -> list:
    lines = []
    if a.kind == domain.ApplicantKind.ORGANISATION:
        lines.append(_line(st, "Tên tổ chức", _x(a.organisation_name)))
        if a.tax_code:
            lines.append(_line(st, "Mã số thuế", _x(a.tax_code)))
        lines.append(_line(st, "Người đại diện / người nộp hồ sơ", _x(a.full_name)))
        lines += _identity_line(st, a)
    else:
        lines.append(_line(st, "Ông/Bà", _x(a.full_name)))
        lines += _identity_line(st, a)
    address = _address(a.address)
    if address:
        lines.append(_line(st, "Địa chỉ", escape(address), bold_value=False))
    contact = []
    if a.phone:
        contact.append(f"Số điện thoại: {_x(a.phone)}")
    if a.email:
        contact.append(f"Email: {_x(a.email)}")
    if contact:
        lines.append(Paragraph("&nbsp;&nbsp;&nbsp;&nbsp;".join(contact), st.body))
    return lines


def _request_lines(st: _Styles, d: domain.Dossier) -> list:
    procedure = _x(d.procedure_name)
    if d.procedure_code:
        procedure += f" (mã thủ tục {_x(d.procedure_code)})"
    lines = [_line(st, "Thủ tục hành chính", procedure, bold_value=False, style=st.just)]
    if _plain(d.request_content):
        lines.append(_line(st, "Nội dung yêu cầu giải quyết", _x(d.request_content), bold_value=False,
                           style=st.just))
    return lines


def _grid(rows: list[list], col_widths: list[float]) -> Table:
    # splitInRow: a row taller than what is left of the page (a cell with 70 line breaks, say)
    # continues on the next page instead of raising LayoutError; every row the API's bounds allow
    # then prints (tests/unit/test_forms_worst_case.py). The header row repeats on every page.
    table = Table(rows, colWidths=col_widths, repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), _FONT),
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


def _signatures(st: _Styles, blocks: list[tuple[str, str]]) -> Table:
    """Signature blocks side by side: title, '(Ký và ghi rõ họ tên)', room to sign, the name."""
    cells = [[Paragraph(_x(title), st.sign), Paragraph("(Ký và ghi rõ họ tên)", st.small_i),
              Spacer(1, 22 * mm), Paragraph(_x(name), st.sign_name)] for title, name in blocks]
    if len(cells) == 1:
        cells.insert(0, "")
    table = Table([cells], colWidths=[_FRAME_W / 2] * 2)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), _FONT)]))
    return table


def _footer(code: str, title: str):
    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(_LEFT, 10 * mm, f"{title.capitalize()} · Mã hồ sơ {code}")
        canvas.drawRightString(_PAGE_W - _RIGHT, 10 * mm, f"Trang {doc.page}")
        canvas.restoreState()
    return draw


def _build(story: list, *, title: str, dossier: domain.Dossier) -> bytes:
    buffer = io.BytesIO()
    code = _plain(dossier.code)
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=_LEFT, rightMargin=_RIGHT, topMargin=_TOP, bottomMargin=_BOTTOM,
        title=f"{title.capitalize()} – {code}", author=_plain(dossier.receiving_unit.name),
        subject=f"Hồ sơ {code}: {_plain(dossier.procedure_name)}", creator="OneStop – Bộ phận Một cửa",
        lang="vi-VN", displayDocTitle=True, initialFontName=_FONT, initialFontSize=10.5,
        invariant=True,  # no creation time or random id: the same dossier gives the same bytes (filed once)
    )
    footer = _footer(code, title)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _code_line(st: _Styles, d: domain.Dossier) -> Paragraph:
    return Paragraph(f"Mã hồ sơ: <b>{_x(d.code)}</b>", st.sub_c)


class _QrCode(Flowable):
    """A QR code (level M, quiet zone of 4 modules, a thin frame) drawn straight onto the canvas as
    one filled path of its rows' dark runs. reportlab's QrCodeWidget, same encoder, builds and
    renders a graphics node per run (about 360 for a lookup address): profiled at about 60% of a
    receipt's CPU, which the intake worker spends for every dossier it receives (issue 9)."""

    BORDER = 4

    def __init__(self, value: str, size: float):
        super().__init__()
        self.value, self.width, self.height = value, size, size

    def wrap(self, _avail_width, _avail_height):
        return self.width, self.height

    def draw(self):
        code = qr.QrCodeWidget(self.value, barLevel="M").qr
        code.make()
        box = self.width / (code.getModuleCount() + 2 * self.BORDER)
        path = self.canv.beginPath()
        for r, row in enumerate(code.modules):
            c = 0
            for dark, run in itertools.groupby(map(bool, row)):
                count = len(list(run))
                if dark:
                    path.rect((c + self.BORDER) * box, self.height - (r + self.BORDER + 1) * box, count * box, box)
                c += count
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)
        self.canv.rect(0, 0, self.width, self.height, stroke=1, fill=0)


def _barcode_block(st: _Styles, d: domain.Dossier, lookup_url: str, lookup_secret: str) -> Table:
    """Code, Code128 barcode and lookup secret on the left; QR code of the lookup address on the right."""
    qr_size = 30 * mm
    left_w = _FRAME_W - qr_size - 6 * mm
    code = _plain(d.code)
    bar = code128.Code128(code, barHeight=13 * mm, barWidth=1.0, humanReadable=False)
    bar_width = min(1.0, (left_w - 4 * mm) / bar.width)  # .width is in modules at barWidth 1
    bar = code128.Code128(code, barHeight=13 * mm, barWidth=bar_width, humanReadable=False)
    bar.hAlign = "LEFT"

    qr_drawing = _QrCode(_plain(lookup_url), qr_size)

    big = ParagraphStyle("code", parent=st.body, fontSize=12, leading=16)
    left = [Paragraph(f"Mã hồ sơ: <b>{_x(code)}</b>", big), Spacer(1, 1.5 * mm), bar, Spacer(1, 1.5 * mm)]
    if _plain(lookup_secret):
        left.append(Paragraph(f"Mã tra cứu: <b>{_x(lookup_secret)}</b>", big))
    left.append(Paragraph("Quét mã QR hoặc nhập mã hồ sơ và mã tra cứu để theo dõi tình trạng giải quyết.",
                          ParagraphStyle("hint", parent=st.small_i, alignment=TA_LEFT)))
    table = Table([[left, qr_drawing]], colWidths=[_FRAME_W - qr_size - 4 * mm, qr_size + 4 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
        ("FONTNAME", (0, 0), (-1, -1), _FONT),
        ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
        ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


def _unit_name(d: domain.Dossier) -> str:
    return _x(d.receiving_unit.name) or "Bộ phận tiếp nhận và trả kết quả"


def _addressee(a: domain.Applicant) -> str:
    return "Quý tổ chức" if a.kind == domain.ApplicantKind.ORGANISATION else "Ông/Bà"


def _issued(at: dt.datetime | None) -> dt.datetime:
    return clock.utcnow() if at is None else at


# --- the forms -----------------------------------------------------------------------------------

def render_receipt(dossier: domain.Dossier, *, documents: list[ReceiptDocument], lookup_url: str,
                   lookup_secret: str, sets: int = 1, collect_at: str, officer_name: str,
                   book: str = "") -> bytes:
    """Form 01, Giấy tiếp nhận hồ sơ và hẹn trả kết quả, dated at the dossier's reception.

    `lookup_url` goes into the QR code as given (the caller builds it with the dossier code);
    `book` is the tracking-book entry, e.g. "Quyển số 02, số thứ tự 0125", printed when given.
    """
    if dossier.appointment_at is None:
        raise ValueError(f"dossier {dossier.code} has no appointment yet: the receipt is issued once it is received")
    if isinstance(sets, bool) or not isinstance(sets, int) or sets < 1:
        raise ValueError(f"sets must be a whole number of at least 1, not {sets!r}")
    if not _plain(lookup_url):
        raise ValueError("lookup_url is required: the QR code carries it")
    for document in documents:
        if not isinstance(document, ReceiptDocument):
            raise TypeError(f"documents must be ReceiptDocument, not {type(document).__name__}")
    _register_fonts()
    st = _Styles()
    d = dossier

    rows = [[Paragraph("STT", st.head_c), Paragraph("Tên giấy tờ", st.head_c),
             Paragraph("Hình thức<br/>(bản chính / bản sao chứng thực / bản chụp)", st.head_c),
             Paragraph("Số lượng", st.head_c)]]
    for number, document in enumerate(documents, start=1):
        rows.append([Paragraph(str(number), st.cell_c), Paragraph(_x_cell(document.name), st.cell),
                     Paragraph(COPY_KINDS[document.copy_kind], st.cell_c),
                     Paragraph(f"{document.quantity:02d}", st.cell_c)])
    if not documents:
        rows.append([Paragraph("", st.cell_c), Paragraph("(không có giấy tờ kèm theo)", st.cell), "", ""])
    docs_table = _grid(rows, [12 * mm, _FRAME_W - 12 * mm - 52 * mm - 20 * mm, 52 * mm, 20 * mm])

    story = [
        _header(st, d.receiving_unit, "Mẫu số 01", _long_date(d.received_at)),
        Paragraph(TITLE_RECEIPT, st.title),
        Spacer(1, 2 * mm),
        _barcode_block(st, d, lookup_url, lookup_secret),
        Spacer(1, 3 * mm),
        Paragraph(f"{_unit_name(d)} tiếp nhận hồ sơ của:", st.body),
        *_applicant_lines(st, d.applicant),
        *_request_lines(st, d),
        Paragraph("1. Thành phần hồ sơ nộp gồm:", st.section),
        docs_table,
        Spacer(1, 2 * mm),
        _line(st, "2. Số lượng hồ sơ", f"{sets:02d} bộ"),
        _line(st, "3. Thời gian giải quyết hồ sơ theo quy định", format_legal_duration(d.legal_duration)),
        _line(st, "4. Thời gian nhận hồ sơ", format_moment(d.received_at)),
        _line(st, "5. Thời gian trả kết quả giải quyết hồ sơ", format_moment(d.appointment_at)),
        _line(st, "6. Nơi nhận kết quả", _x(collect_at) or "Bộ phận tiếp nhận và trả kết quả", bold_value=False),
    ]
    if _plain(book):
        story.append(_line(st, "Vào Sổ theo dõi hồ sơ", _x(book), bold_value=False))
    story.append(Spacer(1, 4 * mm))
    story.append(KeepTogether(_signatures(st, [("NGƯỜI NỘP HỒ SƠ", d.applicant.full_name),
                                               ("NGƯỜI TIẾP NHẬN HỒ SƠ", officer_name)])))
    return _build(story, title=TITLE_RECEIPT, dossier=d)


def render_supplement_request(dossier: domain.Dossier, *, documents_to_add: list[str], reason: str,
                              officer_name: str, contact: str, issued_at: dt.datetime | None = None) -> bytes:
    """Form 02, Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ. `contact` is how to reach the guiding
    officer (phone, counter); `issued_at` defaults to now."""
    items = [_plain(item) for item in documents_to_add]
    if not items or not all(items):
        raise ValueError("documents_to_add must list at least one document, none of them blank")
    _register_fonts()
    st = _Styles()
    d = dossier
    who = _addressee(d.applicant)

    rows = [[Paragraph("STT", st.head_c), Paragraph("Giấy tờ cần bổ sung, hoàn thiện", st.head_c)]]
    rows += [[Paragraph(str(n), st.cell_c), Paragraph(_x_cell(item), st.cell)] for n, item in enumerate(items, 1)]
    story = [
        _header(st, d.receiving_unit, "Mẫu số 02", _long_date(_issued(issued_at))),
        Paragraph(TITLE_SUPPLEMENT, st.title),
        _code_line(st, d),
        Spacer(1, 4 * mm),
        Paragraph(f"{_unit_name(d)} đã tiếp nhận hồ sơ của:", st.body),
        *_applicant_lines(st, d.applicant),
        *_request_lines(st, d),
        _line(st, "Thời gian tiếp nhận", format_moment(d.received_at), bold_value=False),
        Spacer(1, 1 * mm),
        Paragraph(f"Sau khi xem xét, đề nghị {who.lower()} bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
                  st.section),
        _grid(rows, [12 * mm, _FRAME_W - 12 * mm]),
        Spacer(1, 2 * mm),
    ]
    if _plain(reason):
        story.append(_line(st, "Lý do", _x(reason), bold_value=False, style=st.just))
    story += [
        Paragraph("Thời hạn giải quyết tạm dừng trong thời gian chờ bổ sung và được tính tiếp khi hồ sơ "
                  "được bổ sung đầy đủ. Hồ sơ chỉ được yêu cầu bổ sung, hoàn thiện một lần.", st.just),
        Paragraph(f"Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, {who.lower()} liên hệ "
                  f"<b>{_x(officer_name)}</b>" + (f", {_x(contact)}" if _plain(contact) else "")
                  + " để được hướng dẫn.", st.just),
        Spacer(1, 4 * mm),
        KeepTogether(_signatures(st, [("NGƯỜI HƯỚNG DẪN", officer_name)])),
    ]
    return _build(story, title=TITLE_SUPPLEMENT, dossier=d)


def render_refusal(dossier: domain.Dossier, *, reasons: list[str], officer_name: str,
                   issued_at: dt.datetime | None = None) -> bytes:
    """Form 03, Phiếu từ chối tiếp nhận giải quyết hồ sơ, listing every reason; `issued_at`
    defaults to now."""
    items = [_plain(reason) for reason in reasons]
    if not items or not all(items):
        raise ValueError("reasons must list at least one reason, none of them blank")
    _register_fonts()
    st = _Styles()
    d = dossier
    who = _addressee(d.applicant)
    reason_style = ParagraphStyle("reason", parent=st.just, leftIndent=8 * mm, firstLineIndent=-5 * mm)
    story = [
        _header(st, d.receiving_unit, "Mẫu số 03", _long_date(_issued(issued_at))),
        Paragraph(TITLE_REFUSAL, st.title),
        _code_line(st, d),
        Spacer(1, 4 * mm),
        Paragraph(f"{_unit_name(d)} đã nhận hồ sơ của:", st.body),
        *_applicant_lines(st, d.applicant),
        *_request_lines(st, d),
        _line(st, "Thời gian nhận hồ sơ", format_moment(d.received_at), bold_value=False),
        Spacer(1, 1 * mm),
        Paragraph("Qua xem xét, cơ quan, đơn vị không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:",
                  st.section),
        *[Paragraph(f"{n}. {_x(item)}", reason_style) for n, item in enumerate(items, 1)],
        Spacer(1, 1 * mm),
        Paragraph(f"Xin thông báo để {who.lower()} được biết./.", st.body),
        Spacer(1, 4 * mm),
        KeepTogether(_signatures(st, [("NGƯỜI TIẾP NHẬN HỒ SƠ", officer_name)])),
    ]
    return _build(story, title=TITLE_REFUSAL, dossier=d)
