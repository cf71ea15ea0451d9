"""The documents service as intake's api sees it: short-lived links to a finished dossier's result
files, asked for with the service's own SERVICE token. grpcio client: api process only (grpcio
deadlocks under the worker's eventlet; the worker files forms by event instead, see forms.filing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from onestop.documents.v1 import documents_pb2 as pb
from onestop.documents.v1 import documents_pb2_grpc
from onestop_chassis.clients import ServiceClient
from onestop_chassis.errors import Unavailable


@dataclass(frozen=True)
class ResultLink:
    file_name: str
    component: str
    content_type: str
    size_bytes: int
    sha256: str
    url: str
    expires_at: dt.datetime


class DocumentsClient(ServiceClient):
    """The documents service's API, as intake's api process calls it. The channel opens, and the
    token (`token()`, e.g. chassis `auth.service_token`) is read, at the first call: a process that
    never calls (the eventlet worker, which must not call grpcio) opens nothing."""

    def __init__(self, address: str, token: Callable[[], str], timeout: float = 30.0):
        super().__init__(address, documents_pb2_grpc.DocumentsServiceStub, token, timeout)

    def _failed(self, exc: grpc.RpcError, what: str) -> Unavailable:
        return self.unavailable("DOCUMENTS_UNAVAILABLE", "the documents service", what, exc)

    def result_links(self, *, dossier_code: str, agency_code: str, ttl_seconds: int = 300) -> list[ResultLink]:
        """Presigned links to the newest version of each result file of the dossier."""
        try:
            stub = self.stub()
            listed = stub.ListDocuments(pb.ListDocumentsRequest(dossier_code=dossier_code, agency_code=agency_code),
                                        metadata=self.metadata, timeout=self.timeout)
            newest: dict[str, pb.Document] = {}
            for document in listed.documents:
                if document.kind == pb.DOCUMENT_KIND_RESULT and \
                        document.version > newest.get(document.component, pb.Document()).version:
                    newest[document.component] = document
            links = []
            for document in sorted(newest.values(), key=lambda d: d.component):
                link = stub.GetDownloadLink(pb.GetDownloadLinkRequest(document_id=document.document_id,
                                                                      ttl_seconds=ttl_seconds),
                                            metadata=self.metadata, timeout=self.timeout)
                links.append(ResultLink(document.file_name, document.component, document.content_type,
                                        document.size_bytes, document.sha256, link.url,
                                        link.expires_at.ToDatetime(dt.UTC)))
        except grpc.RpcError as exc:
            raise self._failed(exc, "list the result files") from None
        return links
