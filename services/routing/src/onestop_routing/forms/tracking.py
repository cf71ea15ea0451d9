"""Form 07, the tracking book (Sổ theo dõi hồ sơ) of one unit for one month, as PDF (the chassis'
kit) and XLSX (openpyxl). Pure: the caller gives the cases as read (`service.Loaded`).

A case is in a unit's book for a month when the unit received it that month (its receiving unit),
one of its handovers that month gave it to or from the unit, or a step of the unit started that
month (a unit that performs steps: a department, another agency). One row per case: code,
procedure, applicant, received, due, handed to / returned (the case's last handover involving the
unit, in the month), result (the case's state), on time or late. For the receiving unit: the
dossier's reception, appointment and the case's grade once ended (else the grade of that
handover). For a unit that performs steps: when it received the case, its step's due time (the
extensions of its leader included), and the grade of its last handover (none while its step runs).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, Spacer

from onestop_chassis import pdf
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.worktime import VIETNAM

from ..cases import Loaded
from ..domain.clocks import GRADE_VI
from ..domain.journey import CaseState
from ..units import label

TITLE = "SỔ THEO DÕI HỒ SƠ"
FORM_NO = "Mẫu số 07"
COLUMNS = ("STT", "Mã hồ sơ", "Thủ tục hành chính", "Người nộp", "Tiếp nhận", "Hẹn trả", "Giao / trả",
           "Kết quả", "Trước hạn / đúng hạn / quá hạn")
STATES_VI = {CaseState.FINISHED: "Đã giải quyết", CaseState.STOPPED: "Dừng giải quyết",
             CaseState.REFUSED: "Từ chối giải quyết", CaseState.PAUSED: "Tạm dừng (chờ bổ sung / nghĩa vụ tài chính)"}
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Period:
    """A calendar month in Vietnam time: [start, end) in UTC."""
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026-11'; INVALID_ARGUMENT naming `period` otherwise."""
        found = _MONTH.fullmatch(text.strip())
        if not found:
            raise InvalidArgument.from_violations([FieldViolation("period", "must be a month, YYYY-MM")])
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=VIETNAM).astimezone(dt.UTC)

    @property
    def end(self) -> dt.datetime:
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return dt.datetime(year, month, 1, tzinfo=VIETNAM).astimezone(dt.UTC)

    def __str__(self) -> str:
        return f"{self.month:02d}/{self.year}"

    def holds(self, moment: dt.datetime) -> bool:
        return self.start <= moment.astimezone(dt.UTC) < self.end


@dataclass(frozen=True)
class BookRow:
    """One row of the book, as text (the same cells in the PDF and the XLSX)."""
    code: str
    procedure: str
    applicant: str
    received: str
    due: str
    handed: str
    result: str
    timeliness: str


def rows(unit_code: str, period: Period, cases: Iterable[Loaded],
         names: Mapping[str, str] | None = None) -> list[BookRow]:
    """The book's rows for `unit_code` in `period`, by reception time then code; other units by
    their names in `names` (units.UnitNames), else by code. The receiving unit's row is the
    dossier's (received, appointment, the case's grade once ended); another unit's (a department,
    another agency: one that performs steps) is its steps' (when it received the case, its step's
    due, the grade of its last handover)."""
    names = names or {}
    found: list[tuple[dt.datetime, BookRow]] = []
    for loaded in cases:
        row = _row(unit_code, period, loaded, names)
        if row is not None:
            found.append(row)
    found.sort(key=lambda pair: (pair[0], pair[1].code))
    return [row for _, row in found]


