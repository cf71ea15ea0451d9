"""Feedback's domain (onestop_survey.feedback.domain): answer deadlines in working days across
holidays (hand-computed, and properties with hypothesis), the reopen window, ratings, the
indicators 7 and 8 of Circular 01/2018/TT-VPCP art. 13 at their boundaries, and the types file."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop_chassis import auth
from onestop_chassis.errors import FailedPrecondition, InvalidArgument
from onestop_chassis.worktime import VIETNAM, WorkingCalendar
from onestop_survey.bootstrap import BUILT_IN_TYPES
from onestop_survey.feedback import domain
from onestop_survey.feedback.domain import Actor, Entry, Kind, State

CALENDAR = WorkingCalendar()
TYPES = domain.load_types(BUILT_IN_TYPES.read_bytes())
UNIT = "000.00.21.H17"
WORKING_DAY_MINUTES = 450  # 07:30-11:30 and 13:30-17:00


def vn(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VIETNAM)


def filing(type_code="thu-tuc", content="Hướng dẫn chưa rõ ràng", **person) -> domain.Filing:
    return domain.Filing(code="PA-260429-ABCDEF", secret_hash="x", agency_code=UNIT, type_code=type_code,
                         content=content, complainant=domain.Complainant(
                             domain.FiledBy.PERSON, person.get("name", "Nguyễn Văn An"),
                             person.get("phone", "0912345678")))


def item(filed_at: dt.datetime, due_at: dt.datetime, *later: Entry, type_code="thu-tuc") -> domain.Feedback:
    first = Entry(seq=1, kind=Kind.FILED, at=filed_at, actor=Actor("", auth.CITIZEN), due_at=due_at)
    return domain.fold(filing(type_code), [first, *later])


def answered(seq: int, at: dt.datetime, founded=False) -> Entry:
    return Entry(seq=seq, kind=Kind.ANSWERED, at=at, actor=Actor("cb", auth.PROCESSING_OFFICER, UNIT),
                 answer="Đã trả lời", founded=founded)


# -- deadlines ---------------------------------------------------------------------------------------
def test_a_deadline_skips_the_april_and_may_holidays_and_the_weekend():
    # Filed Wed 29/4/2026 10:00; 30/4 (Thu) and 1/5 (Fri) are holidays, 2-3/5 a weekend: five
    # working days are Mon 4, Tue 5, Wed 6, Thu 7, Fri 8 May, at the same time of day.
    due = domain.answer_due(CALENDAR, vn(2026, 4, 29, 10, 0), 5)
    assert due == vn(2026, 5, 8, 10, 0)
    assert due.tzinfo == dt.UTC


def test_a_deadline_skips_tet():
    # Filed Fri 13/2/2026 10:00; Tết is Mon 16 to Fri 20 February 2026, then a weekend: three
    # working days are Mon 23, Tue 24, Wed 25 February.
    assert domain.answer_due(CALENDAR, vn(2026, 2, 13, 10, 0), 3) == vn(2026, 2, 25, 10, 0)


def test_filed_after_hours_counts_from_the_next_opening():
    # Friday 8/5/2026 at 20:00: counting starts Monday 11/5 07:30; two working days: Wed 13/5 07:30.
    assert domain.answer_due(CALENDAR, vn(2026, 5, 8, 20, 0), 2) == vn(2026, 5, 13, 7, 30)


def test_a_zero_day_type_is_due_at_filing_whatever_the_hour():
    sunday_night = vn(2026, 5, 10, 23, 0)
    assert domain.answer_due(CALENDAR, sunday_night, 0) == sunday_night


MOMENTS = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 1)).map(
    lambda d: d.replace(tzinfo=dt.UTC))


@settings(max_examples=150, deadline=None)
@given(filed=MOMENTS, days=st.integers(min_value=1, max_value=20))
def test_a_deadline_is_exactly_that_many_working_days_of_working_time(filed, days):
    due = domain.answer_due(CALENDAR, filed, days)
    assert due > filed
    assert CALENDAR.working_minutes(filed, due) == days * WORKING_DAY_MINUTES
    assert CALENDAR.is_working_day(due.astimezone(VIETNAM).date())


@settings(max_examples=100, deadline=None)
@given(filed=MOMENTS, later=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=40)),
       days=st.integers(min_value=0, max_value=15))
def test_filing_later_never_makes_the_deadline_earlier(filed, later, days):
    assert domain.answer_due(CALENDAR, filed + later, days) >= domain.answer_due(CALENDAR, filed, days)


# -- the log -----------------------------------------------------------------------------------------
def test_the_log_folds_into_the_states_of_the_workflow():
    filed_at = vn(2026, 5, 4, 9, 0)
    due = domain.answer_due(CALENDAR, filed_at, 5)
    log = [Entry(seq=2, kind=Kind.ASSIGNED, at=filed_at, actor=Actor("ld", auth.UNIT_LEADER, UNIT),
                 unit_code="000.00.22.H17", type_code="thu-tuc", due_at=due),
           answered(3, vn(2026, 5, 5, 9, 0)),
           Entry(seq=4, kind=Kind.REOPENED, at=vn(2026, 5, 6, 9, 0), actor=Actor("", auth.CITIZEN),
                 reason="Chưa thỏa đáng", due_at=vn(2026, 5, 20, 9, 0)),
           answered(5, vn(2026, 5, 7, 9, 0)),
           Entry(seq=6, kind=Kind.RATED, at=vn(2026, 5, 8, 9, 0), actor=Actor("", auth.CITIZEN), rating=3)]
    states = [item(filed_at, due, *log[:n]).state for n in range(len(log) + 1)]
    assert states == [State.FILED, State.ASSIGNED, State.ANSWERED, State.REOPENED, State.ANSWERED, State.CLOSED]
    final = item(filed_at, due, *log)
    assert (final.unit_code, final.reopens, final.rating, final.seq) == ("000.00.22.H17", 1, 3, 6)
    assert final.first_answered_at == vn(2026, 5, 5, 9, 0) and final.answered_at == vn(2026, 5, 7, 9, 0)
    assert final.answered_on_time()


def test_overdue_only_while_unanswered_past_the_deadline():
    filed_at = vn(2026, 5, 4, 9, 0)
    open_item = item(filed_at, filed_at + dt.timedelta(hours=1))
    assert not open_item.overdue(filed_at + dt.timedelta(hours=1))
    assert open_item.overdue(filed_at + dt.timedelta(hours=1, seconds=1))
    done = item(filed_at, filed_at + dt.timedelta(hours=1), answered(2, filed_at + dt.timedelta(hours=2)))
    assert not done.overdue(filed_at + dt.timedelta(days=9))
    assert not done.answered_on_time()


def test_on_time_is_judged_against_the_deadline_in_force_at_the_first_answer():
    filed_at = vn(2026, 5, 4, 9, 0)
    reclassified = Entry(seq=2, kind=Kind.ASSIGNED, at=filed_at, actor=Actor("ld", auth.UNIT_LEADER, UNIT),
                         unit_code=UNIT, type_code="thai-do", due_at=filed_at + dt.timedelta(hours=1))
    late = item(filed_at, filed_at + dt.timedelta(days=10), reclassified, answered(3, filed_at + dt.timedelta(hours=2)))
    assert not late.answered_on_time()
    reopened = Entry(seq=4, kind=Kind.REOPENED, at=filed_at, actor=Actor("", "c"),
                     due_at=filed_at + dt.timedelta(days=9))
    again = domain.apply(domain.apply(late, reopened), answered(5, filed_at + dt.timedelta(hours=3)))
    assert not again.answered_on_time()  # a later answer within a new deadline does not make it on time


# -- reopening and rating ----------------------------------------------------------------------------
def test_reopening_is_refused_after_the_window_with_its_end_named():
    at = vn(2026, 5, 4, 9, 0)
    done = item(at, at + dt.timedelta(days=5), answered(2, at))
    end = domain.reopen_window_end(CALENDAR, at, 5)
    assert end == vn(2026, 5, 11, 9, 0)  # Mon 4/5 + 5 working days: Tue..Fri, Mon 11/5
    domain.check_reopen(done, end, end, max_reopens=2)  # the last moment still counts
    with pytest.raises(FailedPrecondition) as late:
        domain.check_reopen(done, end + dt.timedelta(seconds=1), end, max_reopens=2)
    assert late.value.reason == "REOPEN_WINDOW_ENDED"
    assert late.value.metadata["window_end"] == "2026-05-11T02:00:00.000Z"
    assert "09:00 11/05/2026" in late.value.message


def test_reopening_needs_an_answer_and_stays_within_its_limit():
    at = vn(2026, 5, 4, 9, 0)
    with pytest.raises(FailedPrecondition) as unanswered:
        domain.check_reopen(item(at, at), at, None, max_reopens=2)
    assert unanswered.value.reason == "NOT_ANSWERED"
    reopened_once = item(at, at, answered(2, at), Entry(seq=3, kind=Kind.REOPENED, at=at, actor=Actor("", "c"),
                                                         due_at=at), answered(4, at))
    with pytest.raises(FailedPrecondition) as limit:
        domain.check_reopen(reopened_once, at, at, max_reopens=1)
    assert limit.value.reason == "REOPEN_LIMIT"


def test_a_rating_is_given_once_to_an_answer_and_in_range():
    at = vn(2026, 5, 4, 9, 0)
    done = item(at, at, answered(2, at))
    domain.check_rating(done, 3)
    for bad in (0, 4, -1):
        with pytest.raises(InvalidArgument):
            domain.check_rating(done, bad)
    rated = item(at, at, answered(2, at), Entry(seq=3, kind=Kind.RATED, at=at, actor=Actor("", "c"), rating=1))
    with pytest.raises(FailedPrecondition) as twice:
        domain.check_rating(rated, 2)
    assert twice.value.reason == "ALREADY_RATED"
    with pytest.raises(FailedPrecondition) as early:
        domain.check_rating(item(at, at), 2)
    assert early.value.reason == "NOT_ANSWERED"


# -- indicators 7 and 8 ------------------------------------------------------------------------------
NOON = vn(2026, 5, 4, 12, 0)


def on_time(n: int, type_code="thu-tuc", founded=False) -> list[domain.Feedback]:
    return [item(NOON, NOON + dt.timedelta(days=5), answered(2, NOON + dt.timedelta(days=1), founded),
                 type_code=type_code) for _ in range(n)]


def late(n: int) -> list[domain.Feedback]:
    return [item(NOON, NOON + dt.timedelta(days=1), answered(2, NOON + dt.timedelta(days=2))) for _ in range(n)]


def unanswered_past_due(n: int) -> list[domain.Feedback]:
    return [item(NOON, NOON + dt.timedelta(days=1)) for _ in range(n)]


LATER = NOON + dt.timedelta(days=10)


@pytest.mark.parametrize("items, due, on_time_count, points", [
    ([], 0, 0, 2),                                  # none: 2 points
    (on_time(10), 10, 10, 2),                        # all on time, none protracted
    (on_time(9) + late(1), 10, 9, 1),                # exactly 90 %
    (on_time(17) + late(2), 19, 17, 0),              # 89.5 %: below 90 %
    (on_time(19) + unanswered_past_due(1), 20, 19, 1),  # 95 % but one protracted: not 2
    ([item(NOON, LATER + dt.timedelta(days=1))], 0, 0, 2),  # open, not yet due: not counted
])
def test_indicator_8_at_its_boundaries(items, due, on_time_count, points):
    found = domain.indicators(UNIT, items, TYPES, LATER)
    assert (found.due, found.answered_on_time, found.indicator_8_points) == (due, on_time_count, points)


def test_indicator_7_counts_only_founded_complaints_about_officers():
    unfounded = on_time(3, type_code="thai-do", founded=False)
    founded_other_type = on_time(1, type_code="thu-tuc", founded=True)
    assert not domain.indicators(UNIT, unfounded + founded_other_type, TYPES, LATER).indicator_7_complaint
    found = domain.indicators(UNIT, unfounded + on_time(1, type_code="thai-do", founded=True), TYPES, LATER)
    assert (found.founded_officer_complaints, found.indicator_7_complaint, found.filed) == (1, True, 4)


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("draft, field", [
    (filing(content="   "), "content"),
    (filing(content="x" * (domain.MAX_CONTENT_CHARS + 1)), "content"),
    (filing(type_code="no-such-type"), "type_code"),
    (filing(name=" "), "complainant.name"),
    (filing(phone=""), "complainant"),
])
def test_a_filing_without_content_or_contact_is_refused_naming_the_field(draft, field):
    with pytest.raises(InvalidArgument) as refused:
        domain.check_filing(draft, TYPES)
    assert [v.field for v in refused.value.violations] == [field]


def test_text_from_bytes_refuses_what_is_not_utf8_or_too_long():
    assert domain.text_from_bytes("Thái độ".encode(), "content", 10) == "Thái độ"
    with pytest.raises(InvalidArgument) as not_utf8:
        domain.text_from_bytes("Thái".encode() + b"\xff\xfe", "content", 100)
    assert (not_utf8.value.reason, not_utf8.value.metadata["offset"]) == ("NOT_UTF8", "5")
    with pytest.raises(InvalidArgument) as too_long:
        domain.text_from_bytes(b"a" * 11, "content", 10)
    assert too_long.value.reason == "TEXT_TOO_LONG"


def test_the_built_in_types_and_a_bad_types_file():
    assert TYPES["thai-do"].about_officer and TYPES["thu-tuc"].answer_days == 10
    with pytest.raises(InvalidArgument) as bad:
        domain.load_types(b"- code: ok-type\n  name: A\n  answer_days: 3\n- code: Bad Code\n  name: B\n"
                          b"  answer_days: 99\n")
    fields = [v.field for v in bad.value.violations]
    assert fields == ["line 4: [1].code", "line 6: [1].answer_days"]
