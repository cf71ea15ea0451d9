"""Entry of `onestop-survey-relay`: publishes the outbox events of survey's aggregates (the
feedback log: FeedbackFiled, FeedbackAnswered, ...), in a plain process of its own (no eventlet;
onestop_chassis.relay)."""

from onestop_chassis.config import load_or_exit
from onestop_chassis.relay import run_relay

from .config import SurveySettings
from .feedback.adapters.mongo import outbox_collections as feedback_outbox


def main() -> None:
    run_relay(load_or_exit(SurveySettings), feedback_outbox())
