"""OpenTelemetry tracing across both transports.

gRPC calls carry W3C `traceparent` in their metadata; events carry it in their AMQP headers (the
outbox stores it with the event, so a trace begun by a gRPC call continues in the worker that
handles the event the call caused). Spans are exported over OTLP/HTTP only when
OTEL_EXPORTER_OTLP_ENDPOINT is set. OTLP/HTTP rather than OTLP/gRPC because a grpcio channel
deadlocks inside the eventlet-patched worker (see docs/design.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


def configure_tracing(service: str, otlp_endpoint: str = "") -> None:
    """Installs the process's tracer provider (once per process)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"onestop-{service}"}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("onestop")


def inject(carrier: dict[str, str] | None = None) -> dict[str, str]:
    """Returns (or fills) a header dict with the current trace context."""
    headers = {} if carrier is None else carrier
    propagate.inject(headers)
    return headers


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract({k: v for k, v in carrier.items() if isinstance(v, str)})


def current_trace_id() -> str:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""
