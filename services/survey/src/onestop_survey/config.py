"""Survey's settings: the chassis defaults (gRPC 50054, metrics 9154/9254, database onestop_survey)."""

from onestop_chassis.config import ServiceSettings


class SurveySettings(ServiceSettings):
    service_name: str = "survey"
