"""Working-time arithmetic for appointments: weekends, Vietnam's public holidays (solar, lunar and
compensatory days, from the `holidays` package) and the desk's working hours do not count.

The legal time limit counts from the reception time: N working days later at the same time of
day, then any hours and minutes within working hours. A dossier received outside working hours
counts from the next opening.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_WINDOWS = ((dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0)))


@dataclass(frozen=True)
class WorkingDuration:
    days: int = 0
    hours: int = 0
    minutes: int = 0


@dataclass
class WorkingCalendar:
    windows: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_WINDOWS
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday
    closures: frozenset[dt.date] = frozenset()   # agency's own closures
    # Received at or after this time of a working day, a dossier counts from the next working day
    # (quy định giờ tiếp nhận: e.g. 16:00). None: it counts from the moment of reception.
    cutoff: dt.time | None = None
    _holidays: holidays.HolidayBase = field(default_factory=lambda: holidays.country_holidays("VN"))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._holidays or day in self.closures:  # (also loads that year's make-up days)
            return False
        # A make-up working day (ngày làm bù) is a weekend day worked in exchange for a bridge holiday.
        return day.weekday() not in self.weekend or day in self._holidays.weekend_workdays

    def _next_working_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def next_working_moment(self, moment: dt.datetime) -> dt.datetime:
        """`moment` if it is inside working hours, else the next opening (in Vietnam time)."""
        local = moment.astimezone(VIETNAM)
        day = local.date()
        if self.is_working_day(day):
            for start, end in self.windows:
                if local.time() < start:
                    return dt.datetime.combine(day, start, VIETNAM)
                if local.time() < end:
                    return local
        return dt.datetime.combine(self._next_working_day(day), self.windows[0][0], VIETNAM)

    def working_minutes(self, start: dt.datetime, end: dt.datetime) -> int:
        """Whole working minutes between two moments (0 when end is not after start)."""
        total, moment = dt.timedelta(0), self.next_working_moment(start)
        end = end.astimezone(VIETNAM)
        while moment < end:
            window_end = next(dt.datetime.combine(moment.date(), e, VIETNAM)
                              for s, e in self.windows if s <= moment.time() < e)
            total += min(window_end, end) - moment
            moment = self.next_working_moment(window_end)
        return int(total.total_seconds() // 60)

    def counting_start(self, received_at: dt.datetime) -> dt.datetime:
        """When the legal time starts for a dossier received at `received_at` (cut-off applied)."""
        local = received_at.astimezone(VIETNAM)
        if self.cutoff is not None and self.is_working_day(local.date()) and local.time() >= self.cutoff:
            return dt.datetime.combine(self._next_working_day(local.date()), self.windows[0][0], VIETNAM)
        return self.next_working_moment(received_at)

    def appointment(self, received_at: dt.datetime, duration: WorkingDuration) -> dt.datetime:
        """The appointment (hẹn trả) for a dossier received at `received_at`."""
        return self.add(self.counting_start(received_at), duration)

    def add(self, start: dt.datetime, duration: WorkingDuration) -> dt.datetime:
        moment = self.next_working_moment(start)
        for _ in range(duration.days):
            moment = dt.datetime.combine(self._next_working_day(moment.date()), moment.time(), VIETNAM)
        remaining = dt.timedelta(hours=duration.hours, minutes=duration.minutes)
        while remaining > dt.timedelta(0):
            window_end = next(dt.datetime.combine(moment.date(), end, VIETNAM)
                              for start, end in self.windows if start <= moment.time() < end)
            available = window_end - moment
            if remaining <= available:
                return moment + remaining
            remaining -= available
            moment = self.next_working_moment(window_end)
        return moment
