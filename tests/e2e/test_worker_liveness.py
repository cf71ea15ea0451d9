"""End-to-end: a worker's liveness follows its AMQP consumers (onestop_chassis.health).

Intake alone runs on a vhost of its own (`<test vhost>-liveness`, made here), with
LIVENESS_GRACE_SECONDS=3. The shared RabbitMQ is never stopped: the test closes the worker's own
connections with `rabbitmqctl close_connection` (found by the worker's local TCP ports), and, to
keep it from reconnecting, takes the guest user's permissions on this vhost away for a while.

What nameko does (kombu's ConsumerMixin under nameko's Consumer): it reconnects by itself, at once
and for ever, so a closed connection is back within the grace and the worker stays live; only a
broker that refuses it (or cannot be reached) for longer than the grace makes /healthz/live fail,
and it passes again once the worker reconnects.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import Platform, running

from stack import AMQP_TEST_URI, ROOT, TEST_VHOST

VHOST = f"{TEST_VHOST}-liveness"
AMQP_URI = f"{AMQP_TEST_URI}-liveness"
GRACE_SECONDS = 3
RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
DATA = pathlib.Path(os.environ.get("ONESTOP_DATA", ROOT / ".local"))  # the stack's, as deploy/local/stack.sh


def rabbitmqctl(*args: str) -> str:
    """rabbitmqctl against the local stack's node (its Erlang cookie lives in the stack's data folder)."""
    env = {**os.environ, "HOME": str(DATA / "rabbitmq"), "RABBITMQ_NODENAME": "onestop@localhost",
           "ERL_EPMD_ADDRESS": "127.0.0.1"}
    done = subprocess.run([RABBITMQCTL, "-q", *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (f"rabbitmqctl {' '.join(args)} failed (ONESTOP_DATA={DATA}; start the stack "
                                  f"with deploy/local/stack.sh up): {done.stderr or done.stdout}")
    return done.stdout


def allow(vhost: str) -> None:
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


@pytest.fixture(scope="module")
def platform(local_stack, tmp_path_factory):
    rabbitmqctl("add_vhost", VHOST)  # idempotent
    allow(VHOST)
    p = Platform(log_dir=tmp_path_factory.mktemp("e2e-liveness"), services=("intake",), prefix="e2eliveness",
                 amqp_uri=AMQP_URI, extra_env={"LIVENESS_GRACE_SECONDS": str(GRACE_SECONDS)})
    try:
        with running(p) as started:
            yield started
    finally:
        allow(VHOST)


def probe(platform: Platform, kind: str) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{platform.metrics['intake-worker']}/healthz/{kind}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as failed:
        return failed.code, json.loads(failed.read())


def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.2)


def local_amqp_ports(pid: int) -> set[int]:
    """The local ports of `pid`'s TCP connections to port 5672 (from /proc: its sockets' inodes)."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and remote.rsplit(":", 1)[1] == f"{5672:04X}":
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def worker_connections(platform: Platform) -> list[str]:
    """The broker's process ids of the intake worker's connections on this test's vhost (what
    `rabbitmqctl close_connection` takes)."""
    ports = local_amqp_ports(platform.processes["intake-worker"].popen.pid)
    pids = []
    for line in rabbitmqctl("list_connections", "pid", "vhost", "peer_port").splitlines():
        pid, vhost, port = line.rsplit("\t", 2)
        if vhost == VHOST and int(port) in ports:
            pids.append(pid)
    return pids


def close_worker_connections(platform: Platform) -> list[str]:
    names = until(lambda: worker_connections(platform), 30, "the worker's connections are listed")
    for name in names:
        rabbitmqctl("close_connection", name, "e2e: the worker's consumer is cut")
    return names


def consumers(report: dict) -> dict:
    assert report["consumers"], "the worker watches its event consumers"
    return report["consumers"]


def test_a_worker_whose_connection_is_closed_reconnects_by_itself_and_stays_live(platform):
    until(lambda: probe(platform, "ready")[0] == 200, 30, "the worker's consumers are connected")
    status, report = probe(platform, "live")
    assert status == 200 and report["status"] == "ok"
    before = {q: c["reconnects"] for q, c in consumers(report).items()}

    closed = close_worker_connections(platform)

    # nameko (kombu's ConsumerMixin) reconnects at once: every consumer connected again, one more connection each
    until(lambda: (lambda s, r: s == 200 and all(c["connected"] and c["reconnects"] > before[q]
                                                 for q, c in consumers(r).items()))(*probe(platform, "ready")),
          GRACE_SECONDS * 10, "every consumer reconnected")
    assert probe(platform, "live")[0] == 200
    assert not set(closed) & set(worker_connections(platform)), "new connections, not the closed ones"


def test_a_worker_that_cannot_reconnect_fails_liveness_after_the_grace_and_passes_once_it_reconnects(platform):
    until(lambda: probe(platform, "ready")[0] == 200, 30, "the worker's consumers are connected")
    rabbitmqctl("clear_permissions", "-p", VHOST, "guest")  # the broker refuses the worker's reconnections
    try:
        close_worker_connections(platform)
        status, report = until(lambda: (lambda s, r: (s, r) if s == 503 else None)(*probe(platform, "live")),
                               GRACE_SECONDS + 30, "/healthz/live fails")
        assert report["status"] == "failing"
        assert any("disconnected from RabbitMQ" in problem for problem in report["problems"])
        assert not any(c["connected"] for c in consumers(report).values())
        assert probe(platform, "ready")[0] == 503
        assert platform.processes["intake-worker"].popen.poll() is None, "the worker process lives on"
    finally:
        allow(VHOST)

    until(lambda: probe(platform, "live")[0] == 200 and probe(platform, "ready")[0] == 200, 90,
          "the worker reconnected and is live and ready again")
    assert all(c["connected"] for c in consumers(probe(platform, "live")[1]).values())
