"""Documents' `api` process: the DocumentsService gRPC API (client- and server-streaming)."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.documents.v1 import documents_pb2 as pb
from onestop.documents.v1 import documents_pb2_grpc
from onestop_chassis import auth, dependencies
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit
from onestop_chassis.errors import InvalidArgument
from onestop_chassis.logs import bind_dossier, get_logger

from .adapters import proto
from .bootstrap import Documents, bootstrap, prepare_database
from .config import DocumentsSettings
from .service import DocumentsService

log = get_logger("onestop.documents")
STAFF = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.AGENCY_ADMIN, auth.SERVICE)
STORED = Counter("onestop_documents_stored", "Document uploads by outcome", ["kind", "outcome"])
STORED_BYTES = Counter("onestop_documents_stored_bytes", "Bytes of new document objects stored")


def _chunks(request_iterator):
    for message in request_iterator:
        if message.WhichOneof("part") != "chunk":
            raise InvalidArgument("METADATA_FIRST", "only the first message may carry metadata; the rest carry chunks")
        yield message.chunk


class DocumentsServicer(documents_pb2_grpc.DocumentsServiceServicer):
    def __init__(self, service: DocumentsService):
        self._service = service

    @auth.requires(*STAFF)
    def UploadDocument(self, request_iterator, context):
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgument("METADATA_FIRST", "the first message of an upload must carry its metadata")
        request = proto.upload_request(first.metadata)
        bind_dossier(request.dossier_code)
        result = self._service.upload(request, _chunks(request_iterator), auth.current_principal(),
                                      connected=context.is_active)
        d = result.document
        outcome = "replayed" if result.replayed else "deduplicated" if result.deduplicated else "stored"
        STORED.labels(d.kind.name.lower(), outcome).inc()
        if outcome == "stored":
            STORED_BYTES.inc(d.size_bytes)
        log.info("document upload", outcome=outcome, document_id=d.document_id, version=d.version,
                 size_bytes=d.size_bytes, sha256=d.sha256)
        return pb.UploadDocumentResponse(document=proto.document(d), deduplicated=result.deduplicated,
                                         replayed=result.replayed)

    @auth.requires(*STAFF)
    def DownloadDocument(self, request, context):
        document, chunks = self._service.download(request.document_id.strip(), auth.current_principal())
        bind_dossier(document.dossier_code)
        yield pb.DownloadDocumentResponse(document=proto.document(document))
        for chunk in chunks:
            yield pb.DownloadDocumentResponse(chunk=chunk)

    @auth.requires(*STAFF)
    def GetDownloadLink(self, request, context):
        url, expires = self._service.download_link(request.document_id.strip(), request.ttl_seconds,
                                                   auth.current_principal())
        response = pb.GetDownloadLinkResponse(url=url)
        response.expires_at.FromDatetime(expires)
        return response

    @auth.requires(*STAFF)
    def ListDocuments(self, request, context):
        documents = self._service.list(request.dossier_code.strip(), request.agency_code.strip(),
                                       auth.current_principal(), include_withdrawn=request.include_withdrawn)
        return pb.ListDocumentsResponse(documents=[proto.document(d) for d in documents])

    @auth.requires(*STAFF)
    def WithdrawDocument(self, request, context):
        document = self._service.withdraw(request.document_id.strip(), request.reason, auth.current_principal())
        return pb.WithdrawDocumentResponse(document=proto.document(document))

    @auth.requires(auth.PROCESSING_OFFICER, auth.AGENCY_ADMIN, auth.SERVICE)
    def ApplyRetention(self, request, context):
        documents = self._service.apply_retention(request.dossier_code.strip(), request.agency_code.strip(),
                                                  auth.current_principal())
        return pb.ApplyRetentionResponse(documents=[proto.document(d) for d in documents])

    @auth.requires(auth.AGENCY_ADMIN, auth.SERVICE)
    def SetLegalHold(self, request, context):
        document = self._service.legal_hold(request.document_id.strip(), request.on, auth.current_principal())
        return pb.SetLegalHoldResponse(document=proto.document(document))

    @auth.requires(*STAFF)
    def TransferDocuments(self, request, context):
        receipts, sent_now = self._service.transfer(
            request.dossier_code.strip(), request.source_agency_code.strip(), request.target_agency_code.strip(),
            auth.current_principal())
        return pb.TransferDocumentsResponse(
            transferred=[pb.Document(document_id=r.document_id, sha256=r.sha256,
                                     agency_code=request.target_agency_code.strip(),
                                     dossier_code=request.dossier_code.strip()) for r in receipts],
            sent_now=sent_now)

    @auth.requires(*STAFF)
    def GetDigitisationStatus(self, request, context):
        counts = self._service.digitisation(request.dossier_code.strip(), request.agency_code.strip(),
                                            auth.current_principal())
        return pb.GetDigitisationStatusResponse(
            has_component_files=counts["components"] > 0, has_result_file=counts["results"] > 0,
            component_files=counts["components"], result_files=counts["results"])


def register(server, documents: Documents) -> None:
    """Adds documents' servicer to the chassis gRPC server, and MinIO to what its health reports
    (every upload needs it)."""
    server.add_servicer(documents_pb2_grpc.add_DocumentsServiceServicer_to_server,
                        DocumentsServicer(documents.service), pb.DESCRIPTOR.services_by_name["DocumentsService"])
    server.add_dependency(dependencies.OBJECT_STORE, documents.store_probe)


def main() -> None:
    settings = load_or_exit(DocumentsSettings)

    def start(server) -> None:
        prepare_database()
        register(server, bootstrap(settings))
    run_api(settings, start)
