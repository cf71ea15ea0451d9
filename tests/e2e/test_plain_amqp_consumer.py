"""End-to-end: a partner's plain AMQP consumer (kombu, not nameko) reads DossierReceived from a
running platform, bound only as docs/asyncapi.yaml says, and the message is what the document
describes: its payload and headers validate against the document's schemas (closed: no field the
document leaves out), its properties are the ones the document names. Then every event a journey
through each producer publishes (intake, routing, documents, delivery, survey), read the same way
from every channel the document lists, validates against its schema."""

from __future__ import annotations

import contextlib
import json
import os
import time

import kombu
import pytest
from asyncapi_schemas import document, validator
from conftest import ISSUED_SECRETS, Platform, bearer, on_forms_vhost, running, stub
from test_delivery_shipments import APPLICANT, POSTAL, _submit

from onestop.delivery.v1 import delivery_pb2 as dpb
from onestop.intake.v1 import intake_pb2_grpc
from onestop.survey.v1 import survey_pb2

from stack import AMQP_FORMS_TEST_URI, AMQP_RELAY_TEST_URI
from support import submit_request


@pytest.fixture(scope="module")
def intake_only(local_stack, tmp_path_factory):
    platform = Platform(log_dir=tmp_path_factory.mktemp("e2e-plain-amqp"), services=("intake",),
                        prefix="e2eplainamqp", amqp_uri=AMQP_RELAY_TEST_URI,
                        extra_env={"OUTBOX_POLL_SECONDS": "0.1"})
    with running(platform) as p:
        yield p


def _queue_as_documented(doc: dict, channel_name: str) -> kombu.Queue:
    """A queue of the partner's own, bound to the channel's exchange with its address as routing key."""
    channel = doc["channels"][channel_name]
    exchange = channel["bindings"]["amqp"]["exchange"]
    return kombu.Queue(f"partner-{channel_name}-{os.getpid()}",
                       kombu.Exchange(exchange["name"], type=exchange["type"], durable=exchange["durable"],
                                      auto_delete=exchange["autoDelete"]),
                       routing_key=channel["address"], exclusive=True, auto_delete=True)


def test_a_plain_amqp_consumer_reads_dossier_received_as_the_asyncapi_document_says(intake_only):
    doc = document()
    message_doc = doc["components"]["messages"]["DossierReceived"]
    arrived: list[kombu.Message] = []
    with kombu.Connection(AMQP_RELAY_TEST_URI) as connection, intake_only.channel("intake") as grpc_channel:
        # Raw bodies: the consumer decodes nothing, as a partner in another language would.
        consumer = kombu.Consumer(connection, [_queue_as_documented(doc, "intake.DossierReceived")],
                                  on_message=lambda m: (m.ack(), arrived.append(m)))
        consumer.consume()
        code = intake_pb2_grpc.IntakeServiceStub(grpc_channel).SubmitDossier(
            submit_request(), metadata=bearer()).dossier.code
        deadline = time.monotonic() + 60
        mine = []
        while not mine:
            assert time.monotonic() < deadline, "DossierReceived never arrived on the documented binding"
            with contextlib.suppress(TimeoutError):
                connection.drain_events(timeout=0.5)
            mine = [m for m in arrived if json.loads(m.body)["dossierCode"] == code]
        consumer.cancel()

    message = mine[0]
    payload = json.loads(message.body)
    errors = [e.message for e in validator(doc, "DossierReceived").iter_errors(payload)]
    assert not errors, errors
    assert message.content_type == message_doc["contentType"] == "application/json"
    assert message.delivery_info["routing_key"] == doc["channels"]["intake.DossierReceived"]["address"]
    assert message.delivery_info["exchange"] == "intake.events"
    # message_id is the correlation id the document names: the payload's header.eventId.
    assert message.properties["message_id"] == payload["header"]["eventId"]
    assert payload["header"]["producer"] == "intake"
    headers = {k: v for k, v in (message.headers or {}).items() if k in ("traceparent",)}
    assert "traceparent" in headers, message.headers
    assert validator(doc, "DossierReceived", part="headers").is_valid(headers), headers
    assert payload["receivingUnit"]["code"] and payload["channel"] == "CHANNEL_IN_PERSON"


def _dossier_through_routing_and_documents(platform) -> None:
    """A dossier received at the desk: intake publishes it, routing opens its case, documents
    stores the receipt intake's worker files."""
    with stub(platform, "intake") as intake:
        intake.SubmitDossier(submit_request(), metadata=bearer(), timeout=10)


