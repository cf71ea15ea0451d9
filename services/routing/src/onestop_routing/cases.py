"""The case store port of routing's use cases and what it holds: the journey's entries as stored
(`Logged`), a case's whole record (`Stored`), and a case loaded with its template and folded view
(`Loaded`). Adapters implement `CaseStore` (adapters/journey.py; FakeCases in tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from google.protobuf.message import Message

from onestop_chassis.errors import PermanentError
from onestop_chassis.worktime import WorkingCalendar

from . import domain
from .domain import journey
from .domain.journey import CaseView, Entry
from .domain.process import ProcessTemplate
from .inbox import InboxItem


@dataclass(frozen=True)
class Logged:
    """One stored journey entry and the digest of the command and caller that wrote it (entries
    from intake's events have the event id as request_id)."""
    entry: Entry
    digest: str = ""


@dataclass(frozen=True)
class Stored:
    """What the store holds of one case: its header (from DossierReceived), its log in seq order,
    the seq its projection (view document, inbox keys) was last written for and that projection's
    keys."""
    case: domain.Case
    log: tuple[Logged, ...]
    projected_seq: int = 0
    projected_keys: tuple[str, ...] = ()


class CaseStore(Protocol):
    """Where cases, their journeys and inboxes are kept (adapters.journey on MongoDB/FerretDB)."""

    def open(self, case: domain.Case, first: Logged, events: Sequence[Message]) -> bool:
        """Stores the case's header and its OPENED entry (seq 1) with its events; False when the
        dossier has a case already (nothing is written)."""
        ...

    def load(self, dossier_code: str) -> Stored | None:
        """The case and its whole log; None when the dossier has no case."""
        ...

    def append(self, dossier_code: str, logged: Logged, events: Sequence[Message]) -> bool:
        """Appends the entry (its seq must be free) with its events in one write; False when that
        seq is taken (another writer won), and nothing is written."""
        ...

    def project(self, case: domain.Case, view: CaseView, items: Sequence[InboxItem],
                previous: tuple[int, Sequence[str]] | None = None) -> None:
        """Writes the case view for `view.seq` and replaces the case's inbox keys by `items`;
        does nothing when a projection of a later seq is stored. `previous`: the (seq, keys) of
        the projection `load` found, which spares reading them again when that seq is the one
        just before `view.seq`."""
        ...

    def inbox(self, after: str, before: str, limit: int) -> list[InboxItem]:
        """Inbox items with after < key < before, by key, at most `limit`."""
        ...

    def drop_keys(self, keys: Sequence[str]) -> None:
        """Deletes these inbox or scan keys (a scan key no case holds any more)."""
        ...

    def case_codes(self, after: str, before: str, limit: int) -> list[str]:
        """Dossier codes of the cases with after < code < before, by code, at most `limit` (one
        `_id` range: a receiving unit's cases of some days, form 07)."""
        ...


@dataclass(frozen=True)
class Loaded:
    """A case as read: header, log, the template version it runs and its fold (None for a case
    without template), and the (seq, keys) of its projection as read (None: not read)."""
    case: domain.Case
    log: tuple[Logged, ...]
    template: ProcessTemplate | None
    view: CaseView | None
    projected: tuple[int, tuple[str, ...]] | None = None

    def __getattr__(self, name: str):
        if name == "case":
            raise AttributeError(name)
        return getattr(self.case, name)  # the header's fields: loaded.dossier_code, loaded.receiving_unit_code

    @property
    def units(self) -> frozenset[str]:
        """Every unit the case is or was with: its receiving unit, its steps now and before."""
        units = {self.case.receiving_unit_code}
        if self.view is not None:
            units |= {r.unit_code for r in self.view.runs}
            units |= {u for h in self.view.handovers for u in (h.from_unit, h.to_unit) if u}
        return frozenset(units)

    def as_of(self, seq: int, calendar: WorkingCalendar) -> Loaded:
        """The case as it was after entry `seq` (the answer a replayed request gets again)."""
        log = tuple(item for item in self.log if item.entry.seq <= seq)
        if self.template is None:
            return replace(self, log=log)
        return replace(self, log=log, view=journey.fold(self.case.dossier_code, self.template, calendar,
                                                        [item.entry for item in log]))


class UnknownCase(PermanentError):
    """An event names a dossier routing has no case for: it can never apply (dead-lettered)."""


class CaseNotOpenedYet(Exception):
    """An intake event about a dossier whose case routing has not opened yet: its DossierReceived
    is still on the bus (each event type has its own queue, so events overtake each other). Not a
    PermanentError: the chassis retries it with growing delays (1, 2, 4 ... 60 s, EVENT_MAX_ATTEMPTS
    attempts, about 9 minutes by default) and dead-letters it only when the case never opens."""
