"""Questionnaires: the built-in ones (loaded at start) and each agency's own, versioned.

An agency admin puts a file of questionnaires (PutQuestionnaire): each one that differs from its
latest version becomes the next version; one identical to it stores nothing. Invitations keep the
(owner, code, version) they were issued with, so a change never alters a running survey, and
another owner's questionnaire of the same code never replaces it (QuestionnaireService.issued).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.errors import FieldViolation, InvalidArgument, NotFound

from . import domain, files


class QuestionnaireStore(Protocol):
    def latest(self, agency_code: str, code: str) -> domain.Questionnaire | None: ...
    def get(self, agency_code: str, code: str, version: int) -> domain.Questionnaire | None: ...
    def add(self, item: domain.Questionnaire) -> bool:
        """Inserts a new version; False when that version exists already (a concurrent put)."""
        ...
    def chosen(self, agency_code: str) -> str:
        """The code the agency chose for its invitations; "" when it chose none."""
        ...
    def choose(self, agency_code: str, code: str) -> None:
        """Sets the agency's choice ("" removes it); the last writer's choice holds."""
        ...


@dataclass(frozen=True)
class Choice:
    """What an agency's invitations ask: the questionnaire (its latest version now) and whether
    it is the platform's default (INVITATION_QUESTIONNAIRE) rather than the agency's choice."""
    questionnaire: domain.Questionnaire
    platform_default: bool


@dataclass(frozen=True)
class Stored:
    code: str
    version: int
    changed: bool  # False: identical to the latest version, nothing stored


class QuestionnaireService:
    def __init__(self, store: QuestionnaireStore, builtin: dict[str, domain.Questionnaire], *,
                 invitation_default: str = "tt01-9"):
        self._store = store
        self._builtin = builtin
        self._invitation_default = invitation_default  # INVITATION_QUESTIONNAIRE

    @property
    def builtin(self) -> dict[str, domain.Questionnaire]:
        return self._builtin

    def get(self, code: str, version: int = 0, agency_code: str = "", unit_code: str = "") -> domain.Questionnaire:
        """The questionnaire `code` (built in, or the agency's own, else the unit's own: a unit
        below an agency may put and choose its own), at `version` (0: the latest).
        Raises NotFound QUESTIONNAIRE_NOT_FOUND."""
        found = self._builtin.get(code)
        if found is not None and version not in (0, found.version):
            found = None
        for owner in dict.fromkeys(a for a in (agency_code, unit_code) if a):
            if found is not None or code in self._builtin:
                break
            found = (self._store.latest(owner, code) if version == 0 else self._store.get(owner, code, version))
        if found is None:
            raise NotFound("QUESTIONNAIRE_NOT_FOUND", f"no questionnaire {code} (version {version or 'latest'})"
                           + (f" for agency {agency_code}" if agency_code else ""),
                           metadata={"code": code, "version": str(version)})
        return found

    def issued(self, owner: str, code: str, version: int, unit_code: str = "",
               agency_code: str = "") -> domain.Questionnaire:
        """The questionnaire an invitation (and its answer sheet) was issued with: `owner`'s (an
        agency's or a unit's; "" built in) `code` at `version`, never another owner's of the same
        code. An invitation stored before its owner was kept (owner "", a code not built in) reads
        `unit_code`'s own, else its agency's. Raises NotFound QUESTIONNAIRE_NOT_FOUND."""
        if owner or code in self._builtin:
            return self.get(code, version, owner)
        return self.get(code, version, unit_code, agency_code)

    def put(self, agency_code: str, content: bytes, fmt: str, actor: auth.Principal) -> list[Stored]:
        """Stores the file's questionnaires for `agency_code` (the actor's own; SERVICE: any).
        Raises InvalidArgument naming the line of every problem (files.read_file), or a code of a
        built-in questionnaire (reserved); PermissionDenied OTHER_AGENCY. All or nothing: nothing
        is stored unless the whole file is right."""
        agency_code = agency_code.strip()
        if not codes.is_unit_code(agency_code):
            raise InvalidArgument.from_violations([FieldViolation("agency_code", "is not a unit code")])
        actor.require_agency(agency_code, action="put this agency's questionnaires")
        read = files.read_file(content, fmt, agency_code=agency_code)
        reserved = [q.code for q in read if q.code in self._builtin]
        if reserved:
            raise InvalidArgument.from_violations([FieldViolation(
                "content", f"{', '.join(reserved)}: built-in questionnaire codes; choose another code")])
        return [self._put_one(q) for q in read]

    def for_invitations(self, unit_code: str, agency_code: str = "") -> domain.Questionnaire:
        """The questionnaire, at its latest version, that invitations of a dossier received at
        `unit_code` ask: the unit's choice, else its agency's (`agency_code`, the unit's parent),
        else INVITATION_QUESTIONNAIRE. Raises NotFound QUESTIONNAIRE_NOT_FOUND (a default that
        names no questionnaire)."""
        for chooser in dict.fromkeys(a for a in (unit_code, agency_code) if a):
            code = self._store.chosen(chooser)
            if code:
                return self.get(code, 0, agency_code, unit_code) if chooser == agency_code \
                    else self.get(code, 0, unit_code)
        return self.get(self._invitation_default, 0, agency_code, unit_code)

    def choose_for_invitations(self, agency_code: str, code: str, actor: auth.Principal) -> Choice:
        """Sets the questionnaire the invitations of `agency_code` (a unit, or an agency: its units
        without a choice of their own follow it) ask from now on: a built-in code or one of its
        own; "" goes back to the platform's default. Raises InvalidArgument
        (INVALID_FIELDS) for a malformed agency or questionnaire code, PermissionDenied OTHER_AGENCY
        (agency admins choose for their agency; SERVICE for any), NotFound QUESTIONNAIRE_NOT_FOUND
        for a code that is neither built in nor the agency's; nothing changes then."""
        agency_code, code = agency_code.strip(), code.strip()
        bad = []
        if not codes.is_unit_code(agency_code):
            bad.append(FieldViolation("agency_code", "is not a unit code such as 000.00.21.H17"))
        if code and not domain.CODE.fullmatch(code):
            bad.append(FieldViolation("questionnaire_code", "is not a questionnaire code such as tt01-9"))
        if bad:
            raise InvalidArgument.from_violations(bad)
        actor.require_agency(agency_code, action="choose this agency's invitation questionnaire")
        chosen = self.get(code or self._invitation_default, 0, agency_code)  # NotFound: nothing stored
        self._store.choose(agency_code, code)
        return Choice(chosen, platform_default=not code)

    def _put_one(self, q: domain.Questionnaire) -> Stored:
        for _ in range(5):  # a concurrent put of the same code takes the version: number again
            latest = self._store.latest(q.agency_code, q.code)
            if latest is not None and latest.content() == q.content():
                return Stored(q.code, latest.version, changed=False)
            version = latest.version + 1 if latest else 1
            if self._store.add(replace(q, version=version)):
                return Stored(q.code, version, changed=True)
        raise RuntimeError(f"questionnaire {q.code}: five concurrent versions in a row")
