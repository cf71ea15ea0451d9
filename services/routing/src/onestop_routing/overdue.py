"""Overdue found by itself (issue 11 item 5): one pass of the scan that routing's worker runs on a
timer (`RoutingWorker.scan_overdue`, every OVERDUE_SCAN_SECONDS).

A pass reads two `_id` ranges of the `scan` collection (adapters/journey.py keeps the `all|` keys
there, apart from the inboxes), each up to now: `all|running|<step due>`
(running steps past their due time) and `all|duesoon|<due-soon moment>` (running steps that used
DUE_SOON_SHARE of their budget), and marks each step run found once through the service (a
journey entry OVERDUE / DUE_SOON with its StepOverdue event; an overdue step is escalated to its
unit's leader, whose ListInbox SCOPE_ESCALATED lists it). A paused step is not in either range,
nor a step marked before (the projection drops its key), so each range holds only work to do; a
key the projection failed to drop is deleted when a mark finds its case does not hold it. The
ranges are by due time, not by schedule: a worker that was down for a day finds everything that
fell due meanwhile on its first passes. A pass reads OVERDUE_SCAN_PAGE keys per page and starts no new page after
OVERDUE_SCAN_BUDGET_SECONDS, so one pass never holds the worker for long (each mark's database
calls yield the worker's hub); what is left is the next pass's. The cases of a page are marked
OVERDUE_SCAN_WORKERS at a time (threads; green threads in the eventlet worker), the steps of one
case one after the other, so a case's marks never race each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client import Counter

from onestop_chassis import auth
from onestop_chassis.clock import utcnow
from onestop_chassis.logs import get_logger

from . import messages
from .cases import CaseStore
from .domain.journey import ENDED, Actor, CaseState, Entry, EntryKind
from .inbox import DUE_SOON_PREFIX, RUNNING_PREFIX, InboxItem, iso_key
from .service import RoutingService

log = get_logger("onestop.routing")
SCAN_SUBJECT = "routing-overdue-scan"  # the actor of the scan's marks
MARKED = Counter("onestop_routing_steps_marked", "Step runs the overdue scan marked", ["mark"])


@dataclass(frozen=True)
class ScanResult:
    """One pass: keys read from each range and step runs marked."""
    overdue_found: int = 0
    overdue_marked: int = 0
    due_soon_found: int = 0
    due_soon_marked: int = 0


class OverdueScan:
    """The scan of one process: the service it marks through, the store whose scan ranges it reads,
    the keys it reads per page (`page` > 0), the seconds after which a pass starts no new page
    (`budget_seconds`; 0: one page per range and pass) and the cases it marks at once (`workers`)."""

    def __init__(self, service: RoutingService, cases: CaseStore, page: int, budget_seconds: float = 0.0,
                 clock: Callable[[], dt.datetime] = utcnow, workers: int = 1):
        self._service, self._cases, self._page, self._budget, self._clock = (service, cases, page, budget_seconds,
                                                                            clock)
        self._workers = max(1, workers)

    def due(self, prefix: str, limit: int, after: str = "") -> list[InboxItem]:
        """The scan list `prefix` (RUNNING_PREFIX or DUE_SOON_PREFIX) up to now, soonest first, at
        most `limit`, keys after `after`: the running steps past their due (or due-soon) moment."""
        return self._cases.inbox(after or prefix, prefix + iso_key(self._clock()) + "~", limit)

    def run(self) -> ScanResult:
        """One pass over both ranges: a page of each, and further pages (after the last key read)
        while the page was full and the pass is within its time budget. A step whose mark fails
        (the database, a template missing) is logged and left for the next pass."""
        started = time.monotonic()
        counts = {}
        with ThreadPoolExecutor(self._workers, thread_name_prefix="overdue-scan") as pool:
            for name, prefix, overdue in (("overdue", RUNNING_PREFIX, True), ("due_soon", DUE_SOON_PREFIX, False)):
                found = marked = 0
                after = prefix
                while True:
                    items = self.due(prefix, self._page, after)
                    by_case: dict[str, list[InboxItem]] = {}
                    for item in items:
                        by_case.setdefault(item.dossier_code, []).append(item)
                    marked += sum(pool.map(lambda steps, o=overdue, n=name: self._mark_all(steps, o, n),
                                           by_case.values()))
                    found += len(items)
                    if len(items) < self._page or time.monotonic() - started >= self._budget:
                        break
                    after = items[-1].key
                counts[f"{name}_found"], counts[f"{name}_marked"] = found, marked
        return ScanResult(**counts)

    def _mark_all(self, items: list[InboxItem], overdue: bool, name: str) -> int:
        """Marks the steps of one case found in one page, one after the other; how many it marked."""
        marked = 0
        for item in items:
            try:
                if self.mark(item, overdue):
                    marked += 1
                    MARKED.labels(name).inc()
            except Exception:
                log.exception("overdue scan: step not marked", dossier_code=item.dossier_code, step=item.step_code)
        return marked

    def mark(self, item: InboxItem, overdue: bool) -> bool:
        """Marks the step run `item` names once: an OVERDUE entry (escalated to its unit's leader:
        `escalated_to` = the unit code) or a DUE_SOON one (OVERDUE if it is past due already), with
        its StepOverdue event. The request_id `overdue|<dossier>|<step>|<entered ISO Z>`
        (`due_soon|...`) and the run's own flag make it once per run. False, writing nothing but a
        repaired projection, when the run is gone (moved on, case ended), paused, not yet due,
        marked before, or another writer appended at the same moment (the next pass sees it again
        if it is still due); a key the case does not hold any more is deleted (it would be read on
        every pass)."""
        loaded = self._service.loaded(item.dossier_code)
        if self._service.drop_if_stale(loaded, item.key):
            return False
        if loaded is None or loaded.view is None or loaded.template is None:
            return False
        view = loaded.view
        run = view.run(item.step_code)
        now = max(self._clock(), loaded.log[-1].entry.at)
        if (run is None or run.entered_at != item.entered_at or view.state in ENDED
                or view.state is CaseState.PAUSED or run.clock.paused or run.overdue or (run.due_soon and not overdue)):
            return False
        if overdue and not run.clock.is_overdue(now):
            return False
        overdue = overdue or run.clock.is_overdue(now)  # found due soon, past due already: overdue
        kind = EntryKind.OVERDUE if overdue else EntryKind.DUE_SOON
        request_id = f"{kind}|{item.dossier_code}|{run.step}|{iso_key(run.entered_at)}"
        if any(logged.entry.request_id == request_id for logged in loaded.log):
            return False
        reason = "Quá hạn xử lý bước, chuyển lãnh đạo đơn vị" if overdue else "Sắp đến hạn xử lý bước"
        entry = Entry(seq=view.seq + 1, kind=kind, at=now, actor=Actor(SCAN_SUBJECT, auth.SERVICE, run.unit_code),
                      request_id=request_id, reason=reason, step=run.step)
        event = messages.step_overdue(loaded.case, loaded.template, view, entry, run.unit_code if overdue else "")
        return self._service.record(loaded, entry, [event], hashlib.sha256(request_id.encode()).hexdigest()[:32])
