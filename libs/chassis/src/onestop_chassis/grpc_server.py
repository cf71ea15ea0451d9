"""The `api` process: a native grpcio server (thread pool) with the standard health service,
server reflection and one interceptor that, for every call of the service's own methods:

  1. continues the caller's trace (W3C traceparent metadata) and returns the trace id in the
     `x-trace-id` initial metadata;
  2. authenticates the bearer JWT and applies the method's policy;
  3. turns `ServiceError`s into canonical status codes with a google.rpc.ErrorInfo reason (and a
     BadRequest listing field violations); a dependency that does not answer (database, object
     store, broker: `dependencies.unavailable`) becomes UNAVAILABLE with a RetryInfo; anything
     unexpected becomes INTERNAL, logged with its trace id, without leaking internals to the caller;
  4. counts requests, errors and latency per method.

A request body that is not a valid protobuf message becomes INVALID_ARGUMENT (grpcio's own
answer would be INTERNAL, which tells the caller nothing useful). Every string of every request
then reaches Unicode NFC (`onestop_chassis.nfc`), and every request message is checked against the
bounds its contract declares (onestop_chassis.bounds) before the servicer runs; every error's
details are cut to fit the trailers (onestop_chassis.trailers).

The standard health service reports NOT_SERVING for "" and every API service while a dependency
the api declared (`add_dependency`; the database always, see `api.run_api`) does not answer its
probe, and SERVING again once it does; the name `liveness` stays SERVING (liveness probes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import descriptor as pb_descriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import trace

from . import bounds, dependencies, metrics, tracing, trailers
from .auth import AUTHENTICATED, Policy, TokenVerifier, policy_of, set_current_principal
from .errors import InvalidArgument, ServiceError
from .logs import get_logger
from .nfc import nfc_message

log = get_logger("onestop.grpc")
# The health service name a liveness (and startup) probe asks for: SERVING while the process serves,
# even when a dependency is down ("" and the API services then say NOT_SERVING: readiness).
LIVENESS = "liveness"
_INFRASTRUCTURE = ("/grpc.health.v1.", "/grpc.reflection.")
# A generated `add_<Service>Servicer_to_server(servicer, server)`.
AddToServer = Callable[[Any, grpc.Server], None]


class _Malformed:
    """Stands in for a request whose bytes did not parse, so the interceptor can answer it."""

    def __init__(self, error: Exception):
        self.error = error


def _tolerant(deserializer):
    if deserializer is None:
        return None

    def deserialize(data: bytes):
        try:
            return deserializer(data)
        except Exception as exc:  # protobuf raises DecodeError, but be safe with any parser
            return _Malformed(exc)
    return deserialize


def _checked_stream(requests):
    """Each request of a client stream through `_checked`, as the servicer reads it."""
    return (_checked(r) for r in requests)


def _checked(request):
    if isinstance(request, _Malformed):
        raise InvalidArgument("MALFORMED_REQUEST",
                              f"the request body is not a valid protobuf message for this method: {request.error}")
    # NFC first: bounds count the characters a reader sees, not a decomposed spelling's code points.
    request = nfc_message(request)  # one form of text for every service (decomposed Vietnamese too)
    bounds.check(request)  # every field within the contracts' bounds, before anything runs
    return request


def _rich_status(service: str, err: ServiceError) -> grpc.Status:
    code = grpc.StatusCode[err.code]
    return rpc_status.to_status(trailers.rich_status(code.value[0], f"{service}.onestop", err))


def _as_service_error(exc: Exception) -> Exception:
    """A dependency that did not answer becomes its UNAVAILABLE ServiceError; others stay as they are."""
    return exc if isinstance(exc, ServiceError) else dependencies.unavailable(exc) or exc


class ChassisInterceptor(grpc.ServerInterceptor):
    def __init__(self, service: str, verifier: TokenVerifier, policies: dict[str, Policy]):
        self._service = service
        self._verifier = verifier
        self._policies = policies

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_INFRASTRUCTURE):
            return handler
        policy = self._policies.get(method, AUTHENTICATED)  # unknown methods are never public
        short = method.rsplit("/", 1)[-1]
        if handler.unary_unary:
            return handler._replace(
                request_deserializer=_tolerant(handler.request_deserializer),
                unary_unary=self._unary(handler.unary_unary, method, short, policy))
        if handler.unary_stream:
            return handler._replace(
                request_deserializer=_tolerant(handler.request_deserializer),
                unary_stream=self._streaming(handler.unary_stream, method, short, policy, _checked))
        if handler.stream_unary:
            return handler._replace(
                request_deserializer=_tolerant(handler.request_deserializer),
                stream_unary=self._unary(handler.stream_unary, method, short, policy, _checked_stream))
        return handler._replace(
            request_deserializer=_tolerant(handler.request_deserializer),
            stream_stream=self._streaming(handler.stream_stream, method, short, policy, _checked_stream))

    # -- the per-call steps, shared by all four kinds of method ------------------------------
    def _begin(self, context, method: str):
        """Starts the call's span (continuing the caller's trace) and makes it current."""
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        span = tracing.tracer().start_span(method.lstrip("/"), context=tracing.extract(metadata),
                                           kind=trace.SpanKind.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token, metadata

    def _authenticate(self, context, metadata: dict, method: str, policy: Policy, span) -> None:
        context.send_initial_metadata((("x-trace-id", format(span.get_span_context().trace_id, "032x")),))
        principal = self._verifier.principal_from_header(metadata.get("authorization"))
        policy.check(principal, method)
        set_current_principal(principal)
        if principal is not None:
            span.set_attribute("enduser.id", principal.subject)

    @staticmethod
    def _set_code(context) -> grpc.StatusCode | None:
        """The status the servicer set itself (context.abort / set_code), if any."""
        code = context.code()
        return code if code not in (None, grpc.StatusCode.OK) else None

    def _code_for(self, exc: Exception, context) -> grpc.StatusCode:
        exc = _as_service_error(exc)
        if isinstance(exc, ServiceError):
            return grpc.StatusCode[exc.code]
        return self._set_code(context) or grpc.StatusCode.INTERNAL

    def _fail(self, context, span, exc: Exception, code: grpc.StatusCode) -> None:
        """Aborts the call with the status for `exc` (context.abort raises)."""
        translated = _as_service_error(exc)
        if translated is not exc:
            log.warning("dependency not answering", error=f"{type(exc).__name__}: {exc}"[:300])
            exc = translated
        if isinstance(exc, ServiceError):
            span.set_attribute("onestop.error.reason", exc.reason)
            log.info("rpc refused", code=code.name, reason=exc.reason, detail=trailers.clip(exc.message, 2_000))
            context.abort_with_status(_rich_status(self._service, exc))
        if self._set_code(context) is not None:
            raise exc  # the servicer aborted by itself: keep its status and message
        span.record_exception(exc)
        log.exception("rpc failed")
        context.abort(grpc.StatusCode.INTERNAL,
                      f"internal error; quote trace id {tracing.current_trace_id()} when reporting it")

    def _end(self, span, token, short: str, code: grpc.StatusCode, started: float) -> None:
        metrics.RPC_REQUESTS.labels(self._service, short, code.name).inc()
        if code is not grpc.StatusCode.OK:
            metrics.RPC_ERRORS.labels(self._service, short, code.name).inc()
            span.set_status(trace.Status(trace.StatusCode.ERROR, code.name))
        metrics.RPC_LATENCY.labels(self._service, short).observe(time.perf_counter() - started)
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        span.end()
        set_current_principal(None)
        if token is not None:
            otel_context.detach(token)

    def _unary(self, behavior, method, short, policy, check=_checked):
        def handle(request, context):
            started, code, span, token = time.perf_counter(), grpc.StatusCode.OK, trace.INVALID_SPAN, None
            try:
                span, token, metadata = self._begin(context, method)
                self._authenticate(context, metadata, method, policy, span)
                response = behavior(check(request), context)
                code = self._set_code(context) or grpc.StatusCode.OK
                return response
            except Exception as exc:
                code = self._code_for(exc, context)
                self._fail(context, span, exc, code)
            finally:
                self._end(span, token, short, code, started)
        return handle

    def _streaming(self, behavior, method, short, policy, check):
        def handle(request, context):
            started, code, span, token = time.perf_counter(), grpc.StatusCode.OK, trace.INVALID_SPAN, None
            try:
                span, token, metadata = self._begin(context, method)
                self._authenticate(context, metadata, method, policy, span)
                yield from behavior(check(request), context)
                code = self._set_code(context) or grpc.StatusCode.OK
            except Exception as exc:
                code = self._code_for(exc, context)
                self._fail(context, span, exc, code)
            finally:
                self._end(span, token, short, code, started)
        return handle


class GrpcServer:
    """Builds and runs one service's gRPC server."""

    def __init__(self, settings, verifier: TokenVerifier | None = None):
        self._settings = settings
        self._verifier = verifier or TokenVerifier.from_settings(settings)
        self._services: list[tuple[AddToServer, object, pb_descriptor.ServiceDescriptor]] = []
        self._policies: dict[str, Policy] = {}
        self._server: grpc.Server | None = None
        self._health = health.HealthServicer()
        self._probes: dict[str, dependencies.Probe] = {}
        self._monitor: dependencies.DependencyMonitor | None = None
        self.port: int | None = None

    def add_dependency(self, name: str, probe: dependencies.Probe) -> None:
        """Declares a server the api needs (e.g. `dependencies.DATABASE`): while `probe` raises,
        the health service reports NOT_SERVING. `probe` must give up within about a second."""
        self._probes[name] = probe

    def add_servicer(self, add_to_server: AddToServer, servicer,
                     service_descriptor: pb_descriptor.ServiceDescriptor) -> None:
        generated_bases = [b for b in type(servicer).__mro__[1:] if b.__name__.endswith("Servicer")]
        for method in service_descriptor.methods:
            implementation = getattr(type(servicer), method.name, None)
            if implementation is None or any(implementation is getattr(b, method.name, None) for b in generated_bases):
                raise TypeError(f"{type(servicer).__name__} does not implement {method.full_name}: "
                                "serving the generated UNIMPLEMENTED stub is not allowed")
            self._policies[f"/{service_descriptor.full_name}/{method.name}"] = policy_of(implementation)
        self._services.append((add_to_server, servicer, service_descriptor))

    def start(self) -> int:
        s = self._settings
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=s.grpc_max_workers, thread_name_prefix="grpc"),
            interceptors=[ChassisInterceptor(s.service_name, self._verifier, self._policies)],
            options=[("grpc.max_receive_message_length", 8 * 1024 * 1024)],
        )
        names = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
        for add_to_server, servicer, descriptor in self._services:
            add_to_server(servicer, server)
            names.append(descriptor.full_name)
            self._health.set(descriptor.full_name, health_pb2.HealthCheckResponse.SERVING)
        self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)  # never follows the dependencies
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        if self._probes:
            served = [descriptor.full_name for _, _, descriptor in self._services]
            self._monitor = dependencies.DependencyMonitor(
                s.service_name, self._probes, lambda up: self._set_health(served, up),
                interval=s.dependency_check_seconds)
            self._monitor.start()
        reflection.enable_server_reflection(names, server)
        self.port = server.add_insecure_port(f"{s.grpc_host}:{s.grpc_port}")
        if not self.port:
            raise RuntimeError(f"cannot listen on {s.grpc_host}:{s.grpc_port} (GRPC_PORT in use?)")
        server.start()
        self._server = server
        log.info("grpc listening", address=f"{s.grpc_host}:{self.port}", services=names)
        return self.port

    def _set_health(self, services: list[str], up: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *services):
            self._health.set(name, status)

    def stop(self, grace: float = 5.0) -> None:
        if self._monitor is not None:
            self._monitor.stop()
        if self._server is not None:
            self._health.enter_graceful_shutdown()
            self._server.stop(grace).wait()

    def wait(self) -> None:
        assert self._server is not None
        self._server.wait_for_termination()
