"""Units by their Vietnamese names in routing's answers and forms (issue 11, gaps item 3): GetCase,
GetJourney, ListInbox and forms 04, 06 and 07 name every unit from intake's units (read by
adapters/intake_units.py, cached), and show the code alone when a name is not known (intake
unreachable)."""

from __future__ import annotations

import io
import socket

import grpc
import openpyxl
import pytest
from test_routing_forms import (
    CALENDAR,
    CODE,
    DESK,
    DESK_UNIT,
    LAND,
    LAND_UNIT,
    TAX,
    TAX_UNIT,
    Clock,
    _at_land,
    _finished,
    _text,
    _worker,
)

from onestop.routing.v1 import routing_pb2
from onestop_chassis import auth, events
from onestop_chassis.worktime import WorkingDuration
from onestop_routing.adapters import intake_units
from onestop_routing.adapters.intake_units import IntakeUnits
from onestop_routing.api import RoutingServicer
from onestop_routing.domain.actions import Act, Extend
from onestop_routing.domain.process import Action
from onestop_routing.forms import printed, tracking
from onestop_routing.service import RoutingService
from onestop_routing.templates.service import TemplateService
from onestop_routing.units import NoUnitNames

from fakes import FakeCases, FakeTemplates
from routing_samples import land_registration

NAMES = {LAND_UNIT: "Văn phòng Đăng ký đất đai tỉnh", DESK_UNIT: "Trung tâm Phục vụ hành chính công tỉnh"}
# TAX_UNIT has no name: intake does not know it (any more), so it shows by code.


class Names:
    """The UnitNames port as the api sees it: `names()` counted, `name()` from what it holds."""

    def __init__(self, names):
        self._names, self.reads = dict(names), 0

    def names(self):
        self.reads += 1
        return self._names

    def name(self, code):
        return self._names.get(code, "")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def names():
    return Names(NAMES)


@pytest.fixture
def routing(clock, names):
    return RoutingService(FakeCases(), FakeTemplates(land_registration()), calendar=CALENDAR, clock=clock,
                          unit_name=names.name)


@pytest.fixture
def servicer(routing, names):
    return RoutingServicer(routing, TemplateService(FakeTemplates(), None), names)


def _as(principal, call, request):
    token = auth.set_current_principal(principal)
    try:
        return call(request, None)
    finally:
        auth._current.reset(token)


def test_get_case_get_journey_and_the_inbox_name_every_unit_and_show_the_code_of_an_unknown_one(
        routing, servicer, clock, names):
    _at_land(routing, clock)
    clock.at(17)
    routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-to-tax", LAND)
    case = _as(LAND, servicer.GetCase, routing_pb2.GetCaseRequest(dossier_code=CODE)).case
    assert (case.receiving_unit.code, case.receiving_unit.name) == (DESK_UNIT, NAMES[DESK_UNIT])
    assert [(s.unit.code, s.unit.name) for s in case.steps] == [(TAX_UNIT, "")]  # not known: the code only
    slip = _as(LAND, servicer.GetJourney, routing_pb2.GetJourneyRequest(dossier_code=CODE)).control_slip
    assert [(h.from_unit.name, h.to_unit.name) for h in slip] == [(NAMES[DESK_UNIT], NAMES[LAND_UNIT]),
                                                                 (NAMES[LAND_UNIT], "")]
    inbox = _as(TAX, servicer.ListInbox, routing_pb2.ListInboxRequest(
        scope=routing_pb2.ListInboxRequest.SCOPE_UNASSIGNED)).items
    assert [(i.step.unit.code, i.step.unit.name) for i in inbox] == [(TAX_UNIT, "")]
    names._names[TAX_UNIT] = "Cục Thuế tỉnh"  # intake now knows it (read again after the cache's time)
    inbox = _as(TAX, servicer.ListInbox, routing_pb2.ListInboxRequest(
        scope=routing_pb2.ListInboxRequest.SCOPE_UNASSIGNED)).items
    assert [i.step.unit.name for i in inbox] == ["Cục Thuế tỉnh"]
    # Routing's own events name the units the api knew when the entry was written.
    progressed = [m for m in routing._cases.events if type(m).__name__ == "CaseProgressed"]
    assert [(s.unit.code, s.unit.name) for s in progressed[0].steps] == [(LAND_UNIT, NAMES[LAND_UNIT])]


def test_forms_name_the_units_and_fall_back_to_the_code(routing, servicer, clock):
    done = _finished(routing, clock)
    rows = printed.handover_rows(done, NAMES)
    assert rows[1][0].endswith(f"{NAMES[LAND_UNIT]} / cv-minh") and rows[1][1].endswith(f"— {TAX_UNIT}")
    assert rows[-1][1] == f"Nhận: Bộ phận Một cửa — {NAMES[DESK_UNIT]} (trả kết quả)"
    slip = _text(_as(DESK, servicer.GetCaseForm, routing_pb2.GetCaseFormRequest(
        dossier_code=CODE, form=routing_pb2.CASE_FORM_CONTROL_SLIP)).pdf)
    assert NAMES[LAND_UNIT] in slip and TAX_UNIT in slip
    # Form 04 names the agency at fault, the tax authority: by code here, by name once known.
    assert TAX_UNIT in _text(printed.render(done, printed.Form.APOLOGY, 1, NAMES))
    assert "lỗi của Cục Thuế tỉnh" in _text(printed.render(done, printed.Form.APOLOGY, 1,
                                                            {**NAMES, TAX_UNIT: "Cục Thuế tỉnh"}))
    book = tracking.rows(TAX_UNIT, tracking.Period.parse("2026-11"), [done], NAMES)
    assert book[0].handed.startswith(f"Giao {NAMES[LAND_UNIT]}, ")


