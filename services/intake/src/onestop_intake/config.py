"""Intake's settings: the chassis defaults (gRPC 50051, metrics 9151/9251, database onestop_intake)."""

from onestop_chassis.config import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
