"""The outbox relay as a process of its own (onestop_chassis.relay): its loop, its settings, and the
worker that no longer relays unless told to."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from prometheus_client import REGISTRY

from onestop_chassis.config import RELAY_METRICS_PORTS, ServiceSettings, load_settings
from onestop_chassis.relay import relay_until
from onestop_chassis.worker import OutboxRelayRunner


class ScriptedRelay:
    """A relay whose passes publish the scripted counts (or raise), then nothing; stops the loop
    once `stop_after` passes have run."""

    def __init__(self, script, stopped: threading.Event, stop_after: int):
        self.script = list(script)
        self.passes = 0
        self.stopped, self.stop_after = stopped, stop_after

    def run_once(self) -> int:
        self.passes += 1
        if self.passes >= self.stop_after:
            self.stopped.set()
        step = self.script.pop(0) if self.script else 0
        if isinstance(step, Exception):
            raise step
        return step


class WaitRecorder(threading.Event):
    """A stop event that records how long each idle wait asked for instead of waiting."""

    def __init__(self):
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return self.is_set()


def test_relay_goes_again_at_once_while_a_pass_published_and_waits_the_interval_when_idle():
    stopped = WaitRecorder()
    relay = ScriptedRelay([5, 3, 0, 2, 0], stopped, stop_after=5)
    relay_until("test-relay-loop", [relay], 0.2, stopped)
    assert relay.passes == 5
    # passes 1, 2 and 4 published: no wait after them; passes 3 and 5 were idle
    assert stopped.waits == [0.2, 0.2]


def test_a_failing_collection_never_holds_the_others_back():
    stopped = WaitRecorder()
    failing = ScriptedRelay([RuntimeError("store down"), RuntimeError("store down")], stopped, stop_after=10**6)
    healthy = ScriptedRelay([4, 0], stopped, stop_after=2)
    relay_until("test-relay-failing", [failing, healthy], 0.2, stopped)
    assert healthy.passes == 2 and failing.passes == 2, "both collections get every pass"


def test_a_stop_ends_the_loop_after_the_pass_in_progress():
    stopped = WaitRecorder()
    relay = ScriptedRelay([7, 7, 7], stopped, stop_after=1)  # the first pass sets the stop
    relay_until("test-relay-stop", [relay], 0.2, stopped)
    assert relay.passes == 1


def test_each_pass_is_counted():
    stopped = WaitRecorder()
    relay_until("test-relay-passes", [ScriptedRelay([1, 0, 0], stopped, stop_after=3)], 0.2, stopped)
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
