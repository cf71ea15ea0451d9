"""Liveness and readiness of the processes that have no gRPC health service: the worker and the
relay. Both serve, on their metrics port next to /metrics:

- `GET /healthz/live`: 200 while the process does its work; 503 (Kubernetes restarts the pod) once
  an event consumer has been disconnected from RabbitMQ for LIVENESS_GRACE_SECONDS, or a loop (the
  outbox relay, a @periodic timer) has not completed a pass (a lease check counts) for
  `STALE_PASSES` of its intervals and at least LIVENESS_GRACE_SECONDS;
- `GET /healthz/ready`: 200 once the process has started, while every event consumer is connected
  and every loop is fresh, else 503 (no traffic goes to a worker; the pod's Ready condition tells
  an operator that it is not consuming).

The body is JSON: `{"status": "ok"|"failing", "problems": [...], "consumers": {...}, "loops": {...}}`.

What is watched:
- `Link`: one AMQP consumer's connection (WatchedConsumer, the consumer of every chassis event
  handler): up when kombu has declared its consumers after a (re)connection, down as soon as the
  consume loop ends with a connection error. kombu reconnects by itself, forever (nameko's
  `ConsumerMixin.run`), so a link that stays down means the broker is unreachable or refuses it.
- `Heartbeat`: a loop that beats after every pass; stale when it stops beating (hung on a call that
  never returns). A thread that raises ends the nameko container, hence the process, anyway.

Clocks are `time.monotonic` seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from wsgiref.simple_server import make_server

from nameko.amqp.consume import Consumer as NamekoConsumer
from prometheus_client import REGISTRY, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

from . import metrics

STALE_PASSES = 3  # intervals a loop may miss before it counts as hung
LIVE_PATH, READY_PATH = "/healthz/live", "/healthz/ready"

Clock = Callable[[], float]


class Link:
    """The state of one connection: `up()` / `down()`, with the time of the last change."""

    def __init__(self, name: str, clock: Clock = time.monotonic):
        self.name, self._clock = name, clock
        self.connected = False
        self.changed_at = clock()  # not yet connected counts from its creation
        self.connections = 0  # made, the first included

    @property
    def reconnects(self) -> int:
        """Connections made after the first."""
        return max(0, self.connections - 1)

    def up(self) -> None:
        """A connection is made (and its consumers declared)."""
        self.connections += 1
        if not self.connected:
            self.connected, self.changed_at = True, self._clock()

    def down(self) -> None:
        if self.connected:
            self.connected, self.changed_at = False, self._clock()

    def down_for(self, now: float) -> float:
        """Seconds disconnected (0 while connected)."""
        return 0.0 if self.connected else max(0.0, now - self.changed_at)


class Heartbeat:
    """A loop's pulse: `beat()` after every pass. `interval` is the loop's own period in seconds;
    the loop is stale once it has not beaten for max(STALE_PASSES × interval, `grace`) seconds."""

    def __init__(self, name: str, interval: float, grace: float, clock: Clock = time.monotonic):
        self.name, self._clock = name, clock
        self.stale_after = max(STALE_PASSES * interval, grace)
        self.last = clock()  # the loop's start counts as a pass
        self.passes = 0

    def beat(self) -> None:
        self.last = self._clock()
        self.passes += 1

    def silent_for(self, now: float) -> float:
        return max(0.0, now - self.last)


@dataclass
class Verdict:
    ok: bool
    problems: list[str] = field(default_factory=list)


class Watch:
    """What one process's probes look at: links (consumers) and heartbeats (loops), added and
    removed as the parts that own them start and stop. `grace` is LIVENESS_GRACE_SECONDS.
    Not ready until `started` (the process sets it once every part has started)."""

    def __init__(self, grace: float = 60.0, clock: Clock = time.monotonic, started: bool = True):
        self.grace, self._clock, self.started = grace, clock, started
        self._links: dict[int, Link] = {}
        self._beats: dict[int, Heartbeat] = {}
        self._lock = threading.Lock()

    def add(self, *parts: Link | Heartbeat) -> None:
        with self._lock:
            for part in parts:
                if isinstance(part, Link):
                    self._links[id(part)] = part
                else:
                    self._beats[id(part)] = part

    def remove(self, *parts: Link | Heartbeat) -> None:
        with self._lock:
            for part in parts:
                self._links.pop(id(part), None)
                self._beats.pop(id(part), None)

    def _parts(self) -> tuple[list[Link], list[Heartbeat]]:
        with self._lock:
            return list(self._links.values()), list(self._beats.values())

    def _stale(self, now: float) -> list[str]:
        return [f"loop {b.name} has not completed a pass for {b.silent_for(now):.0f} s "
                f"(limit {b.stale_after:.0f} s)" for b in self._parts()[1] if b.silent_for(now) > b.stale_after]

    def live(self) -> Verdict:
        """Failing when a consumer has been down longer than `grace`, or a loop is stale."""
        now = self._clock()
        problems = [f"consumer {link.name} disconnected from RabbitMQ for {link.down_for(now):.0f} s "
                    f"(limit {self.grace:.0f} s)" for link in self._parts()[0] if link.down_for(now) > self.grace]
        problems += self._stale(now)
        return Verdict(not problems, problems)

    def ready(self) -> Verdict:
        """Failing while the process is starting, any consumer is disconnected, or a loop is stale."""
        now = self._clock()
        problems = [] if self.started else ["starting"]
        problems += [f"consumer {link.name} disconnected from RabbitMQ" for link in self._parts()[0]
                    if not link.connected]
        problems += self._stale(now)
        return Verdict(not problems, problems)

    def report(self, verdict: Verdict) -> dict:
        now = self._clock()
        links, beats = self._parts()
        return {"status": "ok" if verdict.ok else "failing", "problems": verdict.problems,
                "consumers": {link.name: {"connected": link.connected, "reconnects": link.reconnects,
                                          "disconnected_seconds": round(link.down_for(now), 1)} for link in links},
                "loops": {b.name: {"passes": b.passes, "seconds_since_pass": round(b.silent_for(now), 1)}
                          for b in beats}}


PROCESS = Watch(started=False)  # the running process's (run_worker, run_relay set its grace and start)


class WatchedConsumer(NamekoConsumer):
    """nameko's AMQP consumer (a kombu ConsumerMixin) that keeps a `Link`: up once its consumers
    are declared after each (re)connection, down when its consume loop ends (a lost connection
    raises out of it; kombu's `run` then reconnects). The entrypoint names the link after its queue."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.link = Link("consumer")

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.link.up()
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def consume(self, *args, **kwargs):
        try:
            yield from super().consume(*args, **kwargs)
        finally:
            self.link.down()


def wsgi_app(watch: Watch) -> Callable:
    """/healthz/live and /healthz/ready from `watch`; anything else is prometheus_client's /metrics."""
    metrics_app = make_wsgi_app(REGISTRY)

    def app(environ, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in (LIVE_PATH, READY_PATH):
            return metrics_app(environ, start_response)
        verdict = watch.live() if path == LIVE_PATH else watch.ready()
        body = json.dumps(watch.report(verdict), ensure_ascii=False).encode()
        start_response("200 OK" if verdict.ok else "503 Service Unavailable",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                        ("Cache-Control", "no-store")])
        return [body]
    return app


def start_probe_server(host: str, port: int, service: str, process: str, watch: Watch = PROCESS) -> None:
    """Serves /metrics, /healthz/live and /healthz/ready on host:port (a daemon thread; a green
    thread under eventlet), with onestop_build_info set for `service`'s `process`. One port for
    metrics and probes: the pods already name it `metrics`, and the network policy opens it."""
    metrics.record_build_info(service, process)
    server = make_server(host, port, wsgi_app(watch), ThreadingWSGIServer, handler_class=_SilentHandler)
    threading.Thread(target=server.serve_forever, name="probe-server", daemon=True).start()
