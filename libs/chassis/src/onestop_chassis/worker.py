"""The `worker` process: a nameko service for everything AMQP (event handlers, timers, the outbox
relay), with DependencyProviders for MongoDB, MinIO, the outbox relay and observability.

The process entry module must call `eventlet.monkey_patch()` before importing anything else, then
`run_worker(...)`. Never call a grpcio stub from here (it deadlocks under eventlet).
"""

from __future__ import annotations

import datetime as dt
import errno
import signal
import time

import eventlet
import structlog
from nameko import config as nameko_config
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler as _NamekoEventHandler
from nameko.extensions import DependencyProvider
from nameko.runners import ServiceRunner
from nameko.standalone.events import get_event_exchange
from opentelemetry import context as otel_context
from opentelemetry import trace

from . import dependencies, events, metrics, mongo, storage, tracing
from .config import ServiceSettings
from .logs import configure_logging, get_logger
from .outbox import OutboxRelay

log = get_logger("onestop.worker")
SETTINGS_KEY = "ONESTOP_SETTINGS"


def worker_settings() -> ServiceSettings:
    return nameko_config[SETTINGS_KEY]


def nameko_config_for(settings: ServiceSettings) -> dict:
    return {
        SETTINGS_KEY: settings,
        "AMQP_URI": settings.amqp_uri,
        "max_workers": 10,
        "PREFETCH_COUNT": 10,
        "HEARTBEAT": 30,
        # Used only by services with @http pages.
        "WEB_SERVER_ADDRESS": f"{settings.web_host}:{settings.web_port}",
    }


def _occurred_at(payload) -> float | None:
    try:
        stamp = payload["header"]["occurredAt"]
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


class Observability(DependencyProvider):
    """A span, log context and metrics for every worker. An event handler's span continues the
    trace carried in the message's `traceparent` header."""

    def setup(self):
        self._service = self.container.service_name
        self._active: dict = {}

    def worker_setup(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        handler = entrypoint.method_name
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(handler=handler)
        parent = tracing.extract(worker_ctx.context_data)
        kind = trace.SpanKind.CONSUMER if isinstance(entrypoint, _NamekoEventHandler) else trace.SpanKind.INTERNAL
        span = tracing.tracer().start_span(f"{self._service}.{handler}", context=parent, kind=kind)
        token = otel_context.attach(trace.set_span_in_context(span))
        if isinstance(entrypoint, _NamekoEventHandler):
            structlog.contextvars.bind_contextvars(event_type=entrypoint.event_type)
            occurred = _occurred_at(worker_ctx.args[0] if worker_ctx.args else None)
            if occurred is not None:
                metrics.EVENT_DELIVERY_DELAY.labels(self._service, entrypoint.event_type).observe(
                    max(0.0, time.time() - occurred))
        self._active[worker_ctx] = (span, token, time.perf_counter())

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        span, token, started = self._active.pop(worker_ctx, (None, None, None))
        if span is None:
            return
        handler = worker_ctx.entrypoint.method_name
        metrics.HANDLER_LATENCY.labels(self._service, handler).observe(time.perf_counter() - started)
        metrics.HANDLER_CALLS.labels(self._service, handler, "error" if exc_info else "ok").inc()
        if exc_info:
            metrics.HANDLER_ERRORS.labels(self._service, handler).inc()
            span.record_exception(exc_info[1])
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc_info[1])))
            log.error("worker failed", exc_info=exc_info)
        span.end()
        otel_context.detach(token)
        structlog.contextvars.clear_contextvars()


OUTAGE_PAUSE_SECONDS = 5.0  # before an event whose handler met a server that is down goes back


class EventHandler(_NamekoEventHandler):
    """nameko's event handler, except that an event whose handler failed for a temporary reason
    (`dependencies.unavailable`: the database, MinIO or the broker is down, or any Unavailable)
    waits OUTAGE_PAUSE_SECONDS in its worker before it is requeued. Requeued at once, it came
    straight back: a hot loop of redeliveries for as long as the outage lasted. Other failures are
    requeued at once, as before."""

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is not None and self.requeue_on_error:
            temporary = dependencies.unavailable(exc_info[1])
            if temporary is not None:
                log.warning("temporary failure; the event goes back to the queue after a pause",
                            reason=temporary.reason, pause_seconds=OUTAGE_PAUSE_SECONDS)
                eventlet.sleep(OUTAGE_PAUSE_SECONDS)
        return super().handle_result(message, worker_ctx, result, exc_info)


event_handler = EventHandler.decorator  # use instead of nameko.events.event_handler


class MongoConnection(DependencyProvider):
    """Connects mongoengine to the service's database when the worker starts, and closes it last.

    nameko stops all dependency providers at once, so on shutdown this one first waits for every
    provider of the service that declares `uses_database` (the outbox relay, sweeps) to finish:
    a pass never runs on a closed connection.
    """

    def setup(self):
        mongo.connect(worker_settings())

    def stop(self):
        for provider in self.container.dependencies:
            if provider is not self and getattr(provider, "uses_database", False):
                provider.stop()  # idempotent: returns once its loop has ended
        mongo.disconnect()


