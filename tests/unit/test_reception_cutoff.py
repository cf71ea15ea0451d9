"""The cut-off hour of reception and its configuration."""

from __future__ import annotations

import datetime as dt

import pytest

from onestop_chassis.config import ConfigError, load_settings
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_intake.config import IntakeSettings

MONDAY = dt.date(2026, 11, 30)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), VIETNAM)


def test_after_the_cutoff_the_count_starts_the_next_working_day():
    calendar = WorkingCalendar(cutoff=dt.time(16, 0))
    three_days = WorkingDuration(days=3)
    assert calendar.appointment(at(MONDAY, 15, 59), three_days) == at(MONDAY + dt.timedelta(days=3), 15, 59)
    assert calendar.appointment(at(MONDAY, 16, 0), three_days) == at(MONDAY + dt.timedelta(days=4), 7, 30)
    friday = MONDAY + dt.timedelta(days=4)
    assert calendar.counting_start(at(friday, 16, 30)) == at(MONDAY + dt.timedelta(days=7), 7, 30), "over the weekend"


def test_without_a_cutoff_the_count_starts_at_reception():
    assert WorkingCalendar().counting_start(at(MONDAY, 16, 30)) == at(MONDAY, 16, 30)


def test_the_cutoff_setting_is_validated(monkeypatch):
    monkeypatch.setenv("RECEPTION_CUTOFF", "16:00")
    assert load_settings(IntakeSettings).cutoff_time == dt.time(16, 0)
    monkeypatch.setenv("RECEPTION_CUTOFF", "4pm")
    with pytest.raises(ConfigError) as bad:
        load_settings(IntakeSettings)
    assert "RECEPTION_CUTOFF" in bad.value.message
