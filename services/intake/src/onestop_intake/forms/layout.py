"""The building blocks of the desk's printed forms (forms 01-03 are in `printed`): fonts, styles,
text made safe for ReportLab, the national header, applicant and request lines, tables, barcodes
and signatures.

Pure rendering: no grpc, mongo or storage here. What every service's forms share (fonts, text,
styles, header, tables, the document frame) is the chassis' kit, `onestop_chassis.pdf`, and is
re-exported here under its old names; what is the desk's own (applicant and request lines, the
barcode block) stays here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import code128, qr
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from onestop_chassis import identity, pdf

from ..reception import domain
from ..units import domain as units

__all__ = ["COPY_KINDS", "FRAME_W", "ReceiptDocument", "Styles", "build", "format_legal_duration", "format_moment",
           "grid", "header", "markup", "markup_cell", "plain"]

TITLE_RECEIPT = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
TITLE_SUPPLEMENT = "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"
TITLE_REFUSAL = "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"
NATION, MOTTO = pdf.NATION, pdf.MOTTO

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


# --- fonts, text, styles, tables: the shared kit (onestop_chassis.pdf) ---------------------------

register_fonts = pdf.register_fonts
plain, markup, markup_cell, CELL_LINES = pdf.plain, pdf.markup, pdf.markup_cell, pdf.CELL_LINES
format_moment, long_date, format_legal_duration = pdf.format_moment, pdf.long_date, pdf.format_legal_duration
Styles, FRAME_W, grid, signatures, labelled_line = pdf.Styles, pdf.FRAME_W, pdf.grid, pdf.signatures, pdf.labelled_line
_FONT = pdf.FONT


def _address(a: domain.Address) -> str:
    return ", ".join(p for p in (plain(a.line), plain(a.commune), plain(a.province)) if p)


# --- layout --------------------------------------------------------------------------------------

def header(st: Styles, unit: units.Unit, form_no: str, dated: str) -> Table:
    """Issuing unit on the left, the national motto on the right, the date under it."""
    return pdf.header(st, unit.name, unit.code, form_no, dated)


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


def build(story: list, *, title: str, dossier: domain.Dossier) -> bytes:
    return pdf.build(story, title=title, code=dossier.code, author=dossier.receiving_unit.name,
                     subject=f"Hồ sơ {plain(dossier.code)}: {plain(dossier.procedure_name)}",
                     creator="OneStop – Bộ phận Một cửa")


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
