"""Consuming events in a worker: `event_handler` (nameko's, with bounded retries and dead letters,
and, given the message type, the parsing, logging and duplicate counting every consumer needs).
See onestop_chassis.dead_letters for the queues."""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf.message import Message
from kombu import Connection
from kombu.pools import producers
from nameko.events import SERVICE_POOL, EventHandler

from . import dead_letters, dependencies, events, health, metrics
from .errors import PermanentError
from .logs import bind_dossier, get_logger
from .worker_config import worker_settings

log = get_logger("onestop.worker")

OUTAGE_PAUSE_SECONDS = 5.0  # at least, before an event whose handler met a server that is down comes back


class ReliableEventHandler(EventHandler):
    """nameko's event handler (a SERVICE_POOL queue per service and method) whose messages never
    loop: bounded retries through `<queue>.retry`, then `<queue>.dead` (see
    onestop_chassis.dead_letters for the whole behaviour and the upgrade of existing queues).
    Use it through `event_handler(source_service, event_type)`; `requeue_on_error` is not taken.
    Its consumer keeps a health.Link named after the queue (the worker's liveness probe)."""

    consumer_cls = health.WatchedConsumer

    def __init__(self, source_service, event_type, **kwargs):
        kwargs.pop("requeue_on_error", None)  # replaced by bounded retries
        if kwargs.get("handler_type", SERVICE_POOL) is not SERVICE_POOL:
            raise ValueError("onestop event handlers are SERVICE_POOL handlers (one durable queue per method)")
        super().__init__(source_service, event_type, requeue_on_error=False, **kwargs)

    def setup(self):
        settings = worker_settings()
        self._max_attempts = max(1, settings.event_max_attempts)
        self._retry_base, self._retry_cap = settings.event_retry_base_seconds, settings.event_retry_max_seconds
        self.consumer_options["on_decode_error"] = self._undecodable
        super().setup()  # builds self.queue: nameko's name, exchange and binding
        name = self.queue.name
        self.consumer.link.name = name
        self.queue.queue_arguments = dead_letters.queue_arguments(name)
        self._connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True})
        dead_letters.declare(self.amqp_uri, name, self.queue.exchange.name, self.queue.routing_key)

    def _dead_letter(self, message, reason: str, error: str, attempts: int) -> None:
        if message.channel.connection:  # else the broker has taken the message back already
            message.reject(requeue=False)
        metrics.DEAD_LETTERS.labels(self.container.service_name, self.method_name, reason).inc()
        log.error("event dead-lettered", queue=self.queue.name,
                  dead_letter_queue=dead_letters.dead_queue(self.queue.name), reason=reason, attempts=attempts,
                  message_id=message.properties.get("message_id"), error=error[:1000])

    def _undecodable(self, message, exc) -> None:
        """kombu calls this from the consumer for a body it cannot decode (not JSON, wrong type)."""
        self._dead_letter(message, "malformed", f"{type(exc).__name__}: {exc}", 1)

    def _retry_later(self, message, attempts: int, delay: float | None = None) -> None:
        headers = {**(message.headers or {}), dead_letters.ATTEMPTS_HEADER: attempts}
        if delay is None:
            delay = dead_letters.retry_delay(attempts, self._retry_base, self._retry_cap)
        with producers[self._connection].acquire(block=True, timeout=10) as producer:
            producer.publish(message.body, exchange="", routing_key=dead_letters.retry_queue(self.queue.name),
                             headers=headers, expiration=delay, content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2,
                             message_id=message.properties.get("message_id"),
                             retry=True, retry_policy={"max_retries": 1, "interval_start": 0.5})
        metrics.EVENT_RETRIES.labels(self.container.service_name, self.method_name).inc()
        log.warning("event handler failed; retried later", attempts=attempts, retry_in_seconds=delay,
                    max_attempts=self._max_attempts)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.consumer.ack_message(message)
            return
        error = exc_info[1]
        attempts = int((message.headers or {}).get(dead_letters.ATTEMPTS_HEADER, 0)) + 1
        outage = dependencies.unavailable(error) is not None
        if isinstance(error, PermanentError):
            self._dead_letter(message, "permanent", f"{type(error).__name__}: {error}", attempts)
        elif attempts >= self._max_attempts and not outage:
            self._dead_letter(message, "retries_exhausted", f"{type(error).__name__}: {error}", attempts)
        else:
            try:
                if outage:
                    # A server that is down (database, object store, broker) is no fault of the
                    # message: it waits OUTAGE_PAUSE_SECONDS and more, as long as the outage lasts,
                    # and the attempt is not counted, so an outage never dead-letters an event.
                    delay = max(OUTAGE_PAUSE_SECONDS,
                                dead_letters.retry_delay(attempts, self._retry_base, self._retry_cap))
                    self._retry_later(message, attempts - 1, delay)
                else:
                    self._retry_later(message, attempts)
            except Exception:  # the broker is unreachable: put it back as it is (nothing counted)
                log.exception("cannot schedule the retry; the message goes back to its queue")
                self.consumer.requeue_message(message)
                return
            self.consumer.ack_message(message)

    def stop(self):
        super().stop()
        self._connection.release()


def event_handler(source_service: str, event_type: str, *, message: type[Message] | None = None, **kwargs):
    """Makes a worker method consume `event_type` events of `source_service` through a
    ReliableEventHandler (queue `evt-<source>-<type>--<service>.<method>`, bounded retries, then
    `<queue>.dead`). Use it instead of nameko's `event_handler`.

    With `message` (a protobuf class of onestop.events.v1) the method receives the parsed message
    rather than the JSON payload, and the chassis does what every consumer needs:
    - a payload that does not parse as `message` raises events.InvalidEvent (a PermanentError):
      the message goes straight to the dead-letter queue;
    - the message's `dossier_code`, when it has one, is bound to every later log line;
    - when the method returns False (the event was applied before: a redelivery), the chassis
      counts it in `onestop_event_duplicates{service, event_type}` and logs it once.
    Anything else the method returns means applied. Raise errors.PermanentError for what can never
    succeed; any other exception is retried (see ReliableEventHandler).
    """
    register = ReliableEventHandler.decorator(source_service, event_type, **kwargs)
    if message is None:
        return register

    def decorate(method):
        has_dossier = "dossier_code" in message.DESCRIPTOR.fields_by_name

        @functools.wraps(method)
        def handle(service, payload):
            event = events.from_payload(payload, message)
            if has_dossier:
                bind_dossier(getattr(event, "dossier_code"))  # noqa: B009 (a field of this message type, not of Message)
            applied = method(service, event)
            if applied is False:
                metrics.EVENT_DUPLICATES.labels(service.name, event_type).inc()
                log.info("event already applied; ignored", event_id=events.header_of(event).event_id)
            return applied
        registered: Any = register(handle)
        registered.event_message = message  # what the chassis parses the payload into (tests check it)
        return registered
    return decorate
