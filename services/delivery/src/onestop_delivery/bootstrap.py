"""Delivery's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from onestop_chassis import auth
from onestop_chassis.clock import utcnow

from .adapters.intake import IntakeDossiers
from .adapters.mongo import MongoShipments, ensure_indexes
from .adapters.vnpost import VNPostCarrier
from .carrier import Carrier
from .config import PACKAGED_TABLES, DeliverySettings
from .fees import ChargeTable, read_tables
from .ordering import Ordering
from .service import DeliveryService, Intake, ShipmentStore


@dataclass(frozen=True)
class Delivery:
    """Everything delivery's processes use, built once per process. `ordering` places carrier
    orders and reads the carrier's webhooks (the worker's); the service cancels orders (the api's);
    `shipments` is the store (the worker writes the fee lines of the events it receives back,
    fee_lines.py)."""
    service: DeliveryService
    ordering: Ordering
    shipments: ShipmentStore


def bootstrap(settings: DeliverySettings, *, shipments: ShipmentStore | None = None, intake: Intake | None = None,
              tables: Mapping[str, ChargeTable] | None = None, carrier: Carrier | None = None,
              clock: Callable | None = None) -> Delivery:
    """Builds delivery from its settings; tests replace the store, intake, the charge tables, the
    carrier and the clock. The database connection itself is the process's (chassis `run_api` /
    `MongoConnection`). The carrier is VNPost's order API (adapters/vnpost.py) at CARRIER_BASE_URL,
    locally the carrier sandbox."""
    if shipments is None:
        shipments = MongoShipments()
    if intake is None:
        intake = IntakeDossiers(settings.intake_address, lambda: auth.service_token(settings),
                                settings.intake_timeout_seconds)
    if tables is None:
        tables = read_tables(Path(settings.postal_tables_dir) if settings.postal_tables_dir else PACKAGED_TABLES)
    clock = clock or utcnow
    if carrier is None:
        carrier = VNPostCarrier.from_settings(settings)
    service = DeliveryService(shipments, intake, tables, clock=clock, max_attempts=settings.max_delivery_attempts,
                              carrier=carrier)
    ordering = Ordering(service, shipments, carrier, tables, clock, settings.order_retry_seconds)
    return Delivery(service=service, ordering=ordering, shipments=shipments)


def prepare_database() -> None:
    """Once per process start, before serving: indexes and migrations of what is stored (idempotent)."""
    ensure_indexes()
