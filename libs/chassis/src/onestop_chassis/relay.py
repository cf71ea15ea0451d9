"""The `relay` process: a service's transactional-outbox relay (onestop_chassis.outbox) on its own.

Why not in the worker: the worker is one eventlet hub, and a handler that computes (intake renders
a 25–35 ms receipt PDF for every dossier) holds that hub, and the relay green thread with it, for
as long as it computes. After a burst of 300 submissions the relay published the last event 15 s
late, and 100 s after 2,600 (docs/design.md, "Outbox relay in a process of its own"). Here the
relay is a plain Python process (no eventlet, no nameko container): it only reads pointers, loads
aggregates by `_id` and publishes with broker confirms, so nothing else ever runs between its
steps. A service's entry module calls `run_relay` with the same collections its worker names.

OUTBOX_RELAY_IN_WORKER=true puts the relay back on the worker's hub (the old shape). Running
both only publishes some events twice; consumers remember event ids.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence

from . import health, leases, mongo, tracing
from .config import ServiceSettings
from .logs import configure_logging, get_logger
from .outbox import OutboxRelay, relay_pass
from .publishing import confirming_publisher, publish_event

log = get_logger("onestop.relay")


def relay_until(service: str, relays: list[OutboxRelay], interval: float, stopped: Callable[[], bool],
                sleep: Callable[[float], None] = time.sleep, held: Callable[[], bool] = lambda: True,
                heartbeat: health.Heartbeat | None = None) -> None:
    """Relays until `stopped()`: a pass, and another at once while a pass published anything, else
    a sleep of `interval` seconds (OUTBOX_POLL_SECONDS). A pass in progress always finishes. Only
    while `held()` (the relay's lease, leases.Lease): of several relay replicas, one publishes.
    `heartbeat` beats after every pass or lease check (the relay's /healthz/live)."""
    while not stopped():
        busy = leases.holding(held, service) and relay_pass(service, relays)
        if heartbeat is not None:
            heartbeat.beat()
        if not busy:
            sleep(interval)  # else more may be waiting: go again without sleeping


def run_relay(settings: ServiceSettings, collections: Sequence[Callable[[], object]]) -> None:
    """Runs the relay of `collections` (callables returning the pymongo collections of the
    service's aggregates, called once connected) until SIGTERM/SIGINT, then disconnects.

    Metrics on RELAY_METRICS_PORT (default 93xx): onestop_outbox_published_total,
    onestop_outbox_relay_delay_seconds, onestop_outbox_pending_events,
    onestop_outbox_relay_passes_total; and the probes /healthz/live, /healthz/ready (failing once
    the loop has not completed a pass for 3 × OUTBOX_POLL_SECONDS and LIVENESS_GRACE_SECONDS:
    onestop_chassis.health). Raises (the process exits non-zero, to be restarted) when
    the database cannot be reached at start.
    """
    configure_logging(settings.service_name, "relay", settings.log_level)
    tracing.configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    heartbeat = health.Heartbeat(f"{settings.service_name}.relay", settings.outbox_poll_seconds,
                                 settings.liveness_grace_seconds)
    health.PROCESS.add(heartbeat)
    health.start_probe_server(settings.metrics_host, settings.relay_metrics_port, settings.service_name, "relay")
    stop = []

    def shutdown(_signum, _frame):
        # Only a flag: a lock taken here could be the one the interrupted code holds.
        stop.append(_signum)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    mongo.connect(settings)
    publisher = confirming_publisher(settings)

    def publish(entry: dict, headers: dict) -> None:
        publish_event(publisher, entry["producer"], entry["event_type"], entry["payload"], headers,
                      entry["event_id"])

    relays = [OutboxRelay(settings.service_name, collection(), publish, batch_size=settings.outbox_batch_size,
                          grace_seconds=settings.outbox_grace_seconds, concurrency=settings.outbox_relay_concurrency)
              for collection in collections]
    for relay in relays:
        relay.ensure_indexes()
    lease = leases.relay_lease(relays, settings.service_name, settings.outbox_lease_seconds)
    health.PROCESS.started = True
    log.info("relay started", metrics=f"{settings.metrics_host}:{settings.relay_metrics_port}",
             amqp=settings.amqp_uri.rsplit("@", 1)[-1], collections=len(relays))
    try:
        relay_until(settings.service_name, relays, settings.outbox_poll_seconds, lambda: bool(stop), held=lease.held,
                    heartbeat=heartbeat)
    finally:
        mongo.disconnect()  # after the last pass: the database closes only once the relay has stopped
    log.info("relay stopped")
