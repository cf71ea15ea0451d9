"""Forms 04, 05 and 06 of one case, rendered from the case as read (`service.Loaded`: header, log,
template and fold). Pure: no grpc, mongo or storage here.

- 04 Văn bản xin lỗi và hẹn lại ngày trả kết quả: one per extension (the n-th EXTENDED entry).
- 05 Thông báo dừng giải quyết hồ sơ: once the case is stopped, with the STOPPED entry's reason.
- 06 Phiếu kiểm soát quá trình giải quyết hồ sơ: the header and one row per handover of the fold.

Units are printed by their Vietnamese names (`names`: intake's units as routing's api last read
them, units.UnitNames; the receiving unit's from the case), by code where a name is not known;
steps by their Vietnamese names from the case's template version.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from onestop_chassis import pdf
from onestop_chassis.errors import FailedPrecondition
from onestop_chassis.pdf import markup, markup_cell

from ..cases import Loaded
from ..domain.clocks import GRADE_VI
from ..domain.journey import CaseState, EntryKind, Handover
from ..units import label, with_name


class Form(IntEnum):
    """onestop.routing.v1.CaseForm; the numbers are the forms' numbers in Annex I (FormIssued.form)."""
    APOLOGY = 4
    STOP_NOTICE = 5
    CONTROL_SLIP = 6


TITLES_VI = {Form.APOLOGY: "Mẫu số 04 — Văn bản xin lỗi và hẹn lại ngày trả kết quả",
             Form.STOP_NOTICE: "Mẫu số 05 — Thông báo dừng giải quyết hồ sơ",
             Form.CONTROL_SLIP: "Mẫu số 06 — Phiếu kiểm soát quá trình giải quyết hồ sơ"}
FILE_PREFIXES = {Form.APOLOGY: "van-ban-xin-loi", Form.STOP_NOTICE: "thong-bao-dung-giai-quyet",
                 Form.CONTROL_SLIP: "phieu-kiem-soat"}
CREATOR = "OneStop – Giải quyết thủ tục hành chính"
NO_NAMES: Mapping[str, str] = {}


def file_name(form: Form, code: str, number: int = 0) -> str:
    """'phieu-kiem-soat-<code>.pdf'; the n-th apology 'van-ban-xin-loi-<code>-<n>.pdf'."""
    suffix = f"-{number}" if form == Form.APOLOGY and number else ""
    return f"{FILE_PREFIXES[form]}-{code}{suffix}.pdf"


def _not_issued(loaded: Loaded, form: Form, why: str) -> FailedPrecondition:
    return FailedPrecondition("FORM_NOT_ISSUED", f"case {loaded.case.dossier_code} has no {TITLES_VI[form]}: {why}",
                              metadata={"code": loaded.case.dossier_code, "form": str(int(form))})


def _step_name(loaded: Loaded, code: str) -> str:
    if not code or loaded.template is None:
        return code
    try:
        return loaded.template.step(code).name
    except KeyError:
        return code


def _case_lines(st: pdf.Styles, loaded: Loaded) -> list:
    c = loaded.case
    return [pdf.labelled_line(st, "Mã hồ sơ", markup(c.dossier_code)),
            pdf.labelled_line(st, "Thủ tục hành chính", markup(f"{c.procedure_name} ({c.procedure_code})"),
                              bold_value=False, style=st.just),
            pdf.labelled_line(st, "Người nộp hồ sơ", markup(c.applicant_name)),
            pdf.labelled_line(st, "Tiếp nhận lúc", pdf.format_moment(c.received_at), bold_value=False)]


def _frame(st: pdf.Styles, loaded: Loaded, form: Form, title: str, dated) -> list:
    c = loaded.case
    return [pdf.header(st, c.receiving_unit_name, c.receiving_unit_code, f"{TITLES_VI[form].split(' — ')[0]}",
                       pdf.long_date(dated)),
            Paragraph(title, st.title), Spacer(1, 4 * mm)]


def _build(story: list, loaded: Loaded, form: Form) -> bytes:
    c = loaded.case
    return pdf.build(story, title=TITLES_VI[form].split(" — ")[1], code=c.dossier_code, author=c.receiving_unit_name,
                     subject=f"Hồ sơ {pdf.plain(c.dossier_code)}: {pdf.plain(c.procedure_name)}", creator=CREATOR)


