"""Form 07 for any unit that performs steps (issue 11, gaps item 4): a department's or another
agency's tracking book lists the cases its steps received or handed over in the month, with its
steps' received and handed-over times and grades; GetTrackingBook finds them through the keys
`<unit>|<YYYY-MM>|<dossier>` written with each projection."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from test_routing_forms import CALENDAR, CODE, DESK, DESK_UNIT, LAND, LAND_UNIT, TAX, TAX_UNIT, Clock, _at_land

from onestop.routing.v1 import routing_pb2
from onestop_chassis import auth
from onestop_chassis.errors import PermissionDenied
from onestop_chassis.worktime import VIETNAM, WorkingDuration
from onestop_routing.api import RoutingServicer
from onestop_routing.book import book_keys, month
from onestop_routing.domain.actions import Act, Extend
from onestop_routing.domain.process import Action
from onestop_routing.forms import tracking
from onestop_routing.service import RoutingService
from onestop_routing.templates.service import TemplateService

from fakes import FakeBook, FakeCases, FakeTemplates
from routing_samples import land_registration

TAX_LEADER = auth.Principal("ld-thue", frozenset({auth.UNIT_LEADER}), TAX_UNIT)
NOVEMBER = tracking.Period.parse("2026-11")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def book():
    return FakeBook()


@pytest.fixture
def routing(clock, book):
    return RoutingService(FakeCases(), FakeTemplates(land_registration()), calendar=CALENDAR, clock=clock, book=book)


def _to_tax(routing, clock, code=CODE, day=17):
    _at_land(routing, clock, code)
    clock.at(day)
    routing.act(code, Act("tham_dinh", Action.FORWARD), f"to-tax-{code}", LAND)


def test_each_unit_s_keys_are_written_once_with_the_entry_that_puts_the_case_in_its_book(routing, clock, book):
    _to_tax(routing, clock)
    assert book.keys == {f"{DESK_UNIT}|2026-11|{CODE}", f"{LAND_UNIT}|2026-11|{CODE}", f"{TAX_UNIT}|2026-11|{CODE}"}
    written = len(book.adds)
    clock.at(17, 9)
    routing.claim(CODE, "thue", "c-thue", TAX)  # puts the case in no new book: no key written
    assert len(book.adds) == written
    clock.now = dt.datetime(2026, 12, 1, 9, tzinfo=VIETNAM)  # December: the tax authority's step hands over
    routing.act(CODE, Act("thue", Action.REQUEST_PAYMENT, reason="Lệ phí"), "pay", TAX)
    routing.confirm_payment(CODE, "Biên lai 1", "paid", TAX)
    routing.act(CODE, Act("thue", Action.FORWARD), "back", TAX)
    assert {f"{TAX_UNIT}|2026-12|{CODE}", f"{LAND_UNIT}|2026-12|{CODE}"} <= book.keys
    view = routing.get_case(CODE, TAX).view
    assert book_keys(view) == book.keys  # a repair writes them all again: the same set
    assert month(dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)) == "2026-12"  # Vietnam time


def test_a_department_s_book_has_its_steps_times_and_grades(routing, clock):
    _to_tax(routing, clock)
    other = f"{DESK_UNIT}-261116-0002"
    _to_tax(routing, clock, other, day=18)
    routing.claim(CODE, "thue", "c-thue", TAX)
    clock.at(19, 9)
    routing.extend(CODE, Extend(WorkingDuration(days=1), "Chờ xác minh"), "ext", TAX_LEADER)
    routing.act(CODE, Act("thue", Action.REQUEST_PAYMENT, reason="Lệ phí"), "pay", TAX)
    routing.confirm_payment(CODE, "Biên lai 1", "paid", TAX)
    clock.at(20, 10)
    routing.act(CODE, Act("thue", Action.FORWARD), "back", TAX)
    cases = routing.tracking_book(TAX_UNIT, 2026, 11, 10, TAX_LEADER)
    assert sorted(c.case.dossier_code for c in cases) == [CODE, other]
    rows = tracking.rows(TAX_UNIT, NOVEMBER, cases, {LAND_UNIT: "Văn phòng Đăng ký đất đai"})
    assert [r.code for r in rows] == [CODE, other]  # by when the tax authority received each
    done, waiting = rows
    # Received from the land office on the 17th; its 3 days + 1 extended + the payment's pause.
    assert done.received == "08:00 17/11/2026" and done.handed == "Giao Văn phòng Đăng ký đất đai, 10:00 20/11/2026"
    view = routing.get_case(CODE, TAX).view
    tax_row = next(h for h in view.handovers if h.from_unit == TAX_UNIT)
    assert done.due == tracking.pdf.short_moment(tax_row.due_at) and done.timeliness == "Trước hạn"
    # Its own 3 days and the 1 its leader extended, from Tue 17 8:00 (no pause: paid at once).
    assert tax_row.due_at == CALENDAR.add(dt.datetime(2026, 11, 17, 8, tzinfo=VIETNAM), WorkingDuration(days=4))
    assert waiting.received == "08:00 18/11/2026" and waiting.timeliness == ""  # still with it: no grade yet
    assert waiting.handed.startswith("Nhận từ Văn phòng Đăng ký đất đai, ")
    running = routing.get_case(other, TAX).view.run("thue")
    assert waiting.due == tracking.pdf.short_moment(running.clock.due_at)


def test_get_tracking_book_serves_a_department_only_to_its_own_unit(routing, clock):
    _to_tax(routing, clock)
    servicer = RoutingServicer(routing, TemplateService(FakeTemplates(), None))
    token = auth.set_current_principal(TAX_LEADER)
    try:
        book = servicer.GetTrackingBook(routing_pb2.GetTrackingBookRequest(
            unit_code=TAX_UNIT, period="2026-11", format=routing_pb2.BOOK_FORMAT_XLSX), None)
    finally:
        auth._current.reset(token)
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert book.rows == 1 and sheet.cell(row=5, column=2).value == CODE
    assert sheet.cell(row=5, column=5).value == "08:00 17/11/2026"  # when the tax authority received it
    with pytest.raises(PermissionDenied) as refused:
        routing.tracking_book(TAX_UNIT, 2026, 11, 10, DESK)
    assert refused.value.reason == "OTHER_AGENCY"
    assert routing.tracking_book(TAX_UNIT, 2026, 10, 10, TAX_LEADER) == []


def test_a_key_that_could_not_be_written_is_written_by_the_next_read(clock):
    class FailingOnce(FakeBook):
        failed = False

        def add(self, keys):
            if not self.failed and any(k.startswith(TAX_UNIT) for k in keys):
                self.failed = True
                raise ConnectionError("database down")
            super().add(keys)

    book, cases = FailingOnce(), FakeCases()
    routing = RoutingService(cases, FakeTemplates(land_registration()), calendar=CALENDAR, clock=clock, book=book)
    _to_tax(routing, clock)  # the forward's projection fails: the entry is stored, its keys are not
    assert book.failed and not any(k.startswith(TAX_UNIT) for k in book.keys)
    routing.get_case(CODE, TAX)  # a read finds the view behind its log and repairs it, keys included
    assert f"{TAX_UNIT}|2026-11|{CODE}" in book.keys
    assert routing.tracking_book(TAX_UNIT, 2026, 11, 10, TAX_LEADER)[0].case.dossier_code == CODE
