"""Intake's `worker` process: relays the dossiers' outbox to the event bus."""

from onestop_chassis.worker import MongoConnection, Observability, OutboxRelayRunner

from .adapters.mongo import DossierDoc


class IntakeWorker:
    name = "intake"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(DossierDoc._get_collection)
