"""The REST routes, read from the contracts' `google.api.http` options (no route table by hand).

Every unary RPC of an `onestop.<service>.v1` package whose method carries the option (and each of its
`additional_bindings`) becomes one `Route`: an HTTP method, a path template turned into a werkzeug
rule, which request fields the path binds, and where the body goes. The template grammar is
google/api/http.proto's: literal segments, `{field.path}` (one segment), `{field=*}`,
`{field=**}` (the rest of the path) and `{field=literal/*/...}`, and a trailing `:verb`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor
from werkzeug.routing import BaseConverter, Map, Rule

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:=([^}]*))?\}")
_METHODS = ("get", "put", "post", "delete", "patch")


class TemplateError(ValueError):
    """A path template the gateway cannot serve (it names the RPC and the template)."""


class SegmentsConverter(BaseConverter):
    """One path variable's segments as a regular expression (`*`: one segment, `**`: the rest)."""

    def __init__(self, url_map: Map, pattern: str):
        super().__init__(url_map)
        self.regex = pattern
        self.part_isolating = "/" not in pattern


@dataclass(frozen=True, eq=False)  # hashed by identity: werkzeug keeps it as an endpoint
class Route:
    """One HTTP binding of an RPC. `service` is the proto package's service name (e.g. "intake"),
    `rpc` the full gRPC method path ("/onestop.intake.v1.IntakeService/SubmitDossier"), `variables`
    the werkzeug variable name → the request field path it fills ("v0" → "unit.code"), `body` ""
    (no body), "*" (the whole request) or a field path, `response_body` "" or a response field path."""

    service: str
    rpc: str
    http_method: str
    template: str
    rule: str
    method: MethodDescriptor = field(repr=False)
    variables: dict[str, str] = field(default_factory=dict)
    body: str = ""
    response_body: str = ""

    @property
    def endpoint(self) -> str:
        return f"{self.http_method} {self.template}"

    def request_class(self):
        return message_factory.GetMessageClass(self.method.input_type)

    def response_class(self):
        return message_factory.GetMessageClass(self.method.output_type)


def _segments_regex(segments: str, where: str) -> str:
    parts = []
    for segment in segments.split("/"):
        if segment == "*":
            parts.append("[^/]+")
        elif segment == "**":
            parts.append(".+")
        elif segment and "{" not in segment and "*" not in segment:
            parts.append(re.escape(segment))
        else:
            raise TemplateError(f"{where}: unsupported segment {segment!r} in a path variable")
    return "/".join(parts)


def werkzeug_rule(template: str, where: str = "") -> tuple[str, dict[str, str]]:
    """`/v1/units/{unit.code}` → (`/v1/units/<v0>`, {"v0": "unit.code"}); TemplateError when the
    template breaks the grammar (no leading "/", a nested or unclosed brace, a bad segment)."""
    where = where or template
    if not template.startswith("/"):
        raise TemplateError(f"{where}: a path template starts with '/'")
    variables: dict[str, str] = {}
    out, last = [], 0
    for n, match in enumerate(_VARIABLE.finditer(template)):
        literal = template[last:match.start()]
        if "{" in literal or "}" in literal or "<" in literal or ">" in literal:
            raise TemplateError(f"{where}: unbalanced braces or angle brackets")
        out.append(literal)
        name, segments = f"v{n}", match.group(2)
        if segments in (None, "*"):
            out.append(f"<{name}>")
        else:
            pattern = _segments_regex(segments, where).replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'<segments("{pattern}"):{name}>')
        variables[name] = match.group(1)
        last = match.end()
    tail = template[last:]
    if "{" in tail or "}" in tail or "<" in tail or ">" in tail:
        raise TemplateError(f"{where}: unbalanced braces or angle brackets")
    out.append(tail)
    return "".join(out), variables


def _bindings(rule: http_pb2.HttpRule) -> Iterator[http_pb2.HttpRule]:
    yield rule
    for extra in rule.additional_bindings:
        yield from _bindings(extra)


def _verb_and_path(rule: http_pb2.HttpRule) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    if kind in _METHODS:
        return kind.upper(), getattr(rule, kind)
    raise TemplateError(f"an HttpRule without a pattern: {rule}")


def routes_of(files: Iterable[FileDescriptor]) -> list[Route]:
    """Every HTTP binding of the unary RPCs of `files` (TemplateError for a streaming RPC with a
    binding, or a bad template)."""
    found = []
    for file in files:
        service_name = file.package.split(".")[1] if file.package.count(".") >= 2 else file.package
        for service in file.services_by_name.values():
            for method in service.methods:
                options = method.GetOptions()
                if not options.HasExtension(annotations_pb2.http):
                    continue
                where = f"{service.full_name}.{method.name}"
                if method.client_streaming or method.server_streaming:
                    raise TemplateError(f"{where}: a streaming RPC cannot be served as JSON over HTTP")
                for binding in _bindings(options.Extensions[annotations_pb2.http]):
                    verb, template = _verb_and_path(binding)
                    rule, variables = werkzeug_rule(template, where)
                    found.append(Route(service_name, f"/{service.full_name}/{method.name}", verb, template, rule,
                                       method, variables, binding.body, binding.response_body))
    return found


def contract_files(package: str = "onestop") -> list[FileDescriptor]:
    """The FileDescriptor of every generated `*_pb2` module under `package` (onestop-contracts)."""
    root = importlib.import_module(package)
    files = []
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if info.name.endswith("_pb2"):
            files.append(importlib.import_module(info.name).DESCRIPTOR)
    return files


def url_map(routes: Iterable[Route]) -> Map:
    """A werkzeug Map whose endpoints are the routes themselves (strict: no trailing-slash redirects)."""
    return Map([Rule(r.rule, endpoint=r, methods=[r.http_method]) for r in routes],
               converters={"segments": SegmentsConverter}, strict_slashes=False, merge_slashes=False)
