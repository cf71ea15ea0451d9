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

from .adapters.book import MongoBookIndex
from .adapters.intake_units import IntakeUnits
from .adapters.journey import MongoCaseStore
from .adapters.mongo import migrate, migrate_scan_keys
from .adapters.templates import MongoTemplates
from .book import BookIndex, NoBook
from .case_due import CaseDueScan
from .cases import CaseStore
from .config import RoutingSettings
from .overdue import OverdueScan
from .service import RoutingService
from .templates.service import TemplateService, TemplateStore, UnitCodes
from .units import NoUnitNames, UnitNames


@dataclass(frozen=True)
class Routing:
    """Everything routing's processes use, built once per process."""
    service: RoutingService
    templates: TemplateService      # process templates: admin use cases
    overdue: OverdueScan            # the worker's overdue scan (one pass per timer tick)
    unit_names: UnitNames           # units' names from intake, cached (api: answers and forms)
    case_due: CaseDueScan           # the worker's scan of cases past their own due time


def bootstrap(settings: RoutingSettings, *, cases: CaseStore | None = None, templates: TemplateStore | None = None,
              units: UnitCodes | None = None, calendar: WorkingCalendar | None = None,
              clock: Callable[[], dt.datetime] = utcnow, unit_names: UnitNames | None = None,
              book: BookIndex | None = None) -> Routing:
    """Builds routing from its settings; `cases` (the journey store), `templates` (the process
    templates' store, which also gives a new case its template), `units` (intake's unit list) and
    `book` (form 07's keys; none by default when `cases` is given) replace the real adapters
    (tests). The units client opens its channel to INTAKE_ADDRESS at its first call; it also gives
    the units' names (`unit_names` replaces it: tests). The database connection itself is the
    process's (chassis `run_api` / `MongoConnection`)."""
    templates = templates if templates is not None else MongoTemplates()
    units = units if units is not None else IntakeUnits(settings.intake_address, lambda: auth.service_token(settings),
                                                        settings.intake_timeout_seconds)
    if unit_names is None:
        unit_names = units if isinstance(units, IntakeUnits) else NoUnitNames()
    calendar = calendar or WorkingCalendar.of(settings.calendar_days())  # the same file as intake's
    if book is None:  # kept beside the journey: the database's with the real case store, none with a fake
        book = MongoBookIndex() if cases is None else NoBook()
    cases = cases if cases is not None else MongoCaseStore()
    service = RoutingService(cases, templates, calendar=calendar, clock=clock, due_soon_share=settings.due_soon_share,
                             unit_name=unit_names.name, book=book)
    return Routing(service=service, templates=TemplateService(templates, units), unit_names=unit_names,
                   case_due=CaseDueScan(service, cases, settings.overdue_scan_page, clock,
                                        settings.overdue_scan_budget_seconds),
                   overdue=OverdueScan(service, cases, settings.overdue_scan_page,
                                       settings.overdue_scan_budget_seconds, clock, settings.overdue_scan_workers))


def prepare_database() -> None:
    """Once per process start, before serving: migrations of what is stored (idempotent)."""
    migrate()
    migrate_scan_keys()
