"""Traces cross gRPC and AMQP; every process exposes its metrics."""

from __future__ import annotations

import json
import platform as python_platform  # `platform` is the fixture of the running platform
import secrets
import time
import urllib.request

import grpc
import pytest
from conftest import bearer

from support import submit_request, wait_for_case


def test_the_trace_of_a_submit_continues_in_the_routing_worker(intake, routing, platform):
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    response, call = intake.SubmitDossier.with_call(
        submit_request(), metadata=bearer() + (("traceparent", traceparent),))
    code = response.dossier.code
    assert dict(call.initial_metadata())["x-trace-id"] == trace_id
    wait_for_case(routing, code, bearer())

    def lines(process: str) -> list[dict]:
        return [json.loads(line) for line in platform.processes[process].lines() if line.startswith("{")]

    deadline = time.monotonic() + 10
    while not (worker_lines := [r for r in lines("routing-worker") if r.get("dossier_code") == code]):
        assert time.monotonic() < deadline, "the routing worker never logged the dossier"
        time.sleep(0.1)
    assert {r["trace_id"] for r in worker_lines} == {trace_id}
    assert any(r["event"] == "case opened" for r in worker_lines)
    api_lines = [r for r in lines("intake-api") if r.get("dossier_code") == code]
    assert api_lines and {r["trace_id"] for r in api_lines} == {trace_id}


def _metrics(port: int) -> str:
    """The sample lines only: HELP and TYPE comments name every metric even before it has a value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return "\n".join(line for line in response.read().decode().splitlines() if not line.startswith("#"))


def test_every_process_exposes_its_metrics(intake, routing, platform):
    with pytest.raises(grpc.RpcError):
        intake.SubmitDossier(submit_request(procedure_code=""), metadata=bearer())
    code = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code
    wait_for_case(routing, code, bearer())
    deadline = time.monotonic() + 10
    expected = {
        "intake-api": ['onestop_grpc_requests_total{code="OK",method="SubmitDossier",service="intake"}',
                       'onestop_grpc_request_duration_seconds_bucket{le="0.005",method="SubmitDossier",service="intake"}',
                       'onestop_grpc_errors_total{code="INVALID_ARGUMENT",method="SubmitDossier",service="intake"}',
                       'onestop_intake_dossiers_submitted_total{channel="in_person"'],
        # The outbox relay is a process of its own (onestop_chassis.relay); the worker handles events.
        "intake-relay": ['onestop_outbox_published_total{event_type="DossierReceived",service="intake"}',
                         "onestop_outbox_relay_delay_seconds_bucket", 'onestop_outbox_pending_events{service="intake"}',
                         'onestop_outbox_relay_passes_total{service="intake"}'],
        "intake-worker": ['onestop_worker_calls_total{handler="file_receipt"'],
        "routing-api": ['onestop_grpc_requests_total{code="OK",method="GetCase",service="routing"}'],
        "routing-worker": ['onestop_worker_calls_total{handler="on_dossier_received",outcome="ok",service="routing"}',
                           'onestop_worker_duration_seconds_bucket{handler="on_dossier_received"',
                           'onestop_event_delivery_delay_seconds_bucket{event_type="DossierReceived"',
                           'onestop_routing_cases_opened_total{channel="1"}'],
    }
    for process in expected:  # every process says what runs (the *_build_info convention)
        service, kind = process.split("-")
        expected[process].append(f'onestop_build_info{{process="{kind}",python="{python_platform.python_version()}",'
                                 f'revision="unknown",service="{service}",version="0.1.0"}} 1.0')
    for process, needles in expected.items():
        while True:
            text = _metrics(platform.metrics[process])
            missing = [n for n in needles if n not in text]
            if not missing:
                break
            assert time.monotonic() < deadline, f"{process} metrics lack {missing}"
            time.sleep(0.2)
