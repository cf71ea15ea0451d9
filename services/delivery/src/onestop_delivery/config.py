"""Delivery's settings: the chassis defaults (gRPC 50055, metrics 9155/9255, database onestop_delivery)."""

from pathlib import Path

from onestop_chassis.config import ServiceSettings

# The example charge tables shipped with the package (one YAML file per agency, fees.py).
PACKAGED_TABLES = Path(__file__).parent / "postal"


class DeliverySettings(ServiceSettings):
    service_name: str = "delivery"
    # Intake's gRPC address: the api reads a dossier's postal choice and its procedure's rule there.
    intake_address: str = "127.0.0.1:50051"
    intake_timeout_seconds: float = 5.0
    # The folder of the agencies' postal charge tables (fees.py); empty: the packaged examples.
    postal_tables_dir: str = ""
    # Failed delivery attempts before the parcel is returned to sender (domain.py).
    max_delivery_attempts: int = 3
    # The worker's order timer: seconds between passes over the orders still to place.
    order_retry_seconds: float = 30.0
