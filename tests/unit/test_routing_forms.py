"""Routing's forms: 04 (apology and new date) for each extension, 05 (stop notice), 06 (control
slip, one row per handover, graded) and 07 (the unit's tracking book, PDF and XLSX); the text is
Vietnamese and extractable, the rows and grades are the journey's."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata

import openpyxl
import pypdf
import pytest

from onestop_chassis import auth
from onestop_chassis.errors import FailedPrecondition, InvalidArgument
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing import domain
from onestop_routing.domain.actions import Act, Extend
from onestop_routing.domain.journey import AssigneeKind
from onestop_routing.domain.process import Action
from onestop_routing.forms import printed, tracking
from onestop_routing.service import RoutingService

from fakes import FakeCases, FakeTemplates
from routing_samples import land_registration

DESK_UNIT, LAND_UNIT, TAX_UNIT = "000.00.21.H17", "000.01.21.H17", "000.00.30.H17"
CODE = f"{DESK_UNIT}-261116-0001"
CALENDAR = WorkingCalendar()


def officer(subject, unit, *roles):
    return auth.Principal(subject, frozenset(roles or {auth.PROCESSING_OFFICER}), unit)


DESK = officer("desk-lan", DESK_UNIT, auth.DESK_OFFICER)
LAND = officer("cv-minh", LAND_UNIT)
LEADER = officer("ld-tuan", LAND_UNIT, auth.PROCESSING_OFFICER, auth.UNIT_LEADER)
TAX = officer("thue-an", TAX_UNIT)
TAX_LEADER = officer("ld-thue", TAX_UNIT, auth.UNIT_LEADER)


class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 11, 16, 8, 0, tzinfo=VIETNAM)

    def __call__(self):
        return self.now

    def at(self, day, hour=8, minute=0):
        self.now = dt.datetime(2026, 11, day, hour, minute, tzinfo=VIETNAM)


def _text(pdf: bytes) -> str:
    """Every page's text, NFC, with runs of whitespace made one space."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cases():
    return FakeCases()


@pytest.fixture
def routing(cases, clock):
    return RoutingService(cases, FakeTemplates(land_registration()), calendar=CALENDAR, clock=clock)


def _open(routing, code=CODE):
    routing.open_case(domain.OpenCase(
        event_id=f"evt-{code}", dossier_code=code, procedure_code="1.000948",
        procedure_name="Đăng ký biến động đất đai", receiving_unit_code=DESK_UNIT,
        receiving_unit_name="Trung tâm Phục vụ hành chính công", channel=1, applicant_name="Nguyễn Văn An",
        received_at=dt.datetime(2026, 11, 16, 0, 30, tzinfo=dt.UTC),
        due_at=CALENDAR.add(dt.datetime(2026, 11, 16, 8, 0, tzinfo=VIETNAM), WorkingDuration(days=10)),
        process_code="QT-1.000948"))


def _at_land(routing, clock, code=CODE):
    _open(routing, code)
    routing.claim(code, "tiep_nhan", f"r-claim-{code}", DESK)
    clock.at(16, 9)
    routing.act(code, Act("tiep_nhan", Action.FORWARD), f"r-fwd-{code}", DESK)
    clock.at(16, 10)
    routing.assign([code], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, f"r-assign-{code}", LEADER)


def _finished(routing, clock):
    """Desk → land office → tax authority (extended by its leader) → signature → back to the desk."""
    _at_land(routing, clock)
    clock.at(17)
    routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-to-tax", LAND)
    routing.claim(CODE, "thue", "r-tax-claim", TAX)
    clock.at(18)
    routing.extend(CODE, Extend(WorkingDuration(days=2), "Chờ xác minh nghĩa vụ thuế"), "r-ext", TAX_LEADER)
    routing.act(CODE, Act("thue", Action.REQUEST_PAYMENT, reason="Nộp thuế trước bạ"), "r-pay", TAX)
    routing.confirm_payment(CODE, "Biên lai 0012345", "r-paid", TAX)
    clock.at(20, 10)
    routing.act(CODE, Act("thue", Action.FORWARD), "r-back", TAX)
    routing.assign([CODE], "ky_duyet", LEADER.subject, AssigneeKind.PRIMARY, "r-a2", LEADER)
    routing.act(CODE, Act("ky_duyet", Action.APPROVE), "r-ok", LEADER)
    routing.claim(CODE, "tra_ket_qua", "r-c3", DESK)
    clock.at(27, 9)
    return routing.act(CODE, Act("tra_ket_qua", Action.FINISH, reason="Giấy chứng nhận số 123"), "r-end", DESK)


