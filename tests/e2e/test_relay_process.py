"""End-to-end: the outbox relay is a process of its own, so a worker whose eventlet hub is held by
CPU work (intake renders every receipt there) never holds back event delivery.

The intake worker is frozen with SIGSTOP: the extreme of a handler that computes and never yields.
Events still reach routing; once the worker runs again, the forms it owes are still filed.
"""

from __future__ import annotations

import signal
import time
import urllib.request

import pytest
from conftest import UNIT, Platform, bearer, purge_event_queues, running

from onestop.documents.v1 import documents_pb2 as dpb
from onestop.documents.v1 import documents_pb2_grpc
from onestop.intake.v1 import intake_pb2_grpc
from onestop.routing.v1 import routing_pb2_grpc

from stack import AMQP_RELAY_TEST_URI
from support import submit_request, wait_for_case

DOSSIERS = 5


@pytest.fixture(scope="module")
def agency(local_stack, tmp_path_factory):
    # A vhost of its own: FormIssued events it leaves queued once would be filed by the next platform's
    # documents worker under the same dossier codes (test_results_and_forms failed on that).
    purge_event_queues(AMQP_RELAY_TEST_URI)  # what other platforms on this vhost left queued
    with running(Platform(log_dir=tmp_path_factory.mktemp("e2e-relay-logs"),
                          services=("intake", "routing", "documents"), prefix="e2erelay",
                          amqp_uri=AMQP_RELAY_TEST_URI, extra_env={"OUTBOX_POLL_SECONDS": "0.1"})) as p:
        yield p


def _passes(agency: Platform) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{agency.metrics['intake-relay']}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith('onestop_outbox_relay_passes_total{service="intake"}'):
                return float(line.split()[-1])
    return 0.0


def _forms_filed(documents, codes: list[str]) -> int:
    filed = 0
    for code in codes:
        listed = documents.ListDocuments(dpb.ListDocumentsRequest(dossier_code=code, agency_code=UNIT),
                                         metadata=bearer()).documents
        filed += any(d.kind == dpb.DOCUMENT_KIND_FORM and d.component.startswith("Mẫu số 01") for d in listed)
    return filed


def test_events_reach_routing_while_the_worker_is_held_and_its_forms_are_filed_after(agency):
    worker = agency.processes["intake-worker"].popen
    assert "intake-relay" in agency.processes, "the relay runs as a process of its own"
    with agency.channel("intake") as ic, agency.channel("routing") as rc, agency.channel("documents") as dc:
        intake = intake_pb2_grpc.IntakeServiceStub(ic)
        routing = routing_pb2_grpc.RoutingServiceStub(rc)
        documents = documents_pb2_grpc.DocumentsServiceStub(dc)
        worker.send_signal(signal.SIGSTOP)
        try:
            passes_before = _passes(agency)
            codes = [intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code for _ in range(DOSSIERS)]
            cases = [wait_for_case(routing, code, bearer(), timeout=30) for code in codes]
            assert [c.dossier_code for c in cases] == codes, "every event was delivered with the worker held"
            assert _passes(agency) > passes_before, "the relay's passes went on"
            assert worker.poll() is None
            assert _forms_filed(documents, codes) == 0, "the held worker rendered nothing meanwhile"
        finally:
            worker.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 60
        while (filed := _forms_filed(documents, codes)) < DOSSIERS:
            assert time.monotonic() < deadline, f"only {filed} of {DOSSIERS} receipts were filed once the worker ran"
            time.sleep(0.5)
        assert filed == DOSSIERS, "the work held back is still done: every receipt filed with documents"
