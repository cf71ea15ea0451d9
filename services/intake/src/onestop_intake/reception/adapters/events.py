"""Domain events of the desk → onestop.events.v1 messages."""

from __future__ import annotations

from onestop.common.v1 import common_pb2 as common
from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events

from ...shared import proto
from .. import domain

PRODUCER = "intake"


def _received_by(d) -> str:
    """The desk officer who received the dossier (status 2); "" when nobody did at a desk."""
    return next((t.actor for t in d.history if t.status == domain.DossierStatus.RECEIVED), "")


def to_message(event):
    d = event.dossier
    if isinstance(event, domain.DossierReceived):
        message = ev.DossierReceived(
            header=events.new_header(PRODUCER, d.history[-1].at), dossier_code=d.code,
            procedure_code=d.procedure_code, procedure_name=d.procedure_name,
            receiving_unit=proto.unit_ref(d.receiving_unit), channel=int(d.channel),
            applicant=proto.applicant_to_proto(d.applicant),
            legal_duration=proto.duration_to_proto(d.legal_duration), process_code=d.process_code,
            receiving_agency_code=d.receiving_unit.parent_code)
        message.received_at.FromDatetime(d.received_at)
        message.appointment_at.FromDatetime(d.appointment_at)
        return message
    if isinstance(event, domain.DossierSubmitted):
        message = ev.DossierSubmitted(
            header=events.new_header(PRODUCER, d.received_at), dossier_code=d.code,
            procedure_code=d.procedure_code, receiving_unit=proto.unit_ref(d.receiving_unit))
        message.submitted_at.FromDatetime(d.received_at)
        return message
    if isinstance(event, domain.DossierSupplementRequested):
        return ev.DossierSupplementRequested(header=events.new_header(PRODUCER), dossier_code=d.code,
                                             reason=event.reason, documents_to_add=list(event.documents_to_add),
                                             routing_event_id=event.routing_event_id)
    if isinstance(event, domain.DossierSupplementReceived):
        message = ev.DossierSupplementReceived(header=events.new_header(PRODUCER), dossier_code=d.code)
        if d.appointment_at is not None:
            message.appointment_at.FromDatetime(d.appointment_at)
        return message
    if isinstance(event, domain.DossierRefused):
        return ev.DossierRefused(header=events.new_header(PRODUCER), dossier_code=d.code, reasons=list(event.reasons))
    if isinstance(event, domain.DossierWithdrawalRequested):
        return ev.DossierWithdrawalRequested(header=events.new_header(PRODUCER), dossier_code=d.code,
                                             reason=event.reason)
    if isinstance(event, domain.DossierFinished):
        return _finished(d)
    if isinstance(event, domain.DossierResultReturned):
        return _result_returned(d)
    raise TypeError(f"no event message for {type(event).__name__}")


def _result_returned(d) -> ev.DossierResultReturned:
    r = d.result_return
    message = ev.DossierResultReturned(header=events.new_header(PRODUCER, r.returned_at), dossier_code=d.code,
                                       receiving_unit=proto.unit_ref(d.receiving_unit), method=int(r.method),
                                       postal_tracking_number=r.postal_tracking_number,
                                       procedure_code=d.procedure_code, procedure_name=d.procedure_name,
                                       channel=int(d.channel), receiving_agency_code=d.receiving_unit.parent_code,
                                       received_by=_received_by(d), returned_by=r.returned_by,
                                       field_code=d.field_code)
    message.returned_at.FromDatetime(r.returned_at)
    return message


def _finished(d: domain.Dossier) -> ev.DossierFinished:
    """DossierFinished; with the applicant (name, phone, address) only when they chose postal return,
    for delivery to book the parcel."""
    message = ev.DossierFinished(header=events.new_header(PRODUCER, d.result.finished_at), dossier_code=d.code,
                                 receiving_unit=proto.unit_ref(d.receiving_unit), procedure_code=d.procedure_code,
                                 timeliness=int(d.result.timeliness), return_by_post=d.return_by_post)
    if d.return_by_post:
        a = d.applicant
        message.applicant.MergeFrom(common.Applicant(kind=a.kind, full_name=a.full_name, phone=a.phone,
                                                     address=proto.applicant_to_proto(a).address))
    message.finished_at.FromDatetime(d.result.finished_at)
    if d.appointment_at is not None:
        message.appointment_at.FromDatetime(d.appointment_at)
    return message
