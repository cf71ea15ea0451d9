"""Entry of `onestop-documents-relay`: publishes the outbox events of documents, transfers and
retention, in a plain process of its own (no eventlet; onestop_chassis.relay)."""

from onestop_chassis.config import load_or_exit
from onestop_chassis.relay import run_relay

from .adapters.mongo import outbox_collections
from .config import DocumentsSettings


def main() -> None:
    run_relay(load_or_exit(DocumentsSettings), outbox_collections())
