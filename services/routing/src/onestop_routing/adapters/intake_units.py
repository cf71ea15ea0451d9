"""Intake's unit list as routing's api sees it (UnitCodes): the codes a process template may name.
The units live in intake (docs/routing.md); routing asks for them when a template is stored, with
its own SERVICE token. grpcio client: api process only (grpcio deadlocks under the worker's
eventlet)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.clients import ServiceClient
from onestop_chassis.errors import Unavailable


class IntakeUnits(ServiceClient):
    """Reads every unit code from intake's ListUnits. The channel opens, and the token
    (`token()`, e.g. chassis `auth.service_token`) is read, at the first call."""

    def __init__(self, address: str, token: Callable[[], str], timeout: float = 5.0):
        super().__init__(address, intake_pb2_grpc.IntakeServiceStub, token, timeout)

    def codes(self) -> frozenset[str]:
        """Every unit code intake knows. Unavailable UNITS_UNAVAILABLE (with RetryInfo) when intake
        does not answer within the timeout or answers with an error."""
        try:
            listed = self.stub().ListUnits(intake_pb2.ListUnitsRequest(), metadata=self.metadata,
                                           timeout=self.timeout)
        except grpc.RpcError as exc:
            raise Unavailable("UNITS_UNAVAILABLE",
                              f"intake's unit list ({self.address}) could not be read to check the template's "
                              f"units: {exc.code().name} {exc.details()}; retry shortly") from None
        return frozenset(u.code for u in listed.units)
