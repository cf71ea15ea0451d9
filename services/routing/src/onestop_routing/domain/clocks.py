"""Legal clocks in working time: a due time that stops while the dossier waits for the citizen,
moves by an approved extension, and grades the end. Plain Python.

Rules (DOMAIN.md "Time"; Decree 118/2025/NĐ-CP): limits count in working time; the clock stops
while the citizen supplements the dossier (status 5) or meets a financial obligation (status 6),
and on resuming exactly the working time paused is credited, across weekends, holidays and the
original due time (so a pause that spans the due time does not make the dossier late). A dossier
is early, on time or late by comparing the end of processing with the due time, paused time
already credited. Precision: whole working minutes (what the calendar counts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration


class Grade(StrEnum):
    EARLY = "early"      # trước hạn: finished on a working day before the due day
    ON_TIME = "on_time"  # đúng hạn: on the due day, at or before the due time
    LATE = "late"        # quá hạn: after the due time


GRADE_VI = {Grade.EARLY: "Trước hạn", Grade.ON_TIME: "Đúng hạn", Grade.LATE: "Quá hạn"}


class ClockError(ValueError):
    """An impossible clock change (pausing a paused clock, resuming a running one, a time before
    the last change); the caller refuses the action with FAILED_PRECONDITION."""


@dataclass(frozen=True)
class Clock:
    """One due time: the whole case's (the appointment) or one step's. Immutable: every change
    returns a new clock, as the case view is a fold of the journey log."""
    due_at: dt.datetime
    paused_at: dt.datetime | None = None
    paused_minutes: int = 0   # working minutes credited by pauses so far
    extended: WorkingDuration = WorkingDuration()

    @classmethod
    def start(cls, calendar: WorkingCalendar, at: dt.datetime, budget: WorkingDuration) -> Clock:
        """A clock started at `at` with `budget` working time (the step's, or the legal limit)."""
        return cls(due_at=calendar.add(at, budget))

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def pause(self, at: dt.datetime) -> Clock:
        if self.paused_at is not None:
            raise ClockError(f"the clock is already paused since {self.paused_at.isoformat()}")
        return replace(self, paused_at=at)

    def resume(self, calendar: WorkingCalendar, at: dt.datetime) -> Clock:
        """Credits the working minutes between the pause and `at` to the due time."""
        if self.paused_at is None:
            raise ClockError("the clock is not paused")
        if at < self.paused_at:
            raise ClockError(f"resumed at {at.isoformat()}, before the pause at {self.paused_at.isoformat()}")
        credit = calendar.working_minutes(self.paused_at, at)
        due = calendar.add(self.due_at, WorkingDuration(minutes=credit)) if credit else self.due_at
        return replace(self, due_at=due, paused_at=None, paused_minutes=self.paused_minutes + credit)

    def extend(self, calendar: WorkingCalendar, extra: WorkingDuration) -> Clock:
        """Moves the due time by `extra` working time (an extension approved by the unit's leader)."""
        if not (extra.days or extra.hours or extra.minutes) or min(extra.days, extra.hours, extra.minutes) < 0:
            raise ClockError("an extension adds a positive working time")
        total = WorkingDuration(self.extended.days + extra.days, self.extended.hours + extra.hours,
                                self.extended.minutes + extra.minutes)
        return replace(self, due_at=calendar.add(self.due_at, extra), extended=total)

    def remaining_minutes(self, calendar: WorkingCalendar, now: dt.datetime) -> int:
        """Working minutes left until the due time (negative: overdue by that much). While paused,
        counted at the pause, since the clock does not run."""
        at = self.paused_at or now
        if at <= self.due_at:
            return calendar.working_minutes(at, self.due_at)
        return -calendar.working_minutes(self.due_at, at)

    def is_overdue(self, now: dt.datetime) -> bool:
        """Past its due time and running (a paused clock is never overdue: it waits for the citizen)."""
        return self.paused_at is None and now > self.due_at

    def grade(self, finished_at: dt.datetime) -> Grade:
        """Early, on time or late, by timestamp: finished at 17:00 when due at 16:00 the same day is late."""
        return grade(finished_at, self.due_at)


def grade(finished_at: dt.datetime, due_at: dt.datetime) -> Grade:
    if finished_at > due_at:
        return Grade.LATE
    if finished_at.astimezone(VIETNAM).date() < due_at.astimezone(VIETNAM).date():
        return Grade.EARLY
    return Grade.ON_TIME
