"""Other agencies' documents services, called with grpcio from the api process (never from the
eventlet worker). DOCUMENTS_PEERS maps agency codes to their documents service addresses."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from onestop.documents.v1 import documents_pb2 as pb
from onestop.documents.v1 import documents_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.errors import Unavailable

from .. import domain
from ..service import PeerReceipt
from . import proto


def parse_peers(value: str) -> dict[str, str]:
    """'000.00.11.H17=10.0.0.5:50053,000.00.12.H17=docs.example:50053' → {agency: address}."""
    peers = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        agency, _, address = item.partition("=")
        if not address:
            raise ValueError(f"DOCUMENTS_PEERS entry {item!r} must look like <unit code>=<host:port>")
        peers[agency.strip()] = address.strip()
    return peers


class GrpcPeers:
    def __init__(self, addresses: dict[str, str], token: str, timeout: float = 300.0):
        self._addresses = addresses
        self._token = token
        self._timeout = timeout
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> GrpcPeers:
        # SERVICE_TOKEN, or (local mode) one minted from JWT_SECRET that peers' lifetime limit accepts;
        # nothing in production without SERVICE_TOKEN, where there is no secret to sign with.
        token = auth.service_token(settings) if settings.service_token or settings.jwt_secret else ""
        return cls(parse_peers(settings.documents_peers), token)

    def knows(self, agency_code: str) -> bool:
        return agency_code in self._addresses

    def _stub(self, agency_code: str) -> documents_pb2_grpc.DocumentsServiceStub:
        with self._lock:
            channel = self._channels.get(agency_code)
            if channel is None:
                channel = self._channels[agency_code] = grpc.insecure_channel(self._addresses[agency_code])
        return documents_pb2_grpc.DocumentsServiceStub(channel)

    def upload(self, agency_code: str, request: domain.UploadRequest, chunks: Iterator[bytes]) -> PeerReceipt:
        def messages():
            yield pb.UploadDocumentRequest(metadata=proto.upload_metadata(request))
            for chunk in chunks:
                yield pb.UploadDocumentRequest(chunk=chunk)
        try:
            response = self._stub(agency_code).UploadDocument(
                messages(), metadata=(("authorization", f"Bearer {self._token}"),), timeout=self._timeout)
        except grpc.RpcError as exc:
            raise Unavailable("PEER_FAILED", f"agency {agency_code}'s documents service answered "
                                             f"{exc.code().name}: {exc.details()}") from None
        return PeerReceipt(response.document.document_id, response.document.sha256, response.replayed)


class NoPeers:
    """Peers for the worker process, which never transfers (transfers are gRPC calls, made by the
    api process): it knows no agency, so the use cases never call `upload` on it."""

    def knows(self, agency_code: str) -> bool:
        return False

    def upload(self, agency_code: str, request: domain.UploadRequest, chunks: Iterator[bytes]) -> PeerReceipt:
        raise RuntimeError("the worker process transfers no documents")
