"""The journey (onestop_routing.domain.journey) and who may act (onestop_routing.domain.actions): a dossier's whole
way through a cross-agency template, parallel branches, and every refused action."""

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop_chassis.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing.domain import journey
from onestop_routing.domain.actions import Act, Assign, Claim, Extend, Resume, decide
from onestop_routing.domain.clocks import Grade, grade
from onestop_routing.domain.journey import Actor, CaseState, Entry, EntryKind
from onestop_routing.domain.process import Action, Transition

from routing_samples import land_registration, parallel, task

CALENDAR = WorkingCalendar()
CODE = "000.00.21.H17-261116-0001"
DESK = Actor("desk-lan", "desk_officer", "000.00.21.H17")
LAND = Actor("cv-minh", "processing_officer", "000.01.21.H17")
LAND_2 = Actor("cv-hoa", "processing_officer", "000.01.21.H17")
LEADER = Actor("ld-tuan", "unit_leader", "000.01.21.H17")
TAX = Actor("thue-an", "processing_officer", "000.00.30.H17")
SYSTEM = Actor("intake", "service", "")


def vn(day, hour=8, minute=0, month=11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=VIETNAM)


class Case:
    """A case driven action by action, as the service will: decide, then apply; the log is kept."""

    def __init__(self, template, opened_at=None, limit=None):
        self.template, opened_at = template, opened_at or vn(16)
        limit = limit or WorkingDuration(days=10)
        first = Entry(seq=1, kind=EntryKind.OPENED, at=opened_at, actor=SYSTEM,
                      due_at=CALENDAR.add(opened_at, limit))
        self.log = [first]
        self.view = journey.opened(CODE, template, CALENDAR, first)

    def do(self, actor, command, at):
        entry = decide(self.view, self.template, actor, command, at=at, request_id=f"r{len(self.log) + 1}")
        self.view = journey.apply(self.view, self.template, CALENDAR, entry)
        self.log.append(entry)
        return self.view


