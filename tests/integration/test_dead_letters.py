"""Issue 9, kind 4: a message that can never be processed goes to a dead-letter queue with a metric
and a log line, never an endless retry; transient errors are retried a bounded number of times;
queues declared before dead-lettering are upgraded without losing messages.

Against the real RabbitMQ (the tests' vhost, ONESTOP_TEST_VHOST); the worker is a real nameko
process (tests/integration/dead_letter_worker.py) using onestop_chassis.worker.event_handler."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Exchange, Queue

from onestop_chassis import dead_letters

from stack import free_port

WORKER = pathlib.Path(__file__).with_name("dead_letter_worker.py")
SERVICE = "dlprobe"


def _queue(source: str, event_type: str, method: str) -> str:
    return f"evt-{source}-{event_type}--{SERVICE}.{method}"


def _count(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri) as conn:
        return conn.channel().queue_declare(queue, passive=True)[1]


def _wait(predicate, timeout: float = 30.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _publish(amqp_uri: str, source: str, event_type: str, body, *, raw: bool = False) -> None:
    exchange = Exchange(f"{source}.events", type="topic", durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        if raw:
            producer.publish(body, exchange=exchange, routing_key=event_type, content_type="application/json",
                             content_encoding="utf-8", declare=[exchange], message_id=str(uuid.uuid4()))
        else:
            producer.publish(body, exchange=exchange, routing_key=event_type, serializer="json",
                             declare=[exchange], message_id=str(uuid.uuid4()))


def _delete_queues(amqp_uri: str, source: str) -> None:
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for event_type, method in (("Ok", "ok"), ("Permanent", "permanent"), ("Parse", "parse"),
                                   ("Transient", "transient")):
            name = _queue(source, event_type, method)
            for queue in (name, dead_letters.dead_queue(name), dead_letters.retry_queue(name),
                          dead_letters.holding_queue(name)):
                channel.queue_delete(queue)
        channel.exchange_delete(f"{source}.events")


@pytest.fixture()
def source(local_stack):
    name = f"dlt{uuid.uuid4().hex[:8]}"
    yield name
    _delete_queues(local_stack["amqp_uri"], name)


class Worker:
    def __init__(self, amqp_uri: str, source: str, log: pathlib.Path):
        self.metrics_port = free_port()
        env = {**os.environ, "AMQP_URI": amqp_uri, "DLT_SOURCE": source, "SERVICE_NAME": SERVICE,
               "WORKER_METRICS_PORT": str(self.metrics_port), "EVENT_MAX_ATTEMPTS": "3",
               "EVENT_RETRY_BASE_SECONDS": "0.2", "EVENT_RETRY_MAX_SECONDS": "0.5"}
        self.log = log
        with open(log, "w") as out:  # the child keeps its own descriptor
            self.popen = subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=out,
                                          stderr=subprocess.STDOUT)
        _wait(lambda: "worker started" in log.read_text() or self.popen.poll() is not None, 60, "the worker")
        assert self.popen.poll() is None, log.read_text()[-3000:]

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text().splitlines():
            with contextlib.suppress(ValueError):  # a line that is not a JSON log record
                out.append(json.loads(line))
        return out

    def metric(self, handler: str, reason: str) -> float:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith("onestop_worker_dead_letters_total{") and f'handler="{handler}"' in line \
                    and f'reason="{reason}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@pytest.fixture()
def worker(local_stack, source, tmp_path):
    running = Worker(local_stack["amqp_uri"], source, tmp_path / "worker.log")
    yield running
    running.stop()


def test_permanent_error_goes_to_the_dead_letter_queue_at_once(local_stack, source, worker):
    uri = local_stack["amqp_uri"]
    _publish(uri, source, "Permanent", {"id": "p-1"})
    dead = dead_letters.dead_queue(_queue(source, "Permanent", "permanent"))
    _wait(lambda: _count(uri, dead) == 1, what="the dead letter")
    assert _count(uri, _queue(source, "Permanent", "permanent")) == 0
    assert worker.metric("permanent", "permanent") == 1
    (line,) = [x for x in worker.lines() if x.get("event") == "event dead-lettered"]
    assert line["reason"] == "permanent" and line["attempts"] == 1 and "p-1 breaks a rule" in line["error"]
    assert line["level"] == "error" and line["dead_letter_queue"] == dead
    with Connection(uri) as conn:  # RabbitMQ says where it came from and why
        message = conn.channel().basic_get(dead, no_ack=True)
    (death,) = message.headers["x-death"]
    assert death["queue"] == _queue(source, "Permanent", "permanent") and death["reason"] == "rejected"
    assert json.loads(message.body) == {"id": "p-1"}


def test_malformed_body_and_invalid_event_are_dead_lettered(local_stack, source, worker):
    uri = local_stack["amqp_uri"]
    _publish(uri, source, "Ok", b"{this is not json", raw=True)
    _publish(uri, source, "Parse", {"dossierCode": "no header"})
    _wait(lambda: _count(uri, dead_letters.dead_queue(_queue(source, "Ok", "ok"))) == 1, what="the malformed body")
    _wait(lambda: _count(uri, dead_letters.dead_queue(_queue(source, "Parse", "parse"))) == 1, what="the bad event")
    assert worker.metric("ok", "malformed") == 1
    assert worker.metric("parse", "permanent") == 1
    _publish(uri, source, "Ok", {"id": "after"})  # the consumer keeps going
    _wait(lambda: any(x.get("event") == "handled" and x.get("id") == "after" for x in worker.lines()),
          what="the next message")


def test_transient_errors_are_retried_a_bounded_number_of_times(local_stack, source, worker):
    uri = local_stack["amqp_uri"]
    _publish(uri, source, "Transient", {"id": "recovers", "failures": 2})
    _publish(uri, source, "Transient", {"id": "never", "failures": 99})
    dead = dead_letters.dead_queue(_queue(source, "Transient", "transient"))
    _wait(lambda: _count(uri, dead) == 1, what="the exhausted message")
    _wait(lambda: any(x.get("event") == "handled" and x.get("id") == "recovers" for x in worker.lines()),
          what="the recovered message")
    attempts = [x["id"] for x in worker.lines() if x.get("event") == "attempt"]
    assert attempts.count("recovers") == 3 and attempts.count("never") == 3  # EVENT_MAX_ATTEMPTS=3, no more
    time.sleep(1.5)  # longer than any retry delay: nothing comes back
    assert [x["id"] for x in worker.lines() if x.get("event") == "attempt"].count("never") == 3
    assert worker.metric("transient", "retries_exhausted") == 1
    assert _count(uri, dead_letters.retry_queue(_queue(source, "Transient", "transient"))) == 0
    with Connection(uri) as conn:
        message = conn.channel().basic_get(dead, no_ack=True)
    assert json.loads(message.body) == {"id": "never", "failures": 99}
    assert message.headers[dead_letters.ATTEMPTS_HEADER] == 2  # two retries were scheduled before


def test_an_existing_queue_without_dead_lettering_is_upgraded_keeping_its_messages(local_stack, source, tmp_path):
    """What a deployment meets: the queue nameko declared before, holding events, and a broker that
    refuses to redeclare it with new arguments (PRECONDITION_FAILED)."""
    uri = local_stack["amqp_uri"]
    name = _queue(source, "Ok", "ok")
    exchange = Exchange(f"{source}.events", type="topic", durable=True)
    with Connection(uri) as conn:
        Queue(name, exchange=exchange, routing_key="Ok", durable=True)(conn.channel()).declare()  # the old way
    for n in range(3):
        _publish(uri, source, "Ok", {"id": f"old-{n}"})
    assert _count(uri, name) == 3
    with Connection(uri) as conn, pytest.raises(PreconditionFailed):
        conn.channel().queue_declare(name, durable=True, auto_delete=False,
                                     arguments=dead_letters.queue_arguments(name))

    dead_letters.declare(uri, name, exchange.name, "Ok")

    assert _count(uri, name) == 3  # nothing lost
    with Connection(uri) as conn:
        conn.channel().queue_declare(name, durable=True, auto_delete=False,
                                     arguments=dead_letters.queue_arguments(name))  # now accepted
        with pytest.raises(PreconditionFailed):
            conn.channel().queue_declare(name, durable=True, auto_delete=False)  # the old way: refused now
        channel = conn.channel()
        with pytest.raises(NotFound):
            channel.queue_declare(dead_letters.holding_queue(name), passive=True)
    _publish(uri, source, "Ok", {"id": "new"})  # still bound
    assert _count(uri, name) == 4
    dead_letters.declare(uri, name, exchange.name, "Ok")  # idempotent
    assert _count(uri, name) == 4

    running = Worker(uri, source, tmp_path / "worker.log")  # and a worker consumes all of them
    try:
        _wait(lambda: {x.get("id") for x in running.lines() if x.get("event") == "handled"}
              >= {"old-0", "old-1", "old-2", "new"}, what="the kept messages")
    finally:
        running.stop()


def test_an_interrupted_upgrade_is_finished_at_the_next_start(local_stack, source):
    uri = local_stack["amqp_uri"]
    name = _queue(source, "Ok", "ok")
    exchange = Exchange(f"{source}.events", type="topic", durable=True)
    with Connection(uri) as conn:  # a crash left the events in the holding queue, Q gone
        Queue(dead_letters.holding_queue(name), exchange=exchange, routing_key="Ok", durable=True)(
            conn.channel()).declare()
    _publish(uri, source, "Ok", {"id": "held"})
    dead_letters.declare(uri, name, exchange.name, "Ok")
    assert _count(uri, name) == 1
    _publish(uri, source, "Ok", {"id": "next"})
    assert _count(uri, name) == 2  # bound again, and the holding queue no longer takes copies
    with Connection(uri) as conn, pytest.raises(NotFound):
        conn.channel().queue_declare(dead_letters.holding_queue(name), passive=True)


def test_workers_starting_together_upgrade_a_queue_once(local_stack, source):
    """Two replicas of a worker start at once over an old queue: they take turns, nothing is lost."""
    import threading
    uri = local_stack["amqp_uri"]
    name = _queue(source, "Ok", "ok")
    exchange = Exchange(f"{source}.events", type="topic", durable=True)
    with Connection(uri) as conn:
        Queue(name, exchange=exchange, routing_key="Ok", durable=True)(conn.channel()).declare()
    for n in range(50):
        _publish(uri, source, "Ok", {"id": f"old-{n}"})
    errors: list[Exception] = []

    def start():
        try:
            dead_letters.declare(uri, name, exchange.name, "Ok")
        except Exception as exc:  # noqa: BLE001 - whatever a racing declare raises is collected, then asserted on
            errors.append(exc)
    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert _count(uri, name) == 50
    with Connection(uri) as conn:
        conn.channel().queue_declare(name, durable=True, auto_delete=False,
                                     arguments=dead_letters.queue_arguments(name))
