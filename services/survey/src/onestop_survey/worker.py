"""Survey's `worker` process: the nameko service for its events and timers, and the public survey
page (nameko's web server on WEB_PORT, through the chassis' `@page`).

Mixins, one per package: ReturnedDossiers (invitations: intake's DossierResultReturned issues the
dossier's invitation), RecordedAnswers (answers: survey's own AnswerRecorded rebuilds the answer's
tallies a crash left unwritten), SurveyPageRoutes (public: /khao-sat/<token> and the kiosk /quay/<kiosk>),
FeedbackPageRoutes (public: /phan-anh and the filer's follow-up /phan-anh/tra-cuu) and
FeedbackTimers (feedback: a timer escalates unanswered items past their deadline).
"""

from __future__ import annotations

from onestop_chassis.worker import MongoConnection, Observability, OutboxRelayRunner

from .answers.adapters.mongo import outbox_collections as answers_outbox
from .answers.worker import RecordedAnswers
from .feedback.adapters.mongo import outbox_collections as feedback_outbox
from .feedback.worker import FeedbackTimers
from .invitations.worker import ReturnedDossiers
from .public.feedback_worker import FeedbackPageRoutes
from .public.worker import SurveyPageRoutes


class SurveyWorker(ReturnedDossiers, RecordedAnswers, SurveyPageRoutes, FeedbackPageRoutes, FeedbackTimers):
    name = "survey"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*answers_outbox(), *feedback_outbox())  # only with OUTBOX_RELAY_IN_WORKER
