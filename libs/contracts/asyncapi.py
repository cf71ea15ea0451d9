"""Writes docs/asyncapi.yaml (AsyncAPI 3.0) from protos/onestop/events/v1, so the event contracts
partners read cannot drift from the protos.

    python libs/contracts/asyncapi.py            # (re)write docs/asyncapi.yaml
    python libs/contracts/asyncapi.py --check    # exit 1 when the committed file is stale

An event is a top-level message of onestop/events/v1/<producer>_events.proto with a `header`
field of type EventHeader. As onestop_chassis.publishing sends it: to the durable topic exchange
"<producer>.events" (nameko's event exchange), routing key = the message's short name, body = the
proto3 JSON of the message (google.protobuf.json_format.MessageToDict: lowerCamelCase names,
enums by name, 64-bit integers as strings, Timestamps as RFC 3339 strings, default values left
out), AMQP properties message_id = header.event_id and content_type application/json, and the
W3C trace context in the application header "traceparent".

The payload schemas are JSON Schema (draft 2020-12 subset that AsyncAPI's default schema format
accepts), one per proto message under components.schemas, named by the message's full name.
Fields are never `required` (proto3 JSON leaves defaults out) and objects stay open to new fields
(events evolve by adding fields: docs/versioning.md).
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

import yaml
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROTOS = ROOT / "protos"
OUTPUT = ROOT / "docs" / "asyncapi.yaml"
EVENTS_DIR = "onestop/events/v1"
HEADER_TYPE = ".onestop.events.v1.EventHeader"
F = descriptor_pb2.FieldDescriptorProto

# proto3 JSON (https://protobuf.dev/programming-guides/json/) of the scalar types.
_SCALARS: dict[int, dict] = {
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    F.TYPE_DOUBLE: {"type": "number"},
    F.TYPE_FLOAT: {"type": "number"},
    **{t: {"type": "integer"} for t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32, F.TYPE_UINT32, F.TYPE_FIXED32)},
    # 64-bit integers are JSON strings (JavaScript numbers lose precision past 2^53).
    **{t: {"type": "string", "pattern": "^-?[0-9]+$"}
       for t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64, F.TYPE_UINT64, F.TYPE_FIXED64)},
}
_WELL_KNOWN: dict[str, dict] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    ".google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"},
    ".google.protobuf.StringValue": {"type": "string"},
    ".google.protobuf.BoolValue": {"type": "boolean"},
    ".google.protobuf.Int32Value": {"type": "integer"},
    ".google.protobuf.UInt32Value": {"type": "integer"},
    ".google.protobuf.Int64Value": {"type": "string", "pattern": "^-?[0-9]+$"},
    ".google.protobuf.DoubleValue": {"type": "number"},
    ".google.protobuf.Struct": {"type": "object"},
}


def descriptors(protos_dir: pathlib.Path = PROTOS) -> descriptor_pb2.FileDescriptorSet:
    """Every proto under `protos_dir` with its imports and comments (protoc's source info)."""
    files = sorted(str(p.relative_to(protos_dir)) for p in protos_dir.rglob("*.proto"))
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "set.pb"
        third_party = ROOT / "third_party"  # google/api/*.proto, imported by the services
        args = ["protoc", f"-I{protos_dir}", f"-I{third_party}", f"-I{well_known}", "--include_imports",
                "--include_source_info", f"--descriptor_set_out={out}", *files]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _text(comment: str) -> str:
    """A proto comment as text: its lines joined, blank lines kept as paragraph breaks."""
    paragraphs = comment.strip().split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in paragraphs)


