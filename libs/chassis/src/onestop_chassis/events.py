"""Event payloads: `onestop.events.v1` messages carried as proto3 JSON on nameko's event bus.

An event is published to the exchange "<producer>.events" with the message's short name as the
routing key, so a nameko worker subscribes with `@event_handler("intake", "DossierReceived")`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from onestop.events.v1 import intake_events_pb2 as _events  # EventHeader lives with the events

from .errors import PermanentError
from .nfc import nfc_message

M = TypeVar("M", bound=Message)


class InvalidEvent(PermanentError, ValueError):
    """A payload that does not parse as the expected event: retrying cannot help, so a handler
    that lets it propagate has the message dead-lettered (onestop_chassis.dead_letters)."""


def new_header(producer: str, occurred_at: dt.datetime | None = None) -> _events.EventHeader:
    header = _events.EventHeader(event_id=str(uuid.uuid4()), producer=producer)
    header.occurred_at.FromDatetime(occurred_at or dt.datetime.now(dt.UTC))
    return header


def event_type(message: Message | type[Message]) -> str:
    return message.DESCRIPTOR.name


def header_of(message: Message) -> _events.EventHeader:
    """The `EventHeader header = 1` every `onestop.events.v1` message starts with; TypeError for a
    message type that has none (not an event)."""
    header = getattr(message, "header", None)
    if not isinstance(header, _events.EventHeader):
        raise TypeError(f"{message.DESCRIPTOR.full_name} is not an event: it has no EventHeader header")
    return header


def to_payload(message: Message) -> dict:
    return json_format.MessageToDict(message)


MAX_EVENT_ID_LENGTH = 64


def from_payload(payload: dict, cls: type[M]) -> M:
    try:
        message = json_format.ParseDict(payload, cls(), ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, AttributeError) as exc:
        raise InvalidEvent(f"payload is not a valid {cls.DESCRIPTOR.full_name}: {exc}") from None
    event_id = header_of(message).event_id
    if not event_id:
        raise InvalidEvent(f"{cls.DESCRIPTOR.full_name} payload has no header.eventId")
    if len(event_id) > MAX_EVENT_ID_LENGTH:  # ids are UUIDs; consumers store them
        raise InvalidEvent(f"{cls.DESCRIPTOR.full_name} header.eventId is longer than {MAX_EVENT_ID_LENGTH} characters")
    return nfc_message(message)  # events are a boundary too: consumers see NFC text only
