"""Routing's legal clocks (onestop_routing.domain.clocks): pauses credit exactly the working time paused,
across weekends, Tết, compensatory and make-up days, and pauses that span the due time."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing.domain.clocks import Clock, ClockError, Grade, grade

CALENDAR = WorkingCalendar()


def vn(year, month, day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VIETNAM)


# Moments over two years that include two Tết holidays, 30/4-1/5 and 2/9 with their compensatory
# days; to the minute, the precision of the clocks.
moments = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31),
                       timezones=st.just(VIETNAM)).map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=150, deadline=None)
@given(start=moments, budget=st.integers(1, 30 * 450), pause_after=st.integers(0, 40 * 24 * 60),
       pause_for=st.integers(0, 40 * 24 * 60))
def test_a_pause_credits_exactly_the_working_time_paused(start, budget, pause_after, pause_for):
    start = CALENDAR.next_working_moment(start)
    clock = Clock.start(CALENDAR, start, WorkingDuration(minutes=budget))
    paused_at = start + dt.timedelta(minutes=pause_after)
    resumed_at = paused_at + dt.timedelta(minutes=pause_for)
    resumed = clock.pause(paused_at).resume(CALENDAR, resumed_at)
    credit = CALENDAR.working_minutes(paused_at, resumed_at)
    assert resumed.paused_minutes == credit
    # Working time from the start to the new due time = the budget + exactly the paused working time,
    # whether the pause began before the original due time or after it.
    assert CALENDAR.working_minutes(start, resumed.due_at) == budget + credit
    assert resumed.due_at >= clock.due_at


@settings(max_examples=150, deadline=None)
@given(start=moments, budget=st.integers(1, 20 * 450), pauses=st.lists(st.integers(1, 10 * 24 * 60), max_size=3))
def test_running_time_until_the_due_time_is_the_budget_whatever_the_pauses(start, budget, pauses):
    start = CALENDAR.next_working_moment(start)
    clock, moment, running = Clock.start(CALENDAR, start, WorkingDuration(minutes=budget)), start, 0
    for length in pauses:  # run one working hour, then pause for `length` minutes of wall-clock time
        run_to = CALENDAR.add(moment, WorkingDuration(hours=1))
        running += CALENDAR.working_minutes(moment, run_to)
        moment = run_to + dt.timedelta(minutes=length)
        clock = clock.pause(run_to).resume(CALENDAR, moment)
    # What is left to run from the last resume is the budget minus what ran before (or overdue by it).
    assert clock.remaining_minutes(CALENDAR, moment) == budget - running


def test_a_pause_over_tet_2027_credits_only_working_days():
    # Due Wednesday 3/2/2027 16:00; paused that day at 10:00 until Monday 15/2 at 10:00. Tết (4/2 to
    # 10/2/2027 in the `holidays` package) and the weekends do not count: 3/2 10:00-17:00 (300 min),
    # 11/2 and 12/2 (450 each), 15/2 7:30-10:00 (150): three working days, so due 15/2 at 16:00.
    assert [d for d in range(3, 16) if CALENDAR.is_working_day(dt.date(2027, 2, d))] == [3, 11, 12, 15]
    resumed = Clock(due_at=vn(2027, 2, 3, 16)).pause(vn(2027, 2, 3, 10)).resume(CALENDAR, vn(2027, 2, 15, 10))
    assert resumed.paused_minutes == 3 * 450
    assert resumed.due_at == vn(2027, 2, 15, 16)


def test_a_pause_spanning_the_due_time_does_not_make_the_dossier_late():
    clock = Clock.start(CALENDAR, vn(2026, 11, 16, 8), WorkingDuration(days=2))  # due Wed 18/11 08:00
    assert clock.due_at == vn(2026, 11, 18, 8)
    resumed = clock.pause(vn(2026, 11, 17, 8)).resume(CALENDAR, vn(2026, 11, 20, 8))  # 3 working days
    assert resumed.due_at == vn(2026, 11, 23, 8)  # three working days later: Thu, Fri, Mon
    assert resumed.grade(vn(2026, 11, 20, 16)) is Grade.EARLY  # past the original due time, not late
    assert not resumed.is_overdue(vn(2026, 11, 20, 9))


def test_a_paused_clock_is_never_overdue_and_its_remaining_time_stands_still():
    clock = Clock(due_at=vn(2026, 11, 16, 9)).pause(vn(2026, 11, 16, 8))
    assert not clock.is_overdue(vn(2026, 11, 30, 9))
    assert clock.remaining_minutes(CALENDAR, vn(2026, 11, 30, 9)) == 60


# Agencies' own calendars: some weekend days made up as working days, some working days closed.
days = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31))
weekend_days, week_days = days.filter(lambda d: d.weekday() >= 5), days.filter(lambda d: d.weekday() < 5)


@settings(max_examples=150, deadline=None)
@given(make_up=st.frozensets(weekend_days, max_size=12), closures=st.frozensets(week_days, max_size=12),
       start=moments, budget=st.integers(1, 30 * 450), pause_after=st.integers(0, 40 * 24 * 60),
       pause_for=st.integers(0, 40 * 24 * 60))
def test_pauses_credit_exactly_under_make_up_days_and_closures(make_up, closures, start, budget, pause_after,
                                                                pause_for):
    """The pause property above, on calendars with make-up working days (a Saturday worked to make
    up for a bridge day, Decision of the Prime Minister each year) and an agency's closures."""
    calendar = WorkingCalendar(make_up_days=make_up, closures=closures)
    start = calendar.next_working_moment(start)
    clock = Clock.start(calendar, start, WorkingDuration(minutes=budget))
    assert calendar.working_minutes(start, clock.due_at) == budget
    paused_at = start + dt.timedelta(minutes=pause_after)
    resumed_at = paused_at + dt.timedelta(minutes=pause_for)
    resumed = clock.pause(paused_at).resume(calendar, resumed_at)
    credit = calendar.working_minutes(paused_at, resumed_at)
    assert resumed.paused_minutes == credit
    assert calendar.working_minutes(start, resumed.due_at) == budget + credit
    # A made-up day counts: the due time is never later than with the closures alone.
    without_make_up = Clock.start(WorkingCalendar(closures=closures), start, WorkingDuration(minutes=budget))
    assert clock.due_at <= without_make_up.due_at


