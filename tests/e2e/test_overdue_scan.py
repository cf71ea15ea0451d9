"""End-to-end: routing's worker finds an overdue step by itself. A platform of routing alone (api,
worker, relay) whose worker scans every half second; a case whose desk step fell due days ago is
stored in its database, and with no RPC call at all the worker marks the step overdue once, and its
StepOverdue, escalated to the step's unit, reaches the broker through routing's relay."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from conftest import Platform, running
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange

from onestop_chassis.worktime import VIETNAM, WorkingCalendar
from onestop_routing import domain
from onestop_routing.adapters.journey import MongoCaseStore
from onestop_routing.adapters.templates import MongoTemplates
from onestop_routing.service import RoutingService

from routing_samples import land_registration
from stack import AMQP_DOCUMENTS_TEST_URI

UNIT = "000.00.21.H17"
OPENED = dt.datetime(2026, 11, 2, 8, 0, tzinfo=VIETNAM)  # a Monday: the desk's 4 hours ended that day


@pytest.fixture(scope="module")
def agency(local_stack, tmp_path_factory):
    # A vhost beside the shared platform's, so this worker never takes the shared platform's events.
    with running(Platform(log_dir=tmp_path_factory.mktemp("e2e-overdue-logs"), services=("routing",),
                          prefix="e2eoverdue", amqp_uri=AMQP_DOCUMENTS_TEST_URI,
                          extra_env={"OUTBOX_POLL_SECONDS": "0.1", "OVERDUE_SCAN_SECONDS": "0.5"})) as p:
        yield p


def _open_late_case(db, code: str) -> None:
    """As routing's worker opens a case, but at OPENED: the template stored first, as the seed does."""
    templates = MongoTemplates(db)
    templates.put(land_registration(), published_by="e2e", published_at=OPENED)
    service = RoutingService(MongoCaseStore(lambda: db), templates, calendar=WorkingCalendar(), clock=lambda: OPENED)
    assert service.open_case(domain.OpenCase(
        event_id=f"e-{code}", dossier_code=code, procedure_code="1.000948", procedure_name="Đăng ký biến động",
        receiving_unit_code=UNIT, receiving_unit_name="Trung tâm", channel=1, applicant_name="Nguyễn Văn An",
        received_at=OPENED, due_at=OPENED + dt.timedelta(days=14), process_code="QT-1.000948"))


def test_an_overdue_step_is_found_by_the_worker_without_any_call(agency):
    db = agency.db("routing")
    code = f"{UNIT}-261102-{uuid.uuid4().int % 10000:04d}"
    with Connection(AMQP_DOCUMENTS_TEST_URI) as connection:
        queue = Queue(f"e2e-step-overdue-{uuid.uuid4().hex[:8]}", exchange=get_event_exchange("routing"),
                      routing_key="StepOverdue", exclusive=True)
        bound = queue(connection.default_channel)
        bound.declare()
        _open_late_case(db, code)
        deadline = time.monotonic() + 30
        received = []
        while not received:
            assert time.monotonic() < deadline, "no StepOverdue reached the broker"
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.2)
                continue
            payload = json.loads(message.body)
            if payload.get("dossierCode") == code:
                received.append(payload)
    [event] = received
    assert (event["step"]["stepCode"], event["overdue"], event["escalatedTo"]) == ("tiep_nhan", True, UNIT)
    time.sleep(1.5)  # three more passes: the step stays marked once
    marks = list(db["journey"].find({"dossier_code": code, "kind": "overdue"}))
    steps = [m for m in marks if m["step"]]
    assert len(steps) == 1 and steps[0]["request_id"].startswith(f"overdue|{code}|tiep_nhan|")
    # Its appointment (14 days on) passed too: the case's own clock is marked once (case_due.py).
    due = (OPENED + dt.timedelta(days=14)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [m["request_id"] for m in marks if not m["step"]] == [f"overdue|{code}|case|{due}"]
    escalated = db["inbox"].find_one({"_id": {"$gte": f"{UNIT}|escalated|", "$lt": f"{UNIT}|escalated|~"}})
    assert escalated is not None and escalated["dossier_code"] == code
