"""docs/asyncapi.yaml is what libs/contracts/asyncapi.py makes of the protos, and says what the
relay does (onestop_chassis.publishing)."""

from __future__ import annotations

import importlib.util
import pathlib

import yaml
from asyncapi_schemas import validator
from google.protobuf import json_format

from onestop.common.v1 import common_pb2
from onestop.events.v1 import intake_events_pb2, routing_events_pb2
from onestop_chassis import events

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("asyncapi_gen", ROOT / "libs/contracts/asyncapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc() -> dict:
    return yaml.safe_load((ROOT / "docs/asyncapi.yaml").read_text(encoding="utf-8"))


def test_the_committed_document_is_current():
    committed = (ROOT / "docs/asyncapi.yaml").read_text(encoding="utf-8")
    assert committed == _generator().render(), "docs/asyncapi.yaml is stale: run python libs/contracts/asyncapi.py"


def test_every_event_has_a_channel_on_its_producers_exchange():
    doc = _doc()
    assert doc["asyncapi"] == "3.0.0"
    channel = doc["channels"]["intake.DossierReceived"]
    assert channel["address"] == "DossierReceived"
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "intake.events"
    assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"
    assert "routing.CaseOpened" in doc["channels"]
    # Every message with an EventHeader in the events protos, and nothing else (EventHeader itself).
    for module in (intake_events_pb2, routing_events_pb2):
        producer = module.DESCRIPTOR.name.rsplit("/", 1)[1].removesuffix("_events.proto")
        for name, message in module.DESCRIPTOR.message_types_by_name.items():
            is_event = "header" in message.fields_by_name and message.fields_by_name["header"].message_type \
                is not None and message.fields_by_name["header"].message_type.name == "EventHeader"
            assert (f"{producer}.{name}" in doc["channels"]) == is_event, name
    assert not any(key.endswith(".EventHeader") for key in doc["channels"])


def test_a_published_payload_validates_and_a_wrong_one_does_not():
    received = intake_events_pb2.DossierReceived(
        header=events.new_header("intake"), dossier_code="000.21.H17-261130-0001", procedure_code="1.001",
        receiving_unit=common_pb2.UnitRef(code="000.21.H17", name="Sở Tư pháp"),
        channel=common_pb2.CHANNEL_ONLINE)
    received.received_at.GetCurrentTime()
    payload = events.to_payload(received)
    check = validator(_doc(), "DossierReceived")
    assert validator(_doc(), "DossierReceived", closed=False).is_valid({**payload, "aFieldAddedLater": 1})
    check.validate(payload)
    assert list(check.iter_errors({**payload, "receivingUnit": {"code": 17}}))
    assert list(check.iter_errors({**payload, "channel": "CHANNEL_TELEPATHY"}))
    assert list(check.iter_errors({**payload, "notAField": 1}))
    assert json_format.ParseDict(payload, intake_events_pb2.DossierReceived()) == received
