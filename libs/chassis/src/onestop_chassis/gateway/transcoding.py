"""JSON ⇄ protobuf for one route, with google.protobuf.json_format (the proto3 JSON mapping).

A request message is filled from, in this order (a later source wins a field both set, as
AIP-127 says the path wins): the body (`body: "*"`: the whole message; `body: "a.b"`: that field),
the query parameters (only when the body is not "*"; `?page_size=5&kind=A&kind=B`, nested fields
as `a.b=...`, proto or JSON field names), then the path variables. Anything that does not fit the
request (not JSON, an unknown field, a wrong type, a query parameter for a message field) is
INVALID_ARGUMENT INVALID_JSON naming it. Responses are proto3 JSON with lowerCamelCase names, fields
at their default value left out (as protojson and grpc-gateway do).

gRPC status → HTTP status follows Google's mapping (google/rpc/code.proto, AIP-193).
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2  # noqa: F401 - registers the detail types for Any → JSON

from ..errors import InvalidArgument
from .routes import Route

HTTP_STATUS = {
    grpc.StatusCode.OK: 200, grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.DEADLINE_EXCEEDED: 504, grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.DATA_LOSS: 500, grpc.StatusCode.UNAUTHENTICATED: 401,
}
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def http_status(code: int) -> int:
    """The HTTP status of gRPC status `code` (its number); 500 for a number gRPC does not define."""
    return HTTP_STATUS.get(_BY_NUMBER.get(code, grpc.StatusCode.UNKNOWN), 500)


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument("INVALID_JSON", message)


def _field(descriptor: Descriptor, name: str, where: str) -> FieldDescriptor:
    for candidate in descriptor.fields:
        if name in (candidate.name, candidate.json_name):
            return candidate
    raise _invalid(f"{where}: {descriptor.full_name} has no field {name!r}")


def _set_path(document: dict, descriptor: Descriptor, path: str, value: Any, where: str) -> None:
    """Sets field `path` ("a.b.c", proto or JSON names) of the JSON object `document` to `value`,
    replacing what the body said under either spelling of the name."""
    parts = path.split(".")
    for n, name in enumerate(parts):
        target = _field(descriptor, name, where)
        for spelling in {target.name, target.json_name} - {target.name}:
            document.pop(spelling, None)
        if n == len(parts) - 1:
            document[target.name] = value
            return
        if target.message_type is None or target.is_repeated:
            raise _invalid(f"{where}: {path!r} goes through {target.name}, which is not a single message")
        child = document.get(target.name)
        if not isinstance(child, dict):
            child = document[target.name] = {}
        document, descriptor = child, target.message_type


def _leaf(descriptor: Descriptor, path: str, where: str) -> FieldDescriptor:
    for name in path.split(".")[:-1]:
        parent = _field(descriptor, name, where)
        if parent.message_type is None:
            raise _invalid(f"{where}: {name!r} in {path!r} is not a message")
        descriptor = parent.message_type
    return _field(descriptor, path.split(".")[-1], where)


def _scalar(target: FieldDescriptor, text: str, where: str) -> Any:
    """A path or query text as the JSON value proto3 JSON expects for `target` (json_format parses
    numbers, enums and bytes from strings itself; booleans it wants unquoted)."""
    if target.type == FieldDescriptor.TYPE_BOOL:
        if text not in ("true", "false"):
            raise _invalid(f"{where}: {target.name} is true or false, not {text!r}")
        return text == "true"
    if target.message_type is not None and not target.message_type.full_name.startswith("google.protobuf."):
        raise _invalid(f"{where}: {target.name} is a message ({target.message_type.name}); send it in the body")
    return text


def _body(route: Route, body: bytes) -> dict:
    if not route.body:
        return {}
    try:
        document = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(f"the body is not JSON: {exc}") from None
    if route.body == "*":
        if not isinstance(document, dict):
            raise _invalid(f"the body must be a JSON object (the fields of {route.method.input_type.name})")
        return document
    wrapped: dict = {}
    _set_path(wrapped, route.method.input_type, route.body, document, "the body")
    return wrapped


def build_request(route: Route, path_values: dict[str, str], query: list[tuple[str, str]], body: bytes) -> Message:
    """The request message of `route` (InvalidArgument INVALID_JSON naming what does not fit)."""
    descriptor = route.method.input_type
    document = _body(route, body)
    if query and route.body == "*":
        names = ", ".join(sorted({name for name, _ in query}))
        raise _invalid(f"query parameters ({names}) are not read here: every field of "
                       f"{descriptor.name} goes in the JSON body")
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name, []).append(value)
    for name, values in grouped.items():
        where = f"query parameter {name!r}"
        target = _leaf(descriptor, name, where)
        converted = [_scalar(target, v, where) for v in values]
        if not target.is_repeated and len(converted) > 1:
            raise _invalid(f"{where} is given {len(converted)} times; {target.name} holds one value")
        _set_path(document, descriptor, name, converted if target.is_repeated
                  else converted[0], where)
    for variable, path in route.variables.items():
        where = f"path variable {{{path}}}"
        _set_path(document, descriptor, path, _scalar(_leaf(descriptor, path, where), path_values[variable], where),
                  where)
    request = route.request_class()()
    try:
        json_format.ParseDict(document, request)
    except json_format.ParseError as exc:
        raise _invalid(f"the request does not fit {descriptor.name}: {exc}") from None
    return request


def response_json(route: Route, response: Message) -> bytes:
    """The response (or its `response_body` field) as proto3 JSON, UTF-8, Vietnamese unescaped."""
    value: Any = json_format.MessageToDict(response)
    descriptor: Any = response.DESCRIPTOR
    for name in filter(None, route.response_body.split(".")):
        target = _field(descriptor, name, "response_body")
        value = value.get(target.json_name) if isinstance(value, dict) else None
        descriptor = target.message_type
    return json.dumps(value, ensure_ascii=False).encode()


def status_json(status: status_pb2.Status) -> bytes:
    """A google.rpc.Status as proto3 JSON: code (the gRPC number), message, details (each with its
    "@type", e.g. type.googleapis.com/google.rpc.ErrorInfo)."""
    return json.dumps(json_format.MessageToDict(status), ensure_ascii=False).encode()


def retry_after(status: status_pb2.Status) -> str | None:
    """Seconds (rounded up, at least 1) from the status' google.rpc.RetryInfo, for a Retry-After
    header; None without one."""
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            seconds = info.retry_delay.seconds + (1 if info.retry_delay.nanos else 0)
            return str(max(1, seconds))
    return None
