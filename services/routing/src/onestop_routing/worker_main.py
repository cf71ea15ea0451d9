"""Entry of `onestop-routing-worker`. eventlet must patch the standard library before any import."""

import eventlet

eventlet.monkey_patch()

from onestop_chassis.config import load_or_exit  # noqa: E402
from onestop_chassis.worker import run_worker  # noqa: E402

from .config import RoutingSettings  # noqa: E402
from .worker import RoutingWorker  # noqa: E402


def main() -> None:
    run_worker(RoutingWorker, load_or_exit(RoutingSettings))
