"""Survey's settings: the chassis defaults (gRPC 50054, metrics 9154/9254, database onestop_survey)."""

from pydantic import Field

from onestop_chassis.config import ServiceSettings


class SurveySettings(ServiceSettings):
    service_name: str = "survey"
    # Feedback and complaints (feedback/): the types and their deadlines (a YAML file in the format
    # of feedback/types.yaml; empty: that built-in file), the reopen window in working days after
    # an answer, how many times an item may be reopened, and the overdue scan's period (seconds)
    # and keys read per pass.
    feedback_types_file: str = ""
    feedback_reopen_days: int = Field(default=5, ge=0, le=60)
    feedback_max_reopens: int = Field(default=2, ge=0, le=10)
    feedback_overdue_scan_seconds: float = Field(default=60.0, gt=0)
    feedback_overdue_scan_page: int = Field(default=100, ge=1, le=1000)
    # Budgets per client address of the public feedback RPCs (feedback/limits.py; `limits` notation).
    feedback_filings_per_client: str = "10/hour"
    feedback_secret_uses_per_client: str = "60/hour"
