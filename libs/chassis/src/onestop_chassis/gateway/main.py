"""`onestop-gateway`: the REST gateway process (JSON over HTTP for partners who cannot speak gRPC).

Serves every annotated RPC (routes.py) on GATEWAY_HOST:GATEWAY_PORT (8080), /metrics and
/healthz/live, /healthz/ready on GATEWAY_METRICS_PORT (9180), and the OpenAPI document
(`make openapi`, docs/openapi/onestop.swagger.json) at /openapi.json when GATEWAY_OPENAPI_FILE
names it. Each service is reached at `<NAME>_ADDRESS` (e.g. INTAKE_ADDRESS, ROUTING_ADDRESS),
127.0.0.1:<its gRPC port> by default; production requires every one set, and not a loopback.
"""

from __future__ import annotations

import os
import pathlib
import signal
import sys
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from waitress.server import create_server  # type: ignore[import-untyped]

from ..config import LOOPBACK
from ..health import PROCESS, start_probe_server
from ..logs import configure_logging, get_logger
from ..services import built
from .app import Gateway, Upstreams
from .routes import contract_files, routes_of

log = get_logger("onestop.gateway")


class GatewaySettings(BaseSettings):
    """The gateway's environment. Sizes in bytes, times in seconds."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="allow")

    onestop_env: Literal["local", "production"] = "local"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8080, gt=0, lt=65536)
    metrics_host: str = "127.0.0.1"
    gateway_metrics_port: int = Field(default=9180, gt=0, lt=65536)
    # A request body larger than this is refused with 413 before it is read (1 MiB: a dossier with
    # 100 documents' names and 2,000 characters of content is under 100 KiB).
    gateway_max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Each call's deadline; the service answers UNAVAILABLE on its own dependencies well before.
    gateway_timeout_seconds: float = Field(default=30.0, gt=0)
    gateway_openapi_file: str = ""
    # The HTTP server (waitress): requests are served by at most this many threads, whatever the
    # number of connections; a body is read in full by the server before a thread is taken.
    gateway_threads: int = Field(default=8, gt=0, le=256)
    # A connection that sends nothing for this long (a half-sent request or body, or an idle
    # keep-alive) is closed; checked every max(1, timeout // 2) seconds.
    gateway_idle_timeout_seconds: int = Field(default=30, gt=0)
    # Connections held at once; beyond it the server stops accepting until some close (each holds
    # at most its request's buffers: GATEWAY_MAX_BODY_BYTES, larger ones spooled to a file).
    gateway_connection_limit: int = Field(default=200, gt=0)

    # Service name → "host:port"; from <NAME>_ADDRESS (a keyword or the environment) when not given.
    addresses: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _addresses(self):
        for service in built():
            variable = f"{service.name.upper()}_ADDRESS"
            given = (self.addresses.get(service.name) or str((self.model_extra or {}).get(variable.lower(), ""))
                     or os.environ.get(variable, ""))
            if self.onestop_env == "production" and (not given or any(h in given for h in LOOPBACK)):
                raise ValueError(f"{variable} must be set to the {service.name} service's address (host:port "
                                 "other pods can reach) when ONESTOP_ENV=production")
            self.addresses[service.name] = given or f"127.0.0.1:{service.grpc_port}"
        return self


def build(settings: GatewaySettings) -> Gateway:
    """The gateway over every annotated RPC of the contracts."""
    routes = routes_of(contract_files())
    upstreams = Upstreams({name: settings.addresses[name] for name in {r.service for r in routes}},
                          settings.gateway_timeout_seconds)
    openapi = pathlib.Path(settings.gateway_openapi_file).read_bytes() if settings.gateway_openapi_file else None
    return Gateway(routes, upstreams, max_body_bytes=settings.gateway_max_body_bytes,
                   timeout=settings.gateway_timeout_seconds, openapi=openapi)


def server(settings: GatewaySettings, gateway: Gateway):
    """The waitress server of `gateway` on GATEWAY_HOST:GATEWAY_PORT (bound; `run()` serves). A
    declared body over twice GATEWAY_MAX_BODY_BYTES is refused by waitress itself (413, plain text)
    before it is read; between the two, the gateway's JSON 413 REQUEST_TOO_LARGE."""
    return create_server(gateway, host=settings.gateway_host, port=settings.gateway_port,
                         threads=settings.gateway_threads, channel_timeout=settings.gateway_idle_timeout_seconds,
                         cleanup_interval=max(1, settings.gateway_idle_timeout_seconds // 2),
                         connection_limit=settings.gateway_connection_limit,
                         max_request_body_size=2 * settings.gateway_max_body_bytes,
                         ident="onestop-gateway", expose_tracebacks=False, clear_untrusted_proxy_headers=False)


def main() -> None:
    try:
        settings = GatewaySettings()
    except ValidationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("gateway", "gateway", settings.log_level)
    gateway = build(settings)
    start_probe_server(settings.metrics_host, settings.gateway_metrics_port, "gateway", "gateway")
    http = server(settings, gateway)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # out of serve_forever, through `finally`
    PROCESS.started = True  # ready once it listens (it holds no connection of its own to watch)
    log.info("gateway_started", port=http.effective_port, routes=len(gateway.routes),
             threads=settings.gateway_threads)
    try:
        http.run()
    except KeyboardInterrupt:
        pass
    finally:
        http.close()
