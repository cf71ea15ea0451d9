"""Routing's settings: the chassis defaults (gRPC 50052, metrics 9152/9252, database onestop_routing)."""

from typing import ClassVar

from onestop_chassis.config import ServiceSettings


class RoutingSettings(ServiceSettings):
    service_name: str = "routing"
    # Intake's gRPC address: the api reads the unit list there to check process templates' units.
    intake_address: str = "127.0.0.1:50051"
    CALLS_PEERS: ClassVar[bool] = True  # production requires SERVICE_TOKEN (chassis config)
    PRODUCTION_REQUIRED: ClassVar[tuple[str, ...]] = ("mongodb_uri", "amqp_uri", "intake_address")
    intake_timeout_seconds: float = 5.0
    # The overdue scan (overdue.py): its period, the keys it reads per page, the seconds after which
    # a pass starts no new page (bench/routing.py measures a mark), the cases it marks at once
    # (their database calls overlap), and the share of a step's budget used when the step is due
    # soon (0..1).
    overdue_scan_seconds: float = 60.0
    overdue_scan_page: int = 100
    overdue_scan_budget_seconds: float = 20.0
    overdue_scan_workers: int = 4
    due_soon_share: float = 0.8
