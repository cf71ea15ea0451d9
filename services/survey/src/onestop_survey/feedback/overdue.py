"""The overdue scan of feedback: one pass of the timer survey's worker runs
(`SurveyWorker.scan_feedback_overdue`, every FEEDBACK_OVERDUE_SCAN_SECONDS).

A pass reads the `due|` key range up to now (open items past their answer deadline and not yet
escalated for it) and escalates each once to its unit's leader (service.escalate). The range is by
due time, not by schedule: a worker that was down finds everything that fell due meanwhile on its
next passes; what one pass leaves (more than its page) is the next pass's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from prometheus_client import Counter

from onestop_chassis.clock import utcnow
from onestop_chassis.logs import get_logger

from .service import FeedbackService

log = get_logger("onestop.survey")
SCANNER = "survey-feedback-overdue-scan"  # the actor of the scan's entries
ESCALATED = Counter("onestop_survey_feedback_escalated", "Feedback items the overdue scan escalated")


class FeedbackOverdueScan:
    """The scan of one process: the service it escalates through and the keys it reads per pass."""

    def __init__(self, service: FeedbackService, page: int, clock: Callable[[], dt.datetime] = utcnow):
        self._service, self._page, self._clock = service, page, clock

    def run(self) -> tuple[int, int]:
        """One pass: (keys found due, items escalated). An item whose escalation fails (the
        database) is logged and left for the next pass."""
        found = self._service.due_keys(self._clock(), "", self._page)
        escalated = 0
        for key, code in found:
            try:
                if self._service.escalate(code, key, SCANNER):
                    escalated += 1
                    ESCALATED.inc()
            except Exception:
                log.exception("feedback overdue scan: item not escalated", feedback_code=code)
        return len(found), escalated
