"""Delivery's settings: the chassis defaults (gRPC 50055, metrics 9155/9255, database onestop_delivery)."""

from onestop_chassis.config import ServiceSettings


class DeliverySettings(ServiceSettings):
    service_name: str = "delivery"
