import datetime as dt

import pytest

from onestop_chassis import auth
from onestop_chassis.errors import InvalidArgument, NotFound, PermissionDenied
from onestop_routing import domain
from onestop_routing.service import RoutingService

from fakes import FakeCases, FakeTemplates

CODE = "000.00.21.H17-261117-0001"
UNIT = "000.00.21.H17"
NOW = dt.datetime(2026, 11, 17, 0, 31, tzinfo=dt.UTC)


def _open(event_id="evt-1") -> domain.OpenCase:
    return domain.OpenCase(
        event_id=event_id, dossier_code=CODE, procedure_code="1.000948", procedure_name="Cấp phiếu lý lịch tư pháp",
        receiving_unit_code=UNIT, receiving_unit_name="Sở Tư pháp", channel=1, applicant_name="Nguyễn Văn An",
        received_at=dt.datetime(2026, 11, 16, 18, tzinfo=dt.UTC),
        due_at=dt.datetime(2026, 11, 20, 0, 30, tzinfo=dt.UTC))


@pytest.fixture
def cases():
    return FakeCases()


@pytest.fixture
def routing(cases):
    return RoutingService(cases, FakeTemplates(), clock=lambda: NOW)


def test_case_is_opened_once(routing, cases):
    assert routing.open_case(_open()) is True
    assert routing.open_case(_open()) is False
    assert routing.open_case(_open("evt-2")) is False
    assert list(cases.cases) == [CODE]
    case = cases.cases[CODE]
    assert case.opened_at == NOW
    assert case.state == domain.CaseState.OPEN
    assert case.applied_event_ids == ["evt-1"]
    assert case.due_at == _open().due_at


def test_officer_reads_a_case_of_their_agency(routing):
    routing.open_case(_open())
    officer = auth.Principal("officer-1", frozenset({auth.PROCESSING_OFFICER}), UNIT)
    assert routing.get_case(CODE, officer).dossier_code == CODE


@pytest.mark.parametrize("code", ["", "H17-261117-0001", CODE + "x", "000.00.21.H17-261117-1"])
def test_malformed_code(routing, code):
    with pytest.raises(InvalidArgument) as info:
        routing.get_case(code, auth.Principal("s", frozenset({auth.SERVICE})))
    assert [v.field for v in info.value.violations] == ["dossier_code"]


def test_unknown_case(routing):
    with pytest.raises(NotFound) as info:
        routing.get_case(CODE, auth.Principal("s", frozenset({auth.SERVICE})))
    assert info.value.reason == "CASE_NOT_FOUND"


def test_case_of_another_agency(routing):
    routing.open_case(_open())
    other = auth.Principal("officer-9", frozenset({auth.DESK_OFFICER}), "000.00.22.H17")
    with pytest.raises(PermissionDenied) as info:
        routing.get_case(CODE, other)
    assert info.value.reason == "OTHER_AGENCY"


def test_service_reads_any_case(routing):
    routing.open_case(_open())
    assert routing.get_case(CODE, auth.Principal("survey", frozenset({auth.SERVICE}))).receiving_unit_code == UNIT
