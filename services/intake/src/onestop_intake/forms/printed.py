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

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from onestop_chassis import clock

from ..reception import domain
from .layout import (
    COPY_KINDS,
    FRAME_W,
    TITLE_RECEIPT,
    TITLE_REFUSAL,
    TITLE_SUPPLEMENT,
    ReceiptDocument,
    Styles,
    applicant_lines,
    barcode_block,
    build,
    code_line,
    format_legal_duration,
    format_moment,
    grid,
    header,
    labelled_line,
    long_date,
    markup,
    markup_cell,
    plain,
    register_fonts,
    request_lines,
    signatures,
)


def _unit_name(d: domain.Dossier) -> str:
    return markup(d.receiving_unit.name) or "Bộ phận tiếp nhận và trả kết quả"


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
    _check_receipt(dossier, documents, lookup_url, sets)
    register_fonts()
    st = Styles()
    d = dossier
    docs_table = _receipt_documents(st, documents)

    story = [
        header(st, d.receiving_unit, "Mẫu số 01", long_date(d.received_at)),
        Paragraph(TITLE_RECEIPT, st.title),
        Spacer(1, 2 * mm),
        barcode_block(st, d, lookup_url, lookup_secret),
        Spacer(1, 3 * mm),
        Paragraph(f"{_unit_name(d)} tiếp nhận hồ sơ của:", st.body),
        *applicant_lines(st, d.applicant),
        *request_lines(st, d),
        Paragraph("1. Thành phần hồ sơ nộp gồm:", st.section),
        docs_table,
        Spacer(1, 2 * mm),
        labelled_line(st, "2. Số lượng hồ sơ", f"{sets:02d} bộ"),
        labelled_line(st, "3. Thời gian giải quyết hồ sơ theo quy định", format_legal_duration(d.legal_duration)),
        labelled_line(st, "4. Thời gian nhận hồ sơ", format_moment(d.received_at)),
        labelled_line(st, "5. Thời gian trả kết quả giải quyết hồ sơ", format_moment(d.appointment_at)),
        labelled_line(st, "6. Nơi nhận kết quả", markup(collect_at) or "Bộ phận tiếp nhận và trả kết quả",
                      bold_value=False),
    ]
    if plain(book):
        story.append(labelled_line(st, "Vào Sổ theo dõi hồ sơ", markup(book), bold_value=False))
    story.append(Spacer(1, 4 * mm))
    story.append(KeepTogether(signatures(st, [("NGƯỜI NỘP HỒ SƠ", d.applicant.full_name),
                                               ("NGƯỜI TIẾP NHẬN HỒ SƠ", officer_name)])))
    return build(story, title=TITLE_RECEIPT, dossier=d)


def _check_receipt(dossier: domain.Dossier, documents: list[ReceiptDocument], lookup_url: str, sets: int) -> None:
    if dossier.appointment_at is None:
        raise ValueError(f"dossier {dossier.code} has no appointment yet: the receipt is issued once it is received")
    if isinstance(sets, bool) or not isinstance(sets, int) or sets < 1:
        raise ValueError(f"sets must be a whole number of at least 1, not {sets!r}")
    if not plain(lookup_url):
        raise ValueError("lookup_url is required: the QR code carries it")
    for document in documents:
        if not isinstance(document, ReceiptDocument):
            raise TypeError(f"documents must be ReceiptDocument, not {type(document).__name__}")


def _receipt_documents(st: Styles, documents: list[ReceiptDocument]):
    """Section 1 of form 01: the documents received, one row each."""
    rows = [[Paragraph("STT", st.head_c), Paragraph("Tên giấy tờ", st.head_c),
             Paragraph("Hình thức<br/>(bản chính / bản sao chứng thực / bản chụp)", st.head_c),
             Paragraph("Số lượng", st.head_c)]]
    for number, document in enumerate(documents, start=1):
        rows.append([Paragraph(str(number), st.cell_c), Paragraph(markup_cell(document.name), st.cell),
                     Paragraph(COPY_KINDS[document.copy_kind], st.cell_c),
                     Paragraph(f"{document.quantity:02d}", st.cell_c)])
    if not documents:
        rows.append([Paragraph("", st.cell_c), Paragraph("(không có giấy tờ kèm theo)", st.cell), "", ""])
    return grid(rows, [12 * mm, FRAME_W - 12 * mm - 52 * mm - 20 * mm, 52 * mm, 20 * mm])