def test_the_desk_s_tracking_book_names_its_unit_and_the_units_it_handed_to(routing, servicer, clock):
    _finished(routing, clock)
    desk_leader = auth.Principal("ld-mc", frozenset({auth.UNIT_LEADER}), DESK_UNIT)
    book = _as(desk_leader, servicer.GetTrackingBook, routing_pb2.GetTrackingBookRequest(
        unit_code=DESK_UNIT, period="2026-11", format=routing_pb2.BOOK_FORMAT_XLSX))
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet["A2"].value == f"{NAMES[DESK_UNIT]} ({DESK_UNIT})"
    assert sheet.cell(row=5, column=7).value.startswith(f"Giao Bộ phận Một cửa ({NAMES[DESK_UNIT]}), ")


def test_the_filed_apology_names_the_agency_at_fault_the_event_carries(routing, clock):
    """The worker asks intake nothing: the name is the one the api put in CaseExtended."""
    _at_land(routing, clock)
    clock.at(17)
    loaded = routing.extend(CODE, Extend(WorkingDuration(days=1), "Chờ đo đạc lại"), "r-ext",
                            auth.Principal("ld-tuan", frozenset({auth.UNIT_LEADER}), LAND_UNIT))
    [extended] = [m for m in routing._cases.events if type(m).__name__ == "CaseExtended"]
    assert (extended.agency_at_fault.code, extended.agency_at_fault.name) == (LAND_UNIT, NAMES[LAND_UNIT])
    sent = []
    _worker(routing, sent).file_apology(events.to_payload(extended))
    assert len(sent) == 1 and f"lỗi của {NAMES[LAND_UNIT]}" in _text(sent[0].pdf)
    assert loaded.view.extensions[0].unit_code == LAND_UNIT


# -- the cache of intake_units ---------------------------------------------------------------------------------
class _Down(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "connection refused"


class _Unit:
    def __init__(self, code, name):
        self.code, self.name = code, name


def test_unit_names_are_cached_and_intake_down_gives_the_last_names_without_waiting_each_time():
    now = [1000.0]
    aside = []  # refreshes started beside an answer, run when the test says
    client = IntakeUnits("127.0.0.1:1", lambda: "token", clock=lambda: now[0], aside=aside.append)
    answers = [[_Unit(LAND_UNIT, "Văn phòng A")], _Down(), [_Unit(LAND_UNIT, "Văn phòng B")]]
    calls = []

    def listed(timeout=None):
        calls.append(timeout)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client._list = listed
    assert client.name(LAND_UNIT) == "" and calls == []  # name() never calls intake
    # The first read (nothing cached) is waited for, briefly.
    assert client.names() == {LAND_UNIT: "Văn phòng A"} and client.name(LAND_UNIT) == "Văn phòng A"
    assert calls == [intake_units.NAMES_FIRST_READ_SECONDS]
    now[0] += intake_units.NAMES_TTL_SECONDS - 1
    assert client.names() == {LAND_UNIT: "Văn phòng A"} and len(calls) == 1  # within the cache's time
    now[0] += 2
    assert client.names() == {LAND_UNIT: "Văn phòng A"} and len(calls) == 1  # old: answered, refreshed aside
    assert client.names() == {LAND_UNIT: "Văn phòng A"} and len(aside) == 1  # one refresh at a time
    aside.pop()()
    assert client.names() == {LAND_UNIT: "Văn phòng A"} and len(calls) == 2  # intake down: the last names
    now[0] += intake_units.NAMES_RETRY_SECONDS - 1
    assert client.names() == {LAND_UNIT: "Văn phòng A"} and aside == []  # no new try yet
    now[0] += 2
    client.names()
    aside.pop()()
    assert client.names() == {LAND_UNIT: "Văn phòng B"} and len(calls) == 3


def test_unit_names_of_an_unreachable_intake_are_none_and_never_an_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    client = IntakeUnits(f"127.0.0.1:{port}", lambda: "token", timeout=0.5)
    try:
        assert client.names() == {} and client.name(LAND_UNIT) == ""
    finally:
        client.close()
    assert NoUnitNames().names() == {} and NoUnitNames().name(LAND_UNIT) == ""


def test_the_composition_root_gives_the_api_intake_s_names_and_the_service_their_cache():
    from onestop_chassis.config import load_settings
    from onestop_routing.bootstrap import bootstrap
    from onestop_routing.config import RoutingSettings

    built = bootstrap(load_settings(RoutingSettings), cases=FakeCases(), templates=FakeTemplates())
    assert isinstance(built.unit_names, IntakeUnits) and built.templates._units is built.unit_names
    assert built.service._unit_name == built.unit_names.name
