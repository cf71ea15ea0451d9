"""Entry of `onestop-routing-relay`: publishes the journey's outbox events (CaseOpened,
CaseProgressed, ...), in a plain process of its own (no eventlet; onestop_chassis.relay)."""

from onestop_chassis.config import load_or_exit
from onestop_chassis.relay import run_relay

from .adapters.journey import outbox_collections
from .config import RoutingSettings


def main() -> None:
    run_relay(load_or_exit(RoutingSettings), outbox_collections())
