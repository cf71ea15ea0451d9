"""Delivery's use cases over the ShipmentRepository port."""

from __future__ import annotations

from typing import Protocol

from onestop_chassis import auth
from onestop_chassis.errors import FieldViolation, InvalidArgument, NotFound

from . import domain


class ShipmentRepository(Protocol):
    def add(self, item: domain.Shipment) -> None: ...
    def get(self, item_id: str) -> domain.Shipment | None: ...


class DeliveryService:
    def __init__(self, shipments: ShipmentRepository):
        self._shipments = shipments

    def get_shipment(self, item_id: str, actor: auth.Principal) -> domain.Shipment:
        """The shipment `item_id` (32 hex characters). Raises InvalidArgument (INVALID_FIELDS) for a
        malformed id, NotFound (SHIPMENT_NOT_FOUND), PermissionDenied (OTHER_AGENCY) when it
        belongs to another agency than the actor's (platform accounts, role SERVICE, read every agency's)."""
        item_id = item_id.strip().lower()
        if not domain.ID.fullmatch(item_id):
            raise InvalidArgument.from_violations([FieldViolation("id", "is not an id (32 hexadecimal characters)")])
        item = self._shipments.get(item_id)
        if item is None:
            raise NotFound("SHIPMENT_NOT_FOUND", f"no shipment has the id {item_id}",
                           metadata={"id": item_id})
        actor.require_agency(item.agency_code, action="read this shipment")  # SERVICE reads all
        return item
