"""Routing use cases over the CaseRepository port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import NotFound

from . import domain


class CaseRepository(Protocol):
    def add_if_new(self, case: domain.Case) -> bool: ...  # False when the dossier already has a case
    def get(self, dossier_code: str) -> domain.Case | None: ...


class RoutingService:
    def __init__(self, cases: CaseRepository, clock: Callable[[], dt.datetime] = utcnow):
        self._cases = cases
        self._clock = clock

    def open_case(self, cmd: domain.OpenCase) -> bool:
        """Opens the dossier's case once; a redelivered event returns False and changes nothing."""
        return self._cases.add_if_new(domain.open_case(cmd, self._clock()))

    def get_case(self, dossier_code: str, actor: auth.Principal) -> domain.Case:
        dossier_code = codes.dossier_code_argument(dossier_code)  # as typed: any case, spaces, en dashes
        if not actor.has_any({auth.SERVICE}):
            # The code names its receiving unit: refuse other agencies before saying whether it exists,
            # so sequential codes cannot be probed.
            actor.require_agency(codes.unit_of(dossier_code), action="read this case")
        case = self._cases.get(dossier_code)
        if case is None:
            raise NotFound("CASE_NOT_FOUND", f"no case is open for dossier {dossier_code} (yet)",
                           metadata={"dossier_code": dossier_code})
        if not actor.has_any({auth.SERVICE}):
            actor.require_agency(case.receiving_unit_code, action="read this case")
        return case
