"""Routing's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from onestop_chassis.clock import utcnow
from onestop_chassis.worktime import WorkingCalendar

from .adapters.journey import MongoCaseStore
from .adapters.mongo import migrate
from .config import RoutingSettings
from .domain.process import ProcessTemplate, TemplateRepository
from .service import CaseStore, RoutingService


@dataclass(frozen=True)
class Routing:
    """Everything routing's processes use, built once per process."""
    service: RoutingService


class NoTemplates:
    """Until the template store is wired in: every procedure runs without a template (the desk
    records the result, as before issue 11)."""

    def for_case(self, process_code: str, agency_code: str) -> ProcessTemplate | None:
        return None

    def version(self, process_code: str, agency_code: str, version: int) -> ProcessTemplate | None:
        return None


def bootstrap(settings: RoutingSettings, *, cases: CaseStore | None = None, templates: TemplateRepository | None = None,
              calendar: WorkingCalendar | None = None, clock: Callable[[], dt.datetime] = utcnow) -> Routing:
    """Builds routing from its settings; `cases` and `templates` replace the MongoDB stores
    (tests). The database connection itself is the process's (chassis `run_api` / `MongoConnection`)."""
    return Routing(service=RoutingService(
        cases if cases is not None else MongoCaseStore(),
        templates if templates is not None else NoTemplates(),
        calendar=calendar or WorkingCalendar(), clock=clock))


def prepare_database() -> None:
    """Once per process start, before serving: migrations of what is stored (idempotent)."""
    migrate()
