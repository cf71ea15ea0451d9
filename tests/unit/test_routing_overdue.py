"""The overdue scan (onestop_routing.overdue) through routing's worker timer, driven with nameko's
`entrypoint_hook` on a container whose dependencies are the shared fakes (see test_workers.py):
a step past due is marked once and escalated, a second pass changes nothing, a paused step is
never marked, due soon at the configured share, and a pass after downtime catches up, page by page."""

from __future__ import annotations

import datetime as dt

import pytest
from nameko.testing.services import entrypoint_hook
from test_workers import NOW, _green_waiter, _received, hosted  # noqa: F401  (the fixture is used)

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import auth, events
from onestop_routing.bootstrap import bootstrap
from onestop_routing.config import RoutingSettings
from onestop_routing.domain.actions import Act
from onestop_routing.domain.journey import EntryKind
from onestop_routing.domain.process import Action
from onestop_routing.inbox import DUE_SOON_PREFIX, RUNNING_PREFIX
from onestop_routing.worker import RoutingWorker, open_case_command

from fakes import FakeCases, FakeTemplates
from routing_samples import land_registration, parallel

UNIT = "000.00.21.H17"
# Opened at 07:31 (Vietnam) on Tuesday 17 Nov 2026; the desk step has 4 working hours: due 13:31
# (the lunch break does not count), 80 % used (192 working minutes) at 10:43.
DESK_DUE = dt.datetime(2026, 11, 17, 6, 31, tzinfo=dt.UTC)
DESK_DUE_SOON = dt.datetime(2026, 11, 17, 3, 43, tzinfo=dt.UTC)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def scan():
    clock, cases = Clock(), FakeCases()
    settings = RoutingSettings(due_soon_share=0.8, overdue_scan_page=2, overdue_scan_budget_seconds=0)
    routing = bootstrap(settings, cases=cases, templates=FakeTemplates(land_registration()), clock=clock)
    with hosted(RoutingWorker, settings, routing=routing.service, overdue=routing.overdue) as container:
        yield container, cases, routing.service, clock


def _open(service, number: int = 1) -> str:
    code = f"{UNIT}-261117-{number:04d}"
    payload = _received(code)
    payload["processCode"] = "QT-1.000948"
    assert service.open_case(open_case_command(events.from_payload(payload, ev.DossierReceived)))
    return code


def _pass(container):
    with entrypoint_hook(container, "scan_overdue") as tick:
        return tick()


def _marks(cases, code):
    return [(e.entry.kind, e.entry.step) for e in cases.logs[code] if e.entry.kind in (EntryKind.OVERDUE,
                                                                                        EntryKind.DUE_SOON)]


def _step_overdue(cases):
    return [m for m in cases.events if type(m).__name__ == "StepOverdue"]


def test_a_step_past_due_is_marked_once_and_escalated_to_its_unit(scan):
    container, cases, service, clock = scan
    code = _open(service)
    clock.now = DESK_DUE + dt.timedelta(minutes=1)
    result = _pass(container)
    assert (result.overdue_found, result.overdue_marked) == (1, 1)
    assert _marks(cases, code) == [(EntryKind.OVERDUE, "tiep_nhan")]
    [event] = _step_overdue(cases)
    assert (event.dossier_code, event.step.step_code, event.overdue, event.escalated_to) == (
        code, "tiep_nhan", True, UNIT)
    assert [k for k in cases.inbox_items if k.startswith(f"{UNIT}|escalated|")] == [
        f"{UNIT}|escalated|2026-11-17T06:31:00Z|{code}|tiep_nhan"]
    assert not [k for k in cases.inbox_items if k.startswith(RUNNING_PREFIX)]  # nothing left to scan

    appends = cases.appends
    again = _pass(container)  # the next pass finds nothing and writes nothing
    assert (again.overdue_found, again.overdue_marked, again.due_soon_marked) == (0, 0, 0)
    assert cases.appends == appends and len(_step_overdue(cases)) == 1


def test_a_step_is_due_soon_at_the_share_of_its_budget_and_not_before(scan):
    container, cases, service, clock = scan
    code = _open(service)
    clock.now = DESK_DUE_SOON - dt.timedelta(minutes=1)
    assert _pass(container).due_soon_marked == 0
    assert _marks(cases, code) == []
    clock.now = DESK_DUE_SOON + dt.timedelta(minutes=1)
    result = _pass(container)
    assert (result.due_soon_marked, result.overdue_marked) == (1, 0)
    assert _marks(cases, code) == [(EntryKind.DUE_SOON, "tiep_nhan")]
    [event] = _step_overdue(cases)
    assert (event.overdue, event.escalated_to) == (False, "")
    assert _pass(container).due_soon_marked == 0  # once
    clock.now = DESK_DUE + dt.timedelta(minutes=1)  # then overdue, once more
    assert _pass(container).overdue_marked == 1
    assert _marks(cases, code) == [(EntryKind.DUE_SOON, "tiep_nhan"), (EntryKind.OVERDUE, "tiep_nhan")]


