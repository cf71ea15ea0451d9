"""The `worker` process: a nameko service for everything AMQP (event handlers, timers), with
DependencyProviders for MongoDB, MinIO, the outbox relay and observability. The outbox relay
itself runs in a process of its own by default (onestop_chassis.relay).

The process entry module must call `eventlet.monkey_patch()` before importing anything else, then
`run_worker(...)`. Never call a grpcio stub from here (it deadlocks under eventlet).
"""

from __future__ import annotations

import datetime as dt
import errno
import signal
import time

import eventlet
import mongoengine
import structlog
from nameko import config as nameko_config
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.runners import ServiceRunner
from nameko.timer import Timer
from opentelemetry import context as otel_context
from opentelemetry import trace

from . import events, health, leases, metrics, mongo, storage, tracing
from .config import ServiceSettings
from .consuming import OUTAGE_PAUSE_SECONDS, ReliableEventHandler, event_handler  # noqa: F401 (the worker's API)
from .logs import configure_logging, get_logger
from .outbox import OutboxRelay, relay_pass
from .publishing import confirming_publisher, publish_event
from .worker_config import SETTINGS_KEY, nameko_config_for, worker_settings  # noqa: F401 (the worker's API)

log = get_logger("onestop.worker")


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
        kind = trace.SpanKind.CONSUMER if isinstance(entrypoint, EventHandler) else trace.SpanKind.INTERNAL
        span = tracing.tracer().start_span(f"{self._service}.{handler}", context=parent, kind=kind)
        token = otel_context.attach(trace.set_span_in_context(span))
        if isinstance(entrypoint, EventHandler):
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


class Bootstrapped(DependencyProvider):
    """Gives workers one part of the service's composition root (its `bootstrap.py`), built once
    per worker process from the worker's settings: `routing = Bootstrapped(bootstrap, "service")`
    injects `bootstrap(settings).service`. Providers of one service share one composition.
    Tests replace it with nameko.testing.services.replace_dependencies / worker_factory."""

    def __init__(self, bootstrap, part: str):
        self._bootstrap, self._part = bootstrap, part

    def setup(self):
        built = self.container.__dict__.setdefault("_onestop_compositions", {})
        if self._bootstrap not in built:
            built[self._bootstrap] = self._bootstrap(worker_settings())
        self._value = getattr(built[self._bootstrap], self._part)

    def get_dependency(self, worker_ctx):
        return self._value


class DatabasePrepared(DependencyProvider):
    """Runs the service's `prepare_database` (migrations, indexes; idempotent) once when the worker
    starts: in start(), so after every setup() (MongoConnection's included). nameko starts the
    entrypoints at the same time, as the api process may be serving already: migrations must
    therefore be safe alongside writes, as they are for the api. For a worker that writes what its
    api process writes too."""

    def __init__(self, prepare):
        self._prepare = prepare

    def start(self):
        self._prepare()


class SettingsTimer(Timer):
    """nameko's timer entrypoint whose interval (seconds) is a field of the worker's settings, read
    when the worker starts: `@periodic("orphan_sweep_seconds")`. A tick waits for the previous one
    to finish; on shutdown nameko stops entrypoints, waits for running workers, and only then stops
    dependency providers, so a tick never runs on a closed database connection.

    However many worker replicas run, each interval's tick runs on one of them: the one that holds
    the job's lease (`<service>.<method>`, a term of one interval; onestop_chassis.leases) in the
    service's database. A replica that does not, or cannot tell (database down), skips the tick."""

    heartbeat: health.Heartbeat | None = None  # set in setup()

    def __init__(self, setting: str, **kwargs):
        self.setting = setting
        super().__init__(interval=None, **kwargs)

    def setup(self):
        self.interval = float(getattr(worker_settings(), self.setting))
        self._lease: leases.Lease | leases.Always | None = None
        # the loop comes round to a tick only once the previous one finished: a tick that never
        # returns makes it stale (WorkerHealth, /healthz/live)
        self.heartbeat = health.Heartbeat(f"{self.container.service_name}.{self.method_name}", self.interval,
                                          worker_settings().liveness_grace_seconds)
        super().setup()

    def handle_timer_tick(self):
        if self.heartbeat is not None:
            self.heartbeat.beat()
        job = f"{self.container.service_name}.{self.method_name}"
        if self._lease is None:  # the database is connected once every provider's setup() ran
            try:
                database = mongoengine.get_db()
            except mongoengine.connection.ConnectionFailure:  # a worker without a database: no replicas
                database = None                                  # to agree with, so every tick runs
            self._lease = (leases.Lease(database[leases.COLLECTION], job, leases.holder_name(),
                                        term_seconds=self.interval) if database is not None else leases.ALWAYS)
        if leases.holding(self._lease.held, job):
            super().handle_timer_tick()
        else:
            self.worker_complete.send()  # no worker ran: nameko's loop waits for this before sleeping


