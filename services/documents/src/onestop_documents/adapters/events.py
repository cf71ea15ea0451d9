"""Domain events of the documents service → onestop.events.v1 messages."""

from __future__ import annotations

from onestop.events.v1 import documents_events_pb2 as ev
from onestop_chassis import events

from .. import domain

PRODUCER = "documents"


def to_message(event):
    if isinstance(event, domain.DocumentStored):
        d = event.document
        return ev.DocumentStored(
            header=events.new_header(PRODUCER, d.stored_at), document_id=d.document_id,
            dossier_code=d.dossier_code, agency_code=d.agency_code, kind=d.kind.name, component=d.component,
            version=d.version, sha256=d.sha256, size_bytes=d.size_bytes)
    if isinstance(event, domain.DocumentsTransferred):
        return ev.DocumentsTransferred(
            header=events.new_header(PRODUCER), dossier_code=event.dossier_code,
            source_agency_code=event.source_agency, target_agency_code=event.target_agency,
            document_ids=event.document_ids)
    if isinstance(event, domain.RetentionApplied):
        message = ev.RetentionApplied(
            header=events.new_header(PRODUCER), dossier_code=event.dossier_code,
            agency_code=event.agency_code, mode=event.retention.mode.name, document_ids=event.document_ids)
        message.retain_until.FromDatetime(event.retention.retain_until)
        return message
    raise TypeError(f"no event message for {type(event).__name__}")
