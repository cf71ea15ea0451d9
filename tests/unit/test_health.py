"""The worker's and relay's probes (onestop_chassis.health): consumers' links, loops' heartbeats,
the verdicts and the HTTP answers, on a fake clock."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import kombu.mixins
import pytest

from onestop_chassis import health
from onestop_chassis.relay import relay_until
from onestop_chassis.worker import WorkerHealth


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_a_consumer_down_longer_than_the_grace_fails_liveness_and_passes_once_it_reconnects(clock):
    watch = health.Watch(grace=60, clock=clock)
    link = health.Link("evt-intake-DossierReceived--routing.on_received", clock=clock)
    watch.add(link)
    link.up()
    assert watch.live().ok and watch.ready().ok

    clock.now += 5
    link.down()
    clock.now += 59
    assert watch.live().ok  # within the grace: kombu may still reconnect
    assert not watch.ready().ok
    clock.now += 2
    verdict = watch.live()
    assert not verdict.ok
    assert "evt-intake-DossierReceived--routing.on_received" in verdict.problems[0]
    assert "61 s" in verdict.problems[0]

    link.up()
    assert watch.live().ok and watch.ready().ok
    assert link.reconnects == 1


def test_a_consumer_that_never_connected_counts_from_its_creation(clock):
    watch = health.Watch(grace=10, clock=clock)
    watch.add(health.Link("q", clock=clock))
    assert watch.live().ok and not watch.ready().ok
    clock.now += 11
    assert not watch.live().ok


def test_a_loop_is_stale_after_three_intervals_or_the_grace_whichever_is_longer(clock):
    watch = health.Watch(grace=60, clock=clock)
    timer = health.Heartbeat("routing.scan_due", interval=30, grace=60, clock=clock)  # 90 s
    relay = health.Heartbeat("intake.relay", interval=0.2, grace=60, clock=clock)     # 60 s
    watch.add(timer, relay)
    clock.now += 59
    relay.beat()
    clock.now += 30  # timer silent 89 s, relay 30 s
    assert watch.live().ok
    clock.now += 2   # timer silent 91 s
    verdict = watch.live()
    assert not verdict.ok and not watch.ready().ok
    assert len(verdict.problems) == 1 and "routing.scan_due" in verdict.problems[0]
    timer.beat()
    assert watch.live().ok


def test_a_process_is_not_ready_until_it_has_started(clock):
    watch = health.Watch(grace=1, clock=clock, started=False)
    assert watch.live().ok
    assert watch.ready().problems == ["starting"]
    watch.started = True
    assert watch.ready().ok


def test_removed_parts_are_no_longer_watched(clock):
    watch = health.Watch(grace=1, clock=clock)
    link = health.Link("q", clock=clock)
    watch.add(link)
    clock.now += 5
    assert not watch.live().ok
    watch.remove(link)
    assert watch.live().ok


def test_a_relay_whose_loop_is_frozen_fails_liveness_until_it_completes_a_pass_again(clock):
    """relay_until beats after every lease check; a lease check that never returns (a hung call)
    stops the beats, and the relay's liveness fails after max(3 × poll interval, grace)."""
    watch = health.Watch(grace=5, clock=clock)
    heartbeat = health.Heartbeat("intake.relay", interval=0.2, grace=5, clock=clock)
    watch.add(heartbeat)
    frozen, release, stop = threading.Event(), threading.Event(), threading.Event()
    calls = []

    def held() -> bool:
        calls.append(1)
        if len(calls) == 2:
            frozen.set()
            release.wait(10)  # the hung call
        return False  # not the holder: the pass publishes nothing

    thread = threading.Thread(target=relay_until, args=("intake", [], 0.2, stop.is_set),
                              kwargs={"sleep": lambda _s: None, "held": held, "heartbeat": heartbeat})
    thread.start()
    try:
        assert frozen.wait(5)
        assert heartbeat.passes == 1
        clock.now += 4.9
        assert watch.live().ok
        clock.now += 0.2
        verdict = watch.live()
        assert not verdict.ok and "intake.relay" in verdict.problems[0]
        release.set()
        deadline = time.monotonic() + 5
        while heartbeat.passes < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watch.live().ok
    finally:
        release.set()
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def _get(app, path: str) -> tuple[str, dict, bytes]:
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""}, start_response))
    return answer["status"], answer["headers"], body


def test_the_probe_endpoints_answer_200_or_503_with_the_problems_and_metrics_stay_served(clock):
    watch = health.Watch(grace=10, clock=clock)
    link = health.Link("evt-q", clock=clock)
    watch.add(link)
    app = health.wsgi_app(watch)

    status, _, body = _get(app, "/healthz/ready")
    assert status.startswith("503")
    assert json.loads(body)["consumers"]["evt-q"]["connected"] is False
    assert _get(app, "/healthz/live")[0].startswith("200")

    link.up()
    status, headers, body = _get(app, "/healthz/ready")
    assert status.startswith("200") and headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == "ok"

    link.down()
    clock.now += 11
    status, _, body = _get(app, "/healthz/live")
    report = json.loads(body)
    assert status.startswith("503") and report["status"] == "failing"
    assert "evt-q" in report["problems"][0]

    status, _, body = _get(app, "/metrics")
    assert status.startswith("200") and b"onestop_build_info" in body


def test_the_watched_consumer_is_up_once_its_consumers_are_declared_and_down_when_the_connection_drops(
        monkeypatch):
    consumer = health.WatchedConsumer("memory://", queues=[], callbacks=[])

    def consume(self, *args, **kwargs):  # kombu's loop: consumers declared, a message, then the connection drops
        self.on_consume_ready(None, None, [])
        yield
        raise ConnectionResetError("connection lost")

    monkeypatch.setattr(kombu.mixins.ConsumerMixin, "consume", consume)
    loop = consumer.consume()
    next(loop)
    assert consumer.link.connected and consumer.ready.is_set()
    with pytest.raises(ConnectionResetError):
        next(loop)
    assert not consumer.link.connected

    again = consumer.consume()  # kombu's run() reconnects
    next(again)
    assert consumer.link.connected and consumer.link.reconnects == 1
    again.close()  # the consumer stops
    assert not consumer.link.connected


def test_worker_health_watches_every_consumer_and_loop_of_its_container(monkeypatch):
    link, timer, relay = health.Link("q"), health.Heartbeat("t", 1, 1), health.Heartbeat("r", 1, 1)
    container = SimpleNamespace(
        entrypoints=[SimpleNamespace(consumer=SimpleNamespace(link=link)), SimpleNamespace(heartbeat=timer),
                     SimpleNamespace()],
        dependencies=[SimpleNamespace(heartbeat=relay), SimpleNamespace(heartbeat=None)])
    watch = health.Watch(grace=1)
    monkeypatch.setattr(health, "PROCESS", watch)
    provider = WorkerHealth()
    provider.container = container
    provider.start()
    assert watch.report(watch.live())["consumers"].keys() == {"q"}
    assert watch.report(watch.live())["loops"].keys() == {"t", "r"}
    provider.stop()
    assert watch.report(watch.live())["consumers"] == {} and watch.report(watch.live())["loops"] == {}
