"""The building blocks of the desk's printed forms (forms 01-03 are in `printed`): fonts, styles,
text made safe for ReportLab, the national header, applicant and request lines, tables, barcodes
and signatures.

Pure rendering: no grpc, mongo or storage here. Layout and barcodes come from ReportLab; the text
is set in Be Vietnam Pro (OFL), a TrueType family drawn for Vietnamese and shipped on PyPI by
`fontpkg-be-vietnam-pro`, embedded (subset) in every PDF, since the PDF standard fonts (Helvetica,
Times) have no glyphs for most Vietnamese letters. Times are printed in Vietnam time
(Asia/Ho_Chi_Minh); a naive datetime is taken as UTC, as stored.
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
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from onestop_chassis import clock, identity, worktime
from onestop_chassis.worktime import VIETNAM

from ..reception import domain
from ..units import domain as units

__all__ = ["COPY_KINDS", "FRAME_W", "ReceiptDocument", "Styles", "build", "format_legal_duration", "format_moment",
           "grid", "header", "markup", "markup_cell", "plain"]

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


def register_fonts() -> None:
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


def plain(value: object) -> str:
    """NFC (the font has precomposed Vietnamese letters and ReportLab does no shaping), no control
    characters, line breaks kept."""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text).strip()


def markup(value: object) -> str:
    """User text made safe for a Paragraph: ReportLab reads <, > and & as markup."""
    return escape(plain(value)).replace("\n", "<br/>")


CELL_LINES = 12  # line breaks kept in a table cell; the rest are joined with " / " (all text is printed)


def markup_cell(value: object) -> str:
    """`markup` for a table cell: at most CELL_LINES lines, so a name with 70 line breaks stays a
    short row instead of pages of one-word lines (100 such names: 253 pages and 2.7 s of CPU for form
    01; 43 pages and 0.95 s with the cap)."""
    lines = plain(value).split("\n")
    if len(lines) > CELL_LINES:
        lines = lines[:CELL_LINES - 1] + [" / ".join(line.strip() for line in lines[CELL_LINES - 1:])]
    return "<br/>".join(escape(line) for line in lines)


def format_moment(moment: dt.datetime) -> str:
    """'14 giờ 05 phút, ngày 17/11/2026' in Vietnam time."""
    local = clock.as_utc(moment).astimezone(VIETNAM)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def long_date(moment: dt.datetime) -> str:
    local = clock.as_utc(moment).astimezone(VIETNAM)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def format_legal_duration(duration: worktime.WorkingDuration) -> str:
    """'03 ngày làm việc', '04 giờ làm việc', '01 ngày 04 giờ làm việc'."""
    parts = [f"{amount:02d} {unit}" for amount, unit in
             ((duration.days, "ngày"), (duration.hours, "giờ"), (duration.minutes, "phút")) if amount]
    return " ".join(parts) + " làm việc" if parts else "giải quyết ngay trong ngày tiếp nhận"


def _address(a: domain.Address) -> str:
    return ", ".join(p for p in (plain(a.line), plain(a.commune), plain(a.province)) if p)


# --- layout --------------------------------------------------------------------------------------

_PAGE_W = A4[0]
_LEFT, _RIGHT, _TOP, _BOTTOM = 25 * mm, 15 * mm, 15 * mm, 18 * mm
FRAME_W = _PAGE_W - _LEFT - _RIGHT


class Styles:
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


def header(st: Styles, unit: units.Unit, form_no: str, dated: str) -> Table:
    """Issuing unit on the left, the national motto on the right, the date under it."""
    left = [Paragraph(markup(plain(unit.name).upper()), st.hdr),
            HRFlowable(width=FRAME_W * 0.40 * 0.35, thickness=0.7, color=colors.black, spaceBefore=2, spaceAfter=2)]
    if unit.code:
        left.append(Paragraph(f"Mã đơn vị: {markup(unit.code)}", st.small_i))
    right = [Paragraph(NATION, st.hdr),
             Paragraph(MOTTO, st.hdr),
             HRFlowable(width=FRAME_W * 0.60 * 0.45, thickness=0.7, color=colors.black, spaceBefore=2, spaceAfter=5),
             Paragraph(dated[:1].upper() + dated[1:], st.date)]
    table = Table([[Paragraph(form_no, st.form_no), ""], [left, right]],
                  colWidths=[FRAME_W * 0.40, FRAME_W * 0.60])
    table.setStyle(TableStyle([
        ("SPAN", (0, 0), (1, 0)), ("FONTNAME", (0, 0), (-1, -1), _FONT),
        ("VALIGN", (0, 1), (-1, -1), "TOP"), ("ALIGN", (0, 1), (-1, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
    ]))
    return table


def labelled_line(st: Styles, label: str, value: str, *, bold_value: bool = True,
                  style: ParagraphStyle | None = None) -> Paragraph:
    shown = f"<b>{value}</b>" if bold_value and value else value
    return Paragraph(f"{label}: {shown}", style or st.body)


def _identity_line(st: Styles, a: domain.Applicant) -> list:
    """The identity paper with its Vietnamese name: 'Hộ chiếu số C1234567 (Pháp)',
    'Số định danh cá nhân: 001203004567'; none when the dossier has none (an organisation's)."""
    document = a.identity or (identity.personal_id_number(a.citizen_id) if a.citizen_id else None)
    if document is None:
        return []
    before, number, after = identity.parts_vi(document)  # markup strips the spaces around the number
    return [Paragraph(f"{markup(before)} <b>{markup(number)}</b>" + (f" {markup(after)}" if after.strip() else ""),
                      st.body)]


def applicant_lines(st: Styles, a: domain.Applicant) -> list:
    lines = []
    if a.kind == domain.ApplicantKind.ORGANISATION:
        lines.append(labelled_line(st, "Tên tổ chức", markup(a.organisation_name)))
        if a.tax_code:
            lines.append(labelled_line(st, "Mã số thuế", markup(a.tax_code)))
        lines.append(labelled_line(st, "Người đại diện / người nộp hồ sơ", markup(a.full_name)))
        lines += _identity_line(st, a)
    else:
        lines.append(labelled_line(st, "Ông/Bà", markup(a.full_name)))
        lines += _identity_line(st, a)
    address = _address(a.address)
    if address:
        lines.append(labelled_line(st, "Địa chỉ", escape(address), bold_value=False))
    contact = []
    if a.phone:
        contact.append(f"Số điện thoại: {markup(a.phone)}")
    if a.email:
        contact.append(f"Email: {markup(a.email)}")
    if contact:
        lines.append(Paragraph("&nbsp;&nbsp;&nbsp;&nbsp;".join(contact), st.body))
    return lines


def request_lines(st: Styles, d: domain.Dossier) -> list:
    procedure = markup(d.procedure_name)
    if d.procedure_code:
        procedure += f" (mã thủ tục {markup(d.procedure_code)})"
    lines = [labelled_line(st, "Thủ tục hành chính", procedure, bold_value=False, style=st.just)]
    if plain(d.request_content):
        lines.append(labelled_line(st, "Nội dung yêu cầu giải quyết", markup(d.request_content), bold_value=False,
                           style=st.just))
    return lines


def grid(rows: list[list], col_widths: list[float]) -> Table:
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


def signatures(st: Styles, blocks: list[tuple[str, str]]) -> Table:
    """Signature blocks side by side: title, '(Ký và ghi rõ họ tên)', room to sign, the name."""
    cells = [[Paragraph(markup(title), st.sign), Paragraph("(Ký và ghi rõ họ tên)", st.small_i),
              Spacer(1, 22 * mm), Paragraph(markup(name), st.sign_name)] for title, name in blocks]
    if len(cells) == 1:
        cells.insert(0, "")
    table = Table([cells], colWidths=[FRAME_W / 2] * 2)
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


def build(story: list, *, title: str, dossier: domain.Dossier) -> bytes:
    buffer = io.BytesIO()
    code = plain(dossier.code)
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=_LEFT, rightMargin=_RIGHT, topMargin=_TOP, bottomMargin=_BOTTOM,
        title=f"{title.capitalize()} – {code}", author=plain(dossier.receiving_unit.name),
        subject=f"Hồ sơ {code}: {plain(dossier.procedure_name)}", creator="OneStop – Bộ phận Một cửa",
        lang="vi-VN", displayDocTitle=True, initialFontName=_FONT, initialFontSize=10.5,
        invariant=True,  # no creation time or random id: the same dossier gives the same bytes (filed once)
    )
    footer = _footer(code, title)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def code_line(st: Styles, d: domain.Dossier) -> Paragraph:
    return Paragraph(f"Mã hồ sơ: <b>{markup(d.code)}</b>", st.sub_c)


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