periodic = SettingsTimer.decorator


class MinioClient(DependencyProvider):
    """Gives workers a MinIO client for the service's object storage."""

    def setup(self):
        self.client = storage.minio_client(worker_settings())

    def get_dependency(self, worker_ctx):
        return self.client


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
    """Runs the outbox relay of the service's aggregate collections in a managed green thread, but
    only with OUTBOX_RELAY_IN_WORKER=true: by default the relay is a process of its own
    (onestop_chassis.relay), because a handler's CPU work holds this hub and the relay with it.

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
        self.heartbeat = (health.Heartbeat(f"{self.container.service_name}.relay", self._interval,
                                           settings.liveness_grace_seconds)
                          if settings.outbox_relay_in_worker else None)

    def _publish(self, entry: dict, headers: dict) -> None:
        publish_event(self._publisher, entry["producer"], entry["event_type"], entry["payload"], headers,
                      entry["event_id"])

    def start(self):
        if not self._settings.outbox_relay_in_worker:
            return  # the relay process (onestop_chassis.relay) publishes; this hub only handles events
        self.relays = [OutboxRelay(self.container.service_name, collection(), self._publish,
                                   batch_size=self._settings.outbox_batch_size,
                                   grace_seconds=self._settings.outbox_grace_seconds)
                       for collection in self._collection_fns]
        for relay in self.relays:
            relay.ensure_indexes()
        self._lease = leases.relay_lease(self.relays, self.container.service_name, self._settings.outbox_lease_seconds)
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
        return relay_pass(self.container.service_name, self.relays)

    def _loop(self):
        while self._running:
            busy = leases.holding(self._lease.held, self.container.service_name) and self._relay_all()
            if self.heartbeat is not None:
                self.heartbeat.beat()  # a pass, or a lease check, completed
            if not busy:
                self._wake.wait(self._interval)  # else more may be waiting: go again without sleeping


class WorkerHealth(DependencyProvider):
    """Puts what the worker's probes watch (onestop_chassis.health) into the process's Watch when
    the container starts, and takes it out when it stops: the Link of every event handler's AMQP
    consumer (health.WatchedConsumer) and the Heartbeat of every loop (@periodic timers, the
    in-worker outbox relay). run_worker adds it to every worker service."""

    def _parts(self) -> list:
        container = self.container
        links = [getattr(getattr(e, "consumer", None), "link", None) for e in container.entrypoints]
        beats = [getattr(x, "heartbeat", None) for x in (*container.entrypoints, *container.dependencies)]
        return [p for p in (*links, *beats) if isinstance(p, health.Link | health.Heartbeat)]

    def start(self):
        self._watched = self._parts()
        health.PROCESS.add(*self._watched)

    def stop(self):
        health.PROCESS.remove(*getattr(self, "_watched", ()))

    kill = stop


def run_worker(service_cls, settings: ServiceSettings) -> None:
    """Runs one nameko service until SIGTERM/SIGINT. Call after eventlet.monkey_patch().

    Serves /metrics, /healthz/live and /healthz/ready on WORKER_METRICS_PORT (onestop_chassis.health)."""
    configure_logging(settings.service_name, "worker", settings.log_level)
    tracing.configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    health.PROCESS.grace = settings.liveness_grace_seconds
    health.start_probe_server(settings.metrics_host, settings.worker_metrics_port, settings.service_name, "worker")
    if not any(isinstance(v, WorkerHealth) for v in vars(service_cls).values()):
        service_cls.onestop_health = WorkerHealth()  # nameko collects providers from class attributes
    nameko_config.setup(nameko_config_for(settings))
    runner = ServiceRunner()
    runner.add_service(service_cls)

    def shutdown(_signum, _frame):
        eventlet.spawn_n(runner.stop)  # signal handlers cannot use eventlet primitives directly

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()  # returns once every consumer has connected (nameko waits for it)
    health.PROCESS.started = True
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
