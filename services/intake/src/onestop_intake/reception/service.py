"""Reception use cases: submitting a dossier, the desk's actions on it, the public lookup. Depends on
the ports below; adapters implement them (Mongo) and unit tests use in-memory fakes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from onestop_chassis import auth, codes, identity, request_ids, worktime
from onestop_chassis.clock import to_ms, utcnow
from onestop_chassis.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from onestop_chassis.text import name_key
from onestop_chassis.worktime import VIETNAM, WorkingCalendar

from ..catalogue import domain as catalogue
from ..units import domain as units
from . import desk_actions, domain, postal_choice


class DuplicateRequest(Exception):
    """The repository already holds a dossier with this request_id (a concurrent retry): `dossier`."""

    def __init__(self, dossier: domain.Dossier):
        super().__init__(dossier.request_id)
        self.dossier = dossier


class CodeTaken(Exception):
    """Another dossier got this code first: try the next number."""


class DossierRepository(Protocol):
    # request_ids are scoped by receiving unit: agencies never see or block each other's.
    def by_request_id(self, unit_code: str, request_id: str) -> domain.Dossier | None: ...
    # Stores the dossier and its events in one write; raises DuplicateRequest (with the dossier
    # stored first for this request_id) or CodeTaken.
    def add(self, dossier: domain.Dossier, events: list) -> None: ...
    def by_code(self, code: str) -> domain.Dossier | None: ...
    # Writes the changed dossier (its version is the old one + 1) with its events; raises
    # ConcurrentChange when another change claimed that version first. `action` goes to the log.
    def update(self, dossier: domain.Dossier, events: list, *, actor: str, action: str) -> None: ...


class Catalogue(Protocol):
    def procedure(self, code: str) -> catalogue.Procedure | None: ...
    def unit(self, code: str) -> units.Unit | None: ...
    def all_units(self) -> list[units.Unit]: ...


class CodeSequence(Protocol):
    """Where to look for the next free number of a unit's day. Only a hint: the dossier insert,
    unique on its code, is what claims a number, so codes stay unique and gap-free even on a store
    without atomic counters (FerretDB v1)."""
    def candidate(self, unit_code: str, day: dt.date, after: int = 0) -> int: ...
    def taken(self, unit_code: str, day: dt.date, sequence: int) -> None: ...
    def abandon(self, unit_code: str, day: dt.date) -> None:
        """The caller's attempt failed (the store is down): the next caller need not wait for it."""


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
    if body["applicant"]["identity"] is None:
        # As before identity documents existed: a retry with the deprecated citizen_id gets the
        # dossier stored before the upgrade back.
        body["applicant"].pop("identity")
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
        # Codes as typed ("dp.ht.0002", "000.00.21.h17 "): one form before anything else reads them.
        cmd = replace(cmd, procedure_code=codes.normalise_code(cmd.procedure_code),
                      receiving_unit_code=codes.normalise_code(cmd.receiving_unit_code))
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
                return self._replay(earlier, fingerprint, actor)
        today = self._clock().astimezone(VIETNAM).date()
        if not procedure.in_force(today):  # deactivated, or outside its effective dates
            when = "" if procedure.active else " (deactivated)"
            if procedure.active and procedure.effective_from and today < procedure.effective_from:
                when = f" (applies from {procedure.effective_from:%d/%m/%Y})"
            elif procedure.active and procedure.effective_to:
                when = f" (applied until {procedure.effective_to:%d/%m/%Y})"
            raise FailedPrecondition("PROCEDURE_INACTIVE",
                                     f"procedure {procedure.code} ({procedure.name}) is not accepted{when}",
                                     metadata={"procedure_code": procedure.code})
        # The dossier keeps the catalogue's wording of each component, however it was typed.
        cmd = replace(cmd, documents=domain.check_documents(cmd, procedure))
        postal_choice.check_postal_return(cmd, procedure)
        unit = self._catalogue.unit(unit_code)
        if unit is None:
            raise NotFound("UNIT_NOT_FOUND", f"no desk is registered for unit code {unit_code}",
                           metadata={"unit_code": unit_code})
        self._check_desk_serves(unit, procedure)

        received_at = self._now()
        # The receiving unit's calendar: the instance's days and the unit's own closures (chassis worktime).
        appointment_at = self._calendar.for_unit(unit.code).appointment(received_at, procedure.legal_duration)
        request_id = cmd.request_id or f"auto-{uuid.uuid4()}"
        lookup_secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(8))
        day = received_at.astimezone(VIETNAM).date()
        sequence = self._sequence.candidate(unit.code, day)
        try:
            return self._insert(cmd, request_id, lookup_secret, fingerprint, procedure, unit, received_at,
                                appointment_at, actor, day, sequence)
        except BaseException:
            # A store that went down must not keep the unit's day: the callers waiting for it would
            # each wait out the turn's lease in turn (20 submissions in flight took 11 s to fail).
            self._sequence.abandon(unit.code, day)
            raise

    def _insert(self, cmd, request_id, lookup_secret, fingerprint, procedure, unit, received_at, appointment_at,
                actor, day, sequence) -> Submitted:
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
            except DuplicateRequest as earlier:
                return self._replay(earlier.dossier, fingerprint, actor)
            self._sequence.taken(unit.code, day, sequence)
            return Submitted(dossier, replayed=False)
        raise Unavailable("CODE_ALLOCATION_BUSY",
                          f"too many simultaneous submissions for unit {unit.code}; retry with the same request_id")

    def _check_desk_serves(self, desk: units.Unit, procedure: catalogue.Procedure) -> None:
        if units.serves(desk, procedure.competent_unit_code, self._catalogue.unit):
            return
        desks = units.UnitTree(self._catalogue.all_units()).desks_for(procedure.competent_unit_code)
        where = ", ".join(f"{u.code} ({u.name})" for u in desks) or "no registered desk"
        raise FailedPrecondition(
            "DESK_DOES_NOT_SERVE",
            f"{desk.code} ({desk.name}) does not receive dossiers for {procedure.competent_unit_code}, the competent "
            f"agency of procedure {procedure.code}; they are received at: {where}",
            metadata={"unit_code": desk.code, "competent_unit_code": procedure.competent_unit_code,
                      "desks": ",".join(u.code for u in desks)})

    @staticmethod
    def _replay(earlier: domain.Dossier | None, fingerprint: str, actor: auth.Principal) -> Submitted:
        """The earlier dossier, for the same submitter with the same content only. Anyone else gets
        REQUEST_ID_REUSED: the dossier carries its lookup secret, and its code may be another agency's."""
        if earlier is None:  # pragma: no cover - the duplicate vanished: nothing is ever deleted
            raise RuntimeError("duplicate request_id reported but no dossier found")
        if earlier.fingerprint != fingerprint:
            raise request_ids.reused(earlier.request_id, "submission")
        submitter = earlier.history[0].actor if earlier.history else ""
        request_ids.check_replay_owner(submitter, actor.subject, earlier.request_id, "submission")
        return Submitted(earlier, replayed=True)

    @staticmethod
    def _receiving_unit_code(cmd: domain.SubmitDossier, procedure: catalogue.Procedure,
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
        """The dossier with this code, as typed (see `codes.normalise_code`): INVALID_ARGUMENT for
        what is no dossier code, PERMISSION_DENIED for another agency's, NOT_FOUND otherwise."""
        code = codes.dossier_code_argument(code, "code")
        if not actor.has_any({auth.SERVICE}):
            # The code names its receiving unit: other agencies are refused before any lookup.
            actor.require_agency(codes.unit_of(code), action="handle this dossier")
        dossier = self._dossiers.by_code(code)
        if dossier is None:
            raise NotFound("DOSSIER_NOT_FOUND", f"no dossier has code {code}", metadata={"code": code})
        return dossier

    def _change(self, code: str, actor: auth.Principal, action: str, apply) -> domain.Dossier:
        dossier, events = apply(self.get(code, actor), self._now())
        self._dossiers.update(dossier, events, actor=actor.subject, action=action)
        return dossier

    def _now(self) -> dt.datetime:
        return to_ms(self._clock())  # an injected clock may be finer than what MongoDB keeps

    def accept(self, code: str, actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "accept", lambda d, at: desk_actions.accept(
            d, at=at, appointment_at=self._calendar.for_unit(d.receiving_unit.code).appointment(at, d.legal_duration),
            actor=actor.subject))

    def request_supplement(self, code: str, reason: str, documents_to_add: list[str],
                           actor: auth.Principal) -> domain.Dossier:
        def apply(d: domain.Dossier, at: dt.datetime):
            # A document the catalogue lists is printed on form 02 in the catalogue's wording.
            procedure = self._catalogue.procedure(d.procedure_code) if self._catalogue is not None else None
            listed = {name_key(r.name): r.name for r in (procedure.required_documents if procedure else ())}
            worded = [listed.get(name_key(name), name) for name in documents_to_add]
            return desk_actions.request_supplement(d, at=at, reason=reason, documents_to_add=worded,
                                                   actor=actor.subject)
        return self._change(code, actor, "request_supplement", apply)

    def receive_supplement(self, code: str, note: str, actor: auth.Principal) -> domain.Dossier:
        def apply(d: domain.Dossier, at: dt.datetime):
            appointment = d.appointment_at
            if appointment is not None and d.paused_at is not None:
                # The clock stopped while the applicant completed the dossier: the appointment moves
                # by the working time spent waiting (none when the wait fell outside working hours).
                calendar = self._calendar.for_unit(d.receiving_unit.code)
                waited = calendar.working_minutes(d.paused_at, at)
                if waited:
                    appointment = calendar.add(appointment, worktime.WorkingDuration(minutes=waited))
            return desk_actions.receive_supplement(d, at=at, appointment_at=appointment, actor=actor.subject, note=note)
        return self._change(code, actor, "receive_supplement", apply)

    def refuse(self, code: str, reasons: list[str], actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "refuse", lambda d, at: desk_actions.refuse(
            d, at=at, reasons=reasons, actor=actor.subject))

    def request_withdrawal(self, code: str, reason: str, actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "request_withdrawal", lambda d, at: desk_actions.request_withdrawal(
            d, at=at, reason=reason, actor=actor.subject))

    def record_result(self, code: str, summary: str, actor: auth.Principal) -> domain.Dossier:
        return self._change(code, actor, "record_result", lambda d, at: desk_actions.record_result(
            d, at=at, summary=summary, actor=actor.subject, zone=VIETNAM))

    def return_result(self, code: str, actor: auth.Principal, *, method: int, receiver_name: str = "",
                      receiver_id_number: str = "", postal_tracking_number: str = "", note: str = "",
                      receiver_identity: identity.IdentityDocument | None = None) -> domain.Dossier:
        """`receiver_identity`, or the deprecated 12-digit `receiver_id_number`: see desk_actions.return_result."""
        return self._change(code, actor, "return_result", lambda d, at: desk_actions.return_result(
            d, at=at, method=method, actor=actor.subject, receiver_name=receiver_name,
            receiver_id_number=receiver_id_number, postal_tracking_number=postal_tracking_number, note=note,
            receiver_identity=receiver_identity))

    # -- public lookup ------------------------------------------------------------------------------
    def lookup(self, code: str, secret: str) -> domain.Dossier:
        """The dossier whose code and lookup secret match; the same NOT_FOUND for any mismatch.
        Both are taken as people type them: any case, spaces, full-width digits, an en dash
        (`codes.normalise_code`)."""
        code = codes.normalise_code(code)
        dossier = self._dossiers.by_code(code) if codes.is_dossier_code(code) else None
        typed = codes.normalise_code(secret).encode()
        if dossier is None or not dossier.lookup_secret or \
                not hmac.compare_digest(dossier.lookup_secret.encode(), typed):
            raise NotFound("NO_MATCH", "no dossier matches this code and lookup secret; check both on the receipt")
        return dossier


    def finished(self, code: str, secret: str) -> domain.Dossier:
        """The dossier (by code and lookup secret) once its result is ready: status 9 or 10."""
        dossier = self.lookup(code, secret)
        if dossier.status not in (domain.DossierStatus.FINISHED, domain.DossierStatus.RESULT_RETURNED):
            raise FailedPrecondition(
                "RESULT_NOT_READY", f"dossier {dossier.code} is {int(dossier.status)} "
                f"({domain.STATUS_LABELS_VI[dossier.status]}): its result is not ready yet",
                metadata={"status": str(int(dossier.status))})
        return dossier
