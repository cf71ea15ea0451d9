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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

import holidays

from .codes import is_unit_code, normalise_code
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
    # One agency's own closed days (unit code -> days), on top of `closures`: see `for_unit`.
    unit_closures: Mapping[str, frozenset[dt.date]] = field(default_factory=dict)
    _units: dict[str, WorkingCalendar] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, days: CalendarDays, **options) -> WorkingCalendar:
        """The national calendar with the instance's closures and make-up days and each agency's
        own closures (`calendar_days`)."""
        return cls(closures=days.closures, make_up_days=days.make_up_days, unit_closures=days.unit_closures,
                   **options)

    def for_unit(self, unit_code: str) -> WorkingCalendar:
        """The calendar of one unit (by its national code, e.g. "000.00.40.H17"): this one plus the
        days that unit alone is closed (`agency_closures` of the calendar file). The same object for
        a unit without closures of its own; built once per unit. A unit's closures are its own: a
        closure of an agency does not close the units under it (each is listed by its code)."""
        own = self.unit_closures.get(unit_code)
        if not own:
            return self
        found = self._units.get(unit_code)
        if found is None:
            found = self._units[unit_code] = replace(self, closures=self.closures | own, unit_closures={})
        return found

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
    """What the instance's calendar file adds to the national calendar."""
    closures: frozenset[dt.date] = frozenset()      # days off (nghỉ) of every agency: an office move, a local holiday
    make_up_days: frozenset[dt.date] = frozenset()  # weekend days worked (ngày làm bù)
    # Days one agency alone is closed, by unit code (a commune office closed for an election day).
    unit_closures: Mapping[str, frozenset[dt.date]] = field(default_factory=dict)


def calendar_file(content: bytes) -> CalendarDays:
    """Reads the instance's calendar file (YAML):

        closures:        [{date: 2026-12-31, note: "Chuyển trụ sở"}]
        make_up_days:    [{date: 2027-01-09, note: "Làm bù cho ngày 2/1"}]
        agency_closures: [{unit_code: 000.00.40.H17, date: 2027-03-15, note: "Bầu cử"}]

    InvalidArgument naming the line of every problem: not a date, a date listed twice (for one
    unit, in agency_closures), a closure that is a make-up day too, a make-up day that is not a
    weekend day, an agency closure without a national unit code or on a day every agency is closed
    already (listed in `closures`)."""
    data, lines = parse_file(content, "yaml", max_bytes=CALENDAR_FILE_MAX_BYTES)
    reader = Reader()
    root = reader.mapping(data if data is not None else {}, (), ("closures", "make_up_days", "agency_closures"))
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
    units = _agency_closures(reader, root, days["closures"])
    if reader.problems:
        raise InvalidArgument.from_violations([FieldViolation(f"line {line_of(lines, p)}: {label(p)}", problem)
                                               for p, problem in reader.problems])
    return CalendarDays(frozenset(days["closures"]), frozenset(days["make_up_days"]),
                        {unit: frozenset(found) for unit, found in units.items()})


def _agency_closures(reader: Reader, root: dict, closures: Mapping[dt.date, tuple]) -> dict[str, dict[dt.date, tuple]]:
    """`agency_closures` entries {unit_code, date, note} by unit code; problems go to `reader`."""
    units: dict[str, dict[dt.date, tuple]] = {}
    for i, item in enumerate(reader.items(root, (), "agency_closures")):
        path = ("agency_closures", i)
        entry = reader.mapping(item, path, ("unit_code", "date", "note"))
        unit = normalise_code(reader.text(entry, path, "unit_code"))
        day = reader.date(entry, path, "date")
        reader.text(entry, path, "note")
        if not is_unit_code(unit):
            reader.bad((*path, "unit_code"), "is required: a national unit code like 000.00.40.H17"
                       if not unit else f"{unit!r} is not a national unit code like 000.00.40.H17")
        if day is None:
            if entry and "date" not in entry:
                reader.bad((*path, "date"), "is required")
            continue
        found = units.setdefault(unit, {})
        if day in found:
            reader.bad((*path, "date"), f"repeats {day.isoformat()} for {unit} ({label(found[day])})")
        elif day in closures:
            reader.bad((*path, "date"), f"{day.isoformat()} is closed for every agency already "
                                        f"({label(closures[day])})")
        found[day] = path
    return units


def calendar_days(path: str) -> CalendarDays:
    """The days of the file at `path` ("" = none). OSError when it cannot be read; InvalidArgument
    (with lines) when it is not a valid calendar file: a process refuses to start with either."""
    if not path:
        return CalendarDays()
    with open(path, "rb") as file:
        return calendar_file(file.read())


def calendar_cli(argv: list[str] | None = None) -> int:
    """`onestop-calendar check <file>`: reads a calendar file as every service will at start and
    says what it adds, or names the line of each problem (exit 1; 2 when it cannot be read). Run
    it before applying the ConfigMap `onestop-working-calendar`: a bad file stops every pod."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="onestop-calendar", description=calendar_cli.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check a working-calendar file (WORKING_CALENDAR_FILE)")
    check.add_argument("file")
    args = parser.parse_args(argv)
    try:
        days = calendar_days(args.file)
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except InvalidArgument as exc:
        for violation in exc.violations:
            print(f"{args.file}: {violation.field}: {violation.description}", file=sys.stderr)
        return 1
    agencies = sum(len(found) for found in days.unit_closures.values())
    print(f"{args.file}: ok: {len(days.closures)} closures of every agency, {len(days.make_up_days)} make-up "
          f"days, {agencies} closures of {len(days.unit_closures)} agencies of their own")
    for unit, found in sorted(days.unit_closures.items()):
        print(f"  {unit}: {', '.join(day.isoformat() for day in sorted(found))}")
    return 0