class MinioClient(DependencyProvider):
    """Gives workers a MinIO client for the service's object storage."""

    def setup(self):
        self.client = storage.minio_client(worker_settings())

    def get_dependency(self, worker_ctx):
        return self.client


def confirming_publisher(settings: ServiceSettings) -> Publisher:
    """A publisher that waits for the broker's confirm and gives up fast (the caller retries)."""
    return Publisher(
        settings.amqp_uri, use_confirms=True, serializer="json",
        retry=True, retry_policy={"max_retries": 1, "interval_start": 0.5, "interval_step": 0.5},
        transport_options={"max_retries": 1, "interval_start": 0.5, "interval_step": 0.5,
                           "interval_max": 1, "confirm_publish": True})


def publish_event(publisher: Publisher, producer: str, event_type: str, payload: dict, headers: dict,
                  event_id: str) -> None:
    # declare: the exchange exists even before any consumer declared it (else 404 on publish).
    # Not mandatory: like any pub/sub, an event nobody has subscribed to yet is not kept.
    exchange = get_event_exchange(producer)
    publisher.publish(payload, exchange=exchange, declare=[exchange], routing_key=event_type, headers=headers,
                      message_id=event_id)


class EventPublisher(DependencyProvider):
    """Publishes an onestop.events.v1 message straight away, from an event handler whose own event
    is redelivered if this fails (at-least-once without the outbox: for events derived from another
    event, such as a form filed after the dossier changed). Same format as the outbox relay."""

    def setup(self):
        self._publisher = confirming_publisher(worker_settings())

    def get_dependency(self, worker_ctx):
        def publish(message) -> None:
            header = message.header
            publish_event(self._publisher, header.producer, events.event_type(message), events.to_payload(message),
                          tracing.inject({}), header.event_id)
            metrics.OUTBOX_PUBLISHED.labels(header.producer, events.event_type(message)).inc()
        return publish


class OutboxRelayRunner(DependencyProvider):
    """Runs the outbox relay of the service's aggregate collections in a managed green thread.

    Each of `collections` is a callable returning a pymongo collection. They are called in start():
    nameko runs every provider's setup() (MongoConnection's included) before any start().
    Publishing waits for the broker's confirm; while RabbitMQ is down, events stay in the outbox.
    """

    uses_database = True  # MongoConnection closes the database only after stop() returned

    def __init__(self, *collections):
        self._collection_fns = collections
        self._running = False
        self._thread = None

    def setup(self):
        self._settings = settings = worker_settings()
        self._interval = settings.outbox_poll_seconds
        self._publisher = confirming_publisher(settings)

    def _publish(self, entry: dict, headers: dict) -> None:
        publish_event(self._publisher, entry["producer"], entry["event_type"], entry["payload"], headers,
                      entry["event_id"])

    def start(self):
        self.relays = [OutboxRelay(self.container.service_name, collection(), self._publish,
                                   batch_size=self._settings.outbox_batch_size,
                                   grace_seconds=self._settings.outbox_grace_seconds)
                       for collection in self._collection_fns]
        for relay in self.relays:
            relay.ensure_indexes()
        self._running = True
        self._wake = eventlet.Event()
        self._thread = self.container.spawn_managed_thread(self._loop, identifier="outbox-relay")

    def stop(self):
        """Lets a pass in progress finish and starts no other (MongoConnection disconnects after
        this). Safe to call more than once."""
        self._running = False
        if self._thread is not None:
            if not self._wake.ready():
                self._wake.send()  # cut the sleep between passes short
            self._thread.wait()

    def kill(self):
        self._running = False

    def _relay_all(self) -> int:
        published = 0
        for relay in self.relays:  # one failing collection must not hold the others back
            try:
                published += relay.run_once()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
        return published

    def _loop(self):
        while self._running:
            if self._relay_all():
                continue  # more may be waiting: go again without sleeping
            self._wake.wait(self._interval)


def run_worker(service_cls, settings: ServiceSettings) -> None:
    """Runs one nameko service until SIGTERM/SIGINT. Call after eventlet.monkey_patch()."""
    configure_logging(settings.service_name, "worker", settings.log_level)
    tracing.configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    metrics.start_metrics_server(settings.metrics_host, settings.worker_metrics_port)
    nameko_config.setup(nameko_config_for(settings))
    runner = ServiceRunner()
    runner.add_service(service_cls)

    def shutdown(_signum, _frame):
        eventlet.spawn_n(runner.stop)  # signal handlers cannot use eventlet primitives directly

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("worker started", metrics=f"{settings.metrics_host}:{settings.worker_metrics_port}",
             amqp=settings.amqp_uri.rsplit("@", 1)[-1])
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
            break
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise
    log.info("worker stopped")
