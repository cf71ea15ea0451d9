"""The gateway's WSGI application: match a route, build the request, call the service, answer JSON.

- Auth: the `Authorization` header goes to the service as the gRPC metadata `authorization`, as it
  came; the gateway checks only that gRPC can carry it (TOKEN_MALFORMED below), so public RPCs stay
  public and the service's own policy decides (UNAUTHENTICATED → 401, PERMISSION_DENIED → 403).
- The client's address goes as `x-forwarded-for`, appended to the IP addresses of the one it sent
  (anything else in it dropped, at most 8 hops kept): the services' rate limits count it when the
  gateway is one of their TRUSTED_PROXIES (onestop_chassis.ratelimits; the deploy/k8s agency overlays).
- Errors: the service's google.rpc.Status, details included, as JSON (transcoding.status_json),
  with the HTTP status of its code and, with a RetryInfo, a Retry-After header. The gateway's own
  refusals have the same shape, in the domain "gateway.onestop": TOKEN_MALFORMED (401: an
  Authorization header gRPC cannot carry, not printable ASCII or over 4096 bytes), INVALID_JSON
  (400), ROUTE_NOT_FOUND (404), METHOD_NOT_ALLOWED (405, with Allow), REQUEST_TOO_LARGE (413).
- Idempotency: nothing is retried here; a `request_id` in the body reaches the service unchanged.
- Tracing: `traceparent` and `tracestate` headers go on as metadata of the same names when they
  have the W3C form (a malformed one is dropped: the service starts a new trace).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import time
from collections.abc import Callable, Iterable

import grpc
from google.rpc import status_pb2
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from .. import errors
from ..clients import ServiceClient
from ..errors import ResourceExhausted, ServiceError, Unauthenticated
from ..logs import get_logger
from ..metrics import LATENCY_BUCKETS
from ..trailers import rich_status
from . import transcoding
from .routes import Route, url_map

log = get_logger("onestop.gateway")
DOMAIN = "gateway.onestop"
JSON = "application/json; charset=utf-8"
TRACE_HEADERS = ("traceparent", "tracestate")
REQUESTS = Counter("onestop_gateway_requests", "REST gateway requests, by route and HTTP status",
                   ["route", "status"])
LATENCY = Histogram("onestop_gateway_request_duration_seconds",
                    "REST gateway request handling time, the service's call included", ["route"],
                    buckets=LATENCY_BUCKETS)


# gRPC refuses metadata that is not printable ASCII (INTERNAL "Invalid metadata"), and a header
# list over its 8 KiB limit (RESOURCE_EXHAUSTED); so the gateway checks what it forwards itself.
MAX_AUTHORIZATION_BYTES = 4096  # an identity provider's JWT with a few dozen roles is under 2 KiB
MAX_FORWARDED_HOPS = 8          # the nearest hops (the right end); further left is the client's word anyway
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
_TRACE_FORMS = {  # W3C Trace Context level 1: version 00's traceparent, and tracestate's size limit
    "traceparent": re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"),
    "tracestate": re.compile(r"[\x20-\x7e]{1,512}"),
}


def _authorization(value: str) -> str:
    """The Authorization header as gRPC metadata; UNAUTHENTICATED TOKEN_MALFORMED when gRPC could
    not carry it (not printable ASCII, or over MAX_AUTHORIZATION_BYTES)."""
    if len(value) > MAX_AUTHORIZATION_BYTES:
        raise Unauthenticated("TOKEN_MALFORMED", f"the Authorization header has {len(value)} characters; "
                              f"a bearer token is at most {MAX_AUTHORIZATION_BYTES}",
                              metadata={"max_bytes": str(MAX_AUTHORIZATION_BYTES)})
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise Unauthenticated("TOKEN_MALFORMED", "the Authorization header must be 'Bearer <jwt>' in printable "
                              "ASCII; it has other characters")
    return value


def _address_hops(forwarded: str) -> list[str]:
    """The IP addresses of a client-sent X-Forwarded-For, the last MAX_FORWARDED_HOPS of them;
    anything else is dropped, so a garbled hop cannot make the services count the gateway."""
    hops = []
    for hop in forwarded.split(","):
        with contextlib.suppress(ValueError):
            hops.append(str(ipaddress.ip_address(hop.strip().strip("[]"))))
    return hops[-MAX_FORWARDED_HOPS:]


class MethodRefused(ServiceError):
    code = "UNIMPLEMENTED"


class Upstreams:
    """A lazy gRPC channel per service (ServiceClient), by service name ("intake")."""

    def __init__(self, addresses: dict[str, str], timeout: float):
        self._clients = {name: ServiceClient(address, _channel_itself, _no_token, timeout)
                         for name, address in addresses.items()}

    def channel(self, service: str) -> grpc.Channel:
        return self._clients[service].stub()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def _channel_itself(channel: grpc.Channel) -> grpc.Channel:
    return channel


def _no_token() -> str:
    return ""  # the caller's own token is passed on, never one of the gateway's


class Gateway:
    """WSGI app serving `routes` through `upstreams`. `max_body_bytes` bounds a request body
    (bytes), `timeout` each call's deadline (seconds); `openapi` is served at /openapi.json."""

    def __init__(self, routes: Iterable[Route], upstreams: Upstreams, *, max_body_bytes: int, timeout: float,
                 openapi: bytes | None = None):
        self.routes = list(routes)
        self._map = url_map(self.routes)
        self._upstreams, self._max, self._timeout, self._openapi = upstreams, max_body_bytes, timeout, openapi

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        started, label = time.perf_counter(), "unmatched"
        try:
            if self._openapi is not None and request.path == "/openapi.json" and request.method in ("GET", "HEAD"):
                label, response = "GET /openapi.json", Response(self._openapi, content_type=JSON)
            else:
                route, values = self._match(request)
                label = route.endpoint
                response = self._serve(route, values, request)
        except ServiceError as err:
            response = self._refusal(err)
        except Exception:  # a fault of the gateway itself: JSON like every other answer, and logged
            log.exception("gateway_failed", route=label, method=request.method)
            response = self._status_response(status_pb2.Status(
                code=grpc.StatusCode.INTERNAL.value[0], message="the REST gateway failed on this request"))
        REQUESTS.labels(label, str(response.status_code)).inc()
        LATENCY.labels(label).observe(time.perf_counter() - started)
        return response(environ, start_response)

    def _match(self, request: Request) -> tuple[Route, dict[str, str]]:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            route, values = adapter.match()
            return route, dict(values)
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or ()))
            raise MethodRefused("METHOD_NOT_ALLOWED", f"{request.method} is not served at {request.path}; "
                                f"use {allowed}", metadata={"allow": allowed}) from None
        except NotFound:
            raise errors.NotFound("ROUTE_NOT_FOUND", f"no REST route has the path {request.path}; the routes are "
                                "in the OpenAPI document (/openapi.json)", metadata={"path": request.path}) from None

    def _read_body(self, route: Route, request: Request) -> bytes:
        if not route.body:
            return b""
        declared = request.content_length
        if declared is not None and declared > self._max:
            raise self._too_large(declared)
        body = request.stream.read(self._max + 1)
        if len(body) > self._max:
            raise self._too_large(None)
        return body

    def _too_large(self, size: int | None) -> ResourceExhausted:
        told = f" ({size} bytes)" if size is not None else ""
        return ResourceExhausted("REQUEST_TOO_LARGE", f"the body{told} is larger than the {self._max} bytes "
                                 "the gateway accepts", metadata={"max_bytes": str(self._max)})

    def _serve(self, route: Route, values: dict[str, str], request: Request) -> Response:
        message = transcoding.build_request(route, values, list(request.args.items(multi=True)),
                                            self._read_body(route, request))
        call = self._upstreams.channel(route.service).unary_unary(
            route.rpc, request_serializer=type(message).SerializeToString,
            response_deserializer=route.response_class().FromString)
        try:
            reply = call(message, metadata=self._metadata(request), timeout=self._timeout)
        except grpc.RpcError as exc:
            return self._failure(route, exc)
        return Response(transcoding.response_json(route, reply), content_type=JSON)

    @staticmethod
    def _metadata(request: Request) -> tuple[tuple[str, str | bytes], ...]:
        metadata: list[tuple[str, str | bytes]] = []
        authorization = request.headers.get("Authorization")
        if authorization:
            metadata.append(("authorization", _authorization(authorization)))
        for header in TRACE_HEADERS:  # the caller's trace continues in the service (W3C Trace Context)
            value = request.headers.get(header)
            if value and _TRACE_FORMS[header].fullmatch(value):
                metadata.append((header, value))  # a malformed one starts a new trace, as W3C says
        client = request.remote_addr or ""
        if client:
            hops = _address_hops(", ".join(request.headers.getlist("X-Forwarded-For")))
            metadata.append(("x-forwarded-for", ", ".join([*hops, client])))
        return tuple(metadata)

    def _failure(self, route: Route, exc: grpc.RpcError) -> Response:
        status = None
        # details that disagree with the code (ValueError): keep the code and message alone
        with contextlib.suppress(ValueError):
            status = rpc_status.from_call(exc)  # type: ignore[arg-type]
        if status is None:
            status = status_pb2.Status(code=exc.code().value[0], message=exc.details() or "")
        if status.code in (grpc.StatusCode.INTERNAL.value[0], grpc.StatusCode.UNKNOWN.value[0]):
            log.warning("upstream_failed", route=route.endpoint, code=exc.code().name, message=status.message)
        return self._status_response(status)

    def _refusal(self, err: ServiceError) -> Response:
        code = grpc.StatusCode[err.code]
        response = self._status_response(rich_status(code.value[0], DOMAIN, err))
        if err.reason == "METHOD_NOT_ALLOWED":
            response.status_code = 405
            response.headers["Allow"] = err.metadata["allow"]
        elif err.reason == "REQUEST_TOO_LARGE":
            response.status_code = 413
        return response

    @staticmethod
    def _status_response(status: status_pb2.Status) -> Response:
        response = Response(transcoding.status_json(status), status=transcoding.http_status(status.code),
                            content_type=JSON)
        wait = transcoding.retry_after(status)
        if wait is not None:
            response.headers["Retry-After"] = wait
        return response

