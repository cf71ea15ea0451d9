"""Routing's journey as processes (api, worker, relay) on the real stack: the case's journey over
gRPC, its events published by routing's relay, and every event routing consumes delivered again
changing nothing."""

from __future__ import annotations

import re
import time
import urllib.request

import grpc
import pytest
from conftest import UNIT, bearer, stub_fixtures, token

from onestop.events.v1 import intake_events_pb2 as ev
from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import events
from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.publishing import confirming_publisher, publish_event

from support import error_info, submit_request, wait_for_case


def _metric(platform, process: str, name: str, **labels) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{platform.metrics[process]}/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


def _wait(condition, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


(stub,) = stub_fixtures("platform", stub=("routing", routing_pb2_grpc.RoutingServiceStub))


def test_the_case_opens_with_its_journey_and_the_relay_publishes_its_event(intake, routing, stub, platform):
    dossier = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier
    case = wait_for_case(routing, dossier.code, bearer())
    # 2.001610 names QT.DN.01, shipped and seeded: the case runs it from the desk's first step.
    assert (case.state, case.process_code, case.process_version, case.seq) == \
        (routing_pb2.CASE_STATE_PROCESSING, "QT.DN.01", 1, 1)
    assert [(s.step_code, s.unit.code) for s in case.steps] == [("tiep_nhan", UNIT)]
    journey = stub.GetJourney(routing_pb2.GetJourneyRequest(dossier_code=dossier.code), metadata=bearer())
    assert [(e.seq, e.kind, e.actor) for e in journey.entries] == [(1, "opened", "intake")]
    db = platform.db("routing")
    [entry] = db["journey"].find({"dossier_code": dossier.code})
    assert [e["event_type"] for e in entry["outbox"]] == ["CaseOpened"]
    # routing's relay process publishes it: its pointer goes once the broker confirmed
    _wait(lambda: db["journey_outbox"].find_one({"_id": entry["outbox"][0]["event_id"]}) is None, what="the relay")
    # An officer of the department the case has not reached yet may not act on it, and nothing is stored.
    officer = bearer(token(roles=("processing_officer",), agency="000.00.15.H17", subject="cv-dkkd"))
    with pytest.raises(grpc.RpcError) as info:
        stub.ClaimStep(routing_pb2.ClaimStepRequest(dossier_code=dossier.code, step_code="tiep_nhan",
                                                    request_id="c-1"), metadata=officer)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED and error_info(info.value)[0] == "OTHER_AGENCY"
    assert db["journey"].count_documents({"dossier_code": dossier.code}) == 1


def test_every_event_routing_consumes_delivered_again_changes_nothing(intake, routing, stub, platform):
    dossier = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier
    wait_for_case(routing, dossier.code, bearer())
    before = stub.GetJourney(routing_pb2.GetJourneyRequest(dossier_code=dossier.code), metadata=bearer())
    stored = platform.db("intake")["dossiers"].find_one({"_id": dossier.code})
    received = next(e for e in stored["outbox"] if e["event_type"] == "DossierReceived")
    supplement = ev.DossierSupplementReceived(header=events.new_header("intake"), dossier_code=dossier.code)
    publisher = confirming_publisher(load_settings(ServiceSettings, service_name="e2e", amqp_uri=platform.amqp_uri))
    duplicates = _metric(platform, "routing-worker", "onestop_event_duplicates_total", event_type="DossierReceived")
    handled = _metric(platform, "routing-worker", "onestop_worker_calls_total", handler="on_supplement_received")
    for n in (1, 2):  # the original DossierReceived, as the relay would publish it again, and a supplement twice
        publish_event(publisher, "intake", "DossierReceived", received["payload"], {}, received["event_id"])
        publish_event(publisher, "intake", "DossierSupplementReceived", events.to_payload(supplement), {},
                      supplement.header.event_id)
        _wait(lambda n=n: _metric(platform, "routing-worker", "onestop_event_duplicates_total",
                                  event_type="DossierReceived") >= duplicates + n, what="the redelivery counted")
        _wait(lambda n=n: _metric(platform, "routing-worker", "onestop_worker_calls_total",
                                  handler="on_supplement_received") >= handled + n, what="the supplement handled")
        if n == 1:
            # The first receipt, for a running case not paused for it, is recorded (its request may
            # come later on its own queue and must then not pause the case): one entry, no event.
            first = stub.GetJourney(routing_pb2.GetJourneyRequest(dossier_code=dossier.code), metadata=bearer())
            assert [e.kind for e in first.entries] == [*(e.kind for e in before.entries), "supplement_received"]
            assert first.control_slip == before.control_slip  # no handover, the case where it was
    after = stub.GetJourney(routing_pb2.GetJourneyRequest(dossier_code=dossier.code), metadata=bearer())
    assert after == first  # delivered again: nothing changes
    assert platform.db("routing")["journey"].count_documents({"dossier_code": dossier.code}) == 2
    assert platform.db("routing")["cases"].count_documents({"_id": dossier.code}) == 1


def test_a_desk_supplement_request_that_overtook_the_case_s_opening_waits_for_it(stub, platform):
    """Gaps item 5, on the real broker: intake's DossierSupplementRequested reaches routing before
    the DossierReceived that opens the case (each event type has its own queue). It is retried, not
    dead-lettered, pauses the case once it is open, and delivered again changes nothing."""
    import datetime as dt
    import random

    from onestop.common.v1 import common_pb2
    from onestop_chassis.worktime import VIETNAM

    now = dt.datetime.now(dt.UTC)
    code = f"{UNIT}-{now.astimezone(VIETNAM):%y%m%d}-{random.randrange(10**7, 10**8)}"  # no dossier of intake's
    request = ev.DossierSupplementRequested(header=events.new_header("intake"), dossier_code=code,
                                            reason="Thiếu bản sao điều lệ doanh nghiệp")
    received = ev.DossierReceived(header=events.new_header("intake"), dossier_code=code, procedure_code="2.001610",
                                  procedure_name="Đăng ký thành lập doanh nghiệp tư nhân",
                                  channel=common_pb2.CHANNEL_IN_PERSON, process_code="QT.DN.01")
    received.receiving_unit.code, received.receiving_unit.name = UNIT, "Trung tâm Phục vụ hành chính công"
    received.applicant.full_name = "Phạm Thu Trang"
    received.received_at.FromDatetime(now)
    received.appointment_at.FromDatetime(now + dt.timedelta(days=5))
    publisher = confirming_publisher(load_settings(ServiceSettings, service_name="e2e", amqp_uri=platform.amqp_uri))
    calls = _metric(platform, "routing-worker", "onestop_worker_calls_total", handler="on_supplement_requested")
    publish_event(publisher, "intake", "DossierSupplementRequested", events.to_payload(request), {},
                  request.header.event_id)
    _wait(lambda: _metric(platform, "routing-worker", "onestop_worker_calls_total",
                          handler="on_supplement_requested") >= calls + 1, what="the early request handled once")
    with pytest.raises(grpc.RpcError) as info:  # no case yet: the request waits on the retry queue
        stub.GetCase(routing_pb2.GetCaseRequest(dossier_code=code), metadata=bearer())
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    publish_event(publisher, "intake", "DossierReceived", events.to_payload(received), {}, received.header.event_id)

    def journey():
        try:
            return stub.GetJourney(routing_pb2.GetJourneyRequest(dossier_code=code), metadata=bearer()).entries
        except grpc.RpcError:
            return []
    _wait(lambda: [e.kind for e in journey()] == ["opened", "paused"], timeout=60, what="the retried request applied")
    paused = journey()[1]
    assert (paused.actor, paused.request_id, paused.reason) == ("intake", request.header.event_id, request.reason)
    case = stub.GetCase(routing_pb2.GetCaseRequest(dossier_code=code), metadata=bearer()).case
    assert (case.state, case.national_status) == (routing_pb2.CASE_STATE_PAUSED, 5)
    duplicates = _metric(platform, "routing-worker", "onestop_event_duplicates_total",
                         event_type="DossierSupplementRequested")
    publish_event(publisher, "intake", "DossierSupplementRequested", events.to_payload(request), {},
                  request.header.event_id)
    _wait(lambda: _metric(platform, "routing-worker", "onestop_event_duplicates_total",
                          event_type="DossierSupplementRequested") >= duplicates + 1, what="the redelivery counted")
    assert [e.kind for e in journey()] == ["opened", "paused"]
