"""Units' Vietnamese names as routing shows them (GetCase, GetJourney, ListInbox, forms 04-07).
The units live in intake; routing reads their names through the `UnitNames` port
(adapters/intake_units.py: intake's ListUnits, cached) and falls back to the code where a name is
not known (intake unreachable, a unit since removed). The worker never asks intake (grpcio cannot
run under its eventlet): it gets `NoUnitNames`, or the names an event carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class UnitNames(Protocol):
    def names(self) -> Mapping[str, str]:
        """Every known unit's Vietnamese name by its code; never raises (an empty or stale mapping
        when intake does not answer). May call intake: api processes only."""
        ...

    def name(self, code: str) -> str:
        """The name of `code` as last read, "" when not known; never calls intake (safe anywhere)."""
        ...


class NoUnitNames:
    """No names: every unit shows its code (the worker, tests of the codes only)."""

    def names(self) -> Mapping[str, str]:
        return {}

    def name(self, code: str) -> str:
        return ""


def label(code: str, names: Mapping[str, str]) -> str:
    """The unit as a person reads it: its name, or its code when the name is not known."""
    return names.get(code) or code


def with_name(names: Mapping[str, str], code: str, name: str) -> Mapping[str, str]:
    """`names` with `code`'s name added when missing (the receiving unit's name a case carries)."""
    return names if names.get(code) or not name else {**names, code: name}
