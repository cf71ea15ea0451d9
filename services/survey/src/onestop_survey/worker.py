"""Survey's `worker` process: the nameko service for its events and timers, and the public survey
page (nameko's web server on WEB_PORT, through the chassis' `@page`).

Mixins, one per package: ReturnedDossiers (invitations: intake's DossierResultReturned issues the
dossier's invitation) and SurveyPageRoutes (public: /khao-sat/<token> and the kiosk /quay/<kiosk>).
Feedback (feedback/overdue.py): a timer escalates unanswered items past their deadline.
"""

from __future__ import annotations

from onestop_chassis.logs import get_logger
from onestop_chassis.worker import Bootstrapped, MongoConnection, Observability, OutboxRelayRunner, periodic

from .answers.adapters.mongo import outbox_collections as answers_outbox
from .bootstrap import bootstrap
from .feedback.adapters.mongo import outbox_collections as feedback_outbox
from .invitations.worker import ReturnedDossiers
from .public.worker import SurveyPageRoutes

log = get_logger("onestop.survey")


class SurveyWorker(ReturnedDossiers, SurveyPageRoutes):
    name = "survey"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*answers_outbox(), *feedback_outbox())  # only with OUTBOX_RELAY_IN_WORKER
    feedback_overdue = Bootstrapped(bootstrap, "feedback_overdue")

    @periodic("feedback_overdue_scan_seconds")
    def scan_feedback_overdue(self) -> tuple[int, int]:
        """One pass of feedback's overdue scan: (due keys read, items escalated to their unit's
        leader). It needs no call and catches up after downtime (feedback/overdue.py)."""
        found, escalated = self.feedback_overdue.run()
        if escalated:
            log.info("feedback overdue scan", found=found, escalated=escalated)
        return found, escalated
