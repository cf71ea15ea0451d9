"""Event handlers whose messages never loop: bounded retries, then a dead-letter queue.

`onestop_chassis.worker.event_handler` (use it instead of nameko's `@event_handler`) declares
each handler's queue Q (nameko's name, e.g. `evt-intake-DossierReceived--routing.on_dossier_received`)
with the RabbitMQ queue arguments `x-dead-letter-exchange: onestop.dead-letters` and
`x-dead-letter-routing-key: Q`, and beside it:

- `Q.dead`, bound to the direct exchange `onestop.dead-letters` with key Q: where a message goes
  when it can never be processed. It stays there (RabbitMQ adds an `x-death` header saying from
  which queue and why) until someone inspects it and moves it back (e.g. a shovel) or purges it.
- `Q.retry`, with no consumer: a message that failed is copied there with a per-message TTL and an
  attempt counter header (`x-onestop-attempts`); when the TTL expires, RabbitMQ dead-letters it
  back into Q (`x-dead-letter-exchange: ""`, routing key Q). No worker waits meanwhile.

What happens to a message, by outcome of its handler:
- returns: acknowledged;
- the body cannot be decoded (not JSON, wrong content type), or the handler raises a
  `PermanentError` (e.g. `events.InvalidEvent`: a payload that is not the expected event):
  rejected without requeue, so RabbitMQ moves it to `Q.dead` at once;
- raises anything else: counted as one attempt. Before the last attempt (settings
  EVENT_MAX_ATTEMPTS, default 15) it is copied to `Q.retry` to come back after
  min(EVENT_RETRY_BASE_SECONDS × 2^(attempt-1), EVENT_RETRY_MAX_SECONDS) (1, 2, 4 ... 60 s: about
  9 minutes in all by default) and the original is acknowledged only once the copy is confirmed
  by the broker; after the last attempt it is dead-lettered (`retries_exhausted`).

Each dead letter increments `onestop_worker_dead_letters_total{service,handler,reason}` and logs
one error line `event dead-lettered` with the queue, reason, attempts, message id and error.

Upgrading a queue declared before this (without the arguments): RabbitMQ refuses to redeclare a
queue with other arguments (PRECONDITION_FAILED), so `declare` then moves it: it waits for older
consumers to leave (they would otherwise redeclare it the old way), binds a holding queue
`Q.upgrade` to the same exchange and key, unbinds Q, moves Q's messages into the holding queue,
deletes Q, declares it anew with the arguments and its binding, unbinds the holding queue and
moves the messages back. Events published during the move are kept (at worst delivered twice, as
the platform's at-least-once delivery allows). A holding queue left by a crash is emptied into Q
at the next start. Workers of one service starting together take turns (an exclusive lock queue).
"""

from __future__ import annotations

import time

from amqp.exceptions import NotFound, PreconditionFailed, ResourceLocked
from kombu import Connection

from .logs import get_logger

log = get_logger("onestop.dead_letters")

DEAD_LETTER_EXCHANGE = "onestop.dead-letters"
ATTEMPTS_HEADER = "x-onestop-attempts"
OLD_CONSUMERS_WAIT_SECONDS = 60.0


def dead_queue(queue: str) -> str:
    return f"{queue}.dead"


def retry_queue(queue: str) -> str:
    return f"{queue}.retry"


def holding_queue(queue: str) -> str:
    return f"{queue}.upgrade"


