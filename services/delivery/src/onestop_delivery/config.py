"""Delivery's settings: the chassis defaults (gRPC 50055, metrics 9155/9255, database onestop_delivery)
and the carrier's address and credentials."""

import pathlib
from typing import ClassVar

from pydantic import Field

from onestop_chassis.config import ServiceSettings

# Used only when nothing else is given and ONESTOP_ENV=local (production refuses them): `make run`
# generates its own into .local/secrets/ and hands the same files to the carrier sandbox.
LOCAL_CARRIER_API_TOKEN = "onestop-local-carrier-token-do-not-use-in-production"
LOCAL_CARRIER_WEBHOOK_SECRET = "onestop-local-carrier-webhook-secret-do-not-use-in-production"
# The example charge tables shipped with the package (one YAML file per agency, fees.py).
PACKAGED_TABLES = pathlib.Path(__file__).parent / "postal"


class DeliverySettings(ServiceSettings):
    service_name: str = "delivery"

    # The carrier (adapters/vnpost.py, VNPost's order API shape). Locally: the carrier sandbox
    # (`onestop-carrier-sandbox`, started by `make run` on 127.0.0.1:8955), which is not a carrier.
    carrier_base_url: str = "http://127.0.0.1:8955"
    carrier_customer_code: str = "ONESTOP-DEMO"  # the agency's contract with the carrier (mã khách hàng)
    # Credentials: the value, or (in Kubernetes, from a Secret mounted as a file) the file holding it,
    # read at start (onestop_chassis.config: PRODUCTION_SECRETS).
    carrier_api_token: str = LOCAL_CARRIER_API_TOKEN
    carrier_api_token_file: str = ""
    carrier_webhook_secret: str = LOCAL_CARRIER_WEBHOOK_SECRET  # the key of the webhooks' HMAC-SHA256 signature
    carrier_webhook_secret_file: str = ""
    # Seconds to connect and for each answer; tries in all for an idempotent call (create by its
    # order number, cancel, track) and the longest wait between two tries (exponential from 0.2 s).
    carrier_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    carrier_attempts: int = Field(default=4, ge=1, le=10)
    carrier_backoff_max_seconds: float = Field(default=2.0, ge=0, le=60)

    # Intake's gRPC address: the api reads a dossier's postal choice and its procedure's rule there.
    intake_address: str = "127.0.0.1:50051"
    intake_timeout_seconds: float = 5.0
    # The folder of the agencies' postal charge tables (fees.py); empty: the packaged examples.
    postal_tables_dir: str = ""
    # Failed delivery attempts before the parcel is returned to sender (domain.py).
    max_delivery_attempts: int = 3
    # The worker's order timer: seconds between passes over the orders still to place.
    order_retry_seconds: float = 30.0

    CALLS_PEERS: ClassVar[bool] = True  # production requires SERVICE_TOKEN (chassis config)
    PRODUCTION_REQUIRED: ClassVar[tuple[str, ...]] = (*ServiceSettings.PRODUCTION_REQUIRED, "carrier_base_url",
                                                      "carrier_customer_code", "intake_address")
    PRODUCTION_SECRETS: ClassVar[tuple[str, ...]] = ("carrier_api_token", "carrier_webhook_secret")
