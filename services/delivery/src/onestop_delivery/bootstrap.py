"""Delivery's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adapters.mongo import MongoShipments, ensure_indexes
from .config import DeliverySettings
from .service import DeliveryService, ShipmentRepository


@dataclass(frozen=True)
class Delivery:
    """Everything delivery's processes use, built once per process."""
    service: DeliveryService


def bootstrap(settings: DeliverySettings, *, shipments: ShipmentRepository | None = None) -> Delivery:
    """Builds delivery from its settings; `shipments` replaces the MongoDB repository (tests).
    The database connection itself is the process's (chassis `run_api` / `MongoConnection`)."""
    if shipments is None:
        shipments = MongoShipments()
    return Delivery(service=DeliveryService(shipments))


def prepare_database() -> None:
    """Once per process start, before serving: indexes and migrations of what is stored (idempotent)."""
    ensure_indexes()
