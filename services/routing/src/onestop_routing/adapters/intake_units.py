"""Intake's unit list as routing's api sees it (UnitCodes): the codes a process template may name.
The units live in intake (docs/routing.md); routing asks for them when a template is stored, with
its own SERVICE token. grpcio client: api process only (grpcio deadlocks under the worker's
eventlet)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.errors import Unavailable


class IntakeUnits:
    """Reads every unit code from intake's ListUnits. The channel opens, and the token
    (`token()`, e.g. chassis `auth.service_token`) is read, at the first call."""

    def __init__(self, address: str, token: Callable[[], str], timeout: float = 5.0):
        self._address = address
        self._token = token
        self._timeout = timeout
        self._lock = threading.Lock()
        self._stub: intake_pb2_grpc.IntakeServiceStub | None = None
        self._channel: grpc.Channel | None = None
        self._metadata: tuple[tuple[str, str], ...] = ()

    def _connected(self) -> intake_pb2_grpc.IntakeServiceStub:
        with self._lock:
            if self._stub is None:
                self._metadata = (("authorization", f"Bearer {self._token()}"),)
                self._channel = grpc.insecure_channel(self._address)
                self._stub = intake_pb2_grpc.IntakeServiceStub(self._channel)
            return self._stub

    def codes(self) -> frozenset[str]:
        """Every unit code intake knows. Unavailable UNITS_UNAVAILABLE (with RetryInfo) when intake
        does not answer within the timeout or answers with an error."""
        try:
            listed = self._connected().ListUnits(intake_pb2.ListUnitsRequest(), metadata=self._metadata,
                                                 timeout=self._timeout)
        except grpc.RpcError as exc:
            raise Unavailable("UNITS_UNAVAILABLE",
                              f"intake's unit list ({self._address}) could not be read to check the template's "
                              f"units: {exc.code().name} {exc.details()}; retry shortly") from None
        return frozenset(u.code for u in listed.units)

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._stub = None
