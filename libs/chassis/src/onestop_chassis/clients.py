"""Calling another onestop service over gRPC from an api process, with this service's own SERVICE
token. grpcio clients belong in api processes only: grpcio deadlocks under a worker's eventlet.

`ServiceClient` opens its channel, and reads its token, at the first call, so a process that never
calls (a worker sharing the composition root) opens nothing; `unavailable` turns a failed call
into UNAVAILABLE with the service, the address and what could not be done, which the chassis sends
with RetryInfo."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc

from .errors import Unavailable


class ServiceClient:
    """One stub of another service. `stub_class` is the generated `<Service>Stub`; `token()` gives
    the bearer token (e.g. `auth.service_token(settings)`); `timeout` is each call's deadline in
    seconds."""

    def __init__(self, address: str, stub_class: Callable[[grpc.Channel], Any], token: Callable[[], str],
                 timeout: float):
        self.address, self.timeout = address, timeout
        self._stub_class, self._token = stub_class, token
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self.metadata: tuple[tuple[str, str], ...] = ()

    def stub(self) -> Any:
        """The stub, its channel opened and the token read at the first call (thread-safe)."""
        with self._lock:
            if self._stub is None:
                self.metadata = (("authorization", f"Bearer {self._token()}"),)
                self._channel = grpc.insecure_channel(self.address)
                self._stub = self._stub_class(self._channel)
            return self._stub

    def unavailable(self, reason: str, service: str, what: str, exc: grpc.RpcError) -> Unavailable:
        """UNAVAILABLE `reason`: "<service> (<address>) could not <what>: <code> <details>"."""
        return Unavailable(reason, f"{service} ({self.address}) could not {what}: {exc.code().name} {exc.details()}")

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._stub = None
