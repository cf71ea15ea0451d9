"""onestop.documents.v1 messages ↔ documents domain objects."""

from __future__ import annotations

from onestop.documents.v1 import documents_pb2 as pb

from .. import domain


def upload_request(meta: pb.UploadMetadata) -> domain.UploadRequest:
    return domain.UploadRequest(
        request_id=meta.request_id.strip(), dossier_code=meta.dossier_code.strip(), kind=meta.kind,
        component=meta.component, file_name=meta.file_name, sha256=meta.sha256.strip().lower(),
        agency_code=meta.agency_code.strip())


def upload_metadata(req: domain.UploadRequest) -> pb.UploadMetadata:
    return pb.UploadMetadata(request_id=req.request_id, dossier_code=req.dossier_code, kind=req.kind,
                             component=req.component, file_name=req.file_name, sha256=req.sha256,
                             agency_code=req.agency_code)


def document(d: domain.Document) -> pb.Document:
    message = pb.Document(
        document_id=d.document_id, dossier_code=d.dossier_code, agency_code=d.agency_code, kind=int(d.kind),
        component=d.component, version=d.version, file_name=d.file_name, content_type=d.content_type,
        size_bytes=d.size_bytes, sha256=d.sha256, uploaded_by=d.uploaded_by, state=int(d.state),
        legal_hold=d.legal_hold, withdrawn_reason=d.withdrawn_reason)
    message.stored_at.FromDatetime(d.stored_at)
    if d.retention is not None:
        message.retention.mode = int(d.retention.mode)
        message.retention.retain_until.FromDatetime(d.retention.retain_until)
    return message