def barcode_block(st: Styles, d: domain.Dossier, lookup_url: str, lookup_secret: str) -> Table:
    """Code, Code128 barcode and lookup secret on the left; QR code of the lookup address on the right."""
    qr_size = 30 * mm
    left_w = FRAME_W - qr_size - 6 * mm
    code = plain(d.code)
    bar = code128.Code128(code, barHeight=13 * mm, barWidth=1.0, humanReadable=False)
    bar_width = min(1.0, (left_w - 4 * mm) / bar.width)  # .width is in modules at barWidth 1
    bar = code128.Code128(code, barHeight=13 * mm, barWidth=bar_width, humanReadable=False)
    bar.hAlign = "LEFT"

    qr_drawing = _QrCode(plain(lookup_url), qr_size)

    big = ParagraphStyle("code", parent=st.body, fontSize=12, leading=16)
    left = [Paragraph(f"Mã hồ sơ: <b>{markup(code)}</b>", big), Spacer(1, 1.5 * mm), bar, Spacer(1, 1.5 * mm)]
    if plain(lookup_secret):
        left.append(Paragraph(f"Mã tra cứu: <b>{markup(lookup_secret)}</b>", big))
    left.append(Paragraph("Quét mã QR hoặc nhập mã hồ sơ và mã tra cứu để theo dõi tình trạng giải quyết.",
                          ParagraphStyle("hint", parent=st.small_i, alignment=TA_LEFT)))
    table = Table([[left, qr_drawing]], colWidths=[FRAME_W - qr_size - 4 * mm, qr_size + 4 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
        ("FONTNAME", (0, 0), (-1, -1), _FONT),
        ("BOX", (0, 0), (-1, -1), 0.6, colors.black),
        ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table
