"""Intake use cases. Depends on the ports below; adapters implement them (Mongo) and unit tests
use in-memory fakes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

from onestop_chassis import auth, codes
from onestop_chassis.errors import (AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument,
                                    NotFound, PermissionDenied)

from . import domain
from .worktime import VIETNAM, WorkingCalendar


class DuplicateRequest(Exception):
    """The repository already holds a dossier with this request_id (a concurrent retry)."""


class DossierRepository(Protocol):
    def by_request_id(self, request_id: str) -> domain.Dossier | None: ...
    def add(self, dossier: domain.Dossier, events: list) -> None: ...  # raises DuplicateRequest


class Catalogue(Protocol):
    def procedure(self, code: str) -> domain.Procedure | None: ...
    def unit(self, code: str) -> domain.Unit | None: ...


class CodeSequence(Protocol):
    def next(self, unit_code: str, day: dt.date) -> int: ...


@dataclass(frozen=True)
class Submitted:
    dossier: domain.Dossier
    replayed: bool  # True when request_id matched an earlier submission


def _fingerprint(cmd: domain.SubmitDossier) -> str:
    body = asdict(cmd)
    body.pop("request_id")
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class IntakeService:
    def __init__(self, dossiers: DossierRepository, catalogue: Catalogue, sequence: CodeSequence,
                 calendar: WorkingCalendar | None = None, clock: Callable[[], dt.datetime] = _utcnow):
        self._dossiers = dossiers
        self._catalogue = catalogue
        self._sequence = sequence
        self._calendar = calendar or WorkingCalendar()
        self._clock = clock

    def submit(self, cmd: domain.SubmitDossier, actor: auth.Principal) -> Submitted:
        domain.validate_submission(cmd)
        fingerprint = _fingerprint(cmd)
        if cmd.request_id:
            earlier = self._dossiers.by_request_id(cmd.request_id)
            if earlier is not None:
                return self._replay(earlier, fingerprint)
        procedure = self._catalogue.procedure(cmd.procedure_code)
        if procedure is None:
            raise NotFound("PROCEDURE_NOT_FOUND",
                           f"no published procedure has code {cmd.procedure_code!r}",
                           metadata={"procedure_code": cmd.procedure_code})
        if not procedure.active:
            raise FailedPrecondition("PROCEDURE_INACTIVE",
                                     f"procedure {procedure.code} ({procedure.name}) is no longer accepted",
                                     metadata={"procedure_code": procedure.code})
        unit_code = self._receiving_unit_code(cmd, procedure, actor)
        unit = self._catalogue.unit(unit_code)
        if unit is None:
            raise NotFound("UNIT_NOT_FOUND", f"no desk is registered for unit code {unit_code}",
                           metadata={"unit_code": unit_code})

        received_at = self._clock()
        day = received_at.astimezone(VIETNAM).date()
        code = codes.dossier_code(unit.code, day, self._sequence.next(unit.code, day))
        dossier, events = domain.receive(
            cmd, request_id=cmd.request_id or f"auto-{uuid.uuid4()}", code=code, fingerprint=fingerprint, procedure=procedure, unit=unit, received_at=received_at,
            appointment_at=self._calendar.add(received_at, procedure.legal_duration), actor=actor.subject)
        try:
            self._dossiers.add(dossier, events)
        except DuplicateRequest:
            return self._replay(self._dossiers.by_request_id(cmd.request_id), fingerprint)
        return Submitted(dossier, replayed=False)

    @staticmethod
    def _replay(earlier: domain.Dossier | None, fingerprint: str) -> Submitted:
        if earlier is None:  # pragma: no cover - the duplicate vanished: nothing is ever deleted
            raise RuntimeError("duplicate request_id reported but no dossier found")
        if earlier.fingerprint != fingerprint:
            raise AlreadyExists(
                "REQUEST_ID_REUSED",
                f"request_id {earlier.request_id!r} was already used for dossier {earlier.code} "
                "with different content; use a new request_id for a new dossier",
                metadata={"dossier_code": earlier.code})
        return Submitted(earlier, replayed=True)

    @staticmethod
    def _receiving_unit_code(cmd: domain.SubmitDossier, procedure: domain.Procedure,
                             actor: auth.Principal) -> str:
        """Authorisation hook: officers receive for their own agency; citizens submit online only."""
        staff = actor.has_any({auth.DESK_OFFICER, auth.SERVICE})
        if not staff:
            if cmd.channel != domain.Channel.ONLINE:
                raise PermissionDenied("CHANNEL_NOT_ALLOWED",
                                       "citizens submit online; in-person and postal dossiers are entered by the desk")
            return cmd.receiving_unit_code or procedure.competent_unit_code
        unit_code = cmd.receiving_unit_code or actor.agency
        if not unit_code:
            raise InvalidArgument.from_violations([FieldViolation(
                "receiving_unit_code", "is required when the caller's token names no agency")])
        actor.require_agency(unit_code, action="receive dossiers")
        return unit_code
