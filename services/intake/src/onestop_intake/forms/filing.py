"""Files a copy of every form the desk issues with the documents service.

The intake worker handles the dossier's own events (received → form 01, supplement requested →
02, refused → 03), renders the form from the stored dossier and publishes FormIssued with the PDF;
the documents worker stores it (kind FORM). Events, not a gRPC call: grpcio cannot run in this
eventlet process, and the desk's action must not wait for, or fail with, the documents service.
"""

from __future__ import annotations

import hashlib

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events
from onestop_chassis.errors import FailedPrecondition
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import Bootstrapped, EventPublisher, event_handler, worker_settings

from ..bootstrap import bootstrap
from ..reception.adapters.events import PRODUCER
from . import issued as issued_forms
from .issued import Form

log = get_logger("onestop.intake")


def form_issued(dossier, form: Form, lookup_url: str) -> ev.FormIssued:
    pdf = issued_forms.render(dossier, form, lookup_url)
    digest = hashlib.sha256(pdf).hexdigest()
    return ev.FormIssued(
        header=events.new_header(PRODUCER), dossier_code=dossier.code, agency_code=dossier.receiving_unit.code,
        form=int(form), title=issued_forms.TITLES_VI[form], file_name=issued_forms.file_name(form, dossier.code),
        pdf=pdf, sha256=digest,
        # The same form with the same content is filed once; a re-issued form (e.g. a receipt whose
        # appointment moved) becomes the next version of the same component.
        request_id=f"form-{int(form)}-{dossier.code}-{digest[:16]}")


class FormFiling:
    """Mixed into the intake worker: one handler per event that issues a form."""

    publish_event = EventPublisher()
    dossiers = Bootstrapped(bootstrap, "dossiers")  # the stored dossiers, from intake's composition root

    @event_handler(PRODUCER, "DossierReceived", message=ev.DossierReceived)
    def file_receipt(self, event):
        self._file(event, Form.RECEIPT)

    @event_handler(PRODUCER, "DossierSupplementRequested", message=ev.DossierSupplementRequested)
    def file_supplement_request(self, event):
        self._file(event, Form.SUPPLEMENT_REQUEST)

    @event_handler(PRODUCER, "DossierRefused", message=ev.DossierRefused)
    def file_refusal(self, event):
        self._file(event, Form.REFUSAL)

    def _file(self, event, form: Form) -> None:
        # The chassis parsed the event (InvalidEvent, dead-lettered) and bound the dossier to the logs.
        dossier = self.dossiers.by_code(event.dossier_code)
        if dossier is None:
            log.error("event for an unknown dossier; no form filed", event_id=event.header.event_id)
            return
        try:
            message = form_issued(dossier, form, worker_settings().public_lookup_url)
        except FailedPrecondition as exc:  # e.g. an event older than the data the form needs
            log.warning("form not issued; nothing filed", form=int(form), reason=exc.message)
            return
        self.publish_event(message)  # raises when the broker refuses: the event is redelivered
        log.info("form issued", form=int(form), sha256=message.sha256, size_bytes=len(message.pdf))
