"""Runs a service's `api` process: logs, tracing, metrics endpoint, Mongo, then the gRPC server."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from . import dependencies, metrics, mongo, tracing
from .config import ServiceSettings
from .grpc_server import GrpcServer
from .logs import configure_logging, get_logger

log = get_logger("onestop.api")


def run_api(settings: ServiceSettings, register: Callable[[GrpcServer], None]) -> None:
    """`register` adds the service's servicers to the server, and the dependencies it needs
    beyond the database (`server.add_dependency`). Runs until SIGTERM/SIGINT."""
    configure_logging(settings.service_name, "api", settings.log_level)
    tracing.configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    metrics.start_metrics_server(settings.metrics_host, settings.api_metrics_port, settings.service_name, "api")
    mongo.connect(settings)
    server = GrpcServer(settings)
    server.add_dependency(dependencies.DATABASE, lambda: mongo.ping(settings.mongodb_timeout_seconds))
    register(server)
    server.start()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    log.info("api started", grpc=f"{settings.grpc_host}:{server.port}",
             metrics=f"{settings.metrics_host}:{settings.api_metrics_port}")
    stopping.wait()
    server.stop()
    log.info("api stopped")
