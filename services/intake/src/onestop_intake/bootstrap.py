"""Intake's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process (public pages, form filing), the seed and tests all call
`bootstrap`; tests pass fakes for the adapters they replace. No servicer, worker, provider or
entry module constructs an adapter itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from onestop_chassis import auth
from onestop_chassis.ratelimits import parse_networks
from onestop_chassis.worktime import WorkingCalendar

from .catalogue.adapters.mongo import MongoCatalogue
from .catalogue.service import CatalogueService, ProcedureStore
from .config import IntakeSettings
from .public.lookup_limits import LookupLimits, PageLookup
from .public.pages import PublicCatalogue
from .queue.adapters.mongo import MongoTickets
from .queue.api import TicketLimits
from .queue.service import QueueDesk, TicketStore
from .reception.adapters import mongo as reception_mongo
from .reception.adapters.documents_client import DocumentsClient
from .reception.following import RoutedDossiers
from .reception.postal import PostalReturns
from .reception.service import CodeSequence, DossierRepository, IntakeService
from .units.service import UnitDirectory, UnitService, UnitStore


class CatalogueStore(ProcedureStore, UnitStore, Protocol):
    """Procedures and the units they name, in one store (MongoCatalogue; fakes in tests)."""


@dataclass(frozen=True)
class Intake:
    """Everything intake's processes use, built once per process."""
    settings: IntakeSettings
    reception: IntakeService        # dossiers: submit, desk actions, lookup
    catalogue: CatalogueService     # procedures
    units: UnitService              # agencies and units
    unit_directory: UnitDirectory   # unit lookups (names on procedures and pages)
    queue: QueueDesk                # queue tickets
    dossiers: DossierRepository     # the stored dossiers (form filing reads them)
    routed: RoutedDossiers          # the dossiers' status from routing's events (worker)
    postal: PostalReturns           # the dossiers' status from delivery's parcels of results (worker)
    documents: DocumentsClient | None  # the documents service (result links); None: no such service
    lookup_limits: LookupLimits     # this process's budgets of the public lookup
    ticket_limits: TicketLimits     # this process's budgets of TakeTicket
    page_lookup: PageLookup         # the /tra-cuu page's lookup, under lookup_limits
    public_catalogue: PublicCatalogue  # the /thu-tuc pages


def bootstrap(settings: IntakeSettings, *, dossiers: DossierRepository | None = None,
              catalogue: CatalogueStore | None = None, sequence: CodeSequence | None = None,
              tickets: TicketStore | None = None, documents: DocumentsClient | None = None,
              lookup_limits: LookupLimits | None = None, ticket_limits: TicketLimits | None = None,
              clock: Callable[[], dt.datetime] | None = None) -> Intake:
    """Builds intake from its settings. Each keyword replaces what it names (tests: in-memory
    fakes, a fixed `clock`, lifted limits): `catalogue` is the store of procedures and units.
    The documents client is built only when DOCUMENTS_ADDRESS is set, and opens its channel at its
    first call. The database connection itself is the process's (chassis `run_api` /
    `MongoConnection`)."""
    store = catalogue if catalogue is not None else MongoCatalogue()
    dossiers = dossiers if dossiers is not None else reception_mongo.MongoDossiers()
    timed = {} if clock is None else {"clock": clock}
    sequence = sequence if sequence is not None else reception_mongo.MongoCodeSequence()
    calendar = WorkingCalendar.of(settings.calendar_days(), cutoff=settings.cutoff_time)  # WORKING_CALENDAR_FILE
    reception = IntakeService(dossiers, store, sequence, calendar=calendar, **timed)
    catalogue_service = CatalogueService(store, **timed)
    if documents is None and settings.documents_address:
        documents = DocumentsClient(settings.documents_address, lambda: auth.service_token(settings))
    lookups = lookup_limits if lookup_limits is not None else LookupLimits()
    return Intake(
        settings=settings, reception=reception, catalogue=catalogue_service, units=UnitService(store),
        unit_directory=store,
        queue=QueueDesk(tickets if tickets is not None else MongoTickets(),
                        unit_exists=lambda code: store.unit(code) is not None, **timed),
        dossiers=dossiers, routed=RoutedDossiers(dossiers, store), postal=PostalReturns(dossiers),
        documents=documents, lookup_limits=lookups,
        ticket_limits=ticket_limits if ticket_limits is not None else TicketLimits(
            parse_networks(settings.queue_kiosks), settings.tickets_per_kiosk, settings.tickets_per_client),
        page_lookup=PageLookup(reception.lookup, lookups, settings.trusted_networks),
        public_catalogue=PublicCatalogue(catalogue_service, store))


def prepare_database() -> None:
    """Once per api start, before serving: indexes, then migrations of what is stored (idempotent)."""
    reception_mongo.ensure_indexes()
    reception_mongo.migrate()  # once per database: stored names in NFC, documents in the catalogue's wording
