"""Agencies and units: the hierarchy and shared desks as data (reading is public)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.errors import (
    NotFound,
    PermissionDenied,
)

from . import domain


class UnitDirectory(Protocol):
    """Reading units: by code (None when unknown), or all of them."""
    def unit(self, code: str) -> domain.Unit | None: ...
    def all_units(self) -> list[domain.Unit]: ...


class UnitStore(UnitDirectory, Protocol):
    def put_unit(self, unit: domain.Unit) -> None: ...


@dataclass(frozen=True)
class UnitView:
    unit: domain.Unit
    ancestors: list[domain.Unit]
    children: list[domain.Unit]
    serves: list[domain.Unit]


class UnitService:
    """The hierarchy as data. Reading is public; a unit is written by a SERVICE or by the
    agency_admin of its parent (for a root: SERVICE only)."""

    def __init__(self, store: UnitStore):
        self._store = store

    def put(self, unit: domain.Unit, actor: auth.Principal) -> tuple[domain.Unit, bool]:
        domain.check(unit, self._store.unit)
        stored = self._store.unit(unit.code)
        if not actor.has_any({auth.SERVICE}):
            # An admin of the parent it has now, and of the parent it would get (or of a unit above
            # them: the province administers what is under it): nobody moves another agency's unit
            # under their own.
            for parent in {unit.parent_code, *([stored.parent_code] if stored else [])}:
                if not parent:
                    raise PermissionDenied("ROOT_UNIT",
                                           "only a platform service account may create or change a root unit")
                if not self._administers(actor, parent):
                    actor.require_agency(parent, action=f"create or change unit {unit.code}")
            self._check_receives_for(unit, stored, actor)
        self._store.put_unit(unit)
        return unit, stored is None

    def _administers(self, actor: auth.Principal, code: str) -> bool:
        """Whether the admin's agency is `code` or a unit above it."""
        return bool(actor.agency) and actor.agency in {u.code for u in domain.chain(code, self._store.unit)}

    def _check_receives_for(self, unit: domain.Unit, stored: domain.Unit | None, actor: auth.Principal) -> None:
        """Authorisation hook: a desk receives only for units its writer administers. A unit added to
        `receives_for` must be the admin's own agency or under it; for any other unit that unit's
        agency consents by having an admin above both (the province's) set it. Entries already
        stored stay, so the agency can still edit a desk the province extended. Receiving for a unit
        lets the desk's officers receive, read and act on dossiers of that unit's procedures."""
        kept = set(stored.receives_for) if stored else set()
        for i, target in enumerate(unit.receives_for):
            if target in kept or target == unit.code:
                continue
            if self._administers(actor, target):
                continue
            raise PermissionDenied(
                "RECEIVES_FOR_OTHER_AGENCY",
                f"{actor.subject} administers {actor.agency or '(no agency)'} and may not make desk {unit.code} "
                f"receive for {target}, which is outside it: an administrator of a unit above both (the "
                "province) must set it",
                metadata={"caller_agency": actor.agency, "unit_code": unit.code, "receives_for": target,
                          "field": f"unit.receives_for[{i}]"})

    def get(self, code: str) -> UnitView:
        tree = domain.UnitTree(self._store.all_units())  # one scan: FerretDB scans for any query anyway
        unit = tree.get(codes.normalise_code(code))
        if unit is None:
            raise NotFound("UNIT_NOT_FOUND", f"no unit has code {code!r}", metadata={"code": code})
        return UnitView(unit, tree.ancestors(unit.code), tree.children(unit.code), tree.served_by(unit.code))

    def list(self, parent_code: str = "", descendants: bool = False, kind: int = 0) -> list[domain.Unit]:
        tree = domain.UnitTree(self._store.all_units())
        if parent_code and tree.get(parent_code) is None:
            raise NotFound("UNIT_NOT_FOUND", f"no unit has code {parent_code!r}", metadata={"code": parent_code})
        found = (tree.descendants(parent_code) if descendants else tree.children(parent_code)) if parent_code \
            else tree.all()
        return [u for u in found if not kind or u.kind == kind]