def _shipment_booked(platform) -> None:
    """A dossier whose result goes back by post, its shipment booked at the desk."""
    with stub(platform, "intake") as intake, stub(platform, "delivery") as delivery:
        code = _submit(intake, POSTAL, by_post=True)
        delivery.CreateShipment(dpb.CreateShipmentRequest(direction=dpb.DIRECTION_OUTBOUND, dossier_code=code,
                                                          applicant=APPLICANT), metadata=bearer(), timeout=10)


def _feedback_filed(platform) -> None:
    """A citizen's complaint filed on the public RPC (no token)."""
    with stub(platform, "survey") as survey:
        filed = survey.FileFeedback(survey_pb2.FileFeedbackRequest(
            agency_code="000.00.21.H17", type_code="thu-tuc", content="Thủ tục niêm yết chưa rõ thành phần hồ sơ",
            complainant=survey_pb2.Complainant(kind=1, name="Lê Văn Bình", phone="0987654321")), timeout=10)
        ISSUED_SECRETS.add(filed.secret)


# Journeys: the platform's services, what is done on it, and the events it publishes at least.
# Together they cover every producer.
JOURNEYS = {
    "intake-routing-documents": (("intake", "routing", "documents"), _dossier_through_routing_and_documents,
                                 {"DossierReceived", "CaseOpened", "DocumentStored"}),
    "delivery": (("intake", "delivery"), _shipment_booked, {"DossierReceived", "ShipmentCreated"}),
    "survey": (("intake", "survey"), _feedback_filed, {"FeedbackFiled"}),  # survey checks the agency with intake
}


def test_the_journeys_cover_every_producer_of_the_document():
    producers = {name.split(".")[0] for name in document()["channels"]}
    assert producers == {s for services, _, _ in JOURNEYS.values() for s in services} == {
        "intake", "routing", "documents", "delivery", "survey"}


@pytest.mark.parametrize("journey", JOURNEYS)
def test_a_plain_amqp_consumer_reads_every_event_of_a_journey_as_the_asyncapi_document_says(
        journey, local_stack, tmp_path_factory):
    services, act, expected = JOURNEYS[journey]
    doc = document()
    channels = {name: c for name, c in doc["channels"].items() if name.split(".")[0] in services}
    arrived: list[kombu.Message] = []
    with on_forms_vhost(tmp_path_factory, f"plainamqp{journey.replace('-', '')}", services) as platform, \
            kombu.Connection(AMQP_FORMS_TEST_URI) as connection:
        consumer = kombu.Consumer(connection, [_queue_as_documented(doc, name) for name in channels],
                                  on_message=lambda m: (m.ack(), arrived.append(m)))
        consumer.consume()
        act(platform)
        deadline = time.monotonic() + 60

        def events() -> set[str]:
            return {m.delivery_info["routing_key"] for m in arrived}
        while not expected <= events():
            assert time.monotonic() < deadline, f"{expected - events()} never arrived on the documented bindings"
            with contextlib.suppress(TimeoutError):
                connection.drain_events(timeout=0.5)
        with contextlib.suppress(TimeoutError):  # what the same journey publishes a moment later
            for _ in range(20):
                connection.drain_events(timeout=0.5)
        consumer.cancel()

    # each expected event came from its producer's exchange; nothing from a service not in the journey
    # (intake runs in survey's journey only to answer which agencies exist: it may publish nothing)
    producers = {name.split(".", 1)[0] for name in channels if name.split(".", 1)[1] in expected}
    assert producers <= {m.delivery_info["exchange"].removesuffix(".events") for m in arrived} <= set(services)
    for message in arrived:
        event = message.delivery_info["routing_key"]
        producer = message.delivery_info["exchange"].removesuffix(".events")
        channel = channels[f"{producer}.{event}"]
        payload = json.loads(message.body)
        errors = [f"{event}: {e.json_path}: {e.message}" for e in validator(doc, event).iter_errors(payload)]
        assert not errors, errors
        assert message.content_type == doc["components"]["messages"][event]["contentType"] == "application/json"
        assert channel["bindings"]["amqp"]["exchange"]["name"] == message.delivery_info["exchange"]
        assert message.properties["message_id"] == payload["header"]["eventId"], event
        assert payload["header"]["producer"] == producer, event
        headers = {k: v for k, v in (message.headers or {}).items() if k in ("traceparent",)}
        assert validator(doc, event, part="headers").is_valid(headers), (event, headers)
