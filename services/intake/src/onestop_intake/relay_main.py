"""Entry of `onestop-intake-relay`: publishes the dossiers' outbox events, in a plain process of its
own (no eventlet: the worker's form rendering must never delay them; onestop_chassis.relay)."""

from onestop_chassis.config import load_or_exit
from onestop_chassis.relay import run_relay

from .config import IntakeSettings
from .reception.adapters.mongo import outbox_collections


def main() -> None:
    run_relay(load_or_exit(IntakeSettings), outbox_collections())
