"""Agencies and units as data: a hierarchy of any depth (province → commune → departments today;
province → district → commune in older setups), and desks that receive for several units.

A unit "serves" (receives dossiers for) itself, every unit listed in its `receives_for`, and every
unit below those. A province's service centre that lists the province receives for every unit in
it (since Decree 118/2025 dossiers are received regardless of administrative boundaries within the
province); a shared desk lists the departments it serves (seed 002: five at one desk).

Plain Python; the functions take a `lookup(code) -> Unit | None` so callers decide whether to read
units one by one (a submit: one or two reads) or from a loaded list (UnitTree).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

from onestop_chassis import codes
from onestop_chassis.errors import Violations


class UnitKind(IntEnum):
    PEOPLES_COMMITTEE = 1  # Ủy ban nhân dân
    DEPARTMENT = 2         # sở, ban, ngành, phòng
    DESK = 3               # Trung tâm Phục vụ hành chính công, Bộ phận Một cửa
    OTHER = 4


class UnitLevel(IntEnum):
    CENTRAL = 1
    PROVINCE = 2
    DISTRICT = 3  # ended 1/7/2025; kept for older setups
    COMMUNE = 4


@dataclass(frozen=True)
class Unit:
    """An agency or unit; the hierarchy and shared desks are below."""
    code: str
    name: str
    parent_code: str = ""
    kind: int = UnitKind.OTHER
    level: int = 0
    # A desk's served units (each with everything under it); any unit also receives for itself.
    receives_for: tuple[str, ...] = ()
    address: str = ""


Lookup = Callable[[str], Unit | None]
NAME_LIMIT = 300
ADDRESS_LIMIT = 300
MAX_DEPTH = 16  # deeper than any real administration; stops a corrupted parent chain


def chain(code: str, lookup: Lookup) -> list[Unit]:
    """The unit and its ancestors, nearest first. Stops at a missing parent or a loop."""
    found: list[Unit] = []
    seen: set[str] = set()
    while code and code not in seen and len(found) < MAX_DEPTH:
        unit = lookup(code)
        if unit is None:
            break
        found.append(unit)
        seen.add(code)
        code = unit.parent_code
    return found


def serves(desk: Unit, unit_code: str, lookup: Lookup) -> bool:
    """Whether `desk` receives dossiers whose competent unit is `unit_code`."""
    if unit_code == desk.code:
        return True
    targets = set(desk.receives_for)
    return bool(targets) and any(u.code in targets for u in chain(unit_code, lookup))


class UnitTree:
    """Every unit, loaded once, for the questions that need the whole hierarchy."""

    def __init__(self, units: Iterable[Unit]):
        self._units = {u.code: u for u in units}

    def get(self, code: str) -> Unit | None:
        return self._units.get(code)

    def all(self) -> list[Unit]:
        return sorted(self._units.values(), key=lambda u: u.code)

    def ancestors(self, code: str) -> list[Unit]:
        """From the root down to the parent."""
        return list(reversed(chain(code, self.get)[1:]))

    def children(self, code: str) -> list[Unit]:
        return [u for u in self.all() if u.parent_code == code and u.code != code]

    def descendants(self, code: str) -> list[Unit]:
        return [u for u in self.all() if u.code != code and code in {a.code for a in chain(u.code, self.get)}]

    def served_by(self, desk_code: str) -> list[Unit]:
        desk = self.get(desk_code)
        return [] if desk is None else [u for u in self.all() if serves(desk, u.code, self.get)]

    def desks_for(self, unit_code: str) -> list[Unit]:
        """The units that receive dossiers for `unit_code`: desks first, then the unit itself."""
        found = [u for u in self.all() if serves(u, unit_code, self.get)]
        return sorted(found, key=lambda u: (u.kind != UnitKind.DESK, u.code))


def check(unit: Unit, lookup: Lookup) -> None:
    """Raises InvalidArgument naming every bad field of a unit about to be stored."""
    v = Violations()
    if not codes.is_unit_code(unit.code):
        v.add("unit.code", "is not a national unit code like 000.00.21.H17")
    if not unit.name.strip():
        v.add("unit.name", "is required")
    elif len(unit.name) > NAME_LIMIT:
        v.add("unit.name", f"is longer than {NAME_LIMIT} characters")
    if len(unit.address) > ADDRESS_LIMIT:
        v.add("unit.address", f"is longer than {ADDRESS_LIMIT} characters")
    if unit.kind not in UnitKind.__members__.values():
        v.add("unit.kind", "must be 1 (people's committee), 2 (department), 3 (desk) or 4 (other)")
    if unit.level not in UnitLevel.__members__.values():
        v.add("unit.level", "must be 1 (central), 2 (province), 3 (district) or 4 (commune)")
    if unit.parent_code:
        _check_parent(unit, lookup, v)
    for i, code in enumerate(unit.receives_for):
        if code != unit.code and lookup(code) is None:
            v.add(f"unit.receives_for[{i}]", f"no unit has code {code}")
    if unit.receives_for and unit.kind != UnitKind.DESK:
        v.add("unit.receives_for", "only a desk (kind 3) receives for other units")
    v.raise_if_any()


def _check_parent(unit: Unit, lookup: Lookup, v: Violations) -> None:
    if unit.parent_code == unit.code:
        v.add("unit.parent_code", "a unit cannot be its own parent")
    elif lookup(unit.parent_code) is None:
        v.add("unit.parent_code", f"no unit has code {unit.parent_code}: create the parent first")
    elif unit.code in {u.code for u in chain(unit.parent_code, lookup)}:
        v.add("unit.parent_code", f"{unit.parent_code} is below {unit.code}: the hierarchy would loop")