def with_receiving(loaded: Loaded, names: Mapping[str, str]) -> Mapping[str, str]:
    """`names`, and the receiving unit's name the case carries (from DossierReceived) if missing."""
    return with_name(names, loaded.case.receiving_unit_code, loaded.case.receiving_unit_name)


def handover_rows(loaded: Loaded, names: Mapping[str, str] = NO_NAMES) -> list[tuple[str, str, str, str, str]]:
    """The control slip's rows as text: (Giao, Nhận, time, grade, note); 'Giao: <step> — <unit> /
    <officer>', 'Nhận: <step> — <unit>' ('Bộ phận Một cửa' when the case ended at the desk); a
    unit by its name in `names` (or the case's receiving unit's), else its code."""
    if loaded.view is None:
        return []
    names = with_receiving(loaded, names)
    rows = []
    for h in loaded.view.handovers:
        rows.append((_giver(loaded, h, names), _receiver(loaded, h, names), pdf.short_moment(h.at),
                     GRADE_VI[h.grade], h.note))
    return rows


def _giver(loaded: Loaded, h: Handover, names: Mapping[str, str]) -> str:
    who = " / ".join(p for p in (label(h.from_unit, names) if h.from_unit else "", h.from_officer) if p)
    return f"Giao: {_step_name(loaded, h.from_step)} — {who}" if who else f"Giao: {_step_name(loaded, h.from_step)}"


def _receiver(loaded: Loaded, h: Handover, names: Mapping[str, str]) -> str:
    if not h.to_step:
        return f"Nhận: Bộ phận Một cửa — {label(loaded.case.receiving_unit_code, names)} (trả kết quả)"
    return f"Nhận: {_step_name(loaded, h.to_step)} — {label(h.to_unit, names)}"


def render_control_slip(loaded: Loaded, names: Mapping[str, str] = NO_NAMES) -> bytes:
    """Form 06 of a case that runs a template; FAILED_PRECONDITION FORM_NOT_ISSUED for a case
    without one (the desk handled it alone: there is no handover to control)."""
    if loaded.view is None:
        raise _not_issued(loaded, Form.CONTROL_SLIP, "the procedure has no process template")
    st = pdf.Styles()
    c, view = loaded.case, loaded.view
    story = _frame(st, loaded, Form.CONTROL_SLIP, "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
                   view.ended_at or c.received_at)
    story += _case_lines(st, loaded)
    story.append(pdf.labelled_line(st, "Hẹn trả kết quả", pdf.format_moment(view.clock.due_at), bold_value=False))
    story.append(Spacer(1, 3 * mm))
    head = [Paragraph(h, st.head_c) for h in ("TÊN CƠ QUAN, ĐƠN VỊ", "THỜI GIAN GIAO, NHẬN HỒ SƠ",
                                               "KẾT QUẢ GIẢI QUYẾT HỒ SƠ", "GHI CHÚ")]
    rows: list[list] = [head]
    for giver, receiver, at, grade, note in handover_rows(loaded, names):
        rows.append([Paragraph(f"{markup_cell(giver)}<br/>{markup_cell(receiver)}", st.cell),
                     Paragraph(markup(at), st.cell_c), Paragraph(markup(grade), st.cell_c),
                     Paragraph(markup_cell(note), st.cell)])
    w = pdf.FRAME_W
    story.append(pdf.grid(rows, [w * 0.42, w * 0.2, w * 0.16, w * 0.22]))
    return _build(story, loaded, Form.CONTROL_SLIP)


def extension_letters(loaded: Loaded) -> int:
    """How many forms 04 the case has (one per extension)."""
    return 0 if loaded.view is None else len(loaded.view.extensions)


