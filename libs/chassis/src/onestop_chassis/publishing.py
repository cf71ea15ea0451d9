"""Publishing onestop.events.v1 messages to RabbitMQ with broker confirms, through nameko's publisher
and event exchanges (the exchange `<producer>.events` that nameko `@event_handler`s bind to).
Imports no eventlet: used by the worker and by the plain relay process (onestop_chassis.relay)."""

from __future__ import annotations

from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange

from .config import ServiceSettings

# Seconds a socket read or write to the broker may take (py-amqp's read_timeout/write_timeout). Without
# them a connection that went silent (a half-open TCP connection, a frozen proxy) held the relay's
# wait for a confirm forever: its passes stopped and nothing restarted it.
SOCKET_TIMEOUT_SECONDS = 5.0


def confirming_publisher(settings: ServiceSettings) -> Publisher:
    """A publisher that waits for the broker's confirm and gives up fast (the caller retries): a
    broker that does not answer within SOCKET_TIMEOUT_SECONDS fails the publish."""
    return Publisher(
        settings.amqp_uri, use_confirms=True, serializer="json",
        retry=True, retry_policy={"max_retries": 1, "interval_start": 0.5, "interval_step": 0.5},
        transport_options={"max_retries": 1, "interval_start": 0.5, "interval_step": 0.5,
                           "interval_max": 1, "confirm_publish": True,
                           "read_timeout": SOCKET_TIMEOUT_SECONDS, "write_timeout": SOCKET_TIMEOUT_SECONDS})


def publish_event(publisher: Publisher, producer: str, event_type: str, payload: dict, headers: dict,
                  event_id: str) -> None:
    # declare: the exchange exists even before any consumer declared it (else 404 on publish).
    # Not mandatory: like any pub/sub, an event nobody has subscribed to yet is not kept.
    exchange = get_event_exchange(producer)
    publisher.publish(payload, exchange=exchange, declare=[exchange], routing_key=event_type, headers=headers,
                      message_id=event_id)
