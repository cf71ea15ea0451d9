"""The process templates' use cases: put a new version, get one, list the latest, import a file.

Who may write (docs/routing.md, "Process templates"): an agency's own template (agency_code set)
needs the role agency_admin acting for that agency, or SERVICE; a template for every agency
(agency_code empty) needs SERVICE (the seed, an integration), since it runs the cases of agencies
whose admins did not write it. Reading needs a staff role (the RPC policy) and, for an agency's
own templates, acting for that agency (or SERVICE); templates for every agency are read by all
staff. The units a template names are checked against intake's unit list (`UnitCodes`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from onestop_chassis import auth
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from onestop_chassis.paging import decode_page_token, encode_page_token
from onestop_chassis.request_ids import reused

from ..domain.process import ProcessTemplate, Published, TemplateRepository, same_content, validate, working_minutes
from . import files

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# The roles that perform steps; agency_admin, citizen and service never do.
PERFORMER_ROLES = frozenset({auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER})
# Code-like (docs/routing.md): a template's key is `<process_code>|<agency_code or ->|<version>`.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}")


class TemplateStore(TemplateRepository, Protocol):
    """The TemplateRepository port plus the admin's reads (MongoTemplates; FakeTemplates in tests)."""

    def published(self, process_code: str, agency_code: str, version: int = 0) -> Published | None:
        """That version, or the latest when `version` is 0; None when there is none."""
        ...

    def latest_all(self, agency_codes: tuple[str, ...]) -> list[Published]:
        """The latest version of every process code of each of `agency_codes` ("" = for every
        agency), sorted by (process_code, agency_code)."""
        ...

    def for_request(self, process_code: str, agency_code: str, request_id: str) -> Published | None:
        """The version a put with this request_id stored, if any."""
        ...


class UnitCodes(Protocol):
    """The unit list (intake's): every unit code. Raises Unavailable when it cannot be read."""

    def codes(self) -> frozenset[str]:
        ...


@dataclass(frozen=True)
class Imported:
    stored: list[Published]   # the new versions, in the file's order
    unchanged: int            # templates identical to their latest version: nothing stored


@dataclass(frozen=True)
class TemplatePage:
    templates: list[Published]
    next_page_token: str


