"""The outbox relay as a process of its own (onestop_chassis.relay): its loop, its settings, and the
worker that no longer relays unless told to."""

from __future__ import annotations

import subprocess
import sys

import pytest
from prometheus_client import REGISTRY

from onestop_chassis.config import RELAY_METRICS_PORTS, ServiceSettings, load_settings
from onestop_chassis.relay import relay_until
from onestop_chassis.worker import OutboxRelayRunner


class Loop:
    """The loop's stop flag and sleep: stops once `stop_after` passes of the first relay have run,
    and records each sleep instead of sleeping."""

    def __init__(self):
        self.stop = False
        self.sleeps: list[float] = []

    def stopped(self) -> bool:
        return self.stop

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


class ScriptedRelay:
    """A relay whose passes publish the scripted counts (or raise), then nothing."""

    def __init__(self, script, loop: Loop | None = None, stop_after: int = 0):
        self.script = list(script)
        self.passes = 0
        self.loop, self.stop_after = loop, stop_after

    def run_once(self) -> int:
        self.passes += 1
        if self.loop is not None and self.passes >= self.stop_after:
            self.loop.stop = True
        step = self.script.pop(0) if self.script else 0
        if isinstance(step, Exception):
            raise step
        return step


def test_relay_goes_again_at_once_while_a_pass_published_and_sleeps_the_interval_when_idle():
    loop = Loop()
    relay = ScriptedRelay([5, 3, 0, 2, 0], loop, stop_after=5)
    relay_until("test-relay-loop", [relay], 0.2, loop.stopped, loop.sleep)
    assert relay.passes == 5
    # passes 1, 2 and 4 published: no sleep after them; passes 3 and 5 were idle
    assert loop.sleeps == [0.2, 0.2]


def test_a_failing_collection_never_holds_the_others_back():
    loop = Loop()
    failing = ScriptedRelay([RuntimeError("store down"), RuntimeError("store down")])
    healthy = ScriptedRelay([4, 0], loop, stop_after=2)
    relay_until("test-relay-failing", [failing, healthy], 0.2, loop.stopped, loop.sleep)
    assert healthy.passes == 2 and failing.passes == 2, "both collections get every pass"


def test_a_stop_ends_the_loop_after_the_pass_in_progress():
    loop = Loop()
    relay = ScriptedRelay([7, 7, 7], loop, stop_after=1)  # the first pass asks to stop
    relay_until("test-relay-stop", [relay], 0.2, loop.stopped, loop.sleep)
    assert relay.passes == 1 and loop.sleeps == []


def test_each_pass_is_counted():
    loop = Loop()
    relay_until("test-relay-passes", [ScriptedRelay([1, 0, 0], loop, stop_after=3)], 0.2, loop.stopped, loop.sleep)
    assert REGISTRY.get_sample_value("onestop_outbox_relay_passes_total", {"service": "test-relay-passes"}) == 3


def test_relay_metrics_port_follows_the_service_and_the_relay_is_not_in_the_worker():
    settings = load_settings(ServiceSettings, service_name="intake")
    assert settings.relay_metrics_port == RELAY_METRICS_PORTS["intake"] == 9351
    assert load_settings(ServiceSettings, service_name="documents").relay_metrics_port == 9353
    assert settings.outbox_relay_in_worker is False


def test_relay_metrics_port_out_of_range_is_refused(monkeypatch):
    monkeypatch.setenv("RELAY_METRICS_PORT", "70000")
    with pytest.raises(SystemExit):
        load_settings(ServiceSettings, service_name="intake")


class _Container:
    service_name = "test-runner"

    def spawn_managed_thread(self, fn, identifier=None):
        raise AssertionError("the worker must not start a relay thread")


@pytest.mark.parametrize(("in_worker", "starts"), [(False, False), (True, True)])
def test_the_worker_relays_only_with_outbox_relay_in_worker(in_worker, starts):
    runner = OutboxRelayRunner(lambda: pytest.fail("no collection is opened when the worker does not relay"))
    runner.container = _Container()
    runner._settings = load_settings(ServiceSettings, service_name="intake", outbox_relay_in_worker=in_worker)
    runner._interval = 0.2
    if starts:
        with pytest.raises(pytest.fail.Exception):  # it went on to open its collections
            runner.start()
    else:
        runner.start()
        runner.stop()  # nothing to wait for


@pytest.mark.parametrize("entry", ["onestop_intake.relay_main", "onestop_documents.relay_main"])
def test_the_relay_process_never_loads_eventlet(entry):
    """Nothing may yield to (or block) a hub between the relay's steps: it is a plain process."""
    probe = f"import sys, {entry}; print('eventlet' in sys.modules, 'nameko.containers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
