"""Feedback's overdue scan through survey's worker timer (`scan_feedback_overdue`), driven with
nameko's `entrypoint_hook` on a container whose dependencies are the shared fakes (test_workers.py):
an unanswered item past its deadline is escalated once to its unit's leader, an answered one never,
and a pass after downtime catches up, a page per pass."""

from __future__ import annotations

import datetime as dt

from nameko.testing.services import entrypoint_hook
from test_workers import _green_waiter, hosted  # noqa: F401  (the fixture is used)

from onestop_chassis import auth
from onestop_chassis.worker import Observability
from onestop_chassis.worktime import VIETNAM
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.feedback import domain
from onestop_survey.feedback.worker import FeedbackTimers

from fakes import Clock, FakeFeedback, FakeUnitTree

UNIT = "000.00.21.H17"


class FeedbackWorker(FeedbackTimers):
    """SurveyWorker's feedback timer with its observability, without the page (nameko.web stays out
    of unit tests: it breaks the threads of later tests in the same process)."""
    name = "survey"
    observability = Observability()
LEADER = auth.Principal("leader", frozenset({auth.UNIT_LEADER}), UNIT)
FILED = dt.datetime(2026, 5, 4, 9, 0, tzinfo=VIETNAM)


def _file(survey, type_code="thai-do") -> str:
    return survey.feedback.file(domain.Filing(
        code="", secret_hash="", agency_code=UNIT, type_code=type_code, content="Chờ quá lâu tại quầy",
        complainant=domain.Complainant(domain.FiledBy.PERSON, "Lê Văn Cường", "0901234567")))[0].code


def _pass(container):
    with entrypoint_hook(container, "scan_feedback_overdue") as tick:
        return tick()


def test_the_timer_escalates_overdue_items_once_and_catches_up_page_by_page():
    clock, store = Clock(FILED.astimezone(dt.UTC)), FakeFeedback()
    settings = SurveySettings(feedback_overdue_scan_page=1)
    survey = bootstrap(settings, feedback=store, invitations=None, clock=clock, units=FakeUnitTree({UNIT: ""}))
    first, second, answered = _file(survey), _file(survey), _file(survey)
    survey.feedback.answer(answered, "Đã giải quyết", False, "r-1", LEADER)
    with hosted(FeedbackWorker, settings, feedback_overdue=survey.feedback_overdue) as container:
        assert _pass(container) == (0, 0)  # nothing is due yet
        clock.now += dt.timedelta(days=14)  # the worker was down for two weeks
        assert _pass(container) == (1, 1)  # a page of one per pass
        assert _pass(container) == (1, 1)
        assert _pass(container) == (0, 0)
    escalated = [type(e).__name__ for e in store.events].count("FeedbackEscalated")
    assert escalated == 2
    for code in (first, second):
        item = survey.feedback.get(code, LEADER)
        assert item.escalations == 1 and item.log[-1].kind == domain.Kind.ESCALATED
    assert survey.feedback.get(answered, LEADER).escalations == 0
