"""The case's own clock scanned (issue 11, gaps item 6; onestop_routing.case_due) through routing's
worker timer: a running case past its due time is marked overdue once per due time even when no
step is overdue, with its CaseOverdue event; a paused or ended case is not; an extension gives a
new due time that can pass again."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from nameko.testing.services import entrypoint_hook
from test_workers import NOW, _green_waiter, _received, hosted  # noqa: F401  (the fixture is used)

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import auth, events
from onestop_chassis.worktime import WorkingCalendar, WorkingDuration
from onestop_routing.bootstrap import bootstrap
from onestop_routing.case_due import CASE_DUE_PREFIX, CASE_SOON_PREFIX, CaseDueResult, CaseDueScan, case_due_items
from onestop_routing.config import RoutingSettings
from onestop_routing.domain.actions import Act, Extend
from onestop_routing.domain.journey import EntryKind
from onestop_routing.domain.process import Action
from onestop_routing.inbox import InboxScope, iso_key
from onestop_routing.worker import RoutingWorker, open_case_command

from fakes import FakeCases, FakeTemplates
from routing_samples import land_registration

UNIT, LAND_UNIT = "000.00.21.H17", "000.01.21.H17"
CODE = f"{UNIT}-261117-0001"
DESK = auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), UNIT)
LAND = auth.Principal("cv-minh", frozenset({auth.PROCESSING_OFFICER}), LAND_UNIT)
LEADER = auth.Principal("ld-tuan", frozenset({auth.UNIT_LEADER}), LAND_UNIT)
# The receipt's appointment: NOW + 3 days (Fri 20 Nov, 07:31 Vietnam); the land office's step, entered
# at NOW, has 4 working days (Mon 23 Nov, 07:31): past the first, the case is late, the step is not.
CASE_DUE = NOW + dt.timedelta(days=3)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def world():
    clock, cases = Clock(), FakeCases()
    settings = RoutingSettings(overdue_scan_page=10, overdue_scan_budget_seconds=0)
    routing = bootstrap(settings, cases=cases, templates=FakeTemplates(land_registration()), clock=clock)
    with hosted(RoutingWorker, settings, routing=routing.service, case_due=routing.case_due,
                overdue=routing.overdue) as container:
        service = routing.service
        payload = _received(CODE)
        payload["processCode"] = "QT-1.000948"
        assert service.open_case(open_case_command(events.from_payload(payload, ev.DossierReceived)))
        service.claim(CODE, "tiep_nhan", "c-1", DESK)
        service.act(CODE, Act("tiep_nhan", Action.FORWARD), "f-1", DESK)
        yield container, cases, service, clock


def _tick(container, name="scan_case_due"):
    with entrypoint_hook(container, name) as tick:
        return tick()


def _case_marks(cases):
    return [e.entry for e in cases.logs[CODE] if e.entry.kind is EntryKind.OVERDUE and not e.entry.step]


def test_a_case_past_its_own_due_is_marked_once_though_no_step_is_overdue(world):
    container, cases, service, clock = world
    clock.now = CASE_DUE - dt.timedelta(minutes=1)
    assert (_tick(container).found, _case_marks(cases)) == (0, [])  # not yet due
    clock.now = CASE_DUE + dt.timedelta(hours=1)
    step_scan = _tick(container, "scan_overdue")
    assert step_scan.overdue_found == 0  # the land office's step is within its 4 days
    result = _tick(container)
    assert (result.found, result.marked) == (1, 1)
    [mark] = _case_marks(cases)
    assert mark.request_id == f"overdue|{CODE}|case|2026-11-20T00:31:00Z"
    [event] = [m for m in cases.events if type(m).__name__ == "CaseOverdue"]
    assert event.dossier_code == CODE and event.due_at.ToDatetime(dt.UTC) == CASE_DUE
    assert [(s.step_code, s.unit.code) for s in event.steps] == [("tham_dinh", LAND_UNIT)]
    view = service.get_case(CODE, DESK).view
    assert view.overdue and not any(r.overdue for r in view.runs)
    assert not any(k.startswith(CASE_DUE_PREFIX) for k in cases.inbox_items)  # out of the range: marked
    assert _tick(container) == type(result)(0, 0)  # a second pass finds nothing


def test_a_paused_or_ended_case_is_not_in_the_scan(world):
    container, cases, service, clock = world
    assert [i.key for i in case_due_items(service.get_case(CODE, DESK))] == [
        f"{CASE_DUE_PREFIX}2026-11-20T00:31:00Z|{CODE}|"]  # a scan key's shape, with no step
    service.claim(CODE, "tham_dinh", "c-2", LAND)
    service.act(CODE, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao"), "p-1", LAND)
    assert case_due_items(service.get_case(CODE, DESK)) == []
    clock.now = CASE_DUE + dt.timedelta(days=2)
    assert _tick(container).found == 0 and _case_marks(cases) == []  # paused: its clock does not run
    service.resume_after_supplement(CODE, "evt-received")
    assert len(case_due_items(service.get_case(CODE, DESK))) == 1  # running again, with the credited due
    service.act(CODE, Act("tham_dinh", Action.STOP, reason="Người nộp đề nghị dừng"), "s-1", LAND)
    assert case_due_items(service.get_case(CODE, DESK)) == []
    clock.now += dt.timedelta(days=30)
    assert _tick(container).found == 0 and _case_marks(cases) == []


def test_an_extension_gives_a_new_due_time_that_can_pass_again(world):
    container, cases, service, clock = world
    clock.now = CASE_DUE + dt.timedelta(hours=1)
    assert _tick(container).marked == 1
    service.extend(CODE, Extend(WorkingDuration(days=2), "Chờ xác minh"), "e-1", LEADER)
    view = service.get_case(CODE, DESK).view
    assert not view.overdue and view.clock.due_at > clock.now
    assert _tick(container).marked == 0  # the new due time has not passed
    clock.now = view.clock.due_at + dt.timedelta(minutes=5)
    assert _tick(container).marked == 1
    assert [m.request_id.rsplit("|", 1)[1] for m in _case_marks(cases)] == [
        "2026-11-20T00:31:00Z", iso_key(view.clock.due_at)]


def test_a_stale_case_due_key_is_deleted_by_the_scan_and_marks_nothing(world):
    container, cases, service, clock = world
    [held] = [i for k, i in cases.inbox_items.items() if k.startswith(CASE_DUE_PREFIX)]
    old_due = CASE_DUE - dt.timedelta(days=1)  # as a projection that lost a race could leave behind
    stale = f"{CASE_DUE_PREFIX}{iso_key(old_due)}|{CODE}|"
    cases.inbox_items[stale] = dataclasses.replace(held, key=stale, due_at=old_due, case_due_at=old_due)
    clock.now = CASE_DUE - dt.timedelta(hours=1)  # past the stale key's time, not the case's due
    first = _tick(container)
    assert (first.found, first.marked) == (1, 0)  # the stale key read once, and deleted
    assert stale not in cases.inbox_items and held.key in cases.inbox_items
    assert _case_marks(cases) == []
    assert _tick(container).found == 0  # nothing left to read on every pass


def test_a_case_due_pass_within_its_time_budget_reads_page_after_page():
    clock, cases = Clock(), FakeCases()
    settings = RoutingSettings(overdue_scan_page=2, overdue_scan_budget_seconds=600)
    routing = bootstrap(settings, cases=cases, templates=FakeTemplates(land_registration()), clock=clock)
    codes = []
    for n in range(1, 6):
        payload = _received(f"{UNIT}-261117-{n:04d}")
        payload["processCode"] = "QT-1.000948"
        assert routing.service.open_case(open_case_command(events.from_payload(payload, ev.DossierReceived)))
        codes.append(payload["dossierCode"])
    clock.now = CASE_DUE + dt.timedelta(hours=1)
    with hosted(RoutingWorker, settings, routing=routing.service, case_due=routing.case_due) as container:
        result = _tick(container)
    assert (result.found, result.marked) == (5, 5)  # pages of 2, 2 and 1
    assert all(any(e.entry.kind is EntryKind.OVERDUE and not e.entry.step for e in cases.logs[c]) for c in codes)


# --- the case's due-soon moment and the escalation of an overdue case (issue 11 review, fault 3) ----------------

# DUE_SOON_SHARE 0.8 of the case's 3 working days (3 × 450 minutes from Tue 17 Nov 07:31 Vietnam):
# 1080 minutes, two days and three hours, Thu 19 Nov 10:31 Vietnam.
CASE_SOON = dt.datetime(2026, 11, 19, 3, 31, tzinfo=dt.UTC)
TAX_UNIT = "000.00.30.H17"
CALENDAR = WorkingCalendar()


def _case_entries(cases, kind):
    return [e.entry for e in cases.logs[CODE] if e.entry.kind is kind and not e.entry.step]


def _escalated(service, unit):
    leader = auth.Principal("ld", frozenset({auth.UNIT_LEADER}), unit)
    items, _ = service.inbox(leader, unit, InboxScope.ESCALATED)
    return [(i.dossier_code, i.step_code) for i in items]


def test_a_case_is_found_due_soon_once_at_its_share_of_its_working_time(world):
    container, cases, service, clock = world
    assert [i.key for i in case_due_items(service.get_case(CODE, DESK), CALENDAR, 0.8)] == [
        f"{CASE_DUE_PREFIX}2026-11-20T00:31:00Z|{CODE}|", f"{CASE_SOON_PREFIX}2026-11-19T03:31:00Z|{CODE}|"]
    clock.now = CASE_SOON - dt.timedelta(seconds=1)
    assert _tick(container).due_soon_found == 0
    clock.now = CASE_SOON
    result = _tick(container)
    assert (result.found, result.marked, result.due_soon_found, result.due_soon_marked) == (0, 0, 1, 1)
    [mark] = _case_entries(cases, EntryKind.DUE_SOON)
    assert mark.request_id == f"due_soon|{CODE}|case" and mark.reason == "Hồ sơ sắp đến hạn giải quyết"
    [event] = [m for m in cases.events if type(m).__name__ == "CaseDueSoon"]
    assert event.dossier_code == CODE and event.due_at.ToDatetime(dt.UTC) == CASE_DUE
    assert [(s.step_code, s.unit.code) for s in event.steps] == [("tham_dinh", LAND_UNIT)]
    view = service.get_case(CODE, DESK).view
    assert view.due_soon and not view.overdue and _escalated(service, LAND_UNIT) == []
    assert not any(k.startswith(CASE_SOON_PREFIX) for k in cases.inbox_items)  # marked: out of the range
    assert _tick(container) == CaseDueResult()  # once
    clock.now = CASE_DUE + dt.timedelta(minutes=1)  # then overdue, as its own mark
    assert _tick(container).marked == 1 and len(_case_entries(cases, EntryKind.DUE_SOON)) == 1


def test_an_overdue_case_is_escalated_to_the_leader_of_the_unit_holding_it_until_extended(world):
    container, cases, service, clock = world
    clock.now = CASE_DUE + dt.timedelta(hours=1)
    assert _tick(container).marked == 1
    [event] = [m for m in cases.events if type(m).__name__ == "CaseOverdue"]
    assert list(event.escalated_to) == [LAND_UNIT]
    assert _escalated(service, LAND_UNIT) == [(CODE, "tham_dinh")]  # the step itself is within its budget
    assert not service.get_case(CODE, DESK).view.run("tham_dinh").overdue
    # The case moves on to the tax authority: the escalation follows it while the case stays late.
    service.claim(CODE, "tham_dinh", "c-2", LAND)
    service.act(CODE, Act("tham_dinh", Action.FORWARD), "f-2", LAND)
    assert (_escalated(service, LAND_UNIT), _escalated(service, TAX_UNIT)) == ([], [(CODE, "thue")])
    leader = auth.Principal("ld-thue", frozenset({auth.UNIT_LEADER}), TAX_UNIT)
    service.extend(CODE, Extend(WorkingDuration(days=3), "Chờ xác minh nghĩa vụ tài chính"), "e-1", leader)
    assert _escalated(service, TAX_UNIT) == [] and not service.get_case(CODE, DESK).view.overdue


def test_after_a_clock_jump_the_first_pass_marks_what_fell_due_meanwhile(world):
    """The worker was down: from before the due-soon moment to past the due time, one pass marks
    the case overdue (past due already: not due soon as well) and escalates it; a jump into the
    due-soon window marks it due soon only."""
    container, cases, service, clock = world
    clock.now = CASE_DUE + dt.timedelta(days=4)
    result = _tick(container)
    assert (result.marked, result.due_soon_marked) == (1, 0)
    assert (len(_case_entries(cases, EntryKind.OVERDUE)), _case_entries(cases, EntryKind.DUE_SOON)) == (1, [])
    assert _escalated(service, LAND_UNIT) == [(CODE, "tham_dinh")]
    assert _tick(container) == CaseDueResult()


def test_a_clock_jump_into_the_due_soon_window_marks_it_due_soon_only(world):
    container, cases, service, clock = world
    clock.now = CASE_DUE - dt.timedelta(minutes=1)
    result = _tick(container)
    assert (result.found, result.marked, result.due_soon_marked) == (0, 0, 1)
    assert len(_case_entries(cases, EntryKind.DUE_SOON)) == 1 and _case_entries(cases, EntryKind.OVERDUE) == []


def test_a_case_found_by_its_due_soon_key_past_its_due_is_marked_overdue(world):
    """A due-soon key read after the due time (the overdue range's page was full): overdue, escalated."""
    container, cases, service, clock = world
    clock.now = CASE_DUE + dt.timedelta(minutes=5)
    [soon_key] = [k for k in cases.inbox_items if k.startswith(CASE_SOON_PREFIX)]
    assert CaseDueScan(service, cases, page=10, clock=clock).mark(CODE, soon_key, soon=True)
    assert len(_case_entries(cases, EntryKind.OVERDUE)) == 1 and _case_entries(cases, EntryKind.DUE_SOON) == []
