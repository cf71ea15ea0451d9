"""The printed forms' kit shared by every service that issues a standard form (intake: forms
01-03; routing: forms 04-07): fonts, text made safe for ReportLab, styles, the national header,
tables, signatures and the document frame.

Pure rendering: no grpc, mongo or storage here. Layout comes from ReportLab; the text is set in Be
Vietnam Pro (OFL), a TrueType family drawn for Vietnamese and shipped on PyPI by
`fontpkg-be-vietnam-pro`, embedded (subset) in every PDF, since the PDF standard fonts (Helvetica,
Times) have no glyphs for most Vietnamese letters. Times are printed in Vietnam time
(Asia/Ho_Chi_Minh); a naive datetime is taken as UTC, as stored.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import unicodedata
from collections.abc import Callable
from xml.sax.saxutils import escape

import fontpkg
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import clock, worktime
from .worktime import VIETNAM

__all__ = ["CELL_LINES", "FONT", "FRAME_W", "FRAME_W_LANDSCAPE", "MOTTO", "NATION", "Styles", "build",
           "format_legal_duration", "format_moment", "grid", "header", "labelled_line", "long_date", "markup",
           "markup_cell", "plain", "register_fonts", "short_moment", "signatures"]

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

# --- fonts ----------------------------------------------------------------------------------------

FONT_FAMILY = "Be Vietnam Pro"
FONT = "BeVietnamPro"
BOLD, ITALIC, BOLD_ITALIC = f"{FONT}-Bold", f"{FONT}-Italic", f"{FONT}-BoldItalic"
_fonts_lock = threading.Lock()
_fonts_registered = False


def register_fonts() -> None:
    """Registers the family with ReportLab once per process (its font registry is global)."""
    global _fonts_registered
    with _fonts_lock:
        if _fonts_registered:
            return
        for name, weight, style in ((FONT, 400, "normal"), (BOLD, 700, "normal"),
                                    (ITALIC, 400, "italic"), (BOLD_ITALIC, 700, "italic")):
            pdfmetrics.registerFont(TTFont(name, str(fontpkg.path(FONT_FAMILY, weight, style))))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC)
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


def short_moment(moment: dt.datetime | None) -> str:
    """'14:05 17/11/2026' in Vietnam time (table cells); '' for None."""
    if moment is None:
        return ""
    return f"{clock.as_utc(moment).astimezone(VIETNAM):%H:%M %d/%m/%Y}"


def long_date(moment: dt.datetime) -> str:
    """'ngày 17 tháng 11 năm 2026' in Vietnam time."""
    local = clock.as_utc(moment).astimezone(VIETNAM)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def format_legal_duration(duration: worktime.WorkingDuration) -> str:
    """'03 ngày làm việc', '04 giờ làm việc', '01 ngày 04 giờ làm việc'."""
    parts = [f"{amount:02d} {unit}" for amount, unit in
             ((duration.days, "ngày"), (duration.hours, "giờ"), (duration.minutes, "phút")) if amount]
    return " ".join(parts) + " làm việc" if parts else "giải quyết ngay trong ngày tiếp nhận"


# --- layout --------------------------------------------------------------------------------------

_PAGE_W = A4[0]
_LEFT, _RIGHT, _TOP, _BOTTOM = 25 * mm, 15 * mm, 15 * mm, 18 * mm
FRAME_W = _PAGE_W - _LEFT - _RIGHT
FRAME_W_LANDSCAPE = landscape(A4)[0] - _LEFT - _RIGHT


class Styles:
    """The paragraph styles of every form (registers the fonts first: a paragraph resolves its
    font when it is built)."""

    def __init__(self) -> None:
        register_fonts()
        base = dict(fontName=FONT, fontSize=10.5, leading=14.5)
        self.body = ParagraphStyle("body", **base, alignment=TA_LEFT, spaceAfter=2.5)
        self.just = ParagraphStyle("just", parent=self.body, alignment=TA_JUSTIFY)
        self.cell = ParagraphStyle("cell", **{**base, "fontSize": 10, "leading": 13})
        self.cell_c = ParagraphStyle("cell_c", parent=self.cell, alignment=TA_CENTER)
        self.head_c = ParagraphStyle("head_c", parent=self.cell_c, fontName=BOLD)
        self.hdr = ParagraphStyle("hdr", fontName=BOLD, fontSize=10.5, leading=13.5, alignment=TA_CENTER)
        self.small_i = ParagraphStyle("small_i", fontName=ITALIC, fontSize=9.5, leading=12, alignment=TA_CENTER)
        self.date = ParagraphStyle("date", fontName=ITALIC, fontSize=10.5, leading=14, alignment=TA_CENTER)
        self.form_no = ParagraphStyle("form_no", fontName=ITALIC, fontSize=8.5, leading=10,
                                      alignment=TA_RIGHT, textColor=colors.HexColor("#444444"))
        self.title = ParagraphStyle("title", fontName=BOLD, fontSize=13.5, leading=18, alignment=TA_CENTER,
                                    spaceBefore=10, spaceAfter=2)
        self.sub_c = ParagraphStyle("sub_c", **base, alignment=TA_CENTER)
        self.section = ParagraphStyle("section", parent=self.body, fontName=BOLD, spaceBefore=4)
        self.sign = ParagraphStyle("sign", fontName=BOLD, fontSize=10.5, leading=14, alignment=TA_CENTER)
        self.sign_name = ParagraphStyle("sign_name", parent=self.sign, fontSize=11)


def header(st: Styles, unit_name: str, unit_code: str, form_no: str, dated: str,
           frame_w: float = FRAME_W) -> Table:
    """Issuing unit on the left, the national motto on the right, the date under it; `form_no`
    ('Mẫu số 06 ...') above both."""
    left = [Paragraph(markup(plain(unit_name).upper()), st.hdr),
            HRFlowable(width=frame_w * 0.40 * 0.35, thickness=0.7, color=colors.black, spaceBefore=2, spaceAfter=2)]
    if unit_code:
        left.append(Paragraph(f"Mã đơn vị: {markup(unit_code)}", st.small_i))
    right = [Paragraph(NATION, st.hdr),
             Paragraph(MOTTO, st.hdr),
             HRFlowable(width=frame_w * 0.60 * 0.45, thickness=0.7, color=colors.black, spaceBefore=2, spaceAfter=5),
             Paragraph(dated[:1].upper() + dated[1:], st.date)]
    table = Table([[Paragraph(form_no, st.form_no), ""], [left, right]],
                  colWidths=[frame_w * 0.40, frame_w * 0.60])
    table.setStyle(TableStyle([
        ("SPAN", (0, 0), (1, 0)), ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("VALIGN", (0, 1), (-1, -1), "TOP"), ("ALIGN", (0, 1), (-1, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
    ]))
    return table


def labelled_line(st: Styles, label: str, value: str, *, bold_value: bool = True,
                  style: ParagraphStyle | None = None) -> Paragraph:
    """'label: <b>value</b>'; `value` is markup already."""
    shown = f"<b>{value}</b>" if bold_value and value else value
    return Paragraph(f"{label}: {shown}", style or st.body)


def grid(rows: list[list], col_widths: list[float]) -> Table:
    """A ruled table whose first row is the header, repeated on every page."""
    # splitInRow: a row taller than what is left of the page (a cell with 70 line breaks, say)
    # continues on the next page instead of raising LayoutError; every row the API's bounds allow
    # then prints (tests/unit/test_forms_worst_case.py). The header row repeats on every page.
    table = Table(rows, colWidths=col_widths, repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


def signatures(st: Styles, blocks: list[tuple[str, str]], frame_w: float = FRAME_W) -> Table:
    """Signature blocks side by side: title, '(Ký và ghi rõ họ tên)', room to sign, the name."""
    cells: list = [[Paragraph(markup(title), st.sign), Paragraph("(Ký và ghi rõ họ tên)", st.small_i),
                    Spacer(1, 22 * mm), Paragraph(markup(name), st.sign_name)] for title, name in blocks]
    if len(cells) == 1:
        cells.insert(0, "")
    table = Table([cells], colWidths=[frame_w / 2] * 2)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), FONT)]))
    return table


def _footer(footer_text: str) -> Callable:
    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(_LEFT, 10 * mm, footer_text)
        canvas.drawRightString(doc.pagesize[0] - _RIGHT, 10 * mm, f"Trang {doc.page}")
        canvas.restoreState()
    return draw


def build(story: list, *, title: str, code: str, author: str, subject: str, creator: str,
          wide: bool = False, code_label: str = "Mã hồ sơ") -> bytes:
    """The PDF bytes of `story` on A4 (landscape when `wide`), with `title` and `code` (a dossier's,
    or a book's under another `code_label`) in the metadata and in every page's footer.
    Deterministic: the same story gives the same bytes (a form is filed once)."""
    register_fonts()
    buffer = io.BytesIO()
    code = plain(code)
    doc = SimpleDocTemplate(
        buffer, pagesize=landscape(A4) if wide else A4, leftMargin=_LEFT, rightMargin=_RIGHT, topMargin=_TOP,
        bottomMargin=_BOTTOM, title=f"{title.capitalize()} – {code}", author=plain(author), subject=plain(subject),
        creator=creator, lang="vi-VN", displayDocTitle=True, initialFontName=FONT, initialFontSize=10.5,
        invariant=True,  # no creation time or random id: the same content gives the same bytes (filed once)
    )
    footer = _footer(f"{title.capitalize()} · {code_label} {code}")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()

