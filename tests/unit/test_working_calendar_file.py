"""The agency's own calendar as data (issue 11, item 4): closures and make-up days from one file
(WORKING_CALENDAR_FILE) that every service reads, so intake's appointments and routing's clocks
agree; a bad file names its lines and stops the process at start."""

from __future__ import annotations

import datetime as dt

import pytest

from onestop_chassis.config import ConfigError, ServiceSettings, load_settings
from onestop_chassis.errors import InvalidArgument
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration, calendar_file
from onestop_intake.bootstrap import bootstrap as intake_bootstrap
from onestop_intake.config import IntakeSettings
from onestop_routing.bootstrap import bootstrap as routing_bootstrap
from onestop_routing.config import RoutingSettings
from onestop_routing.domain.clocks import Clock

from fakes import FakeCases, FakeCatalogue, FakeDossiers, FakeSequence, FakeTemplates, FakeTickets

GOOD = """\
closures:
  - {date: 2026-11-23, note: "Chuyển trụ sở"}
make_up_days:
  - {date: 2026-11-21, note: "Làm bù"}
"""


def vn(day, hour=9) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=VIETNAM)


def test_a_calendar_file_adds_the_agency_s_closures_and_make_up_days():
    days = calendar_file(GOOD.encode())
    assert (days.closures, days.make_up_days) == ({dt.date(2026, 11, 23)}, {dt.date(2026, 11, 21)})
    calendar = WorkingCalendar.of(days)
    # Fri 20 + 2 working days: Sat 21 is worked, Mon 23 closed, Tue 24 a national holiday -> Wed 25.
    assert calendar.add(vn(20), WorkingDuration(days=2)) == vn(25)
    assert WorkingCalendar().add(vn(20), WorkingDuration(days=2)) == vn(25)  # Mon 23, then Wed 25
    assert calendar.add(vn(20), WorkingDuration(days=1)) == dt.datetime(2026, 11, 21, 9, tzinfo=VIETNAM)


@pytest.mark.parametrize("content, line, problem", [
    ("closures:\n  - {date: 2026-13-01}\n", "line 2: closures[0].date", "must be a date YYYY-MM-DD"),
    ("closures:\n  - {date: 2026-12-31}\n  - {date: 2026-12-31}\n", "line 3: closures[1].date", "repeats 2026-12-31"),
    ("make_up_days:\n  - {date: 2026-12-30}\n", "line 2: make_up_days[0].date", "is a weekday"),
    ("closures:\n  - {date: 2027-01-09}\nmake_up_days:\n  - {date: 2027-01-09}\n", "line 4: make_up_days[0].date",
     "is a closure too"),
    ("closures:\n  - {note: x}\n", "line 2: closures[0].date", "is required"),
    ("holidays: []\n", "line 1: holidays", "is not a known field"),
])
def test_a_bad_calendar_file_names_the_line_of_each_problem(content, line, problem):
    with pytest.raises(InvalidArgument) as refused:
        calendar_file(content.encode())
    found = {v.field: v.description for v in refused.value.violations}
    assert line in found and problem in found[line], found


def test_a_process_with_a_bad_or_missing_calendar_file_does_not_start(tmp_path):
    bad = tmp_path / "calendar.yaml"
    bad.write_text("make_up_days:\n  - {date: 2026-12-30}\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(ServiceSettings, working_calendar_file=str(bad))
    assert f"WORKING_CALENDAR_FILE {bad}: line 2: make_up_days[0].date" in refused.value.message
    with pytest.raises(ConfigError) as unreadable:
        load_settings(ServiceSettings, working_calendar_file=str(tmp_path / "missing.yaml"))
    assert "WORKING_CALENDAR_FILE: cannot read" in unreadable.value.message


def test_intake_and_routing_compute_the_same_due_time_from_the_same_file(tmp_path):
    path = tmp_path / "calendar.yaml"
    path.write_text(GOOD)
    intake = intake_bootstrap(load_settings(IntakeSettings, documents_address="", working_calendar_file=str(path)),
                              dossiers=FakeDossiers(), catalogue=FakeCatalogue(), sequence=FakeSequence(),
                              tickets=FakeTickets())
    routing = routing_bootstrap(load_settings(RoutingSettings, working_calendar_file=str(path)),
                                cases=FakeCases(), templates=FakeTemplates())
    intake_calendar = intake.reception._calendar  # what the composition root gave each service
    routing_calendar = routing.service._calendar
    for start in (vn(19), vn(20, 16), vn(21, 10)):
        for budget in (WorkingDuration(days=1), WorkingDuration(days=3, hours=2)):
            appointment = intake_calendar.add(start, budget)
            assert Clock.start(routing_calendar, start, budget).due_at == appointment
    assert intake_calendar.add(vn(20), WorkingDuration(days=1)) == dt.datetime(2026, 11, 21, 9, tzinfo=VIETNAM)


def test_a_value_that_only_looks_like_a_date_is_read_as_text_for_the_reader_to_refuse():
    """2026-13-01 matches YAML's timestamp pattern; PyYAML raised a bare ValueError (no line) in
    every import (catalogue, templates, calendar). Now it stays text and the reader names its line."""
    from onestop_chassis.datafiles import parse_file
    data, lines = parse_file(b"a: 2026-12-31\nb: 2026-13-01\n", "yaml", max_bytes=1000)
    assert data == {"a": dt.date(2026, 12, 31), "b": "2026-13-01"} and lines[("b",)] == 2
