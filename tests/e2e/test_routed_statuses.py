"""End-to-end: intake follows routing's case (issue 11, item 6). Intake and documents run as
processes on their own vhost; the test is routing: it publishes routing's events itself on the
broker (exchange "routing.events", routing key = the message name, proto3 JSON, message_id = the
event id, as onestop_chassis.publishing does), and watches the citizen's public lookup follow
statuses 2 → 4 → 5 → 4 → 6 → 4 → 9 with the Vietnamese step text, form 02 filed with documents
when routing asked for the supplement, and a redelivery of every event changing nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.request

import grpc
import pytest
from conftest import UNIT, bearer, on_forms_vhost, stub_fixtures
from nameko.amqp.publish import Publisher
from test_results_and_forms import documents, filed_form, wait_until  # noqa: F401 - `documents` is a fixture

from onestop.events.v1 import routing_events_pb2 as rev
from onestop.intake.v1 import intake_pb2 as pb
from onestop_chassis import events
from onestop_chassis.publishing import publish_event

from stack import AMQP_FORMS_TEST_URI
from support import error_info, submit_request

LAND = ("000.01.13.H17", "Văn phòng Đăng ký đất đai tỉnh")
TAX = ("000.00.05.H17", "Cục Thuế tỉnh")


@pytest.fixture(scope="module")
def agency(local_stack, tmp_path_factory):
    with on_forms_vhost(tmp_path_factory, "e2erouted", ("intake", "documents")) as p:
        yield p


(intake,) = stub_fixtures("agency", "intake")


@pytest.fixture(scope="module")
def publisher():
    return Publisher(AMQP_FORMS_TEST_URI, use_confirms=True, serializer="json")


def publish(publisher, message) -> None:
    publish_event(publisher, "routing", type(message).__name__, events.to_payload(message), {},
                  message.header.event_id)


def _header(message):
    message.header.CopyFrom(events.new_header("routing"))
    return message


def _steps(message, *steps):
    for code, name, (unit_code, unit_name) in steps:
        message.steps.add(step_code=code, step_name=name, unit={"code": unit_code, "name": unit_name})
    return message


def duplicates(agency, event_type: str, worker: str = "intake-worker") -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{agency.metrics[worker]}/metrics", timeout=5).read()
    found = re.search(rf'onestop_event_duplicates_total{{[^}}]*event_type="{event_type}"[^}}]*}} ([0-9.e+]+)',
                      body.decode())
    return float(found.group(1)) if found else 0.0


def test_the_lookup_follows_routing_through_two_agencies_and_back(agency, intake, documents, publisher):  # noqa: F811
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code, secret = submitted.dossier.code, submitted.lookup_secret

    def looked() -> pb.PublicDossier:
        return intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=secret)).dossier

    def officer() -> pb.Dossier:
        return intake.GetDossier(pb.GetDossierRequest(code=code), metadata=bearer()).dossier

    def send(message, until, what: str):
        """Publishes until `until()` holds: the worker's queues may not be bound yet when the first
        event goes out (a broker keeps no event nobody subscribed to), and a repeat is a duplicate."""
        deadline = time.monotonic() + 30
        while True:
            publish(publisher, message)
            try:
                return wait_until(until, what, timeout=2)
            except AssertionError:
                assert time.monotonic() < deadline, f"timed out waiting for {what}"

    assert looked().status == 2
    sent = []
    opened = _steps(_header(rev.CaseOpened(dossier_code=code, process_code="QT-2.001610", process_version=1)),
                    ("TIEP_NHAN", "Tiếp nhận hồ sơ", (UNIT, "Trung tâm Phục vụ hành chính công tỉnh")))
    sent.append(opened)
    send(opened, lambda: officer().process_version == 1, "CaseOpened to mark the dossier routed")
    with pytest.raises(grpc.RpcError) as err:  # the result now comes from the processing units
        intake.RecordResult(pb.RecordResultRequest(code=code, summary="Giấy chứng nhận"), metadata=bearer())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and error_info(err.value)[0] == "ROUTED_CASE"

    review = _steps(_header(rev.CaseProgressed(dossier_code=code)), ("THAM_DINH", "Thẩm định hồ sơ", LAND))
    sent.append(review)
    send(review, lambda: looked().status == 4, "status 4")
    assert list(looked().current_steps) == ["Thẩm định hồ sơ — Văn phòng Đăng ký đất đai tỉnh"]

    supplement = _header(rev.CaseSupplementRequested(
        dossier_code=code, reason="Thiếu sơ đồ thửa đất", documents_to_add=["Sơ đồ thửa đất"],
        requested_by="officer-land", unit={"code": LAND[0], "name": LAND[1]}))
    sent.append(supplement)
    send(supplement, lambda: looked().status == 5, "status 5")
    assert officer().supplement_request.requested_by == "officer-land"
    wait_until(lambda: filed_form(documents, code, "Mẫu số 02"), "form 02 to be filed")

    intake.ReceiveSupplement(pb.ReceiveSupplementRequest(code=code), metadata=bearer())  # the desk, as today
    assert looked().status == 4
    due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=9)
    resumed = _header(rev.CaseResumed(dossier_code=code, paused_minutes=30))
    resumed.due_at.FromDatetime(due)
    sent.append(resumed)
    send(resumed, lambda: looked().appointment_at.ToDatetime(tzinfo=dt.UTC) == due, "the resumed appointment")

    tax = _steps(_header(rev.CaseProgressed(dossier_code=code)), ("THUE", "Xác định nghĩa vụ tài chính", TAX))
    sent.append(tax)
    send(tax, lambda: list(looked().current_steps) == ["Xác định nghĩa vụ tài chính — Cục Thuế tỉnh"],
         "the tax authority's step")
    payment = _header(rev.CasePaymentRequested(dossier_code=code, reason="Nộp lệ phí trước bạ",
                                               unit={"code": TAX[0], "name": TAX[1]}))
    sent.append(payment)
    send(payment, lambda: looked().status == 6, "status 6")
    paid = _header(rev.CaseResumed(dossier_code=code, paused_minutes=60))
    paid.due_at.FromDatetime(due + dt.timedelta(hours=1))
    sent.append(paid)
    send(paid, lambda: looked().status == 4, "status 4 after the payment")

    finished = _header(rev.CaseFinished(dossier_code=code, timeliness=2, result_summary="Giấy chứng nhận số CS 01"))
    finished.finished_at.FromDatetime(dt.datetime.now(dt.UTC))
    sent.append(finished)
    send(finished, lambda: looked().status == 9, "status 9")
    assert [c.status for c in looked().history] == [2, 4, 5, 4, 6, 4, 9]
    assert officer().result.summary == "Giấy chứng nhận số CS 01" and not looked().current_steps

    # Every event again: nothing changes, each is counted as a duplicate by the worker.
    before_public, before_officer = looked(), officer()
    counts = {t: duplicates(agency, t) for t in {type(m).__name__ for m in sent}}
    # Documents' worker follows the steps' units too (liên thông grants): each of these is a duplicate there.
    granting = {t: duplicates(agency, t, "documents-worker") for t in ("CaseOpened", "CaseProgressed")}
    for message in sent:
        publish(publisher, message)
    expected = {t: counts[t] + sum(type(m).__name__ == t for m in sent) for t in counts}
    wait_until(lambda: all(duplicates(agency, t) >= n for t, n in expected.items()), "every redelivery counted")
    wait_until(lambda: all(duplicates(agency, t, "documents-worker") >= n + sum(type(m).__name__ == t for m in sent)
                           for t, n in granting.items()), "documents' worker to count every redelivered step")
    assert looked() == before_public and officer() == before_officer
