"""Documents' composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap` (the worker through
`bootstrap_worker`); tests pass fakes for the adapters they replace. No servicer, worker or entry
module constructs an adapter itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from onestop_chassis import storage

from . import domain
from .adapters.minio_store import MinioStore
from .adapters.mongo import MongoDocuments, MongoGrants, ensure_indexes
from .adapters.peers import GrpcPeers, NoPeers
from .config import DocumentsSettings
from .handover import Grants
from .service import DocumentRepository, DocumentsService, ObjectStore, Peers, Policy


@dataclass(frozen=True)
class Documents:
    """Everything documents' processes use, built once per process: the use cases, and the
    repository and object store the orphan sweep reads (the same ones the use cases write)."""
    service: DocumentsService
    documents: DocumentRepository
    store: ObjectStore
    # What the api's health reports for MinIO: raises unless it answers within MINIO_TIMEOUT_SECONDS.
    store_probe: Callable[[], None]


def policy(settings: DocumentsSettings) -> Policy:
    """The upload and retention rules of this deployment (bytes, days)."""
    return Policy(max_upload_bytes=settings.max_upload_bytes,
                  retention_mode=domain.RetentionMode[settings.retention_mode],
                  retention_days=settings.retention_days, bucket_prefix=settings.resource_prefix)


def bootstrap(settings: DocumentsSettings, *, documents: DocumentRepository | None = None,
              store: ObjectStore | None = None, peers: Peers | None = None,
              store_probe: Callable[[], None] | None = None, grants: Grants | None = None) -> Documents:
    """Builds documents from its settings; `documents` (MongoDB), `store` (MinIO) and `peers`
    (other agencies' documents services over gRPC) and `store_probe` (MinIO's health check)
    replace the real adapters (tests), and `grants` (MongoDB: who each dossier was handed to). Nothing
    connects here: the database connection is the process's (chassis `run_api` /
    `MongoConnection`), MinIO and peers are reached on first use."""
    documents = documents if documents is not None else MongoDocuments()
    store = store if store is not None else MinioStore.from_settings(settings)
    peers = peers if peers is not None else GrpcPeers.from_settings(settings)
    grants = grants if grants is not None else MongoGrants()
    service = DocumentsService(documents, store, peers, policy(settings), grants=grants)
    return Documents(service=service, documents=documents,
                     store=store, store_probe=store_probe or storage.prober(settings))


def bootstrap_worker(settings: DocumentsSettings) -> Documents:
    """The worker's composition: it never transfers (a transfer is a gRPC call, which deadlocks
    under the worker's eventlet; the api process makes them), so it knows no peers."""
    return bootstrap(settings, peers=NoPeers())


def prepare_database() -> None:
    """Once per process start, before serving: migrations and indexes (idempotent; the api and the
    worker both call it, whichever starts first)."""
    ensure_indexes()
