"""GetSatisfactionIndex: the indices of an agency (or of one officer, procedure or field of it)
over a period of days, summed from the tallies (indices.domain).

A closed day (domain.closed) is read from its roll-up, one small document per place and day
written once (a unique insert: two readers computing it at once store one); the days without one
are summed from their tallies in one `_id` range read and rolled up on the way; the open days
(today, and yesterday within the grace) are always summed from their tallies. So a year is one
range read of at most 366 roll-ups plus today's tallies, after the first query of each day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.errors import Violations

from . import domain

MAX_DAYS = 366


class TallyReader(Protocol):
    def range(self, start: str, end: str) -> list[domain.Tally]: ...
    def day_summaries(self, start: str, end: str) -> dict[str, domain.Summary]:
        """The roll-ups with `start` <= `_id` < `end`, by `_id` (`<prefix><day>`)."""
        ...
    def put_day_summary(self, key: str, summary: domain.Summary) -> None:
        """Stores a closed day's roll-up; one stored already is left as it is."""
        ...


@dataclass(frozen=True)
class IndexQuery:
    agency_code: str
    dimension: str = "all"   # all, officer, procedure or field
    value: str = ""
    from_date: dt.date | None = None
    to_date: dt.date | None = None


def _date(v: Violations, name: str, text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        v.add(name, "must be a date YYYY-MM-DD")
        return None


def parse_query(agency_code: str, officer: str, procedure_code: str, field_code: str, from_date: str,
                to_date: str) -> IndexQuery:
    """The request checked; raises InvalidArgument (INVALID_FIELDS) naming each bad field: the agency
    code, the dates (both required, from <= to, at most MAX_DAYS days), more than one narrowing."""
    v = Violations()
    agency_code = agency_code.strip()
    if not codes.is_unit_code(agency_code):
        v.add("agency_code", "is not a unit code, e.g. 000.00.21.H17")
    narrowing = [(d, x.strip()) for d, x in (("officer", officer), ("procedure", procedure_code),
                                              ("field", field_code)) if x.strip()]
    if len(narrowing) > 1:
        v.add("officer", "give at most one of officer, procedure_code and field_code")
    start, end = _date(v, "from_date", from_date), _date(v, "to_date", to_date)
    if start and end and not 0 <= (end - start).days < MAX_DAYS:
        v.add("to_date", f"must be on or after from_date, at most {MAX_DAYS} days in all")
    v.raise_if_any()
    dimension, value = narrowing[0] if narrowing else ("all", "")
    return IndexQuery(agency_code, dimension, value, start, end)


class IndexService:
    def __init__(self, tallies: TallyReader, clock: Callable[[], dt.datetime] | None = None):
        self._tallies = tallies
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def index(self, query: IndexQuery, actor: auth.Principal) -> domain.Summary:
        """The summary of the query's period. Raises PermissionDenied OTHER_AGENCY for another
        agency than the actor's (SERVICE reads all)."""
        actor.require_agency(query.agency_code, action="read this agency's satisfaction indices")
        assert query.from_date and query.to_date
        prefix = domain.prefix(query.agency_code, query.dimension, query.value)
        now, first, last = self._clock(), query.from_date, query.to_date
        last_closed = last
        while last_closed >= first and not domain.closed(last_closed, now):
            last_closed -= dt.timedelta(days=1)
        summary = domain.Summary()
        if last_closed >= first:
            for day in self._closed_days(prefix, first, last_closed).values():
                summary.merge(day)
        opened = max(first, last_closed + dt.timedelta(days=1))
        if opened <= last:
            for tally in self._tallies.range(f"{prefix}{opened.isoformat()}", f"{prefix}{last.isoformat()}|~"):
                summary.add(tally)
        return summary

    def _closed_days(self, prefix: str, first: dt.date, last: dt.date) -> dict[str, domain.Summary]:
        """Every closed day's roll-up, by day; the missing ones computed from their tallies and stored."""
        stored = {key[len(prefix):]: s for key, s in
                  self._tallies.day_summaries(f"{prefix}{first.isoformat()}", f"{prefix}{last.isoformat()}~").items()}
        days = [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
        missing = [d for d in days if d not in stored]
        if missing:
            computed = {d: domain.Summary() for d in missing}
            for tally in self._tallies.range(f"{prefix}{missing[0]}", f"{prefix}{missing[-1]}|~"):
                day = tally.id[len(prefix):len(prefix) + 10]
                if day in computed:
                    computed[day].add(tally)
            for day, summary in computed.items():
                self._tallies.put_day_summary(f"{prefix}{day}", summary)
            stored.update(computed)
        return stored
