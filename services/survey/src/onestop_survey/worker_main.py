"""Entry of `onestop-survey-worker`. eventlet must patch the standard library before any import."""

import eventlet

eventlet.monkey_patch()

from onestop_chassis.config import load_or_exit  # noqa: E402 (after monkey_patch, as eventlet requires)
from onestop_chassis.worker import run_worker  # noqa: E402 (after monkey_patch, as eventlet requires)

from .config import SurveySettings  # noqa: E402 (after monkey_patch, as eventlet requires)
from .worker import SurveyWorker  # noqa: E402 (after monkey_patch, as eventlet requires)


def main() -> None:
    run_worker(SurveyWorker, load_or_exit(SurveySettings))
