"""Routing's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adapters.mongo import MongoCases, migrate
from .config import RoutingSettings
from .service import CaseRepository, RoutingService


@dataclass(frozen=True)
class Routing:
    """Everything routing's processes use, built once per process."""
    service: RoutingService


def bootstrap(settings: RoutingSettings, *, cases: CaseRepository | None = None) -> Routing:
    """Builds routing from its settings; `cases` replaces the MongoDB repository (tests). The
    database connection itself is the process's (chassis `run_api` / `MongoConnection`)."""
    return Routing(service=RoutingService(cases if cases is not None else MongoCases()))


def prepare_database() -> None:
    """Once per process start, before serving: migrations of what is stored (idempotent)."""
    migrate()