def test_a_paused_step_is_never_marked(scan):
    container, cases, service, clock = scan
    code = _open(service)
    desk = auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), UNIT)
    land = auth.Principal("cv-minh", frozenset({auth.PROCESSING_OFFICER}), "000.01.21.H17")
    service.claim(code, "tiep_nhan", "r-1", desk)
    service.act(code, Act("tiep_nhan", Action.FORWARD), "r-2", desk)
    service.claim(code, "tham_dinh", "r-3", land)
    service.act(code, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao"), "r-4", land)
    clock.now = NOW + dt.timedelta(days=30)  # far past the step's 4 days: still waiting for the citizen
    result = _pass(container)
    assert (result.overdue_found, result.due_soon_found) == (0, 0)
    assert _marks(cases, code) == [] and _step_overdue(cases) == []


def test_a_pass_after_downtime_catches_up_page_by_page(scan):
    """Five steps fell due while the worker was down; a pass reads a page (2) of each range, and a
    step found in the due-soon range that is past due already is marked overdue, not due soon."""
    container, cases, service, clock = scan
    codes = [_open(service, n) for n in range(1, 6)]
    clock.now = NOW + dt.timedelta(days=1)
    first = _pass(container)
    assert (first.overdue_found, first.overdue_marked, first.due_soon_found, first.due_soon_marked) == (2, 2, 2, 2)
    second = _pass(container)
    assert (second.overdue_found, second.overdue_marked, second.due_soon_found) == (1, 1, 0)
    assert all(_marks(cases, code) == [(EntryKind.OVERDUE, "tiep_nhan")] for code in codes)
    assert all(event.overdue for event in _step_overdue(cases)) and len(_step_overdue(cases)) == 5
    assert not [k for k in cases.inbox_items if k.startswith((DUE_SOON_PREFIX, RUNNING_PREFIX))]
    third = _pass(container)
    assert (third.overdue_found, third.due_soon_found) == (0, 0)


def test_a_pass_within_its_time_budget_reads_page_after_page():
    clock, cases = Clock(), FakeCases()
    settings = RoutingSettings(overdue_scan_page=2, overdue_scan_budget_seconds=600)
    routing = bootstrap(settings, cases=cases, templates=FakeTemplates(land_registration()), clock=clock)
    codes = [_open(routing.service, n) for n in range(1, 6)]
    clock.now = NOW + dt.timedelta(days=1)
    with hosted(RoutingWorker, settings, routing=routing.service, overdue=routing.overdue) as container:
        result = _pass(container)
    assert (result.overdue_found, result.overdue_marked) == (5, 5)  # pages of 2, 2 and 1
    assert all(_marks(cases, code) == [(EntryKind.OVERDUE, "tiep_nhan")] for code in codes)


def test_several_cases_are_marked_at_once_and_the_branches_of_one_case_in_turn():
    """Three cases marked at a time; a case whose two parallel branches are both past due has both
    found in one page, and both marked (one after the other: two marks at once on one case would
    race for the same seq, and one would be left to the next pass)."""
    clock, cases = Clock(), FakeCases()
    settings = RoutingSettings(overdue_scan_page=20, overdue_scan_budget_seconds=0, overdue_scan_workers=3)
    routing = bootstrap(settings, cases=cases, templates=FakeTemplates(land_registration(), parallel()), clock=clock)
    codes = [_open(routing.service, n) for n in range(1, 6)]
    payload = _received(f"{UNIT}-261117-0009")
    payload["processCode"] = "QT-2"
    assert routing.service.open_case(open_case_command(events.from_payload(payload, ev.DossierReceived)))
    clock.now = NOW + dt.timedelta(days=10)  # past the desk's 4 hours and both branches' 3 and 5 days
    with hosted(RoutingWorker, settings, routing=routing.service, overdue=routing.overdue) as container:
        result = _pass(container)
        assert (result.overdue_found, result.overdue_marked) == (7, 7)
        assert _pass(container).overdue_found == 0
    assert all(_marks(cases, code) == [(EntryKind.OVERDUE, "tiep_nhan")] for code in codes)
    assert sorted(_marks(cases, f"{UNIT}-261117-0009")) == [(EntryKind.OVERDUE, "a"), (EntryKind.OVERDUE, "b")]
    assert len(_step_overdue(cases)) == 7


def test_the_unit_s_leader_reads_the_steps_escalated_to_it_and_an_officer_may_not(scan):
    from onestop_chassis.errors import PermissionDenied
    from onestop_routing.inbox import InboxScope

    container, cases, service, clock = scan
    late, handled = _open(service, 1), _open(service, 2)
    clock.now = DESK_DUE + dt.timedelta(minutes=1)
    _pass(container)
    leader = auth.Principal("ld-tn", frozenset({auth.UNIT_LEADER}), UNIT)
    items, token = service.inbox(leader, UNIT, InboxScope.ESCALATED)
    assert [(i.dossier_code, i.step_code, i.overdue) for i in items] == [
        (late, "tiep_nhan", True), (handled, "tiep_nhan", True)] and token == ""
    service.act(handled, Act("tiep_nhan", Action.FORWARD), "f-1", _desk_claimed(service, handled))  # leaves the list
    assert [i.dossier_code for i in service.inbox(leader, UNIT, InboxScope.ESCALATED)[0]] == [late]
    officer = auth.Principal("cv-tn", frozenset({auth.DESK_OFFICER}), UNIT)
    with pytest.raises(PermissionDenied) as info:
        service.inbox(officer, UNIT, InboxScope.ESCALATED)
    assert info.value.reason == "LEADER_REQUIRED"


def _desk_claimed(service, code):
    desk = auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), UNIT)
    service.claim(code, "tiep_nhan", f"c-{code}", desk)
    return desk


def test_a_stale_step_key_is_deleted_by_the_scan_and_marks_nothing(scan):
    container, cases, service, clock = scan
    code = _open(service)
    [old] = [i for k, i in cases.inbox_items.items() if k.startswith(RUNNING_PREFIX)]
    service.act(code, Act("tiep_nhan", Action.FORWARD), "f-1", _desk_claimed(service, code))
    cases.inbox_items[old.key] = old  # the desk step's key, as a projection that lost a race left it
    clock.now = DESK_DUE + dt.timedelta(minutes=1)
    result = _pass(container)
    assert (result.overdue_found, result.overdue_marked) == (1, 0)
    assert old.key not in cases.inbox_items and _marks(cases, code) == []
    assert _pass(container).overdue_found == 0  # not read again on every pass
