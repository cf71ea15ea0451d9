"""Prometheus metrics every process exposes, plus the server that exposes them.

Per RPC and per event handler: requests, errors and a latency histogram. The outbox and event
delivery get their own delay histograms, which are the platform's measured write-to-delivery
figures. Services define their domain counters next to their own code.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server  # noqa: F401 (REGISTRY re-exported)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300)

RPC_REQUESTS = Counter("onestop_grpc_requests", "gRPC requests handled, by final status code",
                       ["service", "method", "code"])
RPC_ERRORS = Counter("onestop_grpc_errors", "gRPC requests that ended with a status other than OK",
                     ["service", "method", "code"])
RPC_LATENCY = Histogram("onestop_grpc_request_duration_seconds", "gRPC request handling time",
                        ["service", "method"], buckets=LATENCY_BUCKETS)

HANDLER_CALLS = Counter("onestop_worker_calls", "Worker entrypoint calls (event handlers, timers)",
                        ["service", "handler", "outcome"])
HANDLER_ERRORS = Counter("onestop_worker_errors", "Worker entrypoint calls that raised",
                         ["service", "handler"])
HANDLER_LATENCY = Histogram("onestop_worker_duration_seconds", "Worker entrypoint handling time",
                            ["service", "handler"], buckets=LATENCY_BUCKETS)
DEAD_LETTERS = Counter("onestop_worker_dead_letters",
                       "Messages sent to a dead-letter queue, by handler and reason (malformed, permanent, "
                       "retries_exhausted)", ["service", "handler", "reason"])
EVENT_RETRIES = Counter("onestop_worker_event_retries", "Messages put back for a later attempt after a handler error",
                        ["service", "handler"])
EVENT_DELIVERY_DELAY = Histogram(
    "onestop_event_delivery_delay_seconds",
    "From the state change that wrote an event (its occurred_at) to the start of its handler",
    ["service", "event_type"], buckets=DELAY_BUCKETS)
EVENT_DUPLICATES = Counter("onestop_event_duplicates", "Events received again and ignored",
                           ["service", "event_type"])

OUTBOX_PUBLISHED = Counter("onestop_outbox_published", "Outbox events published with broker confirm",
                           ["service", "event_type"])
OUTBOX_FAILURES = Counter("onestop_outbox_publish_failures", "Outbox publish attempts that failed",
                          ["service"])
OUTBOX_RELAY_DELAY = Histogram("onestop_outbox_relay_delay_seconds",
                               "From the write of an event to its confirmed publication",
                               ["service"], buckets=DELAY_BUCKETS)
OUTBOX_PENDING = Gauge("onestop_outbox_pending_events",
                       "Unpublished events seen by the last relay pass (at most one batch)", ["service"])
OUTBOX_PASSES = Counter("onestop_outbox_relay_passes", "Passes of the outbox relay over its collections",
                        ["service"])
OUTBOX_DISCARDED = Counter("onestop_outbox_discarded",
                           "Staged events dropped because their aggregate write never happened", ["service"])

DEPENDENCY_UP = Gauge("onestop_dependency_up",
                      "1 while a server the process depends on answers its health probe, else 0",
                      ["service", "dependency"])


BUILD_INFO = Gauge("onestop_build_info",
                   "Always 1; the labels say what runs: service, process, package version, source revision "
                   "(ONESTOP_REVISION, set when the image is built) and Python version",
                   ["service", "process", "version", "revision", "python"])


def record_build_info(service: str, process: str) -> None:
    """Sets onestop_build_info for this process (the Prometheus `*_build_info` convention: join on
    it to tell which version served a request)."""
    try:
        version = importlib.metadata.version(f"onestop-{service}")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    BUILD_INFO.labels(service, process, version, os.environ.get("ONESTOP_REVISION", "unknown"),
                      platform.python_version()).set(1)


def start_metrics_server(host: str, port: int, service: str, process: str) -> None:
    """Serves /metrics over HTTP on host:port (a daemon thread, or a green thread in a worker),
    with onestop_build_info set for `service`'s `process` (api, worker or relay)."""
    record_build_info(service, process)
    start_http_server(port, addr=host)
