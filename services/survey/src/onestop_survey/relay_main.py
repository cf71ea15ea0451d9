"""Entry of `onestop-survey-relay`: publishes survey's outbox events (answers: AnswerRecorded,
OfficerRated; the feedback log: FeedbackFiled, FeedbackAnswered, ...) in a plain process of its own
(no eventlet; onestop_chassis.relay)."""

from onestop_chassis.config import load_or_exit
from onestop_chassis.relay import run_relay

from .answers.adapters.mongo import outbox_collections as answers_outbox
from .config import SurveySettings
from .feedback.adapters.mongo import outbox_collections as feedback_outbox


def main() -> None:
    run_relay(load_or_exit(SurveySettings), [*answers_outbox(), *feedback_outbox()])
