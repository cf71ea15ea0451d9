import datetime as dt

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration

CALENDAR = WorkingCalendar()


def vn(year, month, day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VIETNAM)


def days(n) -> WorkingDuration:
    return WorkingDuration(days=n)


def test_three_working_days_from_monday_morning():
    assert CALENDAR.add(vn(2026, 11, 16, 9), days(3)) == vn(2026, 11, 19, 9)  # Monday -> Thursday


def test_weekend_is_skipped():
    assert CALENDAR.add(vn(2026, 10, 22, 10), days(2)) == vn(2026, 10, 26, 10)  # Thursday -> Monday
    # Thursday -> Wednesday: Friday, Monday, and Tuesday 24/11 is Vietnam Cultural Day.
    assert CALENDAR.add(vn(2026, 11, 19, 9), days(3)) == vn(2026, 11, 25, 9)


def test_received_on_saturday_counts_from_monday_opening():
    saturday = vn(2026, 11, 14, 10)
    assert CALENDAR.next_working_moment(saturday) == vn(2026, 11, 16, 7, 30)
    assert CALENDAR.add(saturday, WorkingDuration()) == vn(2026, 11, 16, 7, 30)
    assert CALENDAR.add(saturday, days(1)) == vn(2026, 11, 17, 7, 30)


def test_lunch_break_does_not_count():
    # 11:00-11:30 counts, 11:30-13:30 does not, the rest runs from 13:30.
    assert CALENDAR.add(vn(2026, 11, 16, 11), WorkingDuration(hours=1, minutes=30)) == vn(2026, 11, 16, 14, 30)
    assert CALENDAR.add(vn(2026, 11, 16, 11), WorkingDuration(hours=2)) == vn(2026, 11, 16, 15)
    assert CALENDAR.add(vn(2026, 11, 16, 11), WorkingDuration(minutes=30)) == vn(2026, 11, 16, 11, 30)


def test_received_during_lunch_counts_from_13_30():
    assert CALENDAR.add(vn(2026, 11, 16, 12), WorkingDuration(minutes=30)) == vn(2026, 11, 16, 14)


def test_received_after_closing_counts_from_next_morning():
    assert CALENDAR.next_working_moment(vn(2026, 11, 16, 17, 5)) == vn(2026, 11, 17, 7, 30)
    assert CALENDAR.add(vn(2026, 11, 16, 17, 5), WorkingDuration(hours=1)) == vn(2026, 11, 17, 8, 30)


def test_hours_run_over_into_the_next_working_day():
    friday_afternoon = vn(2026, 11, 13, 16)
    assert CALENDAR.add(friday_afternoon, WorkingDuration(hours=2)) == vn(2026, 11, 16, 8, 30)


def test_utc_input_is_read_in_vietnam_time():
    monday_9_in_utc = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)
    assert CALENDAR.add(monday_9_in_utc, days(1)) == vn(2026, 11, 17, 9)


def test_national_day_is_skipped():
    # 2026: 31/8 (substitute day), 1/9 and 2/9 are public holidays.
    assert not CALENDAR.is_working_day(dt.date(2026, 9, 2))
    assert CALENDAR.add(vn(2026, 8, 28, 9), days(1)) == vn(2026, 9, 3, 9)


def test_lunar_new_year_is_skipped():
    assert CALENDAR.add(vn(2026, 2, 13, 9), days(1)) == vn(2026, 2, 23, 9)  # Tết: 16/2-20/2/2026


def test_agency_closures_are_skipped():
    closed = WorkingCalendar(closures=frozenset({dt.date(2026, 11, 17), dt.date(2026, 11, 18)}))
    assert not closed.is_working_day(dt.date(2026, 11, 17))
    assert closed.add(vn(2026, 11, 16, 9), days(1)) == vn(2026, 11, 19, 9)
    assert CALENDAR.add(vn(2026, 11, 16, 9), days(1)) == vn(2026, 11, 17, 9)


# -- properties ---------------------------------------------------------------------------------

moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31),
                       timezones=st.just(VIETNAM)).map(lambda m: m.replace(second=0, microsecond=0))
durations = st.builds(WorkingDuration, days=st.integers(0, 30), hours=st.integers(0, 40),
                      minutes=st.integers(0, 59))
PROPERTY = settings(max_examples=200, deadline=None)


def _in_working_hours(moment: dt.datetime) -> bool:
    local = moment.astimezone(VIETNAM)
    return CALENDAR.is_working_day(local.date()) and any(
        start <= local.time() <= end for start, end in CALENDAR.windows)  # a deadline may fall at closing


@PROPERTY
@given(moments, durations)
def test_result_is_never_before_the_start(start, duration):
    assert CALENDAR.add(start, duration) >= start


@PROPERTY
@given(moments, durations)
def test_result_lies_in_working_hours(start, duration):
    assume(duration != WorkingDuration())
    assert _in_working_hours(CALENDAR.add(start, duration))


@PROPERTY
@given(moments, st.integers(0, 25), st.integers(0, 25))
def test_days_add_up(any_moment, d1, d2):
    start = CALENDAR.next_working_moment(any_moment)  # inside working hours
    assert CALENDAR.add(CALENDAR.add(start, days(d1)), days(d2)) == CALENDAR.add(start, days(d1 + d2))


@PROPERTY
@given(moments, durations, st.integers(0, 5), st.integers(0, 10), st.integers(0, 120))
def test_longer_duration_never_ends_earlier(start, shorter, more_days, more_hours, more_minutes):
    longer = WorkingDuration(days=shorter.days + more_days, hours=shorter.hours + more_hours,
                             minutes=shorter.minutes + more_minutes)
    assert CALENDAR.add(start, shorter) <= CALENDAR.add(start, longer)


@PROPERTY
@given(moments, st.integers(0, 2000))
def test_working_minutes_are_counted_exactly(any_moment, minutes):
    """Inverse check: the working minutes between start and result equal the duration."""
    start = CALENDAR.next_working_moment(any_moment)
    end = CALENDAR.add(start, WorkingDuration(minutes=minutes))
    counted, moment = 0, start
    while moment < end:
        if _in_working_hours(moment) and CALENDAR.next_working_moment(moment) == moment:
            counted += 1
        moment += dt.timedelta(minutes=1)
    assert counted == minutes
