"""Feedback's part of survey's worker: the timer that escalates unanswered items past their deadline.

A mixin of SurveyWorker, kept apart from the public page's routes so tests can host it without
nameko's web server (which, once imported, breaks the threads of later tests in the same process).
"""

from __future__ import annotations

from onestop_chassis.logs import get_logger
from onestop_chassis.worker import Bootstrapped, periodic

from ..bootstrap import bootstrap

log = get_logger("onestop.survey")


class FeedbackTimers:
    feedback_overdue = Bootstrapped(bootstrap, "feedback_overdue")

    @periodic("feedback_overdue_scan_seconds")
    def scan_feedback_overdue(self) -> tuple[int, int]:
        """One pass of feedback's overdue scan: (due keys read, items escalated to their unit's
        leader). It needs no call and catches up after downtime (feedback/overdue.py)."""
        found, escalated = self.feedback_overdue.run()
        if escalated:
            log.info("feedback overdue scan", found=found, escalated=escalated)
        return found, escalated
