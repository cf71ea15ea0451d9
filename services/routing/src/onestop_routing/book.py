"""Who is in which unit's tracking book (form 07, Sổ theo dõi hồ sơ): a key per unit, month and case,
`<unit>|<YYYY-MM>|<dossier>`, for every unit that received the case into one of its steps or handed
it over that month (Vietnam time), written with the case's projection. A department's or another
agency's book for a month is then one `_id` range (a receiving unit's cases are also the range of
their codes, which name the unit and the day). Plain Python; the store is `adapters/book.py`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol

from onestop_chassis.worktime import VIETNAM

from .domain.journey import CaseView


def month(moment: dt.datetime) -> str:
    """'2026-11': the month of `moment` in Vietnam time (the book's period)."""
    return moment.astimezone(VIETNAM).strftime("%Y-%m")


def book_prefix(unit_code: str, period: str) -> str:
    return f"{unit_code}|{period}|"


def book_keys(view: CaseView, since: dt.datetime | None = None) -> set[str]:
    """The case's keys: each unit whose step received the case (a running step entered, or a
    handover to it) or handed it over, in the month that happened. Only moments at or after
    `since` (None: all), so a projection writes the keys of its last entry alone."""
    moments: list[tuple[str, dt.datetime]] = [(r.unit_code, r.entered_at) for r in view.runs]
    for h in view.handovers:
        moments += [(unit, h.at) for unit in (h.from_unit, h.to_unit) if unit]
    return {f"{book_prefix(unit, month(at))}{view.dossier_code}" for unit, at in moments
            if since is None or at >= since}


class BookIndex(Protocol):
    """Where the book keys are kept (adapters/book.py; FakeBook in tests)."""

    def add(self, keys: Iterable[str]) -> None:
        """Stores the keys; one already stored is left as it is (idempotent)."""
        ...

    def codes(self, unit_code: str, period: str, limit: int) -> Sequence[str]:
        """The dossier codes in `unit_code`'s book for `period` ('YYYY-MM'), by code, at most `limit`."""
        ...


class NoBook:
    """No book keys (a process that never writes projections)."""

    def add(self, keys: Iterable[str]) -> None:
        return None

    def codes(self, unit_code: str, period: str, limit: int) -> Sequence[str]:
        return []
