"""Liên thông inside one instance: who a dossier was handed to, and who may therefore read its
files. Routing moves a case into another agency's inbox (its CaseOpened/CaseProgressed steps name
their units); documents records a grant `<dossier>|<agency>` for each, and the agency that keeps
the files lets a granted agency's officers read them and file their step's results.

Grants never end: an agency that acted on a dossier may read later what it decided on (the
audit trail), and the case's own record says when each step closed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.errors import FieldViolation, InvalidArgument, PermissionDenied


class Grants(Protocol):
    """Who a dossier was handed to: one record `<dossier>|<agency>` (FerretDB: `_id` only)."""
    # One unique insert: True when new, False when the agency had its grant (a redelivered event).
    def add(self, dossier_code: str, agency_code: str, fields: dict) -> bool: ...
    def has(self, dossier_code: str, agency_code: str) -> bool: ...  # one `_id` lookup


class NoGrants:
    """No dossier handed to anyone (a service built without the grants store: tests)."""

    def add(self, dossier_code: str, agency_code: str, fields: dict) -> bool:
        raise NotImplementedError("this documents service records no grants")

    def has(self, dossier_code: str, agency_code: str) -> bool:
        return False


def holds(agency: str, actor: auth.Principal) -> bool:
    """The caller acts for the agency that keeps the files (or is a service)."""
    return auth.SERVICE in actor.roles or actor.agency == agency


class Access:
    def __init__(self, grants: Grants):
        self._grants = grants

    def hand_over(self, dossier_code: str, agency_codes: Iterable[str], fields: dict) -> list[str]:
        """Records that routing handed the dossier's case to these agencies (the units of its steps:
        an officer's token names its unit as its agency, as routing's inbox does), so that their
        officers read the dossier's files and file their step's results (Decree 61/2018/NĐ-CP art.
        21: the case moves between agencies, and the result returns to the receiving desk). `fields`
        (when, which event) are stored with each new grant. Returns the agencies granted now, empty
        when every one had its grant (a redelivery). A dossier no file is stored for yet is granted
        all the same (its step's result may be its first file). InvalidArgument, nothing stored,
        when a code is not a dossier code or a national unit code."""
        dossier = codes.normalise_code(dossier_code)
        agencies = sorted({codes.normalise_code(a) for a in agency_codes})
        if not codes.is_dossier_code(dossier):
            raise InvalidArgument.from_violations([FieldViolation("dossier_code", "is not a dossier code")])
        if not all(codes.is_unit_code(a) for a in agencies):
            raise InvalidArgument.from_violations([FieldViolation("steps.unit.code", "is not a national unit code")])
        return [a for a in agencies if self._grants.add(dossier, a, fields)]

    def require(self, holder: str, dossier_code: str, actor: auth.Principal, action: str,
                handed: bool = False) -> None:
        """The agency that keeps the files (`holder`, and SERVICE callers) may `action`; with
        `handed`, so may an agency the dossier was handed to, and only in the keeping of the
        dossier's receiving unit (the unit its code names, `codes.unit_of`): a grant is no key to
        any other agency's files (issue 11's review: a granted agency filed a result under an
        unrelated agency and made its bucket). PERMISSION_DENIED OTHER_AGENCY for anyone else,
        saying whether the target is not the keeper or the dossier was never handed to the caller's
        agency; checked before anything is read or stored."""
        if not handed or holds(holder, actor):
            actor.require_agency(holder, action=action)
            return
        keeper = codes.unit_of(dossier_code) if codes.is_dossier_code(dossier_code) else ""
        if holder != keeper:
            raise PermissionDenied(
                "OTHER_AGENCY", f"{actor.subject} acts for agency {actor.agency or '(none)'} and may not {action} "
                f"of agency {holder}: the files of dossier {dossier_code} handed to it are kept by its receiving "
                f"unit {keeper or '(unknown)'}: give agency_code {keeper or 'of that unit'} (or your own agency's)",
                metadata={"caller_agency": actor.agency, "unit_code": holder, "dossier_code": dossier_code,
                          "keeper": keeper})
        if not (actor.agency and self._grants.has(dossier_code, actor.agency)):
            raise PermissionDenied(
                "OTHER_AGENCY", f"{actor.subject} acts for agency {actor.agency or '(none)'} and may not {action} "
                f"of agency {holder}: dossier {dossier_code} was never handed to it (no step of its case there)",
                metadata={"caller_agency": actor.agency, "unit_code": holder, "dossier_code": dossier_code})
