"""The procedure catalogue's use cases: admin changes (agency_admin of the competent agency, or
SERVICE), imports and exports, and the public reading of it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from onestop_chassis.paging import decode_page_token, encode_page_token
from onestop_chassis.worktime import VIETNAM

from ..units import domain as units
from . import domain, files


class ProcedureExists(Exception):
    """The store already holds a procedure with this code."""


class ProcedureStore(Protocol):
    """The catalogue's storage. Writes of an existing procedure are serialised per version (the
    Mongo adapter uses VersionClaims: a writer that loses gets ConcurrentChange, gRPC ABORTED)."""
    def procedure(self, code: str) -> domain.Procedure | None: ...
    def unit(self, code: str) -> units.Unit | None: ...
    def all_procedures(self) -> list[domain.Procedure]: ...
    def all_units(self) -> list[units.Unit]: ...
    # Inserts version 1; raises ProcedureExists when the code is taken (an atomic unique insert).
    def add_procedure(self, procedure: domain.Procedure) -> None: ...
    # Writes `procedure` (its version is the stored one + 1); raises ConcurrentChange when another
    # writer claimed that version first.
    def replace_procedure(self, procedure: domain.Procedure, *, actor: str, action: str) -> None: ...


@dataclass(frozen=True)
class ProcedurePage:
    procedures: list[domain.Procedure]
    next_page_token: str
    total_size: int


@dataclass(frozen=True)
class Imported:
    created: int
    updated: int
    unchanged: int


DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class CatalogueService:
    """Admin use cases of the catalogue (agency_admin of the competent agency, or SERVICE) and the
    public reading of it."""

    def __init__(self, store: ProcedureStore, clock: Callable[[], dt.datetime] = utcnow):
        self._store = store
        self._clock = clock

    def today(self) -> dt.date:
        return self._clock().astimezone(VIETNAM).date()

    def _unit_exists(self, code: str) -> bool:
        return self._store.unit(code) is not None

    @staticmethod
    def _authorise(actor: auth.Principal, unit_code: str, code: str) -> None:
        """Authorisation hook: an agency administers only the procedures its own unit decides."""
        actor.require_agency(unit_code, action=f"change procedure {code}")

    def get(self, code: str) -> domain.Procedure:
        code = codes.normalise_code(code)  # as typed: "dp.ht.0002", full-width digits
        procedure = self._store.procedure(code) if code else None
        if procedure is None:
            raise NotFound("PROCEDURE_NOT_FOUND", f"no procedure has code {code!r}", metadata={"code": code})
        return procedure

    def create(self, procedure: domain.Procedure, actor: auth.Principal) -> domain.Procedure:
        domain.check(procedure, self._unit_exists)
        self._authorise(actor, procedure.competent_unit_code, procedure.code)
        procedure = replace(procedure, version=1)
        try:
            self._store.add_procedure(procedure)
        except ProcedureExists:
            raise AlreadyExists("PROCEDURE_EXISTS", f"a procedure with code {procedure.code} already exists; "
                                "update it instead", metadata={"code": procedure.code}) from None
        return procedure

    def update(self, procedure: domain.Procedure, actor: auth.Principal) -> domain.Procedure:
        domain.check(procedure, self._unit_exists)
        stored = self.get(procedure.code)
        self._authorise(actor, stored.competent_unit_code, stored.code)
        self._authorise(actor, procedure.competent_unit_code, procedure.code)
        if procedure.version != stored.version:
            raise domain.VersionMismatch(stored.code, procedure.version, stored.version)
        changed = replace(procedure, version=stored.version + 1)
        self._store.replace_procedure(changed, actor=actor.subject, action="update")
        return changed

    def deactivate(self, code: str, version: int, actor: auth.Principal) -> domain.Procedure:
        stored = self.get(code)
        self._authorise(actor, stored.competent_unit_code, stored.code)
        if version and version != stored.version:
            raise domain.VersionMismatch(stored.code, version, stored.version)
        if not stored.active:
            return stored  # already: nothing to write
        changed = replace(stored, active=False, version=stored.version + 1)
        self._store.replace_procedure(changed, actor=actor.subject, action="deactivate")
        return changed

    def _filtered(self, field_code: str, agency: str, text: str, include_inactive: bool) -> list[domain.Procedure]:
        today = self.today()
        found = [p for p in self._store.all_procedures()  # one scan: FerretDB scans for any query
                 if (include_inactive or p.in_force(today))
                 and (not field_code or p.field_code == field_code)
                 and (not agency or p.competent_unit_code == agency)
                 and (not text.strip() or domain.matches_text(p, text))]
        return sorted(found, key=lambda p: p.code)

    def page(self, *, page_size: int = 0, page_token: str = "", field_code: str = "", agency: str = "",
             text: str = "", include_inactive: bool = False) -> ProcedurePage:
        if page_size < 0:
            raise InvalidArgument.from_violations([FieldViolation("page_size", "must not be negative")])
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        filters = json.dumps([field_code, agency, domain.fold(text), include_inactive])
        after = decode_page_token(page_token, filters) if page_token else None
        found = self._filtered(field_code, agency, text, include_inactive)
        start = 0
        if after is not None:
            start = next((i for i, p in enumerate(found) if p.code > after), len(found))
        page = found[start:start + size]
        more = start + size < len(found)
        return ProcedurePage(page, encode_page_token(page[-1].code, filters) if more and page else "", len(found))

    def export(self, fmt: str, *, field_code: str = "", agency: str = "", include_inactive: bool = True):
        procedures = self._filtered(field_code, agency, "", include_inactive)
        return files.dump_file(procedures, fmt), len(procedures)

    def import_file(self, content: bytes, fmt: str, actor: auth.Principal) -> Imported:
        """All-or-nothing: every entry is read and checked (and the caller's right to each) before
        anything is written."""
        data, lines = files.parse_file(content, fmt)
        known_units = {u.code for u in self._store.all_units()}
        procedures = files.entries_to_procedures(data, lines, known_units.__contains__)
        stored = {p.code: p for p in self._store.all_procedures()}
        for p in procedures:
            if p.code in stored:
                self._authorise(actor, stored[p.code].competent_unit_code, p.code)
            self._authorise(actor, p.competent_unit_code, p.code)
        created = updated = unchanged = 0
        for p in procedures:
            old = stored.get(p.code)
            if old is None:
                try:
                    self._store.add_procedure(replace(p, version=1))
                except ProcedureExists:  # created meanwhile by someone else
                    raise AlreadyExists("PROCEDURE_EXISTS", f"procedure {p.code} was created meanwhile; import again",
                                        metadata={"code": p.code}) from None
                created += 1
            elif files.same_content(old, p):
                unchanged += 1
            else:
                self._store.replace_procedure(replace(p, version=old.version + 1), actor=actor.subject,
                                              action="import")
                updated += 1
        return Imported(created, updated, unchanged)
