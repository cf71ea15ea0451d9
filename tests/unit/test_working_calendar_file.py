"""The agency's own calendar as data (issue 11, item 4): closures and make-up days from one file
(WORKING_CALENDAR_FILE) that every service reads, so intake's appointments and routing's clocks
agree; a bad file names its lines and stops the process at start."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- an agency's own closures (issue 11, gaps item 2) -------------------------------------------

COMMUNE, DISTRICT = "000.00.40.H17", "000.00.41.H17"
WITH_AGENCIES = GOOD + f"""\
agency_closures:
  - {{unit_code: "{COMMUNE}", date: 2026-11-20, note: "Bầu cử đại biểu Hội đồng nhân dân"}}
  - {{unit_code: "{COMMUNE}", date: 2026-11-25}}
"""


def test_an_agency_s_own_closures_close_that_unit_only():
    days = calendar_file(WITH_AGENCIES.encode())
    assert dict(days.unit_closures) == {COMMUNE: {dt.date(2026, 11, 20), dt.date(2026, 11, 25)}}
    calendar = WorkingCalendar.of(days)
    commune = calendar.for_unit(COMMUNE)
    assert calendar.for_unit(DISTRICT) is calendar and calendar.for_unit(COMMUNE) is commune  # built once
    # Thu 19 + 1 working day: Fri 20 for everyone; the commune is closed on 20 but works Sat 21 (make-up).
    assert calendar.for_unit(DISTRICT).add(vn(19), WorkingDuration(days=1)) == vn(20)
    assert commune.add(vn(19), WorkingDuration(days=1)) == vn(21)
    # + 3: the commune works Sat 21, skips Mon 23 (everyone's closure), Tue 24 (holiday), 25 (its own): Fri 27.
    assert commune.add(vn(19), WorkingDuration(days=3)) == vn(27)
    assert calendar.add(vn(19), WorkingDuration(days=3)) == vn(25)
    assert commune.working_minutes(vn(20, 7), vn(20, 18)) == 0 < calendar.working_minutes(vn(20, 7), vn(20, 18))


@pytest.mark.parametrize("content, line, problem", [
    ("agency_closures:\n  - {date: 2026-11-20}\n", "line 2: agency_closures[0].unit_code", "is required"),
    ("agency_closures:\n  - {unit_code: 'UBND xã', date: 2026-11-20}\n", "line 2: agency_closures[0].unit_code",
     "is not a national unit code"),
    ("agency_closures:\n  - {unit_code: '000.00.40.H17'}\n", "line 2: agency_closures[0].date", "is required"),
    ("agency_closures:\n  - {unit_code: '000.00.40.H17', date: 2026-11-31}\n", "line 2: agency_closures[0].date",
     "must be a date"),
    ("agency_closures:\n  - {unit_code: '000.00.40.H17', date: 2026-11-20}\n"
     "  - {unit_code: '000.00.40.h17', date: 2026-11-20}\n", "line 3: agency_closures[1].date", "repeats 2026-11-20"),
    ("closures:\n  - {date: 2026-11-20}\nagency_closures:\n  - {unit_code: '000.00.40.H17', date: 2026-11-20}\n",
     "line 4: agency_closures[0].date", "closed for every agency already"),
    ("agency_closures:\n  - {unit: '000.00.40.H17', date: 2026-11-20}\n", "line 2: agency_closures[0].unit",
     "is not a known field"),
])
def test_a_bad_agency_closure_names_its_line(content, line, problem):
    with pytest.raises(InvalidArgument) as refused:
        calendar_file(content.encode())
    found = {v.field: v.description for v in refused.value.violations}
    assert line in found and problem in found[line], found


def test_the_same_agency_closure_file_is_valid_for_two_units_on_one_day():
    days = calendar_file(f"agency_closures:\n  - {{unit_code: '{COMMUNE}', date: 2026-11-20}}\n"
                         f"  - {{unit_code: '{DISTRICT}', date: 2026-11-20}}\n".encode())
    assert set(days.unit_closures) == {COMMUNE, DISTRICT}


def test_intake_s_appointment_and_routing_s_clock_agree_for_an_agency_with_closures(tmp_path):
    """The same file, the same agency and the same input: intake's appointment for a dossier the
    commune receives equals the due time routing's clock computes for a step the commune performs
    with the same budget, closures of the commune's own counted by both; another unit differs."""
    from onestop_chassis import auth
    from onestop_intake.catalogue import domain as catalogue_domain
    from onestop_intake.reception import domain as reception
    from onestop_intake.units import domain as units
    from onestop_routing import domain as routing_domain
    from onestop_routing.domain.process import Action, ProcessTemplate, Transition

    from routing_samples import task

    path = tmp_path / "calendar.yaml"
    path.write_text(WITH_AGENCIES)
    budget = WorkingDuration(days=3, hours=2)
    procedure = catalogue_domain.Procedure("1.000001", "Chứng thực bản sao", budget, COMMUNE, process_code="QT.X")
    received = vn(19, 10).astimezone(dt.UTC)
    intake = intake_bootstrap(load_settings(IntakeSettings, documents_address="", working_calendar_file=str(path)),
                              dossiers=FakeDossiers(), sequence=FakeSequence(), tickets=FakeTickets(),
                              catalogue=FakeCatalogue((procedure,), (units.Unit(COMMUNE, "UBND xã An Bình"),)),
                              clock=lambda: received)
    dossier = intake.reception.submit(reception.SubmitDossier(
        request_id="r1", procedure_code=procedure.code, channel=reception.Channel.IN_PERSON,
        applicant=reception.Applicant(kind=reception.ApplicantKind.PERSON, full_name="Lê Văn Bình",
                                      citizen_id="001203004567", phone="0912345678")),
        auth.Principal("desk", frozenset({auth.DESK_OFFICER}), COMMUNE)).dossier
    # Thu 19 10:00 + 3 days: Sat 21 (make-up), Thu 26, Fri 27 (20 and 25 its own closures, 23 everyone's,
    # 24 a holiday), + 2 hours: 10:00-11:30, 13:30-14:00.
    assert dossier.appointment_at == vn(27, 14)
    template = ProcessTemplate(process_code="QT.X", version=1, name="Chứng thực", legal_limit=budget,
                               start_step="xu_ly", steps=(task("xu_ly", COMMUNE, budget),),
                               transitions=(Transition("xu_ly", Action.FINISH),))
    routing = routing_bootstrap(load_settings(RoutingSettings, working_calendar_file=str(path)),
                                cases=FakeCases(), templates=FakeTemplates(template), clock=lambda: received)
    routing.service.open_case(routing_domain.OpenCase(
        event_id="e1", dossier_code=dossier.code, procedure_code=procedure.code, procedure_name=procedure.name,
        receiving_unit_code=COMMUNE, receiving_unit_name="UBND xã An Bình", channel=1, applicant_name="Lê Văn Bình",
        received_at=received, due_at=dossier.appointment_at, process_code="QT.X"))
    view = routing.service.get_case(dossier.code, auth.Principal("desk", frozenset({auth.DESK_OFFICER}),
                                                                 COMMUNE)).view
    assert view.run("xu_ly").clock.due_at == dossier.appointment_at
    other = routing.service._calendar.for_unit(DISTRICT)
    assert Clock.start(other, received, budget).due_at == vn(25, 14) != dossier.appointment_at