def render_apology(loaded: Loaded, number: int = 0, names: Mapping[str, str] = NO_NAMES) -> bytes:
    """Form 04 for the case's `number`-th extension (1, 2, ...; 0: the last one): received time,
    dossier code, the appointment it replaces, the agency at fault (the approving leader's unit,
    whose step was running), the reason, the apology and the new date. FAILED_PRECONDITION
    FORM_NOT_ISSUED when there is no such extension."""
    count = extension_letters(loaded)
    if count == 0 or number < 0 or number > count:
        raise _not_issued(loaded, Form.APOLOGY, "it was not extended" if count == 0 else f"it has {count} extensions")
    assert loaded.view is not None
    index = (number or count) - 1
    extension = loaded.view.extensions[index]
    before = loaded.case.due_at if index == 0 else loaded.view.extensions[index - 1].new_due_at
    at_fault = label(extension.unit_code, with_receiving(loaded, names))
    st = pdf.Styles()
    c = loaded.case
    story = _frame(st, loaded, Form.APOLOGY, "VĂN BẢN XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", extension.at)
    story.append(Paragraph(f"Kính gửi: Ông/Bà <b>{markup(c.applicant_name)}</b>", st.body))
    story.append(Paragraph(
        f"Ngày {pdf.format_moment(c.received_at)}, {markup(c.receiving_unit_name)} tiếp nhận hồ sơ "
        f"<b>{markup(c.dossier_code)}</b> đề nghị giải quyết thủ tục {markup(c.procedure_name)}, hẹn trả kết quả "
        f"lúc {pdf.format_moment(before)}.", st.just))
    story.append(Paragraph(
        f"Đến nay, hồ sơ chưa được giải quyết đúng hạn do lỗi của <b>{markup(at_fault)}</b>. "
        f"Lý do: {markup(extension.reason)}.", st.just))
    story.append(Paragraph(
        "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, thời gian của Ông/Bà. Chúng tôi thành thật xin lỗi "
        f"và hẹn lại thời gian trả kết quả lúc <b>{pdf.format_moment(extension.new_due_at)}</b> "
        f"(gia hạn thêm {pdf.format_legal_duration(extension.extra)}).", st.just))
    story.append(pdf.labelled_line(st, "Người phê duyệt gia hạn", markup(extension.approved_by)))
    story.append(Spacer(1, 6 * mm))
    story.append(pdf.signatures(st, [("THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", extension.approved_by)]))
    return _build(story, loaded, Form.APOLOGY)


def render_stop_notice(loaded: Loaded) -> bytes:
    """Form 05 of a stopped case, with the STOPPED entry's reason; FAILED_PRECONDITION
    FORM_NOT_ISSUED for a case that was not stopped."""
    stopped = next((logged.entry for logged in reversed(loaded.log) if logged.entry.kind is EntryKind.STOPPED), None)
    if stopped is None or loaded.view is None or loaded.view.state is not CaseState.STOPPED:
        raise _not_issued(loaded, Form.STOP_NOTICE, "it was not stopped")
    st = pdf.Styles()
    c = loaded.case
    story = _frame(st, loaded, Form.STOP_NOTICE, "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ", stopped.at)
    story.append(Paragraph(f"Kính gửi: Ông/Bà <b>{markup(c.applicant_name)}</b>", st.body))
    story += _case_lines(st, loaded)[:2]
    story.append(Paragraph(
        f"{markup(c.receiving_unit_name)} thông báo dừng giải quyết hồ sơ nêu trên kể từ "
        f"{pdf.format_moment(stopped.at)}.", st.just))
    story.append(pdf.labelled_line(st, "Lý do", markup(stopped.reason), bold_value=False, style=st.just))
    story.append(Paragraph("Xin thông báo để Ông/Bà được biết.", st.body))
    story.append(Spacer(1, 6 * mm))
    story.append(pdf.signatures(st, [("THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", stopped.actor.subject)]))
    return _build(story, loaded, Form.STOP_NOTICE)


def render(loaded: Loaded, form: int, number: int = 0, names: Mapping[str, str] = NO_NAMES) -> bytes:
    """The PDF of `form` (4, 5 or 6) for the case, units named from `names` (else by code);
    FAILED_PRECONDITION FORM_NOT_ISSUED when the case never reached what issues it."""
    kind = Form(form)
    if kind == Form.CONTROL_SLIP:
        return render_control_slip(loaded, names)
    if kind == Form.APOLOGY:
        return render_apology(loaded, number, names)
    return render_stop_notice(loaded)
