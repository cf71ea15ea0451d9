"""Survey's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adapters.mongo import MongoInvitations, ensure_indexes
from .config import SurveySettings
from .service import InvitationRepository, SurveyService


@dataclass(frozen=True)
class Survey:
    """Everything survey's processes use, built once per process."""
    service: SurveyService


def bootstrap(settings: SurveySettings, *, invitations: InvitationRepository | None = None) -> Survey:
    """Builds survey from its settings; `invitations` replaces the MongoDB repository (tests).
    The database connection itself is the process's (chassis `run_api` / `MongoConnection`)."""
    if invitations is None:
        invitations = MongoInvitations()
    return Survey(service=SurveyService(invitations))


def prepare_database() -> None:
    """Once per process start, before serving: indexes and migrations of what is stored (idempotent)."""
    ensure_indexes()
