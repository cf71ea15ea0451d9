"""The case's own clock scanned (issue 11 item 5, gaps item 6): a case past its due time (the
appointment, pauses credited, extensions added) counts as overdue even when none of its steps is,
e.g. steps that each kept their budgets whose sum, with the desk's time, passed the legal limit;
and a case that used DUE_SOON_SHARE of its working time is due soon, as a step is.

Kept out of overdue.py and inbox.py: `case_due_items` gives the scan keys of a running case,
`all|casedue|<case due ISO Z>|<dossier>|` until marked overdue and `all|casesoon|<due-soon moment
ISO Z>|<dossier>|` until marked due soon or overdue, which the service's projection writes with the
inbox keys; `CaseDueScan.run` reads both ranges up to now (by time, not by schedule: a worker
that was down finds everything that fell due meanwhile on its first passes) and marks each case
through the service:
- due soon once per case: a journey entry DUE_SOON without step (request_id
  `due_soon|<dossier>|case`) with its `CaseDueSoon` event (past due already: marked overdue);
- overdue once per due time: an entry OVERDUE without step (request_id
  `overdue|<dossier>|case|<due ISO Z>`) with its `CaseOverdue` event, escalated to the leaders of
  the units of its running steps (the units holding the case, whose leaders may approve an
  extension, actions.py): while the case stays overdue each running step is in its unit's
  `<unit>|escalated|` list (inbox.py), whichever unit it moves to, until an extension clears the
  mark. The receiving desk is not escalated to: it holds no step of the case while it runs.
The worker runs it on the overdue timer (`RoutingWorker.scan_case_due`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis import auth, events
from onestop_chassis.clock import utcnow
from onestop_chassis.logs import get_logger
from onestop_chassis.worktime import WorkingCalendar, WorkingDuration

from . import messages
from .cases import CaseStore, Loaded
from .domain.journey import Actor, CaseState, Entry, EntryKind, case_calendar
from .inbox import InboxItem, iso_key

log = get_logger("onestop.routing")
CASE_DUE_PREFIX = "all|casedue|"
CASE_SOON_PREFIX = "all|casesoon|"
SCAN_SUBJECT = "routing-overdue-scan"


def case_due_soon_at(loaded: Loaded, calendar: WorkingCalendar, share: float) -> dt.datetime | None:
    """When `share` (0..1) of the case's working time is used: from its opening, that share of the
    working minutes to its due time less those its pauses credited (the legal limit plus its
    extensions), plus the credited minutes, on the receiving unit's calendar (the case clock's).
    None when the case has no working time left to share."""
    view = loaded.view
    assert view is not None
    calendar = case_calendar(calendar, loaded.case.dossier_code)
    opened, clock = loaded.case.opened_at, view.clock
    minutes = calendar.working_minutes(opened, clock.due_at) - clock.paused_minutes
    if minutes <= 0:
        return None
    used = math.ceil(minutes * share) + clock.paused_minutes
    return calendar.add(opened, WorkingDuration(minutes=used))


def case_due_items(loaded: Loaded, calendar: WorkingCalendar | None = None,
                   due_soon_share: float = 0.0) -> list[InboxItem]:
    """The case's scan keys while its clock runs (processing, not paused): `all|casedue|<due>|...`
    until it is marked overdue for its current due time, and (with `calendar` and a share in 0..1)
    `all|casesoon|<due-soon moment>|...` until it is marked due soon or overdue; none otherwise."""
    view, case = loaded.view, loaded.case
    if view is None or view.state is not CaseState.PROCESSING or view.overdue:
        return []
    due = view.clock.due_at
    # Shaped as the step scan's keys, `<scope>|<due>|<dossier>|<step>`, with no step: stored with them
    # (adapters/journey.py keeps `all|` keys apart, in the `scan` collection).
    item = InboxItem(key=f"{CASE_DUE_PREFIX}{iso_key(due)}|{case.dossier_code}|", dossier_code=case.dossier_code,
                     procedure_name=case.procedure_name, applicant_name=case.applicant_name, step_code="",
                     step_name="", unit_code="", entered_at=case.opened_at, due_at=due, case_due_at=due)
    items = [item]
    if calendar is not None and due_soon_share > 0 and not view.due_soon:
        soon = case_due_soon_at(loaded, calendar, due_soon_share)
        if soon is not None:
            items.append(replace(item, key=f"{CASE_SOON_PREFIX}{iso_key(soon)}|{case.dossier_code}|"))
    return items


def case_overdue(loaded: Loaded, now: dt.datetime) -> bool:
    """Running, past its due time at `now`, and not marked for that due time yet."""
    view = loaded.view
    return view is not None and view.state is CaseState.PROCESSING and not view.overdue and now > view.clock.due_at


@dataclass(frozen=True)
class CaseDueResult:
    """One pass: keys read from `all|casedue|` (found) and cases marked overdue (marked), and the
    same of `all|casesoon|`."""
    found: int = 0
    marked: int = 0
    due_soon_found: int = 0
    due_soon_marked: int = 0


class CaseDueScan:
    """One pass over `all|casedue|` and then `all|casesoon|`, each up to now, `page` keys a page,
    page after page (after the last key read) while the page was full and the pass is within
    `budget_seconds` (0: one page per range), as the step scan does; marks through the service
    (its `loaded` / `drop_if_stale` / `record`)."""

    def __init__(self, service, cases: CaseStore, page: int, clock: Callable[[], dt.datetime] = utcnow,
                 budget_seconds: float = 0.0):
        self._service, self._cases, self._page, self._clock = service, cases, page, clock
        self._budget = budget_seconds

    def run(self) -> CaseDueResult:
        started = time.monotonic()
        overdue = self._range(CASE_DUE_PREFIX, started, soon=False)
        soon = self._range(CASE_SOON_PREFIX, started, soon=True)
        return CaseDueResult(*overdue, *soon)

    def _range(self, prefix: str, started: float, soon: bool) -> tuple[int, int]:
        before = prefix + iso_key(self._clock()) + "~"
        after, found, marked = prefix, 0, 0
        while True:
            items = self._cases.inbox(after, before, self._page)
            for item in items:
                try:
                    marked += self.mark(item.dossier_code, item.key, soon=soon)
                except Exception:  # left for the next pass, as the step scan does
                    log.exception("case due scan: case not marked", dossier_code=item.dossier_code)
            found += len(items)
            if len(items) < self._page or time.monotonic() - started >= self._budget:
                return found, marked
            after = items[-1].key

    def mark(self, dossier_code: str, key: str = "", soon: bool = False) -> bool:
        """Marks the case overdue once for its current due time, or (`soon`, found by its due-soon
        key) due soon once (overdue instead when it is past due already); False (writing nothing but
        a repaired projection) when it is not due (soon), paused, ended, marked already, or another
        writer appended at the same moment (the next pass looks again). The scan `key` it was found
        by is deleted when the case does not hold it any more (a stale key is read every pass)."""
        loaded = self._service.loaded(dossier_code)
        if key and self._service.drop_if_stale(loaded, key):
            return False
        if loaded is None or loaded.view is None or loaded.template is None:
            return False
        now = max(self._clock(), loaded.log[-1].entry.at)
        view = loaded.view
        if case_overdue(loaded, now):
            kind, request_id = EntryKind.OVERDUE, f"overdue|{dossier_code}|case|{iso_key(view.clock.due_at)}"
        elif soon and view.state is CaseState.PROCESSING and not (view.due_soon or view.overdue):
            kind, request_id = EntryKind.DUE_SOON, f"due_soon|{dossier_code}|case"
        else:
            return False
        if any(logged.entry.request_id == request_id for logged in loaded.log):
            return False
        reason = "Hồ sơ quá hạn giải quyết, chuyển lãnh đạo đơn vị" if kind is EntryKind.OVERDUE else \
            "Hồ sơ sắp đến hạn giải quyết"
        entry = Entry(seq=view.seq + 1, kind=kind, at=now, actor=Actor(SCAN_SUBJECT, auth.SERVICE, ""),
                      request_id=request_id, reason=reason)
        return self._service.record(loaded, entry, [_event(loaded, kind, now)],
                                    hashlib.sha256(request_id.encode()).hexdigest()[:32])


def _event(loaded: Loaded, kind: EntryKind, now: dt.datetime) -> rev.CaseOverdue | rev.CaseDueSoon:
    """CaseOverdue (escalated to the units of the running steps) or CaseDueSoon of the case as read."""
    view = loaded.view
    assert view is not None and loaded.template is not None
    header, steps = events.new_header(messages.PRODUCER, now), messages.case_steps(loaded.case, loaded.template, view)
    event: rev.CaseOverdue | rev.CaseDueSoon
    if kind is EntryKind.OVERDUE:
        event = rev.CaseOverdue(header=header, dossier_code=loaded.case.dossier_code, steps=steps,
                                escalated_to=sorted({r.unit_code for r in view.runs}))
    else:
        event = rev.CaseDueSoon(header=header, dossier_code=loaded.case.dossier_code, steps=steps)
    event.due_at.FromDatetime(view.clock.due_at)
    return event