def test_a_make_up_working_day_counts_and_an_agency_closure_does_not():
    saturday = dt.date(2026, 11, 21)
    calendar = WorkingCalendar(make_up_days=frozenset({saturday}), closures=frozenset({dt.date(2026, 11, 23)}))
    clock = Clock.start(calendar, vn(2026, 11, 20, 9), WorkingDuration(days=2))
    assert clock.due_at == vn(2026, 11, 25, 9)  # Sat 21 worked; Mon 23 closed; Tue 24 holiday; Wed 25
    assert Clock.start(CALENDAR, vn(2026, 11, 20, 9), WorkingDuration(days=2)).due_at == vn(2026, 11, 25, 9)
    assert Clock.start(calendar, vn(2026, 11, 20, 9), WorkingDuration(days=1)).due_at == vn(2026, 11, 21, 9)


def test_an_extension_moves_the_due_time_in_working_days_and_is_remembered():
    clock = Clock(due_at=vn(2026, 11, 20, 9)).extend(CALENDAR, WorkingDuration(days=3))
    assert clock.due_at == vn(2026, 11, 26, 9)  # Fri -> Mon, Tue (holiday skipped), Wed, Thu
    assert clock.extend(CALENDAR, WorkingDuration(hours=2)).extended == WorkingDuration(days=3, hours=2)


@pytest.mark.parametrize("finished, expected", [
    (vn(2026, 11, 20, 17), Grade.LATE),      # due 16:00, finished 17:00 the same day
    (vn(2026, 11, 20, 16), Grade.ON_TIME),   # exactly at the due time
    (vn(2026, 11, 20, 8), Grade.ON_TIME),    # the due day, before the due time
    (vn(2026, 11, 19, 16, 59), Grade.EARLY),
    (vn(2026, 11, 23, 8), Grade.LATE),
])
def test_grades_by_timestamp(finished, expected):
    assert grade(finished, vn(2026, 11, 20, 16)) is expected


def test_impossible_clock_changes_are_refused_with_a_reason():
    clock = Clock(due_at=vn(2026, 11, 20, 9))
    with pytest.raises(ClockError, match="not paused"):
        clock.resume(CALENDAR, vn(2026, 11, 20, 10))
    paused = clock.pause(vn(2026, 11, 19, 9))
    with pytest.raises(ClockError, match="already paused"):
        paused.pause(vn(2026, 11, 19, 10))
    with pytest.raises(ClockError, match="before the pause"):
        paused.resume(CALENDAR, vn(2026, 11, 18, 9))
    for extra in (WorkingDuration(), WorkingDuration(days=-1)):
        with pytest.raises(ClockError, match="positive"):
            clock.extend(CALENDAR, extra)
