"""Survey's `worker` process: the nameko service for its events and timers, and the public survey
page (nameko's web server on WEB_PORT, through the chassis' `@page`).

Mixins, one per package: ReturnedDossiers (invitations: intake's DossierResultReturned issues the
dossier's invitation) and SurveyPageRoutes (public: /khao-sat/<token> and the kiosk /quay/<kiosk>).
"""

from __future__ import annotations

from onestop_chassis.worker import MongoConnection, Observability, OutboxRelayRunner

from .answers.adapters.mongo import outbox_collections
from .invitations.worker import ReturnedDossiers
from .public.worker import SurveyPageRoutes


class SurveyWorker(ReturnedDossiers, SurveyPageRoutes):
    name = "survey"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*outbox_collections())  # only with OUTBOX_RELAY_IN_WORKER
