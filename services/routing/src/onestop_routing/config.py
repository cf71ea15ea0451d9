"""Routing's settings: the chassis defaults (gRPC 50052, metrics 9152/9252, database onestop_routing)."""

from onestop_chassis.config import ServiceSettings


class RoutingSettings(ServiceSettings):
    service_name: str = "routing"
    # Intake's gRPC address: the api reads the unit list there to check process templates' units.
    intake_address: str = "127.0.0.1:50051"
    intake_timeout_seconds: float = 5.0
