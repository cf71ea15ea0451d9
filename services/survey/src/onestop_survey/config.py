"""Survey's settings: the chassis defaults (gRPC 50054, metrics 9154/9254, page 8054, database
onestop_survey) plus the invitations' and the public page's."""

from pydantic import field_validator

from onestop_chassis.config import ServiceSettings


class SurveySettings(ServiceSettings):
    service_name: str = "survey"

    # -- invitations, answers, kiosks (issue 12, items 2-5) --------------------------------------
    # The survey page the invitation's link, QR code and SMS open: <base>/<token>.
    survey_base_url: str = "http://127.0.0.1:8054/khao-sat"
    # Days an invitation can be answered, counted from the result's return.
    invitation_expiry_days: int = 30
    # The questionnaire invitations ask (its latest version when the invitation is issued).
    invitation_questionnaire: str = "tt01-9"
    # The secret key the tokens are derived from (HMAC-SHA256 of the invitation id). Set it in
    # production (at least 32 characters); changing it makes every link issued before unknown.
    invitation_key: str = "onestop-local-survey-key-change-me-in-production"
    # A counter kiosk's ratings, and any address's, within a moving window (answers.limits).
    ratings_per_kiosk: str = "10/minute"
    ratings_per_client: str = "30/minute"
    # Per address: requests by token (GetSurvey, SubmitAnswers, the page), and unknown tokens.
    token_requests_per_client: str = "60/minute"
    unknown_tokens_per_client: str = "20/hour"

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
