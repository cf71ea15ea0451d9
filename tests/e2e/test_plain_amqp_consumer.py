"""End-to-end: a partner's plain AMQP consumer (kombu, not nameko) reads DossierReceived from a
running platform, bound only as docs/asyncapi.yaml says, and the message is what the document
describes: its payload and headers validate against the document's schemas (closed: no field the
document leaves out), its properties are the ones the document names."""

from __future__ import annotations

import contextlib
import json
import os
import time

import kombu
import pytest
from asyncapi_schemas import document, validator
from conftest import Platform, bearer, running

from onestop.intake.v1 import intake_pb2_grpc

from stack import AMQP_RELAY_TEST_URI
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