def test_the_control_slip_has_one_graded_row_per_handover(routing, clock):
    done = _finished(routing, clock)
    rows = printed.handover_rows(done)
    names = {s.code: s.name for s in land_registration().steps}
    assert [r[0].split(" — ")[0] for r in rows] == [
        f"Giao: {names[code]}" for code in ("tiep_nhan", "tham_dinh", "thue", "ky_duyet", "tra_ket_qua")]
    # The receiving unit by the name the case carries; other units by code when no names are given.
    assert [r[1] for r in rows][-1] == "Nhận: Bộ phận Một cửa — Trung tâm Phục vụ hành chính công (trả kết quả)"
    assert rows[1][0].endswith(f"{LAND_UNIT} / cv-minh") and rows[1][1].endswith(TAX_UNIT)
    assert [r[2] for r in rows][:2] == ["09:00 16/11/2026", "08:00 17/11/2026"]
    assert {r[3] for r in rows} <= {"Trước hạn", "Đúng hạn", "Quá hạn"} and len(rows) == 5
    text = _text(printed.render(done, printed.Form.CONTROL_SLIP))
    for expected in ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "Mẫu số 06", CODE, "Nguyễn Văn An",
                     "Đăng ký biến động đất đai", "Giao:", "Nhận:", rows[0][3], rows[-1][3], "cv-minh"):
        assert expected in text, expected


def test_a_late_handover_is_graded_late_on_the_slip(routing, clock):
    _at_land(routing, clock)
    clock.at(30, 16)  # weeks past the land office's budget
    late = routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-late", LAND)
    assert [r[3] for r in printed.handover_rows(late)] == ["Đúng hạn", "Quá hạn"]
    assert "Quá hạn" in _text(printed.render_control_slip(late))


def test_the_apology_names_the_agency_at_fault_the_reason_and_the_new_date(routing, clock):
    done = _finished(routing, clock)
    extension = done.view.extensions[0]
    text = _text(printed.render(done, printed.Form.APOLOGY, 1))
    for expected in ("VĂN BẢN XIN LỖI", "Mẫu số 04", CODE, TAX_UNIT, "Chờ xác minh nghĩa vụ thuế",
                     "thành thật xin lỗi", "02 ngày làm việc", "ld-thue",
                     f"ngày {extension.new_due_at.astimezone(VIETNAM):%d/%m/%Y}"):
        assert expected in text, expected
    assert printed.file_name(printed.Form.APOLOGY, CODE, 1) == f"van-ban-xin-loi-{CODE}-1.pdf"
    with pytest.raises(FailedPrecondition) as info:
        printed.render(done, printed.Form.APOLOGY, 2)
    assert info.value.reason == "FORM_NOT_ISSUED"


def test_the_stop_notice_gives_the_reason_and_only_for_a_stopped_case(routing, clock):
    _at_land(routing, clock)
    with pytest.raises(FailedPrecondition) as info:
        printed.render(routing.get_case(CODE, LAND), printed.Form.STOP_NOTICE)
    assert info.value.reason == "FORM_NOT_ISSUED"
    stopped = routing.act(CODE, Act("tham_dinh", Action.STOP, reason="Có tranh chấp đất đai"), "r-stop", LAND)
    text = _text(printed.render(stopped, printed.Form.STOP_NOTICE))
    for expected in ("THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ", "Mẫu số 05", CODE, "Có tranh chấp đất đai", "Nguyễn Văn An"):
        assert expected in text, expected


def test_no_slip_and_no_apology_for_a_case_without_template(clock):
    routing = RoutingService(FakeCases(), FakeTemplates(), calendar=CALENDAR, clock=clock)
    _open(routing)
    loaded = routing.get_case(CODE, DESK)
    for form in printed.Form:
        with pytest.raises(FailedPrecondition) as info:
            printed.render(loaded, form)
        assert info.value.reason == "FORM_NOT_ISSUED"


