"""Routing's use cases over the journey (onestop_routing.service) with the in-memory CaseStore: a
dossier's way desk → land office → tax authority (another agency) → back, the events each entry
writes, the inboxes, and every refusal of issue 11 that concerns actions, each with its status,
reason, and nothing stored."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from onestop.common.v1 import common_pb2
from onestop.events.v1 import routing_events_pb2 as rev
from onestop.routing.v1 import routing_pb2
from onestop_chassis import auth
from onestop_chassis.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
)
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing import api, domain
from onestop_routing.cases import CaseNotOpenedYet, UnknownCase
from onestop_routing.domain.actions import Act, Extend
from onestop_routing.domain.journey import AssigneeKind, CaseState, EntryKind
from onestop_routing.domain.process import Action, Transition
from onestop_routing.inbox import RUNNING_PREFIX, InboxScope
from onestop_routing.service import RoutingService

from fakes import FakeCases, FakeTemplates
from routing_samples import land_registration, parallel

DESK_UNIT, LAND_UNIT, TAX_UNIT = "000.00.21.H17", "000.01.21.H17", "000.00.30.H17"
CODE = f"{DESK_UNIT}-261116-0001"
CALENDAR = WorkingCalendar()


def officer(subject, unit, *roles):
    return auth.Principal(subject, frozenset(roles or {auth.PROCESSING_OFFICER}), unit)


DESK = officer("desk-lan", DESK_UNIT, auth.DESK_OFFICER)
LAND = officer("cv-minh", LAND_UNIT)
LAND_2 = officer("cv-hoa", LAND_UNIT)
LEADER = officer("ld-tuan", LAND_UNIT, auth.PROCESSING_OFFICER, auth.UNIT_LEADER)
TAX = officer("thue-an", TAX_UNIT)
TAX_LEADER = officer("ld-thue", TAX_UNIT, auth.UNIT_LEADER)
OTHER_DESK = officer("desk-x", "000.40.21.H17", auth.DESK_OFFICER)


class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 11, 16, 8, 0, tzinfo=VIETNAM)

    def __call__(self):
        return self.now

    def at(self, day, hour=8, minute=0):
        self.now = dt.datetime(2026, 11, day, hour, minute, tzinfo=VIETNAM)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cases():
    return FakeCases()


@pytest.fixture
def routing(cases, clock):
    return RoutingService(cases, FakeTemplates(land_registration(), parallel()), calendar=CALENDAR, clock=clock)


def _open(routing, code=CODE, process_code="QT-1.000948", event_id="evt-1"):
    return routing.open_case(domain.OpenCase(
        event_id=event_id, dossier_code=code, procedure_code="1.000948", procedure_name="Đăng ký biến động đất đai",
        receiving_unit_code=DESK_UNIT, receiving_unit_name="Trung tâm Phục vụ hành chính công",
        channel=1, applicant_name="Nguyễn Văn An", received_at=dt.datetime(2026, 11, 16, 0, 30, tzinfo=dt.UTC),
        due_at=CALENDAR.add(dt.datetime(2026, 11, 16, 8, 0, tzinfo=VIETNAM), WorkingDuration(days=10)),
        process_code=process_code))


def _at_land(routing, clock):
    """The case opened, claimed and forwarded by the desk, assigned to cv-minh at the land office."""
    _open(routing)
    routing.claim(CODE, "tiep_nhan", "r-claim", DESK)
    clock.at(16, 9)
    routing.act(CODE, Act("tiep_nhan", Action.FORWARD), "r-fwd", DESK)
    clock.at(16, 10)
    return routing.assign([CODE], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, "r-assign", LEADER)[0]


def _types(cases):
    return [type(m).__name__ for m in cases.events]


def test_a_case_opens_with_its_template_version_and_announces_its_first_step(routing, cases):
    assert _open(routing) is True
    assert _open(routing) is False and _open(routing, event_id="evt-2") is False  # redelivered: nothing changes
    loaded = routing.get_case(CODE, DESK)
    assert (loaded.case.process_code, loaded.case.process_version) == ("QT-1.000948", 1)
    assert [r.step for r in loaded.view.runs] == ["tiep_nhan"] and loaded.view.national_status == 4
    [opened] = cases.events
    assert isinstance(opened, rev.CaseOpened) and opened.process_version == 1
    assert [(s.step_code, s.unit.code, s.unit.name) for s in opened.steps] == [
        ("tiep_nhan", DESK_UNIT, "Trung tâm Phục vụ hành chính công")]
    items, _ = routing.inbox(DESK, DESK_UNIT, InboxScope.UNASSIGNED)
    assert [(i.dossier_code, i.step_code) for i in items] == [(CODE, "tiep_nhan")]
    # and among every running step by due time (what an overdue scan reads: one range)
    assert [k.split("|")[-2:] for k in cases.inbox_items if k.startswith(RUNNING_PREFIX)] == [[CODE, "tiep_nhan"]]


def test_a_procedure_without_template_opens_an_open_case_without_steps(routing, cases):
    assert _open(routing, process_code="") is True
    loaded = routing.get_case(CODE, DESK)
    assert loaded.view is None and loaded.case.state is domain.CaseState.OPEN and loaded.case.process_version == 0
    assert [m.process_version for m in cases.events] == [0]
    with pytest.raises(FailedPrecondition) as info:
        routing.claim(CODE, "tiep_nhan", "r-1", DESK)
    assert info.value.reason == "NO_PROCESS" and cases.appends == 0


def test_the_whole_journey_through_two_agencies_with_a_supplement_a_payment_and_an_extension(routing, cases, clock):
    _at_land(routing, clock)
    clock.at(17)
    paused = routing.act(CODE, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao sổ đỏ"), "r-s", LAND)
    assert (paused.view.state, paused.view.national_status) == (CaseState.PAUSED, 5)
    due_before = paused.view.clock.due_at
    clock.at(19)  # Thu: two working days later
    assert routing.resume_after_supplement(CODE, "evt-supp") is True
    assert routing.resume_after_supplement(CODE, "evt-supp") is False  # redelivered
    resumed = routing.get_case(CODE, LAND)
    assert resumed.view.clock.due_at == CALENDAR.add(due_before, WorkingDuration(days=2))
    clock.at(19, 10)
    routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-to-tax", LAND)
    # Liên thông: the tax authority now sees the case, and claims its step.
    assert routing.get_case(CODE, TAX).view.runs[0].unit_code == TAX_UNIT
    routing.claim(CODE, "thue", "r-tax-claim", TAX)
    clock.at(19, 11)
    routing.act(CODE, Act("thue", Action.REQUEST_PAYMENT, reason="Nộp thuế trước bạ"), "r-pay", TAX)
    with pytest.raises(FailedPrecondition) as info:  # not paid yet
        routing.act(CODE, Act("thue", Action.FORWARD), "r-early", TAX)
    assert info.value.reason == "CASE_PAUSED"
    clock.at(20, 9)
    routing.confirm_payment(CODE, "Biên lai 0012345", "r-paid", TAX)
    extended = routing.extend(CODE, Extend(WorkingDuration(days=2), "Chờ xác minh nghĩa vụ thuế"), "r-ext", TAX_LEADER)
    assert extended.view.extensions[0].approved_by == "ld-thue"
    # The tax authority's step, running when its leader extended the case, got the 2 days too.
    assert routing.get_case(CODE, TAX).view.run("thue").clock.extended == WorkingDuration(days=2)
    clock.at(20, 10)
    routing.act(CODE, Act("thue", Action.FORWARD), "r-back", TAX)
    routing.assign([CODE], "ky_duyet", LEADER.subject, AssigneeKind.PRIMARY, "r-a2", LEADER)
    routing.act(CODE, Act("ky_duyet", Action.APPROVE), "r-ok", LEADER)
    routing.claim(CODE, "tra_ket_qua", "r-c3", DESK)
    clock.at(23, 9)
    done = routing.act(CODE, Act("tra_ket_qua", Action.FINISH, reason="Giấy chứng nhận số 123"), "r-end", DESK)
    assert (done.view.state, done.view.national_status) == (CaseState.FINISHED, 9)
    assert _types(cases) == ["CaseOpened", "CaseProgressed", "CaseSupplementRequested", "CaseResumed",
                             "CaseProgressed", "CasePaymentRequested", "CaseResumed", "CaseExtended",
                             "CaseProgressed", "CaseProgressed", "CaseFinished"]
    extended_event = next(m for m in cases.events if isinstance(m, rev.CaseExtended))
    assert (extended_event.agency_at_fault.code, extended_event.approved_by) == (TAX_UNIT, "ld-thue")
    resumed_event = next(m for m in cases.events if isinstance(m, rev.CaseResumed))
    assert resumed_event.paused_minutes == 2 * 450
    finished = cases.events[-1]
    assert finished.result_summary == "Giấy chứng nhận số 123" and not finished.refused
    assert [(h.from_step, h.to_step) for h in done.view.handovers] == [
        ("tiep_nhan", "tham_dinh"), ("tham_dinh", "thue"), ("thue", "ky_duyet"), ("ky_duyet", "tra_ket_qua"),
        ("tra_ket_qua", "")]
    assert routing.inbox(DESK, DESK_UNIT, InboxScope.UNASSIGNED)[0] == []  # ended: out of every inbox
    # What GetCase and GetJourney answer for it.
    case = api.case_to_proto(done)
    assert (case.state, case.national_status, case.process_version) == (routing_pb2.CASE_STATE_FINISHED, 9, 1)
    # paused: two working days for the supplement, then Thu 11:00 - Fri 9:00 (30 + 210 + 90 min) for the payment
    assert case.timeliness == common_pb2.TIMELINESS_EARLY and case.paused_minutes == 2 * 450 + 330
    assert [(e.approved_by, e.unit_code, e.extra.days, list(e.step_codes)) for e in case.extensions] == [
        ("ld-thue", TAX_UNIT, 2, ["thue"])]
    journey = api.journey_to_proto(done)
    assert [e.kind for e in journey.entries][:4] == ["opened", "claimed", "forwarded", "assigned"]
    assert journey.entries[3].assignee_kind == routing_pb2.ASSIGNEE_KIND_PRIMARY
    assert [(r.from_step, r.to_unit.code) for r in journey.control_slip][:2] == [
        ("tiep_nhan", LAND_UNIT), ("tham_dinh", TAX_UNIT)]
    assert all(r.timeliness != common_pb2.TIMELINESS_UNSPECIFIED for r in journey.control_slip)


def _refused(cases, call, error, reason):
    appends, events = cases.appends, list(cases.events)
    with pytest.raises(error) as info:
        call()
    assert info.value.reason == reason, info.value.message
    assert (cases.appends, cases.events) == (appends, events)  # nothing stored
    return info.value


def test_an_action_the_template_does_not_allow_at_the_step(routing, cases, clock):
    _at_land(routing, clock)
    error = _refused(cases, lambda: routing.act(CODE, Act("tham_dinh", Action.FINISH), "r-x", LAND),
                     FailedPrecondition, "ACTION_NOT_ALLOWED")
    assert "allowed:" in error.message


def test_an_officer_who_is_not_assigned(routing, cases, clock):
    _at_land(routing, clock)
    _refused(cases, lambda: routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-x", LAND_2),
             PermissionDenied, "NOT_ASSIGNED")


def test_an_officer_of_another_agency_neither_sees_nor_acts(routing, cases, clock):
    _at_land(routing, clock)
    # The tax authority: the case has not come to it yet.
    _refused(cases, lambda: routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-x", TAX),
             PermissionDenied, "OTHER_AGENCY")
    _refused(cases, lambda: routing.get_case(CODE, TAX), PermissionDenied, "OTHER_AGENCY")
    # Another agency's desk: the same answer for a case that exists and one that does not.
    _refused(cases, lambda: routing.get_case(CODE, OTHER_DESK), PermissionDenied, "OTHER_AGENCY")
    _refused(cases, lambda: routing.get_case(f"{DESK_UNIT}-261116-0009", OTHER_DESK), PermissionDenied,
             "OTHER_AGENCY")
    _refused(cases, lambda: routing.get_case(f"{DESK_UNIT}-261116-0009", DESK), NotFound, "CASE_NOT_FOUND")
    _refused(cases, lambda: routing.inbox(TAX, LAND_UNIT, InboxScope.UNASSIGNED), PermissionDenied, "OTHER_AGENCY")


def test_a_second_supplement_request_is_refused(routing, cases, clock):
    _at_land(routing, clock)
    routing.act(CODE, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao"), "r-s1", LAND)
    clock.at(18)
    routing.resume_after_supplement(CODE, "evt-supp")
    error = _refused(cases, lambda: routing.act(
        CODE, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu nữa"), "r-s2", LAND),
        FailedPrecondition, "SECOND_SUPPLEMENT")
    assert "at most one" in error.message


def test_an_extension_needs_a_reason_and_a_leader(routing, cases, clock):
    _at_land(routing, clock)
    error = _refused(cases, lambda: routing.extend(CODE, Extend(WorkingDuration(days=2), "  "), "r-e1", LEADER),
                     InvalidArgument, "INVALID_FIELDS")
    assert [v.field for v in error.violations] == ["reason"]
    _refused(cases, lambda: routing.extend(CODE, Extend(WorkingDuration(days=2), "Chờ ý kiến"), "r-e2", LAND),
             PermissionDenied, "LEADER_REQUIRED")


def test_a_request_id_answers_the_same_again_and_refuses_other_content(routing, cases, clock):
    _at_land(routing, clock)
    first = routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-same", LAND)
    appends = cases.appends
    clock.at(20)
    again = routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-same", LAND)  # a retry: the same answer
    assert cases.appends == appends and again.view == first.view
    _refused(cases, lambda: routing.act(CODE, Act("tham_dinh", Action.STOP, reason="Khác"), "r-same", LAND),
             AlreadyExists, "REQUEST_ID_REUSED")
    _refused(cases, lambda: routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-same", LAND_2),
             AlreadyExists, "REQUEST_ID_REUSED")  # another officer's request under the same id


def test_an_event_for_an_unknown_dossier_waits_for_its_case_then_is_refused(routing, cases):
    # Both desk events wait (retried, bounded, then dead-lettered by the chassis) for the
    # DossierReceived that opens the case: they travel on other queues and may overtake it.
    with pytest.raises(CaseNotOpenedYet, match="not open yet"):
        routing.resume_after_supplement(CODE, "evt-1")
    with pytest.raises(CaseNotOpenedYet, match="not open yet"):
        routing.pause_for_desk_supplement(CODE, "evt-2", "Thiếu")
    assert cases.logs == {} and cases.events == []
    with pytest.raises(UnknownCase, match="no case"):  # an event that never waits is refused at once
        routing._for_intake_event("DossierWithdrawalRequested", CODE, "evt-3")


def test_a_supplement_received_for_a_case_not_waiting_changes_nothing_but_is_recorded(routing, cases, clock):
    before = _at_land(routing, clock)
    appends, events = cases.appends, list(cases.events)
    assert routing.resume_after_supplement(CODE, "evt-desk") is True
    assert routing.resume_after_supplement(CODE, "evt-desk") is False  # redelivered
    assert cases.appends == appends + 1 and cases.events == events  # one marker, no event
    after = routing.get_case(CODE, LAND)
    assert after.log[-1].entry.kind is EntryKind.SUPPLEMENT_RECEIVED
    assert (after.view.state, after.view.runs, after.view.clock) == (before.view.state, before.view.runs,
                                                                     before.view.clock)


def test_the_loser_of_a_concurrent_action_gets_aborted(routing, cases, clock):
    _at_land(routing, clock)
    cases.lose_next_append = True  # another officer's entry took this seq first
    error = _refused(cases, lambda: routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-late", LAND),
                     Aborted, "CONCURRENT_CHANGE")
    assert "reload" in error.message


def test_bulk_assignment_checks_every_dossier_before_writing_any(routing, cases, clock):
    _at_land(routing, clock)
    second = f"{DESK_UNIT}-261116-0002"
    _open(routing, code=second, event_id="evt-2")  # still at the desk's step: not the land office's
    error = _refused(cases, lambda: routing.assign([CODE, second], "tham_dinh", LAND_2.subject, AssigneeKind.PRIMARY,
                                                   "r-bulk", LEADER), PermissionDenied, "OTHER_AGENCY")
    assert error.metadata["field"] == "dossier_codes[1]" and second in error.message
    assert routing.get_case(CODE, LAND).view.runs[0].primary == LAND.subject  # unchanged


def test_bulk_assignment_and_inboxes_by_scope_page_by_page(routing, cases, clock):
    codes = [f"{DESK_UNIT}-261116-{n:04d}" for n in range(1, 6)]
    for n, code in enumerate(codes):
        clock.at(16, 8, n)  # due one minute apart
        _open(routing, code=code, event_id=f"evt-{n}")
        routing.claim(code, "tiep_nhan", f"c-{n}", DESK)
        routing.act(code, Act("tiep_nhan", Action.FORWARD), f"f-{n}", DESK)
    unassigned, _ = routing.inbox(LAND, LAND_UNIT, InboxScope.UNASSIGNED, page_size=10)
    assert [i.dossier_code for i in unassigned] == codes  # soonest due first
    done = routing.assign(codes[:3], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, "r-bulk", LEADER)
    assert [d.view.runs[0].primary for d in done] == [LAND.subject] * 3
    page, token = routing.inbox(LAND, LAND_UNIT, InboxScope.MINE, page_size=2)
    rest, last = routing.inbox(LAND, LAND_UNIT, InboxScope.MINE, page_size=2, page_token=token)
    assert [i.dossier_code for i in page + rest] == codes[:3] and token and last == ""
    assert [i.dossier_code for i in routing.inbox(LAND, LAND_UNIT, InboxScope.UNASSIGNED)[0]] == codes[3:]
    assert len(routing.inbox(LEADER, LAND_UNIT, InboxScope.UNIT)[0]) == 5
    _refused(cases, lambda: routing.inbox(LAND, LAND_UNIT, InboxScope.UNIT), PermissionDenied, "LEADER_REQUIRED")
    with pytest.raises(InvalidArgument):
        routing.inbox(LAND_2, LAND_UNIT, InboxScope.MINE, page_token=token)  # cv-minh's token, not cv-hoa's
    assert routing.inbox(LAND, LAND_UNIT, InboxScope.MINE, overdue_only=True)[0] == []
    clock.at(30)  # a working week later: every step's budget (4 days) has passed
    assert len(routing.inbox(LAND, LAND_UNIT, InboxScope.MINE, overdue_only=True)[0]) == 3


def test_parallel_branches_run_at_once_and_join(cases, clock):
    routing = RoutingService(cases, FakeTemplates(parallel()), calendar=CALENDAR, clock=clock)
    _open(routing, process_code="QT-2")
    a_officer = officer("cv-a", LAND_UNIT)
    view = routing.get_case(CODE, DESK).view
    assert sorted(r.step for r in view.runs) == ["a", "b"]
    routing.claim(CODE, "a", "c-a", a_officer)
    routing.claim(CODE, "b", "c-b", TAX)
    after_a = routing.act(CODE, Act("a", Action.FORWARD), "f-a", a_officer)
    assert [r.step for r in after_a.view.runs] == ["b"]  # the join waits for b
    after_b = routing.act(CODE, Act("b", Action.FORWARD), "f-b", TAX)
    assert [r.step for r in after_b.view.runs] == ["quyet_dinh"]


def test_a_projection_left_behind_its_log_is_repaired_on_read(routing, cases, clock):
    _at_land(routing, clock)
    cases.projected[CODE] = 1  # as if the process died between the append and the projection
    cases.inbox_items.clear()
    routing.get_case(CODE, LAND)
    assert cases.projected[CODE] == len(cases.logs[CODE])
    assert [i.step_code for i in routing.inbox(LAND, LAND_UNIT, InboxScope.MINE)[0]] == ["tham_dinh"]


def test_every_refusal_is_a_service_error_with_a_reason(routing, cases, clock):
    """The api maps these to status codes (chassis grpc_server): FAILED_PRECONDITION, ABORTED, ..."""
    _at_land(routing, clock)
    with pytest.raises(ServiceError) as info:
        routing.act(CODE, Act("thue", Action.FORWARD), "r-x", LAND)
    assert (info.value.code, info.value.reason) == ("FAILED_PRECONDITION", "STEP_NOT_CURRENT")
    assert Aborted("CONCURRENT_CHANGE", "x").code == "ABORTED"


def _vn(day, hour=8):
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=VIETNAM)


def test_a_desk_pause_is_timed_by_its_events_not_by_when_routing_processed_them(routing, cases, clock):
    _at_land(routing, clock)
    due_before = routing.get_case(CODE, LAND).view.clock.due_at
    clock.at(19)  # the desk asked on Tue 17 08:00; routing's worker was down until Thu
    assert routing.pause_for_desk_supplement(CODE, "evt-req", "Thiếu bản sao", occurred_at=_vn(17)) is True
    assert routing.get_case(CODE, LAND).view.state is CaseState.PAUSED
    clock.at(23)  # received Wed 18 08:00, processed the next Monday (a backlog)
    assert routing.resume_after_supplement(CODE, "evt-recv", occurred_at=_vn(18)) is True
    resumed = routing.get_case(CODE, LAND)
    assert resumed.view.state is CaseState.PROCESSING
    assert resumed.view.clock.due_at == CALENDAR.add(due_before, WorkingDuration(days=1))  # Tue 08:00 → Wed 08:00


def test_an_event_older_than_the_case_s_last_entry_is_timed_at_that_entry(routing, cases, clock):
    _at_land(routing, clock)  # last entry Mon 16 10:00
    due_before = routing.get_case(CODE, LAND).view.clock.due_at
    routing.pause_for_desk_supplement(CODE, "evt-req", "Thiếu", occurred_at=_vn(16, 7))
    clock.at(20)
    routing.resume_after_supplement(CODE, "evt-recv", occurred_at=_vn(17, 10))  # one working day after 16 10:00
    assert routing.get_case(CODE, LAND).view.clock.due_at == CALENDAR.add(due_before, WorkingDuration(days=1))


def test_a_finish_from_one_branch_is_refused_while_another_branch_runs(cases, clock):
    template = parallel()
    template = dataclasses.replace(template, transitions=(*template.transitions, Transition("a", Action.FINISH),
                                                          Transition("a", Action.STOP)))
    routing = RoutingService(cases, FakeTemplates(template), calendar=CALENDAR, clock=clock)
    _open(routing, process_code="QT-2")
    a_officer = officer("cv-a", LAND_UNIT)
    routing.claim(CODE, "a", "c-a", a_officer)
    error = _refused(cases, lambda: routing.act(CODE, Act("a", Action.FINISH), "fin-a", a_officer),
                     FailedPrecondition, "BRANCH_OPEN")
    assert "b" in error.message and error.metadata["open_steps"] == "b"
    stopped = routing.act(CODE, Act("a", Action.STOP, reason="Người nộp rút hồ sơ"), "stop-a", a_officer)
    assert stopped.view.state is CaseState.STOPPED  # stop ends the whole case, on purpose


def test_a_receipt_processed_before_the_desk_s_request_keeps_the_case_running(routing, cases, clock):
    _at_land(routing, clock)
    due = routing.get_case(CODE, LAND).view.clock.due_at
    events = len(cases.events)
    clock.at(18)
    # The desk asked on Tue 17 and received on Wed 18; the receipt's queue was faster.
    assert routing.resume_after_supplement(CODE, "evt-recv", occurred_at=_vn(18)) is True
    assert routing.pause_for_desk_supplement(CODE, "evt-req", "Thiếu bản sao", occurred_at=_vn(17)) is True
    case = routing.get_case(CODE, LAND)
    assert (case.view.state, case.view.national_status) == (CaseState.PROCESSING, 4)  # not paused for ever
    assert case.view.clock.due_at == due  # the request and its receipt credited nothing
    assert len(cases.events) == events  # nothing told intake: it shows its own statuses
    routing.act(CODE, Act("tham_dinh", Action.FORWARD), "r-on", LAND)  # the officer works on


def test_a_receipt_processed_after_the_desk_s_request_resumes_the_case(routing, cases, clock):
    _at_land(routing, clock)
    due = routing.get_case(CODE, LAND).view.clock.due_at
    routing.pause_for_desk_supplement(CODE, "evt-req", "Thiếu bản sao", occurred_at=_vn(17))
    routing.resume_after_supplement(CODE, "evt-recv", occurred_at=_vn(18))
    case = routing.get_case(CODE, LAND)
    assert case.view.state is CaseState.PROCESSING
    assert case.view.clock.due_at == CALENDAR.add(due, WorkingDuration(days=1))
    assert [item.entry.kind for item in case.log][-2:] == [EntryKind.PAUSED, EntryKind.RESUMED]


def test_a_receipt_that_overtook_the_case_s_opening_waits_and_then_applies(routing, cases, clock):
    with pytest.raises(CaseNotOpenedYet):
        routing.resume_after_supplement(CODE, "evt-recv", occurred_at=_vn(18))
    _at_land(routing, clock)
    assert routing.resume_after_supplement(CODE, "evt-recv", occurred_at=_vn(18)) is True  # the retry
    assert routing.pause_for_desk_supplement(CODE, "evt-req", "Thiếu", occurred_at=_vn(17)) is True
    assert routing.get_case(CODE, LAND).view.state is CaseState.PROCESSING


class _FirstProjectionFails(FakeCases):
    def __init__(self):
        super().__init__()
        self.failures = 1

    def project(self, case, view, items, previous=None):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database went away after the open")
        return super().project(case, view, items, previous)


def test_a_new_case_whose_projection_failed_is_repaired_by_the_redelivered_dossier_received(clock):
    cases = _FirstProjectionFails()
    routing = RoutingService(cases, FakeTemplates(land_registration()), calendar=CALENDAR, clock=clock)
    assert _open(routing) is True
    assert cases.projected.get(CODE, 0) == 0 and cases.inbox_items == {}  # nobody would see the case
    assert _open(routing) is False  # the broker redelivers the DossierReceived
    assert cases.projected[CODE] == 1 and cases.appends == 0
    items, _ = routing.inbox(DESK, DESK_UNIT, InboxScope.UNASSIGNED)
    assert [(i.dossier_code, i.step_code) for i in items] == [(CODE, "tiep_nhan")]