def _row(unit_code: str, period: Period, loaded: Loaded,
         names: Mapping[str, str]) -> tuple[dt.datetime, BookRow] | None:
    c, view = loaded.case, loaded.view
    receiving = c.receiving_unit_code == unit_code
    received_here = receiving and period.holds(c.received_at)
    handovers = () if view is None else view.handovers
    mine = [h for h in handovers if unit_code in (h.from_unit, h.to_unit) and period.holds(h.at)]
    running = [] if view is None or receiving else [r for r in view.runs if r.unit_code == unit_code]
    if not (received_here or mine or any(period.holds(r.entered_at) for r in running)):
        return None
    handed, grade = "", ""
    if mine:
        last = mine[-1]
        target = label(last.to_unit, names) if last.to_unit else \
            f"Bộ phận Một cửa ({label(c.receiving_unit_code, names)})"
        handed = (f"Giao {target}" if last.from_unit == unit_code else f"Nhận từ {label(last.from_unit, names)}") \
            + f", {pdf.short_moment(last.at)}"
        grade = GRADE_VI[last.grade]
    result = STATES_VI.get(view.state, "Đang giải quyết") if view is not None else "Đang giải quyết"
    if receiving or view is None:
        due = view.clock.due_at if view is not None else c.due_at
        if view is not None and view.grade is not None:
            grade = GRADE_VI[view.grade]
        received = c.received_at
    else:  # a unit that performs steps: its own times and its step's grade
        arrivals = [h.at for h in handovers if h.to_unit == unit_code] + [r.entered_at for r in running]
        received = min((at for at in arrivals if period.holds(at)), default=min(arrivals, default=c.opened_at))
        gave = [h for h in handovers if h.from_unit == unit_code]
        due = running[0].clock.due_at if running else gave[-1].due_at if gave else view.clock.due_at
        grade = GRADE_VI[gave[-1].grade] if gave and not running else ""
    return received, BookRow(c.dossier_code, c.procedure_name, c.applicant_name, pdf.short_moment(received),
                             pdf.short_moment(due), handed, result, grade)


def _cells(index: int, row: BookRow) -> list[str]:
    return [str(index), row.code, row.procedure, row.applicant, row.received, row.due, row.handed, row.result,
            row.timeliness]


def render_pdf(unit_code: str, unit_name: str, period: Period, book: list[BookRow]) -> bytes:
    """The book as a landscape A4 PDF."""
    st = pdf.Styles()
    w = pdf.FRAME_W_LANDSCAPE
    story: list = [pdf.header(st, unit_name or unit_code, unit_code, FORM_NO, f"tháng {period}", frame_w=w),
                   Paragraph(TITLE, st.title), Paragraph(f"Tháng {period}", st.sub_c), Spacer(1, 8)]
    # 9 columns: a smaller type, so that a dossier code (25 characters) stays on one line.
    cell = ParagraphStyle("book_cell", parent=st.cell, fontSize=8.5, leading=11)
    table: list[list] = [[Paragraph(h, ParagraphStyle("book_head", parent=st.head_c, fontSize=8.5, leading=11))
                          for h in COLUMNS]]
    for i, row in enumerate(book, start=1):
        table.append([Paragraph(pdf.markup_cell(text), cell) for text in _cells(i, row)])
    shares = (0.04, 0.19, 0.14, 0.11, 0.09, 0.09, 0.14, 0.09, 0.11)
    story.append(pdf.grid(table, [w * s for s in shares]))
    return pdf.build(story, title="Sổ theo dõi hồ sơ", code=f"{unit_code} {period}", author=unit_name or unit_code,
                     subject=f"Sổ theo dõi hồ sơ tháng {period}", creator="OneStop", wide=True,
                     code_label="Đơn vị")


def render_xlsx(unit_code: str, unit_name: str, period: Period, book: list[BookRow]) -> bytes:
    """The book as an XLSX workbook: a title in A1, the unit in A2, the column heads in row 4, one
    row per case from row 5."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"So theo doi {period.year}-{period.month:02d}"
    sheet["A1"] = f"{TITLE} — tháng {period}"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = f"{pdf.plain(unit_name or unit_code)} ({unit_code})"
    sheet.append([])
    sheet.append(list(COLUMNS))
    for cell in sheet[4]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for i, row in enumerate(book, start=1):
        sheet.append([i] + [pdf.plain(text) for text in _cells(i, row)[1:]])
    for letter, width in zip("ABCDEFGHI", (6, 22, 40, 24, 17, 17, 34, 18, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