def test_the_tracking_book_lists_the_units_cases_of_the_month_as_pdf_and_xlsx(routing, clock):
    done = _finished(routing, clock)
    other = f"{DESK_UNIT}-261116-0002"
    _at_land(routing, clock, other)
    waiting = routing.get_case(other, LAND)
    period = tracking.Period.parse("2026-11")
    tax_book = tracking.rows(TAX_UNIT, period, [done, waiting])
    assert [r.code for r in tax_book] == [CODE]  # the second never reached the tax authority
    assert tax_book[0].handed == f"Giao {LAND_UNIT}, 10:00 20/11/2026"  # the tax authority's last handover
    assert tax_book[0].result == "Đã giải quyết" and tax_book[0].timeliness in {"Trước hạn", "Đúng hạn", "Quá hạn"}
    land_book = tracking.rows(LAND_UNIT, period, [waiting, done])
    assert [r.code for r in land_book] == [CODE, other]
    assert land_book[1].result == "Đang giải quyết" and land_book[1].handed.startswith(f"Nhận từ {DESK_UNIT}")
    assert tracking.rows(LAND_UNIT, tracking.Period.parse("2026-12"), [done, waiting]) == []

    sheet = openpyxl.load_workbook(io.BytesIO(tracking.render_xlsx(LAND_UNIT, "Văn phòng đăng ký đất đai", period,
                                                                   land_book))).active
    assert sheet["A1"].value == "SỔ THEO DÕI HỒ SƠ — tháng 11/2026"
    assert [c.value for c in sheet[4]][:3] == ["STT", "Mã hồ sơ", "Thủ tục hành chính"]
    assert [sheet.cell(row=r, column=2).value for r in (5, 6)] == [CODE, other]
    assert sheet.cell(row=5, column=4).value == "Nguyễn Văn An"
    assert sheet.cell(row=6, column=8).value == "Đang giải quyết"
    assert sheet.cell(row=7, column=2).value is None

    text = _text(tracking.render_pdf(LAND_UNIT, "Văn phòng đăng ký đất đai", period, land_book))
    for expected in ("SỔ THEO DÕI HỒ SƠ", "Mẫu số 07", "Tháng 11/2026", CODE, other, "Đang giải quyết",
                     "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI"):
        assert expected in text, expected


def test_a_period_is_a_month():
    period = tracking.Period.parse("2026-12")
    assert period.start == dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)
    for bad in ("2026-13", "2026/11", "", "11-2026"):
        with pytest.raises(InvalidArgument):
            tracking.Period.parse(bad)


# --- filing: routing's worker files forms 04 and 05 with documents (FormIssued) ------------------

def _worker(service, published):
    from nameko.testing.services import worker_factory

    from onestop_routing.worker import RoutingWorker
    return worker_factory(RoutingWorker, routing=service, publish_event=published.append)


def _routing_events(cases, kind):
    return [m for m in cases.events if type(m).__name__ == kind]


def test_the_worker_files_the_apology_of_each_extension_once(routing, cases, clock):
    from onestop_chassis import events
    _finished(routing, clock)
    [extended] = _routing_events(cases, "CaseExtended")
    published = []
    worker = _worker(routing, published)
    worker.file_apology(events.to_payload(extended))
    worker.file_apology(events.to_payload(extended))  # redelivered: the same form, filed once by documents
    first, again = published
    assert (first.header.producer, first.form, first.dossier_code, first.agency_code) == ("routing", 4, CODE, DESK_UNIT)
    assert first.file_name == f"van-ban-xin-loi-{CODE}-1.pdf" and first.title.startswith("Mẫu số 04")
    assert first.request_id == again.request_id and first.pdf == again.pdf
    assert "Chờ xác minh nghĩa vụ thuế" in _text(first.pdf)


def test_the_worker_files_the_stop_notice(routing, cases, clock):
    from onestop_chassis import events
    _at_land(routing, clock)
    routing.act(CODE, Act("tham_dinh", Action.STOP, reason="Có tranh chấp đất đai"), "r-stop", LAND)
    [stopped] = _routing_events(cases, "CaseStopped")
    published = []
    _worker(routing, published).file_stop_notice(events.to_payload(stopped))
    [filed] = published
    assert (filed.form, filed.file_name) == (5, f"thong-bao-dung-giai-quyet-{CODE}.pdf")
    assert "Có tranh chấp đất đai" in _text(filed.pdf)


def test_a_receiving_units_cases_of_a_month_are_one_range_and_its_own(routing, clock):
    from onestop_chassis.errors import PermissionDenied
    _open(routing)
    _open(routing, f"{DESK_UNIT}-261130-0007")
    _open(routing, f"{DESK_UNIT}-261201-0001")  # next month
    _open(routing, "000.00.22.H17-261116-0001")  # another desk
    november = routing.received_by(DESK_UNIT, "261101", "261131", 10, DESK)
    assert [c.case.dossier_code for c in november] == [CODE, f"{DESK_UNIT}-261130-0007"]
    assert [c.case.dossier_code for c in routing.received_by(DESK_UNIT, "261101", "261131", 1, DESK)] == [CODE]
    with pytest.raises(PermissionDenied) as info:
        routing.received_by(DESK_UNIT, "261101", "261131", 10, LAND)
    assert info.value.reason == "OTHER_AGENCY"