class TemplateService:
    def __init__(self, store: TemplateStore, units: UnitCodes, clock: Callable[[], dt.datetime] = utcnow):
        self._store = store
        self._units = units
        self._clock = clock

    # -- authorisation hooks ----------------------------------------------------------------------
    @staticmethod
    def authorise_write(actor: auth.Principal, agency_code: str, what: str) -> None:
        """PermissionDenied unless the actor may store templates of `agency_code` ("" = every agency)."""
        if agency_code:
            if not actor.has_any({auth.AGENCY_ADMIN, auth.SERVICE}):
                raise PermissionDenied("ROLE_REQUIRED", f"storing {what} needs the role agency_admin")
            actor.require_agency(agency_code, action=f"store {what}")
        elif auth.SERVICE not in actor.roles:
            raise PermissionDenied(
                "EVERY_AGENCY_TEMPLATE", f"{what} is for every agency (agency_code empty): only a SERVICE account "
                "stores those; an agency admin stores the agency's own (agency_code = the agency)",
                metadata={"process_code": what})

    @staticmethod
    def authorise_read(actor: auth.Principal, agency_code: str) -> None:
        if agency_code:
            actor.require_agency(agency_code, action="read the process templates")

    # -- use cases ---------------------------------------------------------------------------------
    def put(self, template: ProcessTemplate, actor: auth.Principal, request_id: str = "") -> tuple[Published, bool]:
        """Validates and stores `template` as a new version: (it, True); (the latest, False) when
        identical to it. A request_id seen before returns what it stored (False), or
        ALREADY_EXISTS REQUEST_ID_REUSED when its template differed. INVALID_ARGUMENT naming each
        field; PERMISSION_DENIED (see the module); UNAVAILABLE when the unit list cannot be read."""
        shape = key_problems(template)
        if shape:
            raise InvalidArgument.from_violations(shape)
        self.authorise_write(actor, template.agency_code, f"template {template.process_code}")
        if request_id:
            prior = self._store.for_request(template.process_code, template.agency_code, request_id)
            if prior is not None:
                if not same_content(prior.template, template):
                    raise reused(request_id, "template")
                return prior, False
        problems = self.problems(template, self._units.codes())
        if problems:
            raise InvalidArgument.from_violations(problems)
        return self._store.put(template, published_by=actor.subject, published_at=self._clock(),
                               request_id=request_id)

    @staticmethod
    def problems(template: ProcessTemplate, units: frozenset[str]) -> list[FieldViolation]:
        """Every reason the template cannot be stored: its keys, its agency, and `validate`."""
        problems = key_problems(template)
        if template.agency_code and template.agency_code not in units:
            problems.append(FieldViolation("agency_code", f"names unit {template.agency_code!r}, "
                                                          "which is not in the unit list"))
        if working_minutes(template.legal_limit) <= 0:
            problems.append(FieldViolation("legal_limit", "is required (the procedure's legal time limit)"))
        return problems + validate(template, unit_exists=units.__contains__, roles=PERFORMER_ROLES)

    def get(self, process_code: str, agency_code: str, version: int, actor: auth.Principal) -> Published:
        """That version, or the latest when 0. NOT_FOUND TEMPLATE_NOT_FOUND."""
        if not process_code.strip():
            raise InvalidArgument.from_violations([FieldViolation("process_code", "is required")])
        if version < 0:
            raise InvalidArgument.from_violations([FieldViolation("version", "must not be negative")])
        self.authorise_read(actor, agency_code)
        found = self._store.published(process_code.strip(), agency_code.strip(), version)
        if found is None:
            what = f"version {version}" if version else "any version"
            raise NotFound("TEMPLATE_NOT_FOUND", f"process {process_code} has no template ({what}) for "
                           f"{'agency ' + agency_code if agency_code else 'every agency'}",
                           metadata={"process_code": process_code, "agency_code": agency_code})
        return found

    def page(self, agency_code: str, actor: auth.Principal, *, page_size: int = 0,
             page_token: str = "") -> TemplatePage:
        """The latest version of each template agency `agency_code` runs: its own and those for
        every agency (agency_code empty: only those), sorted by process code then agency."""
        if page_size < 0:
            raise InvalidArgument.from_violations([FieldViolation("page.page_size", "must not be negative")])
        agency_code = agency_code.strip()
        self.authorise_read(actor, agency_code)
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        filters = json.dumps([agency_code])
        after = decode_page_token(page_token, filters, "page.page_token") if page_token else None
        found = self._store.latest_all(("", agency_code) if agency_code else ("",))
        if after is not None:
            found = [p for p in found if _sort_key(p) > after]
        page = found[:size]
        more = len(found) > size
        return TemplatePage(page, encode_page_token(_sort_key(page[-1]), filters) if more and page else "")

    def import_file(self, content: bytes, fmt: str, actor: auth.Principal) -> Imported:
        """All or nothing: every template of the file is read, the caller's right to each checked,
        and each validated, before anything is stored. INVALID_ARGUMENT lists every problem as
        "line N: <field>"; PERMISSION_DENIED for a template the caller may not store."""
        read, lines = files.read_file(content, fmt)
        for template, _ in read:
            self.authorise_write(actor, template.agency_code, f"template {template.process_code}")
        units = self._units.codes()
        violations: list[FieldViolation] = []
        for template, at in read:
            problems = [(files.path_of(v.field) if v.field else (), v.description)
                        for v in self.problems(template, units)]
            violations += files.at_lines([((*at, *path), problem) for path, problem in problems], lines, at)
        if violations:
            raise InvalidArgument.from_violations(violations)
        stored, unchanged = [], 0
        now = self._clock()
        for template, _ in read:
            published, created = self._store.put(template, published_by=actor.subject, published_at=now)
            if created:
                stored.append(published)
            else:
                unchanged += 1
        return Imported(stored, unchanged)


def key_problems(template: ProcessTemplate) -> list[FieldViolation]:
    """The process and agency codes: code-like (letters, digits, `._:+-`), as the store's keys need."""
    problems = []
    if not template.process_code:
        problems.append(FieldViolation("process_code", "is required (the catalogue's process_code, e.g. QT.DD.02)"))
    elif not CODE.fullmatch(template.process_code):
        problems.append(FieldViolation("process_code", "must be letters, digits and . _ : + - (at most 64), "
                                                       f"e.g. QT.DD.02: not {template.process_code!r}"))
    if template.agency_code and not CODE.fullmatch(template.agency_code):
        problems.append(FieldViolation("agency_code", f"is not a unit code: {template.agency_code!r}"))
    if not template.name.strip():
        problems.append(FieldViolation("name", "is required"))
    return problems


def _sort_key(p: Published) -> str:
    return f"{p.template.process_code}|{p.template.agency_code}"