def render_supplement_request(dossier: domain.Dossier, *, documents_to_add: list[str], reason: str,
                              officer_name: str, contact: str, issued_at: dt.datetime | None = None) -> bytes:
    """Form 02, Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ. `contact` is how to reach the guiding
    officer (phone, counter); `issued_at` defaults to now."""
    items = [plain(item) for item in documents_to_add]
    if not items or not all(items):
        raise ValueError("documents_to_add must list at least one document, none of them blank")
    register_fonts()
    st = Styles()
    d = dossier
    who = _addressee(d.applicant)

    rows = [[Paragraph("STT", st.head_c), Paragraph("Giấy tờ cần bổ sung, hoàn thiện", st.head_c)]]
    rows += [[Paragraph(str(n), st.cell_c), Paragraph(markup_cell(item), st.cell)] for n, item in enumerate(items, 1)]
    story = [
        header(st, d.receiving_unit, "Mẫu số 02", long_date(_issued(issued_at))),
        Paragraph(TITLE_SUPPLEMENT, st.title),
        code_line(st, d),
        Spacer(1, 4 * mm),
        Paragraph(f"{_unit_name(d)} đã tiếp nhận hồ sơ của:", st.body),
        *applicant_lines(st, d.applicant),
        *request_lines(st, d),
        labelled_line(st, "Thời gian tiếp nhận", format_moment(d.received_at), bold_value=False),
        Spacer(1, 1 * mm),
        Paragraph(f"Sau khi xem xét, đề nghị {who.lower()} bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
                  st.section),
        grid(rows, [12 * mm, FRAME_W - 12 * mm]),
        Spacer(1, 2 * mm),
    ]
    if plain(reason):
        story.append(labelled_line(st, "Lý do", markup(reason), bold_value=False, style=st.just))
    story += [
        Paragraph("Thời hạn giải quyết tạm dừng trong thời gian chờ bổ sung và được tính tiếp khi hồ sơ "
                  "được bổ sung đầy đủ. Hồ sơ chỉ được yêu cầu bổ sung, hoàn thiện một lần.", st.just),
        Paragraph(f"Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, {who.lower()} liên hệ "
                  f"<b>{markup(officer_name)}</b>" + (f", {markup(contact)}" if plain(contact) else "")
                  + " để được hướng dẫn.", st.just),
        Spacer(1, 4 * mm),
        KeepTogether(signatures(st, [("NGƯỜI HƯỚNG DẪN", officer_name)])),
    ]
    return build(story, title=TITLE_SUPPLEMENT, dossier=d)


def render_refusal(dossier: domain.Dossier, *, reasons: list[str], officer_name: str,
                   issued_at: dt.datetime | None = None) -> bytes:
    """Form 03, Phiếu từ chối tiếp nhận giải quyết hồ sơ, listing every reason; `issued_at`
    defaults to now."""
    items = [plain(reason) for reason in reasons]
    if not items or not all(items):
        raise ValueError("reasons must list at least one reason, none of them blank")
    register_fonts()
    st = Styles()
    d = dossier
    who = _addressee(d.applicant)
    reason_style = ParagraphStyle("reason", parent=st.just, leftIndent=8 * mm, firstLineIndent=-5 * mm)
    story = [
        header(st, d.receiving_unit, "Mẫu số 03", long_date(_issued(issued_at))),
        Paragraph(TITLE_REFUSAL, st.title),
        code_line(st, d),
        Spacer(1, 4 * mm),
        Paragraph(f"{_unit_name(d)} đã nhận hồ sơ của:", st.body),
        *applicant_lines(st, d.applicant),
        *request_lines(st, d),
        labelled_line(st, "Thời gian nhận hồ sơ", format_moment(d.received_at), bold_value=False),
        Spacer(1, 1 * mm),
        Paragraph("Qua xem xét, cơ quan, đơn vị không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:",
                  st.section),
        *[Paragraph(f"{n}. {markup(item)}", reason_style) for n, item in enumerate(items, 1)],
        Spacer(1, 1 * mm),
        Paragraph(f"Xin thông báo để {who.lower()} được biết./.", st.body),
        Spacer(1, 4 * mm),
        KeepTogether(signatures(st, [("NGƯỜI TIẾP NHẬN HỒ SƠ", officer_name)])),
    ]
    return build(story, title=TITLE_REFUSAL, dossier=d)
