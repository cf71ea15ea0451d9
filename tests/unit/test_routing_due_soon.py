"""When a running step is due soon (routing's inbox `due_soon_at`, the moment the overdue scan marks
it): on the calendar of the step's unit, as its due time."""

from __future__ import annotations

import datetime as dt

from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing.domain.clocks import Clock
from onestop_routing.domain.journey import StepRun
from onestop_routing.inbox import due_soon_at


def test_a_step_is_due_soon_on_its_own_unit_s_calendar():
    """Its unit's own closures (agency_closures) are not its working time, for the due-soon moment
    as for the step's due time (Clock.start on `calendar.for_unit`)."""
    unit, closed = "000.01.13.H17", dt.date(2026, 11, 17)  # the land office closes on Tuesday
    calendar = WorkingCalendar(unit_closures={unit: frozenset({closed})})
    entered = dt.datetime(2026, 11, 16, 0, 30, tzinfo=dt.UTC)  # Monday 07:30 in Hà Nội
    budget = WorkingDuration(days=2)
    run = StepRun(step="tham_dinh", unit_code=unit, entered_at=entered,
                  clock=Clock.start(calendar.for_unit(unit), entered, budget))
    soon = due_soon_at(calendar, run, budget, 0.8)  # 720 of 900 working minutes (7:30-11:30, 13:30-17:00)
    assert soon == calendar.for_unit(unit).add(entered, WorkingDuration(minutes=720))
    assert soon.astimezone(VIETNAM).date() == dt.date(2026, 11, 18)  # Wednesday: Tuesday is closed
    assert soon < run.clock.due_at
