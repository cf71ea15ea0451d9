"""Working-time arithmetic, one for every service (intake's appointments, routing's clocks):
weekends, Vietnam's public holidays (solar, lunar and compensatory days, from the `holidays`
package), the agency's own closures and the desk's working hours do not count; make-up working
days (ngày làm bù) do.

The legal time limit counts from the reception time: N working days later at the same time of
day, then any hours and minutes within working hours. A dossier received outside working hours
counts from the next opening.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays

from .datafiles import Reader, label, line_of, parse_file
from .errors import FieldViolation, InvalidArgument


@dataclass(frozen=True)
class WorkingDuration:
    """A legal time limit or a step's budget: working days, then working hours and minutes."""
    days: int = 0
    hours: int = 0
    minutes: int = 0

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_WINDOWS = ((dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0)))


@dataclass
class WorkingCalendar:
    windows: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_WINDOWS
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday
    closures: frozenset[dt.date] = frozenset()   # agency's own closures (days off)
    make_up_days: frozenset[dt.date] = frozenset()  # agency's own extra working days (weekend days worked)
    # Received at or after this time of a working day, a dossier counts from the next working day
    # (quy định giờ tiếp nhận: e.g. 16:00). None: it counts from the moment of reception.
    cutoff: dt.time | None = None
    _holidays: holidays.HolidayBase = field(default_factory=lambda: holidays.country_holidays("VN"))

    @classmethod
    def of(cls, days: CalendarDays, **options) -> WorkingCalendar:
        """The national calendar with an agency's closures and make-up days (`calendar_days`)."""
        return cls(closures=days.closures, make_up_days=days.make_up_days, **options)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._holidays or day in self.closures:  # (also loads that year's make-up days)
            return False
        # A make-up working day (ngày làm bù) is a weekend day worked in exchange for a bridge holiday.
        return (day.weekday() not in self.weekend or day in self._holidays.weekend_workdays
                or day in self.make_up_days)

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


CALENDAR_FILE_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class CalendarDays:
    """What an agency's calendar file adds to the national calendar."""
    closures: frozenset[dt.date] = frozenset()      # days off (nghỉ): an office move, a local holiday
    make_up_days: frozenset[dt.date] = frozenset()  # weekend days worked (ngày làm bù)


def calendar_file(content: bytes) -> CalendarDays:
    """Reads an agency's calendar file (YAML):

        closures:      [{date: 2026-12-31, note: "Chuyển trụ sở"}]
        make_up_days:  [{date: 2027-01-09, note: "Làm bù cho ngày 2/1"}]

    InvalidArgument naming the line of every problem: not a date, a date listed twice, a closure
    that is a make-up day too, a make-up day that is not a weekend day."""
    data, lines = parse_file(content, "yaml", max_bytes=CALENDAR_FILE_MAX_BYTES)
    reader = Reader()
    root = reader.mapping(data if data is not None else {}, (), ("closures", "make_up_days"))
    days: dict[str, dict[dt.date, tuple]] = {"closures": {}, "make_up_days": {}}
    for key, found in days.items():
        for i, item in enumerate(reader.items(root, (), key)):
            path = (key, i)
            entry = reader.mapping(item, path, ("date", "note"))
            day = reader.date(entry, path, "date")
            reader.text(entry, path, "note")
            if day is None:
                if entry and "date" not in entry:
                    reader.bad((*path, "date"), "is required")
                continue
            if day in found:
                reader.bad((*path, "date"), f"repeats {day.isoformat()} ({label(found[day])})")
            elif key == "make_up_days" and day.weekday() < 5:
                reader.bad((*path, "date"), f"{day.isoformat()} is a weekday: a make-up day is a weekend day worked")
            found[day] = path
    for day, path in days["make_up_days"].items():
        if day in days["closures"]:
            reader.bad((*path, "date"), f"{day.isoformat()} is a closure too ({label(days['closures'][day])})")
    if reader.problems:
        raise InvalidArgument.from_violations([FieldViolation(f"line {line_of(lines, p)}: {label(p)}", problem)
                                               for p, problem in reader.problems])
    return CalendarDays(frozenset(days["closures"]), frozenset(days["make_up_days"]))


def calendar_days(path: str) -> CalendarDays:
    """The days of the file at `path` ("" = none). OSError when it cannot be read; InvalidArgument
    (with lines) when it is not a valid calendar file: a process refuses to start with either."""
    if not path:
        return CalendarDays()
    with open(path, "rb") as file:
        return calendar_file(file.read())
