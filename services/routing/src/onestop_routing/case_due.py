"""The case's own clock scanned (issue 11, gaps item 6): a case past its due time (the appointment,
pauses credited, extensions added) counts as overdue even when none of its steps is, e.g. steps
that each kept their budgets whose sum, with the desk's time, passed the legal limit.

Kept out of overdue.py and inbox.py (being rewritten for speed): `case_due_items` gives the one
scan key of a running case, `all|casedue|<case due ISO Z>|<dossier>|`, which the service's projection
writes with the inbox keys; `CaseDueScan.run` reads that range up to now and marks each case once
per due time: a journey entry OVERDUE without step (request_id `overdue|<dossier>|case|<due ISO Z>`)
with its `CaseOverdue` event. The worker runs it on the overdue timer (`RoutingWorker.scan_case_due`);
the overdue pass may call `CaseDueScan.run` itself instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis import auth, events
from onestop_chassis.clock import utcnow
from onestop_chassis.logs import get_logger

from . import messages
from .cases import CaseStore, Loaded
from .domain.journey import Actor, CaseState, Entry, EntryKind
from .inbox import InboxItem, iso_key

log = get_logger("onestop.routing")
CASE_DUE_PREFIX = "all|casedue|"
SCAN_SUBJECT = "routing-overdue-scan"


def case_due_items(loaded: Loaded) -> list[InboxItem]:
    """The case's scan key while its clock runs (processing, not paused) and it is not marked
    overdue for its current due time; none otherwise."""
    view, case = loaded.view, loaded.case
    if view is None or view.state is not CaseState.PROCESSING or view.overdue:
        return []
    due = view.clock.due_at
    # Shaped as the step scan's keys, `<scope>|<due>|<dossier>|<step>`, with no step: stored with them
    # (adapters/journey.py keeps `all|` keys apart, in the `scan` collection).
    return [InboxItem(key=f"{CASE_DUE_PREFIX}{iso_key(due)}|{case.dossier_code}|", dossier_code=case.dossier_code,
                      procedure_name=case.procedure_name, applicant_name=case.applicant_name, step_code="",
                      step_name="", unit_code="", entered_at=case.opened_at, due_at=due, case_due_at=due)]


def case_overdue(loaded: Loaded, now: dt.datetime) -> bool:
    """Running, past its due time at `now`, and not marked for that due time yet."""
    view = loaded.view
    return view is not None and view.state is CaseState.PROCESSING and not view.overdue and now > view.clock.due_at


@dataclass(frozen=True)
class CaseDueResult:
    found: int = 0
    marked: int = 0


class CaseDueScan:
    """One pass over `all|casedue|` up to now, `page` keys a page, page after page (after the last
    key read) while the page was full and the pass is within `budget_seconds` (0: one page), as
    the step scan does; marks through the service (its `loaded` / `record`)."""

    def __init__(self, service, cases: CaseStore, page: int, clock: Callable[[], dt.datetime] = utcnow,
                 budget_seconds: float = 0.0):
        self._service, self._cases, self._page, self._clock = service, cases, page, clock
        self._budget = budget_seconds

    def run(self) -> CaseDueResult:
        started = time.monotonic()
        before = CASE_DUE_PREFIX + iso_key(self._clock()) + "~"
        after, found, marked = CASE_DUE_PREFIX, 0, 0
        while True:
            items = self._cases.inbox(after, before, self._page)
            for item in items:
                try:
                    marked += self.mark(item.dossier_code, item.key)
                except Exception:  # left for the next pass, as the step scan does
                    log.exception("case due scan: case not marked", dossier_code=item.dossier_code)
            found += len(items)
            if len(items) < self._page or time.monotonic() - started >= self._budget:
                return CaseDueResult(found, marked)
            after = items[-1].key

    def mark(self, dossier_code: str, key: str = "") -> bool:
        """Marks the case overdue once for its current due time; False (writing nothing but a
        repaired projection) when it is not overdue, paused, ended, marked already, or another
        writer appended at the same moment (the next pass looks again). The scan `key` it was found
        by is deleted when the case does not hold it any more (a stale key is read every pass)."""
        loaded = self._service.loaded(dossier_code)
        if key and self._service.drop_if_stale(loaded, key):
            return False
        if loaded is None or loaded.view is None or loaded.template is None:
            return False
        now = max(self._clock(), loaded.log[-1].entry.at)
        if not case_overdue(loaded, now):
            return False
        view = loaded.view
        request_id = f"{EntryKind.OVERDUE}|{dossier_code}|case|{iso_key(view.clock.due_at)}"
        if any(logged.entry.request_id == request_id for logged in loaded.log):
            return False
        entry = Entry(seq=view.seq + 1, kind=EntryKind.OVERDUE, at=now, actor=Actor(SCAN_SUBJECT, auth.SERVICE, ""),
                      request_id=request_id, reason="Hồ sơ quá hạn giải quyết")
        event = rev.CaseOverdue(header=events.new_header(messages.PRODUCER, now), dossier_code=dossier_code,
                                steps=messages.case_steps(loaded.case, loaded.template, view))
        event.due_at.FromDatetime(view.clock.due_at)
        return self._service.record(loaded, entry, [event], hashlib.sha256(request_id.encode()).hexdigest()[:32])
