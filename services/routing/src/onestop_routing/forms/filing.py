"""Files forms 04 and 05 with the documents service when the entry that issues them happens, the
way intake files forms 01-03 (onestop_intake.forms.filing): routing's worker follows its own
CaseExtended (form 04) and CaseStopped (form 05), renders the form from the journey as read and
publishes FormIssued (producer routing); the documents worker stores it (kind FORM). Events, not
a gRPC call: grpcio cannot run in this eventlet process, and the leader's action must not wait for
the documents service. Form 06 is not filed: it changes with every handover (GetCaseForm renders
it on demand)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

from onestop.events.v1 import intake_events_pb2 as ev
from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis import auth, events
from onestop_chassis.errors import FailedPrecondition, NotFound
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import EventPublisher, event_handler

from ..cases import Loaded
from ..messages import PRODUCER
from ..service import RoutingService
from . import printed

log = get_logger("onestop.routing")
WORKER = auth.Principal("routing-worker", frozenset({auth.SERVICE}), "")


def form_issued(loaded: Loaded, form: printed.Form, number: int = 0,
                names: Mapping[str, str] = printed.NO_NAMES) -> ev.FormIssued:
    """The FormIssued of `form` (the `number`-th apology for form 04), units named from `names`;
    FAILED_PRECONDITION FORM_NOT_ISSUED as `printed.render`. Its request_id is stable for one case,
    form and content, so a redelivered event files the form once."""
    pdf = printed.render(loaded, form, number, names)
    digest = hashlib.sha256(pdf).hexdigest()
    code = loaded.case.dossier_code
    return ev.FormIssued(
        header=events.new_header(PRODUCER), dossier_code=code, agency_code=loaded.case.receiving_unit_code,
        form=int(form), title=printed.TITLES_VI[form], file_name=printed.file_name(form, code, number), pdf=pdf,
        sha256=digest, request_id=f"form-{int(form)}-{code}-{number}-{digest[:16]}")


def extension_number(loaded: Loaded, event: rev.CaseExtended) -> int:
    """Which extension (1, 2, ...) the event announced: the one with its new due time; 0 when none."""
    if loaded.view is None:
        return 0
    new_due = int(event.new_due_at.ToDatetime(dt.UTC).timestamp())
    for number, extension in enumerate(loaded.view.extensions, start=1):
        if int(extension.new_due_at.timestamp()) == new_due and extension.reason == event.reason:
            return number
    return 0


class CaseFormFiling:
    """Mixed into routing's worker: one handler per event that issues a form."""

    publish_event = EventPublisher()
    routing: RoutingService

    @event_handler(PRODUCER, "CaseExtended", message=rev.CaseExtended)
    def file_apology(self, event: rev.CaseExtended) -> None:
        loaded = self._case(event.dossier_code)
        number = extension_number(loaded, event) if loaded is not None else 0
        if loaded is None or number == 0:
            log.error("CaseExtended names no extension of the case; no form filed", event_id=event.header.event_id)
            return
        # The agency at fault by the name the api process put in the event (the worker asks intake
        # nothing: grpcio cannot run under eventlet); by its code when the event has none.
        fault = event.agency_at_fault
        self._file(loaded, printed.Form.APOLOGY, number, {fault.code: fault.name} if fault.name else {})

    @event_handler(PRODUCER, "CaseStopped", message=rev.CaseStopped)
    def file_stop_notice(self, event: rev.CaseStopped) -> None:
        loaded = self._case(event.dossier_code)
        if loaded is not None:
            self._file(loaded, printed.Form.STOP_NOTICE)

    def _case(self, code: str) -> Loaded | None:
        try:
            return self.routing.get_case(code, WORKER)
        except NotFound:
            log.error("event for an unknown case; no form filed")
            return None

    def _file(self, loaded: Loaded, form: printed.Form, number: int = 0,
              names: Mapping[str, str] = printed.NO_NAMES) -> None:
        try:
            message = form_issued(loaded, form, number, names)
        except FailedPrecondition as exc:
            log.warning("form not issued; nothing filed", form=int(form), reason=exc.message)
            return
        self.publish_event(message)  # raises when the broker refuses: the event is redelivered
        log.info("form issued", form=int(form), sha256=message.sha256, size_bytes=len(message.pdf))