class _Index:
    """Messages and enums by full name (".pkg.Name"), with their leading comments."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet):
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.comments: dict[str, str] = {}
        self.files: dict[str, str] = {}
        for f in files.file:
            spans = {tuple(loc.path): _text(loc.leading_comments) for loc in f.source_code_info.location}
            for i, m in enumerate(f.message_type):
                self._message(f.name, f".{f.package}", m, (4, i), spans)
            for i, e in enumerate(f.enum_type):
                self.enums[f".{f.package}.{e.name}"] = e
                self.comments[f".{f.package}.{e.name}"] = spans.get((5, i), "")

    def _message(self, file: str, scope: str, m, path: tuple, spans: dict) -> None:
        name = f"{scope}.{m.name}"
        self.messages[name] = m
        self.files[name] = file
        self.comments[name] = spans.get(path, "")
        for j, _field in enumerate(m.field):
            self.comments[f"{name}#{j}"] = spans.get(path + (2, j), "")
        for j, nested in enumerate(m.nested_type):
            self._message(file, name, nested, path + (3, j), spans)
        for j, e in enumerate(m.enum_type):
            self.enums[f"{name}.{e.name}"] = e
            self.comments[f"{name}.{e.name}"] = spans.get(path + (4, j), "")


def _described(schema: dict, comment: str) -> dict:
    return {**schema, "description": comment} if comment else schema


def _ref(full_name: str) -> dict:
    return {"$ref": f"#/components/schemas/{full_name.lstrip('.')}"}


class _Schemas:
    def __init__(self, index: _Index):
        self.index = index
        self.out: dict[str, dict] = {}

    def field(self, f: descriptor_pb2.FieldDescriptorProto) -> dict:
        if f.type == F.TYPE_MESSAGE:
            entry = self.index.messages[f.type_name]
            if entry.options.map_entry:
                return {"type": "object", "additionalProperties": self.field(entry.field[1])}
            one = dict(_WELL_KNOWN[f.type_name]) if f.type_name in _WELL_KNOWN else self.message(f.type_name)
        elif f.type == F.TYPE_ENUM:
            one = self.enum(f.type_name)
        else:
            one = dict(_SCALARS[f.type])
        return {"type": "array", "items": one} if f.label == F.LABEL_REPEATED and not \
            (f.type == F.TYPE_MESSAGE and self.index.messages[f.type_name].options.map_entry) else one

    def enum(self, full_name: str) -> dict:
        key = full_name.lstrip(".")
        if key not in self.out:
            values = [v.name for v in self.index.enums[full_name].value]
            self.out[key] = _described({"type": "string", "enum": values}, self.index.comments.get(full_name, ""))
        return _ref(full_name)

    def message(self, full_name: str) -> dict:
        key = full_name.lstrip(".")
        if key not in self.out:
            self.out[key] = {}  # reserve first: messages may refer to themselves
            m = self.index.messages[full_name]
            props = {f.json_name: _described(self.field(f), self.index.comments.get(f"{full_name}#{j}", ""))
                     for j, f in enumerate(m.field)}
            self.out[key] = _described({"type": "object", "properties": props}, self.index.comments.get(full_name, ""))
        return _ref(full_name)


def events(index: _Index) -> list[tuple[str, str]]:
    """(producer, message full name) of every event, in file then declaration order."""
    found = []
    for name, m in index.messages.items():
        file = index.files[name]
        if file.startswith(EVENTS_DIR + "/") and name.count(".") == 4 and \
                any(f.name == "header" and f.type_name == HEADER_TYPE for f in m.field):
            found.append((pathlib.Path(file).stem.removesuffix("_events"), name))
    return found


def _headers() -> dict:
    return {"type": "object", "properties": {"traceparent": {
        "type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        "description": "W3C trace context of the change that caused the event (may be absent)."}}}


def document(protos_dir: pathlib.Path = PROTOS) -> dict:
    """The AsyncAPI 3.0 document as a dict."""
    index = _Index(descriptors(protos_dir))
    schemas = _Schemas(index)
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    messages: dict[str, dict] = {}
    for producer, name in events(index):
        short = name.rsplit(".", 1)[1]
        assert short not in messages, f"two events are named {short}: routing keys must differ"
        channel = f"{producer}.{short}"
        messages[short] = {
            "name": short, "title": short, "contentType": "application/json",
            "summary": index.comments.get(name, "").split("\n")[0],
            "description": index.comments.get(name, ""),
            "headers": _headers(),
            "correlationId": {"description": "The AMQP message_id property: the event's header.eventId; "
                                             "consumers remember it to process each event once.",
                              "location": "$message.payload#/header/eventId"},
            "payload": schemas.message(name),
            "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": short, "bindingVersion": "0.3.0"}},
        }
        channels[channel] = {
            "address": short,
            "description": f"Exchange {producer}.events (topic), routing key {short}.",
            "messages": {short: {"$ref": f"#/components/messages/{short}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": f"{producer}.events", "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.3.0"}},
        }
        operations[f"receive{short}"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Consume {short}: bind your own durable queue to {producer}.events with routing key {short}.",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{short}"}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": "0.3.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "onestop events", "version": "v1", "description": " ".join(__doc__.split("\n\n")[2].split())},
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
                              "description": "make run's RabbitMQ; an agency's own vhost in a cluster "
                                             "(docs/operations.md)"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.out.items()))},
    }


def render(protos_dir: pathlib.Path = PROTOS) -> str:
    head = "# Generated by libs/contracts/asyncapi.py from protos/onestop/events/v1: do not edit.\n"
    return head + yaml.safe_dump(document(protos_dir), sort_keys=False, allow_unicode=True, width=110)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: run python libs/contracts/asyncapi.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
