"""Entry of `onestop-delivery-relay`: publishes the shipment log's outbox events (ShipmentCreated,
ShipmentDelivered, ...), in a plain process of its own (no eventlet; onestop_chassis.relay)."""

from onestop_chassis.config import load_or_exit
from onestop_chassis.relay import run_relay

from .adapters.mongo import outbox_collections
from .config import DeliverySettings


def main() -> None:
    run_relay(load_or_exit(DeliverySettings), outbox_collections())
