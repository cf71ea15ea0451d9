"""End-to-end: three relay replicas of one outbox publish every event once, and when the one that
holds the lease dies another takes over (onestop_chassis.leases).

Intake runs with two more `onestop-intake-relay` processes beside the platform's own, on the real
FerretDB and RabbitMQ. A plain AMQP consumer (kombu, not nameko) counts what reaches the exchange.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import kombu
import pymongo
import pytest
from conftest import Platform, bearer, purge_event_queues, running

from onestop.intake.v1 import intake_pb2_grpc
from onestop_chassis import leases

from stack import AMQP_RELAY_TEST_URI, MONGODB_URI, ROOT, VENV_BIN, free_port
from support import submit_request

LEASE_SECONDS = 2.0


@pytest.fixture(scope="module")
def replicas(local_stack, tmp_path_factory):
    logs = tmp_path_factory.mktemp("e2e-relay-replicas")
    platform = Platform(log_dir=logs, services=("intake",), prefix="e2ereplicas", amqp_uri=AMQP_RELAY_TEST_URI,
                        extra_env={"OUTBOX_POLL_SECONDS": "0.1", "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS)})
    # The relay vhost is shared with test_relay_process, whose documents worker would file the
    # receipts this intake leaves queued for the same dossier codes: emptied before and after.
    purge_event_queues(AMQP_RELAY_TEST_URI)
    with running(platform) as p:
        extra = []
        for i in (2, 3):
            env = {**p.env("intake"), "RELAY_METRICS_PORT": str(free_port())}
            with open(logs / f"intake-relay-{i}.log", "w", encoding="utf-8") as out:
                extra.append(subprocess.Popen([VENV_BIN / "onestop-intake-relay"], env=env, stdout=out,
                                              stderr=subprocess.STDOUT, cwd=ROOT))
        relays = {p.processes["intake-relay"].popen.pid: p.processes["intake-relay"].popen,
                  **{proc.pid: proc for proc in extra}}
        try:
            yield p, relays
        finally:
            for proc in extra:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in extra:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    purge_event_queues(AMQP_RELAY_TEST_URI)


class Received:
    """Every DossierReceived published to intake's exchange, by message id, through a queue of its own."""

    def __init__(self, connection: kombu.Connection):
        exchange = kombu.Exchange("intake.events", type="topic", durable=True)
        self.queue = kombu.Queue(f"e2e-replicas-{os.getpid()}", exchange, routing_key="DossierReceived",
                                 exclusive=True, auto_delete=True)
        self.ids: list[str] = []
        self.consumer = kombu.Consumer(connection, [self.queue], callbacks=[self._on],
                                       accept=["json", "application/json"])
        self.consumer.consume()
        self.connection = connection

    def _on(self, body, message):
        self.ids.append(message.properties.get("message_id") or message.headers.get("message_id", ""))
        message.ack()

    def until(self, count: int, timeout: float, quiet: float = 2 * LEASE_SECONDS) -> list[str]:
        """Drains until `count` arrived and nothing more came for `quiet` seconds."""
        deadline, last = time.monotonic() + timeout, time.monotonic()
        while True:
            before = len(self.ids)
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=0.2)
            if len(self.ids) != before:
                last = time.monotonic()
            if len(self.ids) >= count and time.monotonic() - last > quiet:
                return self.ids
            assert time.monotonic() < deadline, f"{len(self.ids)} of {count} events arrived"


def holder_pid(platform) -> int:
    with pymongo.MongoClient(MONGODB_URI) as client:
        newest = client[platform.databases["intake"]][leases.COLLECTION].find_one(
            {"_id": {"$gte": "intake.relay|", "$lt": "intake.relay|~"}}, sort=[("_id", -1)])
    return int(newest["holder"].rsplit(":", 1)[1])


def test_three_relays_publish_every_event_once_and_one_takes_over_from_a_dead_holder(replicas):
    platform, relays = replicas
    with kombu.Connection(AMQP_RELAY_TEST_URI) as connection, platform.channel("intake") as channel:
        received = Received(connection)
        intake = intake_pb2_grpc.IntakeServiceStub(channel)
        first = [intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code for _ in range(20)]
        ids = received.until(len(first), timeout=60)
        assert len(ids) == len(set(ids)) == len(first), f"published twice: {len(ids) - len(set(ids))}"

        holder = holder_pid(platform)
        assert holder in relays, "the lease names one of the three relay processes"
        relays[holder].send_signal(signal.SIGKILL)
        relays[holder].wait(10)
        second = [intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code for _ in range(10)]
        ids = received.until(len(first) + len(second), timeout=60)
        assert len(ids) == len(set(ids)) == len(first) + len(second), "after the holder died: each event once"
        assert holder_pid(platform) in set(relays) - {holder}, "a surviving replica holds the lease now"
