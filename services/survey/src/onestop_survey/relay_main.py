"""Entry of `onestop-survey-relay`: publishes survey's outbox (AnswerRecorded, OfficerRated) in a
plain process of its own (onestop_chassis.relay)."""

from onestop_chassis.config import load_or_exit
from onestop_chassis.relay import run_relay

from .answers.adapters.mongo import outbox_collections
from .config import SurveySettings


def main() -> None:
    run_relay(load_or_exit(SurveySettings), outbox_collections())
