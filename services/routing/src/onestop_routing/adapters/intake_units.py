"""Intake's unit list as routing's api sees it: the codes a process template may name (UnitCodes)
and every unit's Vietnamese name (units.UnitNames, cached). The units live in intake
(docs/routing.md); routing asks for them with its own SERVICE token. grpcio client: api process
only (grpcio deadlocks under the worker's eventlet; the worker never calls `codes` or `names`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import grpc

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.clients import ServiceClient
from onestop_chassis.errors import Unavailable
from onestop_chassis.logs import get_logger

log = get_logger("onestop.routing")
NAMES_TTL_SECONDS = 300.0       # names change rarely (a unit renamed): read them again after 5 minutes
NAMES_RETRY_SECONDS = 30.0      # after intake failed to answer, no new try for 30 s
NAMES_FIRST_READ_SECONDS = 1.0  # the one read an answer waits for (nothing cached yet); later ones run aside


class IntakeUnits(ServiceClient):
    """Reads intake's ListUnits. The channel opens, and the token (`token()`, e.g. chassis
    `auth.service_token`) is read, at the first call."""

    def __init__(self, address: str, token: Callable[[], str], timeout: float = 5.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 aside: Callable[[Callable[[], None]], None] | None = None):
        super().__init__(address, intake_pb2_grpc.IntakeServiceStub, token, timeout)
        self._clock = clock
        # How a refresh runs beside the answer that found the names old (a daemon thread; tests: inline).
        self._aside = aside or (lambda work: threading.Thread(target=work, daemon=True,
                                                              name="intake-unit-names").start())
        self._refreshing = False
        self._names: dict[str, str] = {}
        self._read_at: float | None = None    # when the names were last read (monotonic seconds)
        self._failed_at: float | None = None  # when intake last failed to answer
        self._names_lock = threading.Lock()

    def _list(self, timeout: float | None = None) -> list:
        return list(self.stub().ListUnits(intake_pb2.ListUnitsRequest(), metadata=self.metadata,
                                          timeout=timeout or self.timeout).units)

    def codes(self) -> frozenset[str]:
        """Every unit code intake knows (read now: a template is checked against the live list).
        Unavailable UNITS_UNAVAILABLE (with RetryInfo) when intake does not answer within the
        timeout or answers with an error."""
        try:
            units = self._list()
        except grpc.RpcError as exc:
            raise Unavailable("UNITS_UNAVAILABLE",
                              f"intake's unit list ({self.address}) could not be read to check the template's "
                              f"units: {exc.code().name} {exc.details()}; retry shortly") from None
        self._remember(units)
        return frozenset(u.code for u in units)

    def names(self) -> Mapping[str, str]:
        """Every unit's name by code, read from intake at most every NAMES_TTL_SECONDS. Never
        raises and seldom waits: names older than that are answered as they are while a refresh
        runs aside; only the first read (nothing cached) is waited for, at most
        NAMES_FIRST_READ_SECONDS. When intake does not answer: the names last read (none before the
        first answer), and no new try for NAMES_RETRY_SECONDS."""
        with self._names_lock:
            now = self._clock()
            fresh = self._read_at is not None and now - self._read_at < NAMES_TTL_SECONDS
            resting = self._failed_at is not None and now - self._failed_at < NAMES_RETRY_SECONDS
            if fresh or resting or self._refreshing:
                return self._names
            self._refreshing = True
            first = self._read_at is None
        if first:
            self._refresh(min(self.timeout, NAMES_FIRST_READ_SECONDS))
        else:
            self._aside(self._refresh)
        return self._names

    def _refresh(self, timeout: float | None = None) -> None:
        try:
            self._remember(self._list(timeout))
        except grpc.RpcError as exc:
            self._failed_at = self._clock()
            log.warning("intake's unit names could not be read; units shown by code",
                        code=exc.code().name, address=self.address)
        finally:
            self._refreshing = False

    def name(self, code: str) -> str:
        """The name of `code` as last read; "" when not read (yet). Never calls intake."""
        return self._names.get(code, "")

    def _remember(self, units: list) -> None:
        self._names = {u.code: u.name for u in units if u.name}
        self._read_at, self._failed_at = self._clock(), None
