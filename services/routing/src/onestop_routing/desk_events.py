"""Routing's side of the desk's events (intake's DossierSupplementRequested and
DossierSupplementReceived): the pause and resume they cause, timed by the events' occurred_at, and
their order on separate queues (a request or receipt may overtake the case's opening, a receipt
may overtake its request). A mixin of RoutingService (service.py), kept apart for its size."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from onestop_chassis import auth
from onestop_chassis.errors import Aborted
from onestop_chassis.logs import get_logger
from onestop_chassis.worktime import WorkingCalendar

from .cases import CaseNotOpenedYet, CaseStore, Loaded, Logged, Stored, UnknownCase
from .domain import journey
from .domain.actions import Command, Resume
from .domain.journey import SUPPLEMENT_STATUS, Actor, CaseState, Entry, EntryKind

log = get_logger("onestop.routing")

INTAKE = Actor("intake", auth.SERVICE, "")  # the actor of entries caused by intake's events


class DeskEvents:
    _cases: CaseStore
    _calendar: WorkingCalendar

    if TYPE_CHECKING:  # RoutingService's
        def _fold(self, stored: Stored) -> Loaded: ...
        def _at(self, loaded: Loaded, occurred_at: dt.datetime | None = None) -> dt.datetime: ...
        def _project(self, loaded: Loaded, *, repair: bool = False) -> None: ...
        def _run(self, loaded: Loaded, actor: Actor, command: Command, request_id: str, *,
                 at: dt.datetime | None = None) -> Loaded: ...

    def resume_after_supplement(self, dossier_code: str, event_id: str, *,
                                occurred_at: dt.datetime | None = None) -> bool:
        """Intake received the supplement: a case paused for it runs again (its clocks credit the
        paused working time up to `occurred_at`, the event's header time, never before the case's
        last entry: a backlog or a worker down for a day does not lengthen the citizen's pause;
        routing's clock when not given). False when this event was applied before. A running case
        not paused for a supplement records the receipt (SUPPLEMENT_RECEIVED): the desk's request
        it answers, on another queue, was not processed yet, and will not pause the case when it
        is. A case without template or ended is left as it is. CaseNotOpenedYet (retried,
        bounded, then dead-lettered) while routing has no case for the dossier."""
        loaded = self._for_intake_event("DossierSupplementReceived", dossier_code, event_id, wait=True)
        if loaded is None:
            return False
        view = loaded.view
        if view is None or loaded.template is None or view.state in journey.ENDED:
            log.info("supplement received for a case without process or ended: nothing to resume")
            return True
        if view.state is CaseState.PAUSED and view.national_status == SUPPLEMENT_STATUS:
            self._run(loaded, INTAKE, Resume("Đã nhận hồ sơ bổ sung"), event_id, at=occurred_at)
            return True
        entry = Entry(view.seq + 1, EntryKind.SUPPLEMENT_RECEIVED, self._at(loaded, occurred_at), INTAKE, event_id,
                      "Đã nhận hồ sơ bổ sung trước khi xử lý yêu cầu bổ sung")
        self._append_intake_entry(loaded, entry)
        return True

    def _for_intake_event(self, event_type: str, dossier_code: str, event_id: str, *,
                          wait: bool = False) -> Loaded | None:
        """The case an intake event is about; None when that event was applied before (its id is
        an entry's request_id). When routing has no case for the dossier: UnknownCase (dead-lettered
        at once), or with `wait` CaseNotOpenedYet (retried until the case opens, bounded)."""
        stored = self._cases.load(dossier_code)
        if stored is None:
            if wait:
                raise CaseNotOpenedYet(f"{event_type} for dossier {dossier_code}, whose case is not open yet: "
                                       "retried until its DossierReceived opened it")
            raise UnknownCase(f"{event_type} for dossier {dossier_code}, which has no case")
        loaded = self._fold(stored)
        return None if any(item.entry.request_id == event_id for item in loaded.log) else loaded

    def pause_for_desk_supplement(self, dossier_code: str, event_id: str, reason: str, *,
                                  occurred_at: dt.datetime | None = None) -> bool:
        """The desk asked for a supplement on its own (DossierSupplementRequested, no routing_event_id):
        a running routed case pauses (status 5, no event: intake shows 5 and issued form 02) until
        the desk receives it. False when applied before; a case not running is left as it is;
        CaseNotOpenedYet (retried, bounded) while the dossier has no case: the request overtook the
        DossierReceived that opens it, and is applied once the case is open (pausing it from then);
        ABORTED `CONCURRENT_CHANGE` (retried) on a concurrent append. The pause starts at
        `occurred_at` (the event's header time; routing's clock when not given), never before the
        case's last entry."""
        loaded = self._for_intake_event("DossierSupplementRequested", dossier_code, event_id, wait=True)
        if loaded is None:
            return False
        view = loaded.view
        if view is None or loaded.template is None or view.state is not CaseState.PROCESSING:
            return True  # nothing runs that could pause
        if any(item.entry.kind is EntryKind.SUPPLEMENT_RECEIVED for item in loaded.log):
            log.info("the desk's supplement request was answered before it was processed: no pause")
            return True
        entry = Entry(view.seq + 1, EntryKind.PAUSED, self._at(loaded, occurred_at), INTAKE,
                      event_id, reason.strip() or "Bộ phận Một cửa yêu cầu bổ sung", pause=journey.PauseKind.SUPPLEMENT)
        self._append_intake_entry(loaded, entry)
        return True

    def _append_intake_entry(self, loaded: Loaded, entry: Entry) -> None:
        """Appends an entry caused by intake's event (no event of routing's) and projects it;
        ABORTED `CONCURRENT_CHANGE` (the chassis retries the event) when its seq was taken."""
        assert loaded.view is not None and loaded.template is not None
        after = journey.apply(loaded.view, loaded.template, self._calendar, entry)
        if not self._cases.append(loaded.case.dossier_code, Logged(entry), []):  # idempotent by the event id
            raise Aborted("CONCURRENT_CHANGE", f"case {loaded.case.dossier_code} changed at the same moment: retried")
        self._project(Loaded(loaded.case, (*loaded.log, Logged(entry)), loaded.template, after, loaded.projected))