def test_the_check_command_says_what_a_file_adds_or_names_each_bad_line(tmp_path, capsys):
    from onestop_chassis.worktime import calendar_cli

    good = tmp_path / "good.yaml"
    good.write_text(WITH_AGENCIES)
    assert calendar_cli(["check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "ok: 1 closures of every agency, 1 make-up days, 2 closures of 1 agencies" in out
    assert f"{COMMUNE}: 2026-11-20, 2026-11-25" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("agency_closures:\n  - {unit_code: 'x', date: 2026-11-20}\n  - {unit_code: '000.00.40.H17'}\n")
    assert calendar_cli(["check", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{bad}: line 2: agency_closures[0].unit_code: 'X' is not a national unit code like 000.00.40.H17",
                   f"{bad}: line 3: agency_closures[1].date: is required"]
    assert calendar_cli(["check", str(tmp_path / "missing.yaml")]) == 2


@pytest.mark.parametrize("shipped", ["deploy/local/working-calendar.yaml", "deploy/k8s/base/working-calendar.yaml"])
def test_the_shipped_calendar_files_pass_the_check(shipped, capsys):
    from pathlib import Path

    from onestop_chassis.worktime import calendar_cli

    root = Path(__file__).resolve().parents[2]
    assert calendar_cli(["check", str(root / shipped)]) == 0, capsys.readouterr().err


# Random closures of one agency over two years (Tết, 30/4, 2/9 and their compensatory days inside).
_days = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31))
_moments = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 11, 30),
                        timezones=st.just(VIETNAM)).map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=80, deadline=None)
@given(closed=st.frozensets(_days, max_size=40), start=_moments, budget=st.integers(1, 20 * 450),
       pause_after=st.integers(0, 30 * 24 * 60), pause_for=st.integers(0, 30 * 24 * 60))
def test_a_step_of_an_agency_with_closures_counts_only_its_working_days(closed, start, budget, pause_after,
                                                                          pause_for):
    """The step's clock counts the performing unit's own calendar: its due is `budget` working
    minutes of that unit after entry, never on one of its closed days, never before the instance's;
    a pause credits exactly that unit's working minutes paused. Intake's appointment for the same
    unit and input is the same moment."""
    from onestop_chassis.worktime import CalendarDays

    calendar = WorkingCalendar.of(CalendarDays(unit_closures={COMMUNE: closed}))
    commune = calendar.for_unit(COMMUNE)
    clock = Clock.start(commune, start, WorkingDuration(minutes=budget))
    assert commune.working_minutes(start, clock.due_at) == budget
    due_day = clock.due_at.astimezone(VIETNAM).date()
    assert due_day not in closed and commune.is_working_day(due_day)
    assert clock.due_at >= Clock.start(calendar, start, WorkingDuration(minutes=budget)).due_at
    assert commune.appointment(start, WorkingDuration(minutes=budget)) == \
        commune.add(commune.counting_start(start), WorkingDuration(minutes=budget))
    paused_at = start + dt.timedelta(minutes=pause_after)
    resumed_at = paused_at + dt.timedelta(minutes=pause_for)
    resumed = clock.pause(paused_at).resume(commune, resumed_at)
    assert resumed.paused_minutes == commune.working_minutes(paused_at, resumed_at)
    assert commune.working_minutes(start, resumed.due_at) == budget + resumed.paused_minutes
