"""Survey's `worker` process: the nameko service for its events and timers.

Feedback (feedback/overdue.py): a timer escalates unanswered items past their deadline. An event
consumer is a method decorated with `onestop_chassis.worker.event_handler("<producer>",
"<EventName>")` that calls `self.survey` (CONTRIBUTING.md, "Add an event and its consumer"); each
gets a test with nameko's own `worker_factory` / `entrypoint_hook`.
"""

from __future__ import annotations

from onestop_chassis.logs import get_logger
from onestop_chassis.worker import Bootstrapped, MongoConnection, Observability, OutboxRelayRunner, periodic

from .bootstrap import bootstrap
from .feedback.adapters.mongo import outbox_collections as feedback_outbox

log = get_logger("onestop.survey")


class SurveyWorker:
    name = "survey"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*feedback_outbox())  # only with OUTBOX_RELAY_IN_WORKER
    survey = Bootstrapped(bootstrap, "service")
    feedback_overdue = Bootstrapped(bootstrap, "feedback_overdue")

    @periodic("feedback_overdue_scan_seconds")
    def scan_feedback_overdue(self) -> tuple[int, int]:
        """One pass of feedback's overdue scan: (due keys read, items escalated to their unit's
        leader). It needs no call and catches up after downtime (feedback/overdue.py)."""
        found, escalated = self.feedback_overdue.run()
        if escalated:
            log.info("feedback overdue scan", found=found, escalated=escalated)
        return found, escalated
