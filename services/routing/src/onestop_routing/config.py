"""Routing's settings: the chassis defaults (gRPC 50052, metrics 9152/9252, database onestop_routing)."""

from onestop_chassis.config import ServiceSettings


class RoutingSettings(ServiceSettings):
    service_name: str = "routing"
