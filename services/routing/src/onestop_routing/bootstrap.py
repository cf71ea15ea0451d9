"""Routing's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from onestop_chassis import auth
from onestop_chassis.clock import utcnow
from onestop_chassis.worktime import WorkingCalendar

from .adapters.intake_units import IntakeUnits
from .adapters.journey import MongoCaseStore
from .adapters.mongo import migrate, migrate_scan_keys
from .adapters.templates import MongoTemplates
from .cases import CaseStore
from .config import RoutingSettings
from .overdue import OverdueScan
from .service import RoutingService
from .templates.service import TemplateService, TemplateStore, UnitCodes


@dataclass(frozen=True)
class Routing:
    """Everything routing's processes use, built once per process."""
    service: RoutingService
    templates: TemplateService      # process templates: admin use cases
    overdue: OverdueScan            # the worker's overdue scan (one pass per timer tick)


def bootstrap(settings: RoutingSettings, *, cases: CaseStore | None = None, templates: TemplateStore | None = None,
              units: UnitCodes | None = None, calendar: WorkingCalendar | None = None,
              clock: Callable[[], dt.datetime] = utcnow) -> Routing:
    """Builds routing from its settings; `cases` (the journey store), `templates` (the process
    templates' store, which also gives a new case its template) and `units` (intake's unit list)
    replace the real adapters (tests). The units client opens its channel to INTAKE_ADDRESS at its
    first call. The database connection itself is the process's (chassis `run_api` /
    `MongoConnection`)."""
    templates = templates if templates is not None else MongoTemplates()
    units = units if units is not None else IntakeUnits(settings.intake_address, lambda: auth.service_token(settings),
                                                        settings.intake_timeout_seconds)
    calendar = calendar or WorkingCalendar.of(settings.calendar_days())  # the same file as intake's
    cases = cases if cases is not None else MongoCaseStore()
    service = RoutingService(cases, templates, calendar=calendar, clock=clock, due_soon_share=settings.due_soon_share)
    return Routing(service=service, templates=TemplateService(templates, units),
                   overdue=OverdueScan(service, cases, settings.overdue_scan_page,
                                       settings.overdue_scan_budget_seconds, clock, settings.overdue_scan_workers))


def prepare_database() -> None:
    """Once per process start, before serving: migrations of what is stored (idempotent)."""
    migrate()
    migrate_scan_keys()
