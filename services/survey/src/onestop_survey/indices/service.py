"""GetSatisfactionIndex: the indices of an agency (or of one officer, procedure or field of it)
over a period of days, summed from the tallies (indices.domain) with one `_id` range read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.errors import Violations

from . import domain

MAX_DAYS = 366


class TallyReader(Protocol):
    def range(self, start: str, end: str) -> list[domain.Tally]: ...


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
    def __init__(self, tallies: TallyReader):
        self._tallies = tallies

    def index(self, query: IndexQuery, actor: auth.Principal) -> domain.Summary:
        """The summary of the query's period. Raises PermissionDenied OTHER_AGENCY for another
        agency than the actor's (SERVICE reads all)."""
        actor.require_agency(query.agency_code, action="read this agency's satisfaction indices")
        prefix = domain.prefix(query.agency_code, query.dimension, query.value)
        assert query.from_date and query.to_date
        summary = domain.Summary()
        for tally in self._tallies.range(f"{prefix}{query.from_date.isoformat()}",
                                         f"{prefix}{query.to_date.isoformat()}|~"):
            summary.add(tally)
        return summary
