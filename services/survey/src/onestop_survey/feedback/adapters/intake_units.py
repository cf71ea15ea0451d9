"""Intake's unit tree as survey's api sees it (feedback.service.UnitTree): every unit's parent,
read with intake's ListUnits under survey's own SERVICE token and cached. grpcio client: api
process only (the worker never assigns feedback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

import grpc

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.clients import ServiceClient
from onestop_chassis.logs import get_logger

log = get_logger("onestop.survey")
TREE_TTL_SECONDS = 300.0  # units move rarely: the tree is read again after 5 minutes


class IntakeUnitTree(ServiceClient):
    """intake's ListUnits as {unit code: parent code ("" for a root)}."""

    def __init__(self, address: str, token: Callable[[], str], timeout: float = 5.0, *,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(address, intake_pb2_grpc.IntakeServiceStub, token, timeout)
        self._clock = clock
        self._parents: dict[str, str] | None = None
        self._read_at = 0.0
        self._tree_lock = threading.Lock()

    def parents(self, fresh: bool = False) -> Mapping[str, str]:
        """Every unit's parent code by its code, read at most every TREE_TTL_SECONDS (`fresh`: read
        now, e.g. for a unit not in the cached tree). When intake does not answer, the tree last
        read; before any answer, Unavailable UNITS_UNAVAILABLE (with RetryInfo)."""
        with self._tree_lock:
            if not fresh and self._parents is not None and self._clock() - self._read_at < TREE_TTL_SECONDS:
                return self._parents
            try:
                units = self.stub().ListUnits(intake_pb2.ListUnitsRequest(), metadata=self.metadata,
                                              timeout=self.timeout).units
            except grpc.RpcError as exc:
                if self._parents is None:
                    raise self.unavailable("UNITS_UNAVAILABLE", "intake", "list its units", exc) from None
                log.warning("intake's units could not be read; the tree last read is used",
                            code=exc.code().name, address=self.address)
                return self._parents
            self._parents = {u.code: u.parent_code for u in units}
            self._read_at = self._clock()
            return self._parents
