"""Bounds on every request field, checked before a servicer runs.

The bounds live in the contracts (`onestop/common/v1/bounds.proto`): a field may declare
`[(onestop.common.v1.max_length) = N]` (characters of a string, bytes of a bytes field; each item of
a repeated one) and `[(onestop.common.v1.max_items) = N]` (items of a repeated field). A field that
declares none gets the defaults below. `check(request)` walks the whole message, nested messages
and list items included, and raises one `InvalidArgument` listing every field out of bounds:

- reason `FIELD_TOO_LONG` when only strings/bytes are too long, `TOO_MANY_ITEMS` when only lists
  are too long, `INVALID_FIELDS` when both occur;
- each `FieldViolation.field` is the proto path, e.g. `applicant.full_name`, `documents[3].name`,
  `reasons` (the list itself), and the description gives the bound and the size sent.

The grpc server calls it for every request message (each message of a stream), so every service
inherits it; domain rules (formats, required fields) still run afterwards in the service.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

from google.protobuf import descriptor as pb_descriptor
from google.protobuf.message import Message

from onestop.common.v1 import bounds_pb2

from .errors import FieldViolation, InvalidArgument

if TYPE_CHECKING:  # names of the protobuf type stubs only
    from google.protobuf import descriptor_pb2
    from google.protobuf.internal.extension_dict import _ExtensionFieldDescriptor

DEFAULT_MAX_LENGTH = 1_000   # characters (code points) of a string field
DEFAULT_MAX_BYTES = 65_536   # bytes of a bytes field
DEFAULT_MAX_ITEMS = 100      # items of a repeated field
MAX_COLLECTED = 100          # violations collected per request; the rest are only counted

_STRING = pb_descriptor.FieldDescriptor.TYPE_STRING
_BYTES = pb_descriptor.FieldDescriptor.TYPE_BYTES
_MESSAGE = (pb_descriptor.FieldDescriptor.TYPE_MESSAGE, pb_descriptor.FieldDescriptor.TYPE_GROUP)
# protoc's .pyi declares the two options as plain FieldDescriptors; they are int extensions of FieldOptions.
_MAX_LENGTH = cast("_ExtensionFieldDescriptor[descriptor_pb2.FieldOptions, int]", bounds_pb2.max_length)
_MAX_ITEMS = cast("_ExtensionFieldDescriptor[descriptor_pb2.FieldOptions, int]", bounds_pb2.max_items)


@functools.cache
def limits(field: pb_descriptor.FieldDescriptor) -> tuple[int, int]:
    """(max_length, max_items) of a field: its declared bounds, else the defaults. max_length is
    0 for fields that are neither strings nor bytes, max_items 0 for singular fields."""
    options = field.GetOptions()
    declared_length = options.Extensions[_MAX_LENGTH]
    declared_items = options.Extensions[_MAX_ITEMS]
    if field.type == _STRING:
        length = declared_length or DEFAULT_MAX_LENGTH
    elif field.type == _BYTES:
        length = declared_length or DEFAULT_MAX_BYTES
    else:
        length = 0
    items = (declared_items or DEFAULT_MAX_ITEMS) if field.is_repeated else 0
    return length, items


class _Found:
    def __init__(self) -> None:
        self.items: list[FieldViolation] = []
        self.too_long = self.too_many = 0

    def add(self, path: str, description: str, too_many: bool) -> None:
        if too_many:
            self.too_many += 1
        else:
            self.too_long += 1
        if len(self.items) < MAX_COLLECTED:
            self.items.append(FieldViolation(path, description))


def _scalar(found: _Found, path: str, value, field, length: int) -> None:
    if len(value) > length:
        unit = "characters" if field.type == _STRING else "bytes"
        found.add(path, f"is longer than {length} {unit} ({len(value)} sent)", too_many=False)


def _walk(message: Message, prefix: str, found: _Found) -> None:
    for field, value in message.ListFields():
        if field.is_extension:
            continue
        path = f"{prefix}{field.name}"
        length, items = limits(field)
        if items:
            if len(value) > items:
                found.add(path, f"has more than {items} items ({len(value)} sent)", too_many=True)
                continue  # the list is refused as a whole: its items are not read
            if field.type in _MESSAGE:
                entry = field.message_type  # set for every message field
                if entry is not None and entry.GetOptions().map_entry:
                    value = value.values() if entry.fields_by_name["value"].type in _MESSAGE else ()
                for i, item in enumerate(value):
                    _walk(item, f"{path}[{i}].", found)
            elif length:
                for i, item in enumerate(value):
                    _scalar(found, f"{path}[{i}]", item, field, length)
        elif field.type in _MESSAGE:
            _walk(value, f"{path}.", found)
        elif length:
            _scalar(found, path, value, field, length)


def violations(message: Message) -> tuple[list[FieldViolation], int, int]:
    """Every field of `message` out of bounds (at most MAX_COLLECTED of them), and how many strings
    or bytes were too long and lists too long in all."""
    found = _Found()
    _walk(message, "", found)
    return found.items, found.too_long, found.too_many


def check(message: Message) -> None:
    """Raises InvalidArgument (FIELD_TOO_LONG, TOO_MANY_ITEMS or INVALID_FIELDS) when any field of
    `message` is out of its bounds; returns None otherwise."""
    items, too_long, too_many = violations(message)
    if not items:
        return
    reason = "INVALID_FIELDS" if too_long and too_many else ("TOO_MANY_ITEMS" if too_many else "FIELD_TOO_LONG")
    total = too_long + too_many
    summary = "; ".join(f"{v.field}: {v.description}" for v in items[:5])
    more = f" (and {total - 5} more)" if total > 5 else ""
    raise InvalidArgument(reason, f"the request has fields out of bounds: {summary}{more}", violations=items,
                          metadata={"fields": ",".join(v.field for v in items), "count": str(total)})
