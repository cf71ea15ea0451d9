"""Entry of `onestop-documents-worker`. eventlet must patch the standard library before any import."""

import eventlet

eventlet.monkey_patch()

from onestop_chassis.config import load_or_exit  # noqa: E402
from onestop_chassis.worker import run_worker  # noqa: E402

from .config import DocumentsSettings  # noqa: E402
from .worker import DocumentsWorker  # noqa: E402


def main() -> None:
    run_worker(DocumentsWorker, load_or_exit(DocumentsSettings))
