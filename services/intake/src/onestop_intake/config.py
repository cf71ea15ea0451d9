"""Intake's settings: the chassis defaults (gRPC 50051, metrics 9151/9251, page 8051, database
onestop_intake) plus the desk's reception rules."""

import datetime as dt
from typing import ClassVar

from pydantic import field_validator

from onestop_chassis.config import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    # Production needs where citizens reach the lookup page (printed as a QR code on every receipt)
    # and where the documents service is; their defaults are this machine's (onestop_chassis.config).
    CALLS_PEERS: ClassVar[bool] = True  # production requires SERVICE_TOKEN (chassis config)
    PRODUCTION_REQUIRED: ClassVar[tuple[str, ...]] = (
        "mongodb_uri", "amqp_uri", "public_lookup_url", "documents_address")
    # "HH:MM": dossiers received at or after it on a working day count from the next working day.
    # Empty: no cut-off. (Each province sets its own in its one-stop regulation.)
    reception_cutoff: str = ""
    # The public lookup page printed as a QR code on receipts.
    public_lookup_url: str = "http://127.0.0.1:8051/tra-cuu"
    # The documents service that keeps the result files (GetResultLinks); empty: none.
    documents_address: str = "127.0.0.1:50053"
    # How long a citizen's result download link works (the documents service allows at most 900).
    result_link_seconds: int = 300

    # Queue kiosks (TakeTicket is public): their addresses or networks, comma-separated, and the
    # tickets a kiosk may print per unit and any other client over all units (queue.api.TicketLimits).
    queue_kiosks: str = ""
    tickets_per_kiosk: str = "30/minute"
    tickets_per_client: str = "3/hour"

    @field_validator("tickets_per_kiosk", "tickets_per_client")
    @classmethod
    def _rate(cls, value: str) -> str:
        import limits
        limits.parse(value)  # raises ValueError naming the bad value
        return value

    @field_validator("queue_kiosks")
    @classmethod
    def _kiosks(cls, value: str) -> str:
        from onestop_chassis.ratelimits import parse_networks
        parse_networks(value)
        return value

    @field_validator("reception_cutoff")
    @classmethod
    def _cutoff(cls, value: str) -> str:
        if value:
            dt.time.fromisoformat(value)  # raises ValueError naming the bad value
        return value

    @property
    def cutoff_time(self) -> dt.time | None:
        return dt.time.fromisoformat(self.reception_cutoff) if self.reception_cutoff else None
