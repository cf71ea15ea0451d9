"""Survey's settings: the chassis defaults (gRPC 50054, metrics 9154/9254, page 8054, database
onestop_survey) plus the invitations', the public page's and feedback's."""

from typing import ClassVar

from pydantic import Field, field_validator

from onestop_chassis.config import ServiceSettings

LOCAL_INVITATION_KEY = "onestop-local-survey-key-change-me-in-production"


class SurveySettings(ServiceSettings):
    service_name: str = "survey"
    # Production needs the page's public address (printed as a link and QR code for citizens)
    # and a key of its own (onestop_chassis.config: unset, empty or loopback values are refused;
    # a published or weak key too), and intake's address (the unit tree feedback is assigned in).
    PRODUCTION_REQUIRED: ClassVar[tuple[str, ...]] = (
        "mongodb_uri", "amqp_uri", "survey_base_url", "intake_address")
    PRODUCTION_SECRETS: ClassVar[tuple[str, ...]] = ("invitation_key",)

    # -- invitations, answers, kiosks (issue 12, items 2-5) --------------------------------------
    # The survey page the invitation's link, QR code and SMS open: <base>/<token>.
    survey_base_url: str = "http://127.0.0.1:8054/khao-sat"
    # Days an invitation can be answered, counted from the result's return.
    invitation_expiry_days: int = 30
    # The questionnaire invitations ask (its latest version when the invitation is issued).
    invitation_questionnaire: str = "tt01-9"
    # The secret key the tokens are derived from (HMAC-SHA256 of the invitation id). Set it in
    # production (at least 32 characters); changing it makes every link issued before unknown.
    invitation_key: str = LOCAL_INVITATION_KEY
    # A counter kiosk's ratings, and any address's, within a moving window (answers.limits).
    ratings_per_kiosk: str = "10/minute"
    ratings_per_client: str = "30/minute"
    # Per address: requests by token (GetSurvey, SubmitAnswers, the page), and unknown tokens.
    token_requests_per_client: str = "60/minute"
    unknown_tokens_per_client: str = "20/hour"

    # Intake's gRPC address: the api reads intake's unit tree there (a complaint is assigned only
    # within the filing agency's tree, feedback.service.check_in_tree), with this deadline (seconds).
    intake_address: str = "127.0.0.1:50051"
    intake_timeout_seconds: float = Field(default=5.0, gt=0)
    CALLS_PEERS: ClassVar[bool] = True  # production requires SERVICE_TOKEN (chassis config)

    # -- feedback and complaints (issue 12, item 6) -----------------------------------------------
    # The types and their deadlines (a YAML file in the format of feedback/types.yaml; empty: that
    # built-in file), the reopen window in working days after an answer, how many times an item
    # may be reopened, and the overdue scan's period (seconds) and keys read per pass.
    feedback_types_file: str = ""
    feedback_reopen_days: int = Field(default=5, ge=0, le=60)
    feedback_max_reopens: int = Field(default=2, ge=0, le=10)
    feedback_overdue_scan_seconds: float = Field(default=60.0, gt=0)
    feedback_overdue_scan_page: int = Field(default=100, ge=1, le=1000)
    # Budgets per client address of the public feedback RPCs (feedback/limits.py; `limits` notation).
    feedback_filings_per_client: str = "10/hour"
    feedback_secret_uses_per_client: str = "60/hour"

    @field_validator("ratings_per_kiosk", "ratings_per_client", "token_requests_per_client",
                     "unknown_tokens_per_client")
    @classmethod
    def _rate(cls, value: str) -> str:
        import limits
        limits.parse(value)  # raises ValueError naming the bad value
        return value

    @field_validator("invitation_expiry_days")
    @classmethod
    def _days(cls, value: int) -> int:
        if not 1 <= value <= 365:
            raise ValueError("must be 1 to 365 days")
        return value