def test_a_dossier_goes_desk_land_office_tax_authority_and_back_with_a_pause_and_an_extension():
    case = Case(land_registration())
    assert [r.step for r in case.view.runs] == ["tiep_nhan"] and case.view.national_status == 4
    case.do(DESK, Claim("tiep_nhan"), vn(16, 8, 5))
    case.do(DESK, Act("tiep_nhan", Action.FORWARD), vn(16, 9))
    case.do(LEADER, Assign("tham_dinh", LAND.subject), vn(16, 10))
    view = case.do(LAND, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao sổ đỏ"), vn(17))
    assert (view.state, view.national_status, view.supplements) == (CaseState.PAUSED, 5, 1)
    due_before = view.clock.due_at
    view = case.do(SYSTEM, Resume("Đã nhận bổ sung"), vn(19))  # two working days paused (Tue 8:00 -> Thu 8:00)
    assert view.clock.due_at == CALENDAR.add(due_before, WorkingDuration(days=2)) and view.national_status == 4
    with pytest.raises(FailedPrecondition) as second:
        case.do(LAND, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu nữa"), vn(19, 9))
    assert second.value.reason == "SECOND_SUPPLEMENT"
    case.do(LAND, Act("tham_dinh", Action.FORWARD), vn(19, 10))
    case.do(TAX, Claim("thue"), vn(19, 11))
    with pytest.raises(FailedPrecondition) as unpaid:
        case.do(TAX, Act("thue", Action.FORWARD), vn(19, 14))
    assert unpaid.value.reason == "NOT_PAID"
    assert case.do(TAX, Act("thue", Action.REQUEST_PAYMENT, reason="Lệ phí trước bạ"), vn(19, 14)).national_status == 6
    case.do(SYSTEM, Resume("Đã nộp thuế"), vn(20, 9))
    case.do(TAX, Act("thue", Action.FORWARD), vn(20, 10))
    view = case.do(LEADER, Extend(WorkingDuration(days=2), "Chờ ý kiến cơ quan thuế"), vn(20, 11))
    assert view.extensions[0].approved_by == LEADER.subject
    case.do(LEADER, Claim("ky_duyet"), vn(20, 14))
    case.do(LEADER, Act("ky_duyet", Action.APPROVE), vn(23, 9))
    case.do(DESK, Claim("tra_ket_qua"), vn(23, 10))
    view = case.do(DESK, Act("tra_ket_qua", Action.FINISH), vn(23, 11))

    assert (view.state, view.national_status, view.runs, view.grade) == (CaseState.FINISHED, 9, (), Grade.EARLY)
    slip = [(h.from_unit, h.to_unit, h.grade) for h in view.handovers]
    assert slip == [("000.00.21.H17", "000.01.21.H17", Grade.ON_TIME),   # 4 working hours, used 1
                    ("000.01.21.H17", "000.00.30.H17", Grade.EARLY),     # 4 days + the 2 paused
                    ("000.00.30.H17", "000.01.21.H17", Grade.EARLY),
                    # 1 day + the 2 the leader extended it by: Fri 10:00 -> Wed 10:00, handed over Mon
                    ("000.01.21.H17", "000.00.21.H17", Grade.EARLY),
                    ("000.00.21.H17", "", Grade.ON_TIME)]
    # The view is a pure fold of the log: recomputed from scratch, it is the same.
    assert journey.fold(CODE, case.template, CALENDAR, reversed(case.log)) == view
    with pytest.raises(FailedPrecondition) as ended:
        case.do(DESK, Act("tra_ket_qua", Action.FINISH), vn(23, 14))
    assert ended.value.reason == "CASE_ENDED"


def test_parallel_branches_run_at_once_and_join():
    case = Case(parallel(), limit=WorkingDuration(days=8))
    assert sorted(r.step for r in case.view.runs) == ["a", "b"]  # the split opened both at the start
    case.do(LAND, Claim("a"), vn(16, 9))
    case.do(TAX, Claim("b"), vn(16, 9))
    view = case.do(LAND, Act("a", Action.FORWARD), vn(17))
    assert [r.step for r in view.runs] == ["b"]  # a closed; the join waits for b
    view = case.do(TAX, Act("b", Action.FORWARD), vn(20))
    assert [r.step for r in view.runs] == ["quyet_dinh"]
    assert view.run("quyet_dinh").from_unit == "000.00.30.H17"
    assert [(h.from_step, h.to_step) for h in view.handovers] == [("a", "gop"), ("b", "gop")]


def test_the_slip_names_each_branch_a_split_opens_and_the_unit_after_the_join():
    """Split and join have no performer: the control slip's "Nhận" is the units behind them."""
    base = parallel()
    template = replace(base, start_step="vao", steps=(task("vao", "000.00.21.H17", role="desk_officer"), *base.steps),
                       transitions=(Transition("vao", Action.FORWARD, "tach"), *base.transitions))
    case = Case(template, limit=WorkingDuration(days=9))
    case.do(DESK, Claim("vao"), vn(16, 9))
    view = case.do(DESK, Act("vao", Action.FORWARD), vn(16, 10))
    assert [(h.from_unit, h.to_step, h.to_unit) for h in view.handovers] == [
        ("000.00.21.H17", "a", "000.01.21.H17"), ("000.00.21.H17", "b", "000.00.30.H17")]
    case.do(LAND, Claim("a"), vn(16, 11))
    view = case.do(LAND, Act("a", Action.FORWARD), vn(17))
    assert (view.handovers[-1].to_step, view.handovers[-1].to_unit) == ("gop", "000.01.21.H17")  # quyet_dinh's


def test_a_step_past_its_budget_is_graded_late_on_the_slip():
    case = Case(land_registration())
    case.do(DESK, Claim("tiep_nhan"), vn(16, 8, 5))
    view = case.do(DESK, Act("tiep_nhan", Action.FORWARD), vn(16, 15))  # 4 working hours from 8:00: due 14:00
    assert (view.handovers[0].due_at, view.handovers[0].grade) == (vn(16, 14), Grade.LATE)


@pytest.mark.parametrize("actor, command, error, reason", [
    (LAND, Act("tham_dinh", Action.FORWARD), FailedPrecondition, "STEP_NOT_CURRENT"),
    (TAX, Act("tiep_nhan", Action.FORWARD), PermissionDenied, "OTHER_UNIT"),
    (DESK, Act("tiep_nhan", Action.FORWARD), PermissionDenied, "NOT_ASSIGNED"),     # not claimed yet
    (LAND, Claim("tiep_nhan"), PermissionDenied, "OTHER_UNIT"),
    (LAND, Assign("tiep_nhan", "x"), PermissionDenied, "OTHER_UNIT"),
    (DESK, Assign("tiep_nhan", "x"), PermissionDenied, "LEADER_REQUIRED"),
    (DESK, Extend(WorkingDuration(days=1), "lý do"), PermissionDenied, "LEADER_REQUIRED"),
    (SYSTEM, Resume(), FailedPrecondition, "NOT_PAUSED"),
])
def test_refused_actions_say_why_and_write_nothing(actor, command, error, reason):
    case = Case(land_registration())
    with pytest.raises(error) as refused:
        case.do(actor, command, vn(16, 9))
    assert refused.value.reason == reason
    assert len(case.log) == 1 and case.view.seq == 1


def test_actions_the_template_does_not_allow_and_commands_missing_a_reason():
    case = Case(land_registration())
    case.do(DESK, Claim("tiep_nhan"), vn(16, 8, 5))
    with pytest.raises(FailedPrecondition) as not_allowed:
        case.do(DESK, Act("tiep_nhan", Action.FINISH), vn(16, 9))
    assert not_allowed.value.reason == "ACTION_NOT_ALLOWED" and "forward → tham_dinh" in str(not_allowed.value)
    case.do(DESK, Act("tiep_nhan", Action.FORWARD), vn(16, 9))
    case.do(LAND, Claim("tham_dinh"), vn(16, 10))
    with pytest.raises(FailedPrecondition) as taken:
        case.do(LAND_2, Claim("tham_dinh"), vn(16, 10))
    assert taken.value.reason == "ALREADY_ASSIGNED"
    for command in (Act("tham_dinh", Action.STOP), Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="  ")):
        with pytest.raises(InvalidArgument):
            case.do(LAND, command, vn(16, 11))
    for extend in (Extend(WorkingDuration(days=1), ""), Extend(WorkingDuration(), "lý do")):
        with pytest.raises(InvalidArgument):
            case.do(LEADER, extend, vn(16, 11))
    # The leader reassigns without a send-back; the first officer can no longer act.
    case.do(LEADER, Assign("tham_dinh", LAND_2.subject), vn(16, 13))
    with pytest.raises(PermissionDenied):
        case.do(LAND, Act("tham_dinh", Action.FORWARD), vn(16, 14))
    view = case.do(LAND_2, Act("tham_dinh", Action.STOP, reason="Người nộp đề nghị dừng"), vn(16, 14))
    assert (view.state, view.national_status) == (CaseState.STOPPED, 8)
    assert len(case.log) == 6 and [e.seq for e in case.log] == list(range(1, 7))


def test_the_log_cannot_have_gaps():
    case = Case(land_registration())
    entry = decide(case.view, case.template, DESK, Claim("tiep_nhan"), at=vn(16, 9))
    with pytest.raises(ValueError, match="follows entry 1"):
        journey.apply(case.view, case.template, CALENDAR, Entry(**{**entry.__dict__, "seq": 3}))


def _at_the_land_office(opened_at=None):
    case = Case(land_registration(), opened_at=opened_at)
    start = case.view.run("tiep_nhan").entered_at
    case.do(DESK, Claim("tiep_nhan"), start)
    case.do(DESK, Act("tiep_nhan", Action.FORWARD), start)
    case.do(LAND, Claim("tham_dinh"), start)
    return case


def test_an_extension_moves_the_running_step_s_due_time_and_the_slip_grades_against_it():
    case = _at_the_land_office()
    step_due = case.view.run("tham_dinh").clock.due_at  # 4 working days from Mon 16 8:00: Fri 20 8:00
    case_due = case.view.clock.due_at
    assert step_due == vn(20)
    view = case.do(LEADER, Extend(WorkingDuration(days=2), "Chờ xác minh ranh giới"), vn(19, 9))
    assert view.run("tham_dinh").clock.due_at == CALENDAR.add(step_due, WorkingDuration(days=2)) == vn(25)
    assert view.clock.due_at == CALENDAR.add(case_due, WorkingDuration(days=2))
    [extension] = view.extensions
    assert (extension.unit_code, extension.steps, extension.new_due_at) == (LEADER.unit_code, ("tham_dinh",),
                                                                           view.clock.due_at)
    # Handed over on Mon 23, past the step's own 4 days but within the extension: graded on its new due.
    view = case.do(LAND, Act("tham_dinh", Action.FORWARD), vn(23, 10))
    assert (view.handovers[-1].due_at, view.handovers[-1].grade) == (vn(25), Grade.EARLY)


def test_an_extension_moves_only_the_approving_leader_s_unit_s_branch():
    case = Case(parallel(), limit=WorkingDuration(days=8))
    before = {r.step: r.clock.due_at for r in case.view.runs}
    view = case.do(LEADER, Extend(WorkingDuration(hours=3), "Chờ hồ sơ địa chính"), vn(16, 9))
    assert view.run("a").clock.due_at == CALENDAR.add(before["a"], WorkingDuration(hours=3))  # LEADER's unit
    assert view.run("b").clock.due_at == before["b"]                                         # the other agency's
    assert view.extensions[0].steps == ("a",)


@settings(max_examples=60, deadline=None)
@given(opened=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 1),
                           timezones=st.just(VIETNAM)).map(lambda d: d.replace(second=0, microsecond=0)),
       extra=st.integers(1, 10 * 450), extended_after=st.integers(0, 20 * 24 * 60),
       handed_after=st.integers(0, 30 * 24 * 60))
def test_an_extension_of_a_running_step_adds_exactly_its_working_time(opened, extra, extended_after, handed_after):
    """Across weekends, Tết and compensatory days: the step is due `extra` working minutes after its
    due before, and its handover is graded against that new due time."""
    case = _at_the_land_office(opened)
    run = case.view.run("tham_dinh")
    extended_at = run.entered_at + dt.timedelta(minutes=extended_after)
    view = case.do(LEADER, Extend(WorkingDuration(minutes=extra), "Chờ ý kiến"), extended_at)
    due = view.run("tham_dinh").clock.due_at
    assert due == CALENDAR.add(run.clock.due_at, WorkingDuration(minutes=extra))
    assert CALENDAR.working_minutes(run.entered_at, due) == CALENDAR.working_minutes(run.entered_at,
                                                                                    run.clock.due_at) + extra
    handed_at = extended_at + dt.timedelta(minutes=handed_after)
    view = case.do(LAND, Act("tham_dinh", Action.FORWARD), handed_at)
    assert (view.handovers[-1].due_at, view.handovers[-1].grade) == (due, grade(handed_at, due))
