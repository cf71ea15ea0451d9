"""Intake use cases. Depends on the ports below; adapters implement them (Mongo) and unit tests
use in-memory fakes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

from onestop_chassis import auth, codes
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import (AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument,
                                    NotFound, PermissionDenied, Unavailable)

from . import domain
from .worktime import VIETNAM, WorkingCalendar


class DuplicateRequest(Exception):
    """The repository already holds a dossier with this request_id (a concurrent retry)."""


class CodeTaken(Exception):
    """Another dossier got this code first: try the next number."""


class DossierRepository(Protocol):
    # request_ids are scoped by receiving unit: agencies never see or block each other's.
    def by_request_id(self, unit_code: str, request_id: str) -> domain.Dossier | None: ...
    # Stores the dossier and its events in one write; raises DuplicateRequest or CodeTaken.
    def add(self, dossier: domain.Dossier, events: list) -> None: ...
    def by_code(self, code: str) -> domain.Dossier | None: ...
    # Writes the changed dossier (its version is the old one + 1) with its events; raises
    # ConcurrentChange when another change claimed that version first. `action` goes to the log.
    def update(self, dossier: domain.Dossier, events: list, *, actor: str, action: str) -> None: ...


class Catalogue(Protocol):
    def procedure(self, code: str) -> domain.Procedure | None: ...
    def unit(self, code: str) -> domain.Unit | None: ...


class CodeSequence(Protocol):
    """Where to look for the next free number of a unit's day. Only a hint: the dossier insert,
    unique on its code, is what claims a number, so codes stay unique and gap-free even on a store
    without atomic counters (FerretDB v1)."""
    def candidate(self, unit_code: str, day: dt.date, after: int = 0) -> int: ...
    def taken(self, unit_code: str, day: dt.date, sequence: int) -> None: ...


MAX_CODE_ATTEMPTS = 200
SECRET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper


@dataclass(frozen=True)
class Submitted:
    dossier: domain.Dossier
    replayed: bool  # True when request_id matched an earlier submission


def _fingerprint(cmd: domain.SubmitDossier, unit_code: str) -> str:
    """What a retry must repeat to get the same dossier back: the content and the receiving unit."""
    body = asdict(cmd)
    body.pop("request_id")
    body["receiving_unit_code"] = unit_code
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class IntakeService:
    def __init__(self, dossiers: DossierRepository, catalogue: Catalogue, sequence: CodeSequence,
                 calendar: WorkingCalendar | None = None, clock: Callable[[], dt.datetime] = utcnow):
        self._dossiers = dossiers
        self._catalogue = catalogue
        self._sequence = sequence
        self._calendar = calendar or WorkingCalendar()
        self._clock = clock

    def submit(self, cmd: domain.SubmitDossier, actor: auth.Principal) -> Submitted:
        domain.validate_submission(cmd)
        procedure = self._catalogue.procedure(cmd.procedure_code)
        if procedure is None:
            raise NotFound("PROCEDURE_NOT_FOUND",
                           f"no published procedure has code {cmd.procedure_code!r}",
                           metadata={"procedure_code": cmd.procedure_code})
        unit_code = self._receiving_unit_code(cmd, procedure, actor)  # authorisation first
        fingerprint = _fingerprint(cmd, unit_code)
        if cmd.request_id:
            earlier = self._dossiers.by_request_id(unit_code, cmd.request_id)
            if earlier is not None:
                return self._replay(earlier, fingerprint)
        if not procedure.active:
            raise FailedPrecondition("PROCEDURE_INACTIVE",
                                     f"procedure {procedure.code} ({procedure.name}) is no longer accepted",
                                     metadata={"procedure_code": procedure.code})
        unit = self._catalogue.unit(unit_code)
        if unit is None:
            raise NotFound("UNIT_NOT_FOUND", f"no desk is registered for unit code {unit_code}",
                           metadata={"unit_code": unit_code})

        now = self._clock()
        received_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what MongoDB keeps
        appointment_at = self._calendar.add(received_at, procedure.legal_duration)
        request_id = cmd.request_id or f"auto-{uuid.uuid4()}"
        lookup_secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(8))
        day = received_at.astimezone(VIETNAM).date()
        sequence = self._sequence.candidate(unit.code, day)
        for _ in range(MAX_CODE_ATTEMPTS):
            dossier, events = domain.receive(
                cmd, request_id=request_id, code=codes.dossier_code(unit.code, day, sequence),
                lookup_secret=lookup_secret,
                fingerprint=fingerprint, procedure=procedure, unit=unit, received_at=received_at,
                appointment_at=appointment_at, actor=actor.subject)
            try:
                self._dossiers.add(dossier, events)
            except CodeTaken:
                sequence = self._sequence.candidate(unit.code, day, after=sequence)
                continue
            except DuplicateRequest:
                return self._replay(self._dossiers.by_request_id(unit.code, request_id), fingerprint)
            self._sequence.taken(unit.code, day, sequence)
            return Submitted(dossier, replayed=False)
        raise Unavailable("CODE_ALLOCATION_BUSY",
                          f"too many simultaneous submissions for unit {unit.code}; retry with the same request_id")

    @staticmethod
    def _replay(earlier: domain.Dossier | None, fingerprint: str) -> Submitted:
        if earlier is None:  # pragma: no cover - the duplicate vanished: nothing is ever deleted
            raise RuntimeError("duplicate request_id reported but no dossier found")
        if earlier.fingerprint != fingerprint:
            # The other dossier's code is not revealed: it may belong to another agency.
            raise AlreadyExists(
                "REQUEST_ID_REUSED",
                f"request_id {earlier.request_id!r} was already used for a different submission; "
                "use a new request_id for a new dossier",
                metadata={"request_id": earlier.request_id})
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

    # -- desk actions ---------------------------------------------------------------------------
    def get(self, code: str, actor: auth.Principal) -> domain.Dossier:
        if not codes.is_dossier_code(code):
            raise InvalidArgument.from_violations([FieldViolation(
                "code", "is not a dossier code like 000.00.21.H17-261123-0001")])
        if not actor.has_any({auth.SERVICE}):
            # The code names its receiving unit: other agencies are refused before any lookup.
            actor.require_agency(codes.DOSSIER_CODE.fullmatch(code)["unit"], action="handle this dossier")
        dossier = self._dossiers.by_code(code)
        if dossier is None:
            raise NotFound("DOSSIER_NOT_FOUND", f"no dossier has code {code}", metadata={"code": code})
        return dossier

    def _change(self, code: str, actor: auth.Principal, action: str, apply) -> domain.Dossier:
        dossier, events = apply(self.get(code, actor), self._now())
        self._dossiers.update(dossier, events, actor=actor.subject, action=action)
        return dossier

    def _now(self) -> dt.datetime:
        now = self._clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def accept(self, code: str, actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "accept", lambda d, at: domain.accept(
            d, at=at, appointment_at=self._calendar.add(at, d.legal_duration), actor=actor.subject))

    def request_supplement(self, code: str, reason: str, documents_to_add: list[str],
                           actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "request_supplement", lambda d, at: domain.request_supplement(
            d, at=at, reason=reason, documents_to_add=documents_to_add, actor=actor.subject))

    def receive_supplement(self, code: str, note: str, actor: auth.Principal) -> domain.Dossier:
        def apply(d: domain.Dossier, at: dt.datetime):
            appointment = d.appointment_at
            if appointment is not None and d.paused_at is not None:
                # The clock stopped while the applicant completed the dossier: the appointment moves
                # by the working time spent waiting (none when the wait fell outside working hours).
                waited = self._calendar.working_minutes(d.paused_at, at)
                if waited:
                    appointment = self._calendar.add(appointment, domain.WorkingDuration(minutes=waited))
            return domain.receive_supplement(d, at=at, appointment_at=appointment, actor=actor.subject, note=note)
        return self._change(code, actor, "receive_supplement", apply)

    def refuse(self, code: str, reasons: list[str], actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "refuse", lambda d, at: domain.refuse(
            d, at=at, reasons=reasons, actor=actor.subject))

    def request_withdrawal(self, code: str, reason: str, actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "request_withdrawal", lambda d, at: domain.request_withdrawal(
            d, at=at, reason=reason, actor=actor.subject))

    # -- public lookup ------------------------------------------------------------------------------
    def lookup(self, code: str, secret: str) -> domain.Dossier:
        """The dossier whose code and lookup secret match; the same NOT_FOUND for any mismatch."""
        dossier = self._dossiers.by_code(code) if codes.is_dossier_code(code) else None
        if dossier is None or not dossier.lookup_secret or \
                not hmac.compare_digest(dossier.lookup_secret.encode(), secret.strip().upper().encode()):
            raise NotFound("NO_MATCH", "no dossier matches this code and lookup secret; check both on the receipt")
        return dossier
