"""Routing's `worker` process: opens a case for every received dossier and resumes a case when the
desk received the supplement it asked for, and pauses it when the desk asks for one on its own;
files forms 04 and 05 (forms.filing)."""

from __future__ import annotations

import datetime as dt

from prometheus_client import Counter

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import codes, events
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import (
    Bootstrapped,
    MongoConnection,
    Observability,
    OutboxRelayRunner,
    event_handler,
    periodic,
)

from . import domain
from .adapters.journey import outbox_collections
from .bootstrap import bootstrap
from .case_due import CaseDueResult
from .forms.filing import CaseFormFiling
from .overdue import ScanResult

log = get_logger("onestop.routing")
CASES_OPENED = Counter("onestop_routing_cases_opened", "Cases opened from received dossiers", ["channel"])


def open_case_command(event: ev.DossierReceived) -> domain.OpenCase:
    """The command for a received dossier; events.InvalidEvent (a PermanentError: the message goes
    to the dead-letter queue) when it lacks what a case needs: a dossier code as intake issues them,
    its reception time and its appointment."""
    if not codes.DOSSIER_CODE.fullmatch(event.dossier_code):
        raise events.InvalidEvent(f"DossierReceived has no valid dossier code: {event.dossier_code[:40]!r}")
    if not (event.HasField("received_at") and event.HasField("appointment_at")):
        raise events.InvalidEvent(f"DossierReceived {event.dossier_code} has no received_at or appointment_at")
    return domain.OpenCase(
        event_id=event.header.event_id, dossier_code=event.dossier_code, procedure_code=event.procedure_code,
        procedure_name=event.procedure_name, receiving_unit_code=event.receiving_unit.code,
        receiving_unit_name=event.receiving_unit.name, channel=event.channel,
        applicant_name=event.applicant.full_name,
        received_at=event.received_at.ToDatetime(dt.UTC), due_at=event.appointment_at.ToDatetime(dt.UTC),
        process_code=event.process_code.strip(), receiving_agency_code=event.receiving_agency_code.strip())


def occurred_at(event: ev.DossierSupplementReceived | ev.DossierSupplementRequested) -> dt.datetime | None:
    """When the desk's event happened (its header), which times the pause, not when routing
    processes it; None when the header has no time (routing's clock then)."""
    return event.header.occurred_at.ToDatetime(dt.UTC) if event.header.HasField("occurred_at") else None


class RoutingWorker(CaseFormFiling):
    name = "routing"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*outbox_collections())  # only with OUTBOX_RELAY_IN_WORKER
    routing = Bootstrapped(bootstrap, "service")
    overdue = Bootstrapped(bootstrap, "overdue")
    case_due = Bootstrapped(bootstrap, "case_due")

    # A failure (e.g. the database is down) is retried a bounded number of times; a payload that is
    # not a DossierReceived (InvalidEvent) goes to the dead-letter queue (onestop_chassis.dead_letters).
    @event_handler("intake", "DossierReceived", message=ev.DossierReceived)
    def on_dossier_received(self, event: ev.DossierReceived) -> bool:
        """Opens the dossier's case (with its process template, if the procedure has one); False
        when it was opened before (the chassis counts the repeat)."""
        if not self.routing.open_case(open_case_command(event)):
            return False
        CASES_OPENED.labels(str(event.channel)).inc()
        log.info("case opened", event_id=event.header.event_id)
        return True

    @event_handler("intake", "DossierSupplementReceived", message=ev.DossierSupplementReceived)
    def on_supplement_received(self, event: ev.DossierSupplementReceived) -> bool:
        """The desk received the supplement a step asked for: the case's clocks run again (the
        pause ends at the event's occurred_at). False when this event was applied before. A receipt
        that overtook the desk's request is recorded so that the request does not pause the case;
        one that overtook the DossierReceived opening the case waits for it (CaseNotOpenedYet,
        retried with growing delays, dead-lettered only if no case opens)."""
        if not codes.DOSSIER_CODE.fullmatch(event.dossier_code):
            raise events.InvalidEvent(f"DossierSupplementReceived has no valid dossier code: "
                                      f"{event.dossier_code[:40]!r}")
        return self.routing.resume_after_supplement(event.dossier_code, event.header.event_id,
                                                    occurred_at=occurred_at(event))

    @periodic("overdue_scan_seconds")
    def scan_overdue(self) -> ScanResult:
        """One pass of the overdue scan (overdue.py): marks running steps past due or due soon,
        at most OVERDUE_SCAN_PAGE per range; it needs no call and catches up after downtime."""
        result = self.overdue.run()
        if result.overdue_marked or result.due_soon_marked:
            log.info("overdue scan", **result.__dict__)
        return result

    @periodic("overdue_scan_seconds")
    def scan_case_due(self) -> CaseDueResult:
        """One pass of the case's own clock (case_due.py): a running case past its due time is
        marked overdue once per due time (escalated to the leaders of its steps' units), whether or
        not a step is; a case that used DUE_SOON_SHARE of its time is marked due soon once."""
        result = self.case_due.run()
        if result.marked or result.due_soon_marked:
            log.info("case due scan", found=result.found, marked=result.marked,
                     due_soon_found=result.due_soon_found, due_soon_marked=result.due_soon_marked)
        return result

    @event_handler("intake", "DossierSupplementRequested", message=ev.DossierSupplementRequested)
    def on_supplement_requested(self, event: ev.DossierSupplementRequested) -> bool:
        """The desk asked for a supplement on its own: the routed case pauses (status 5) until the
        desk receives it. A request carrying `routing_event_id` carries out routing's own request
        (the case paused already) and changes nothing. False when this event was applied before.
        A request that overtook the DossierReceived opening the case waits: CaseNotOpenedYet is
        retried by the chassis (growing delays, bounded) and dead-lettered only if no case opens."""
        if event.routing_event_id:
            return True
        if not codes.DOSSIER_CODE.fullmatch(event.dossier_code):
            raise events.InvalidEvent(f"DossierSupplementRequested has no valid dossier code: "
                                      f"{event.dossier_code[:40]!r}")
        return self.routing.pause_for_desk_supplement(event.dossier_code, event.header.event_id, event.reason,
                                                      occurred_at=occurred_at(event))
