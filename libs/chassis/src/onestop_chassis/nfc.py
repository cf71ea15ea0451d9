"""One step of the gRPC server: every string of every request in Unicode NFC.

`nfc_message` rewrites, in place, every string field of a protobuf message (nested messages,
repeated fields, map keys and values) to NFC, so every service, present and future, sees one form
of Vietnamese text whatever the client's keyboard sent (see `onestop_chassis.text`).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TypeVar

from google.protobuf import descriptor as _descriptor
from google.protobuf.message import Message

_STRING = _descriptor.FieldDescriptor.TYPE_STRING
_MESSAGE = _descriptor.FieldDescriptor.TYPE_MESSAGE

M = TypeVar("M", bound=Message)


def _norm(s: str) -> str:
    return s if unicodedata.is_normalized("NFC", s) else unicodedata.normalize("NFC", s)


def nfc_message(message: M) -> M:
    """Rewrites, in place, every string field of `message` to NFC: nested messages, repeated fields
    and map keys and values included. Returns `message`.

    Only the fields that can hold text are visited (a plan per message type, computed once), so a
    bytes field such as an upload chunk is never read or copied; strings already in NFC, the usual
    case, are only checked."""
    for name, kind in _plan(message.DESCRIPTOR):
        if kind == "str":
            value = getattr(message, name)
            if not unicodedata.is_normalized("NFC", value):
                setattr(message, name, unicodedata.normalize("NFC", value))
        elif kind == "msg":
            if message.HasField(name):
                nfc_message(getattr(message, name))
        elif kind == "strs":
            values = getattr(message, name)
            for i, item in enumerate(values):
                if not unicodedata.is_normalized("NFC", item):
                    values[i] = unicodedata.normalize("NFC", item)
        elif kind == "msgs":
            for item in getattr(message, name):
                nfc_message(item)
        else:  # a map: kind is ("map", key is a string, value kind)
            _nfc_map(getattr(message, name), kind[1], kind[2])
    return message


def _nfc_map(mapping, string_keys: bool, values: str) -> None:
    for key in list(mapping.keys()):
        if values == "msg":
            nfc_message(mapping[key])
        elif values == "str":
            mapping[key] = _norm(mapping[key])
        if string_keys and not unicodedata.is_normalized("NFC", key):
            new_key = unicodedata.normalize("NFC", key)
            if values == "msg":
                mapping[new_key].CopyFrom(mapping[key])
            else:
                mapping[new_key] = mapping[key]
            del mapping[key]


@functools.cache
def _plan(descriptor) -> tuple:
    """(field name, kind) for each field of this message type that can hold a string."""
    plan: list[tuple[str, str | tuple[str, bool, str]]] = []
    for field in descriptor.fields:
        if field.type == _STRING:
            plan.append((field.name, "strs" if field.is_repeated else "str"))
        elif field.type == _MESSAGE and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            value_kind = ("msg" if value.type == _MESSAGE and _has_text(value.message_type)
                          else "str" if value.type == _STRING else "")
            if key.type == _STRING or value_kind:
                plan.append((field.name, ("map", key.type == _STRING, value_kind)))
        elif field.type == _MESSAGE and _has_text(field.message_type):
            plan.append((field.name, "msgs" if field.is_repeated else "msg"))
    return tuple(plan)


@functools.cache
def _has_text(descriptor, _seen: frozenset = frozenset()) -> bool:
    """Whether a message of this type can hold a string anywhere inside (recursive types: yes)."""
    if descriptor in _seen:
        return True
    seen = _seen | {descriptor}
    return any(f.type == _STRING or (f.type == _MESSAGE and _has_text(f.message_type, seen))
               for f in descriptor.fields)