def queue_arguments(queue: str) -> dict:
    """The arguments every consumer queue is declared with."""
    return {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": queue}


def retry_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds before attempt `attempt` + 1, after `attempt` failed ones (1-based)."""
    return min(base * 2 ** (attempt - 1), cap)


def _move(channel, source: str, target: str) -> int:
    """Moves every ready message of `source` to `target` (default exchange), each acknowledged
    only after the broker confirmed its copy. Returns how many moved."""
    moved = 0
    while True:
        message = channel.basic_get(source, no_ack=False)
        if message is None:
            return moved
        channel.basic_publish_confirm(message, exchange="", routing_key=target)
        channel.basic_ack(message.delivery_tag)
        moved += 1


def _drain_holding(connection: Connection, queue: str, exchange: str, routing_key: str) -> int:
    channel = connection.channel()
    try:
        channel.queue_declare(holding_queue(queue), passive=True)
    except NotFound:  # the usual case: no upgrade was interrupted (the channel is closed by the broker)
        return 0
    channel.confirm_select()
    channel.queue_unbind(holding_queue(queue), exchange, routing_key)
    moved = _move(channel, holding_queue(queue), queue)
    channel.queue_delete(holding_queue(queue))
    channel.close()
    return moved


def _upgrade(connection: Connection, queue: str, exchange: str, routing_key: str, arguments: dict) -> int:
    channel = connection.channel()
    deadline = time.monotonic() + OLD_CONSUMERS_WAIT_SECONDS
    while True:
        _, _, consumers = channel.queue_declare(queue, passive=True)
        if not consumers:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"queue {queue} is still consumed by {consumers} older worker(s) that declare it "
                               "without a dead-letter exchange: stop them, then start this worker")
        time.sleep(2)
    channel.confirm_select()
    holding = holding_queue(queue)
    channel.queue_declare(holding, durable=True, auto_delete=False)
    channel.queue_bind(holding, exchange, routing_key)
    channel.queue_unbind(queue, exchange, routing_key)
    moved = _move(channel, queue, holding)
    channel.queue_delete(queue)
    channel.queue_declare(queue, durable=True, auto_delete=False, arguments=arguments)
    channel.queue_bind(queue, exchange, routing_key)
    channel.queue_unbind(holding, exchange, routing_key)
    _move(channel, holding, queue)
    channel.queue_delete(holding)
    channel.close()
    return moved


def _declared(connection: Connection, queue: str, arguments: dict) -> bool:
    """Whether `queue` exists (or was just made) with `arguments`; False when it has others."""
    try:
        connection.channel().queue_declare(queue, durable=True, auto_delete=False, arguments=arguments)
        return True
    except PreconditionFailed:  # declared before dead-lettering existed; the broker closed the channel
        return False


def declare(amqp_uri: str, queue: str, exchange: str, routing_key: str) -> None:
    """Declares consumer queue `queue` (durable, bound to topic exchange `exchange` with
    `routing_key`) with its dead-letter and retry queues, upgrading a queue declared without them.
    Idempotent; call it before the consumer starts. Workers starting together upgrade a queue
    one at a time: each holds the exclusive queue `<queue>.upgrade-lock` while it works (RabbitMQ
    drops it with the connection, so a crash never leaves it locked)."""
    arguments = queue_arguments(queue)
    with Connection(amqp_uri, connect_timeout=10) as connection:
        # Like nameko's consumers: a broker that is down at start is waited for, not a crash.
        connection.ensure_connection(
            errback=lambda exc, interval: log.warning("broker unreachable; retrying", error=str(exc),
                                                      retry_in_seconds=interval),
            interval_start=1, interval_step=1, interval_max=5)
        channel = connection.channel()
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        channel.exchange_declare(DEAD_LETTER_EXCHANGE, "direct", durable=True, auto_delete=False)
        channel.queue_declare(dead_queue(queue), durable=True, auto_delete=False)
        channel.queue_bind(dead_queue(queue), DEAD_LETTER_EXCHANGE, queue)
        channel.queue_declare(retry_queue(queue), durable=True, auto_delete=False,
                              arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue})
        deadline = time.monotonic() + OLD_CONSUMERS_WAIT_SECONDS
        while True:
            lock = connection.channel()
            try:
                lock.queue_declare(f"{queue}.upgrade-lock", exclusive=True, auto_delete=True)
                break
            except ResourceLocked:  # another worker is upgrading this queue: wait for it
                if time.monotonic() > deadline:
                    raise RuntimeError(f"queue {queue} has been locked for an upgrade by another worker for "
                                       f"{OLD_CONSUMERS_WAIT_SECONDS:.0f} s") from None
                time.sleep(1)
        if _declared(connection, queue, arguments):
            channel = connection.channel()
            channel.queue_bind(queue, exchange, routing_key)
            moved = _drain_holding(connection, queue, exchange, routing_key)
            if moved:
                log.warning("interrupted queue upgrade finished", queue=queue, messages_kept=moved)
        else:
            moved = _upgrade(connection, queue, exchange, routing_key, arguments)
            log.warning("queue upgraded to dead-lettering", queue=queue, messages_kept=moved)
        lock.queue_delete(f"{queue}.upgrade-lock")
