"""Documents' settings: the chassis defaults (gRPC 50053, metrics 9153/9253, database
onestop_documents) plus upload limits, retention and peer agencies."""

from typing import ClassVar, Literal

from pydantic import field_validator

from onestop_chassis.config import ServiceSettings


class DocumentsSettings(ServiceSettings):
    service_name: str = "documents"
    PRODUCTION_REQUIRED: ClassVar[tuple[str, ...]] = (
        "mongodb_uri", "amqp_uri", "minio_endpoint", "minio_access_key", "minio_secret_key", "minio_public_endpoint")
    # Where citizens' browsers reach the object store (host[:port]; HTTPS unless MINIO_PUBLIC_SECURE
    # is false): download links are signed for this host, since a link signed for the in-cluster
    # MINIO_ENDPOINT opens nowhere outside the cluster. Empty (local): MINIO_ENDPOINT's.
    minio_public_endpoint: str = ""
    minio_public_secure: bool = True
    # The region links are signed for (S3 signatures name one); MinIO's default. Given, so signing a
    # link never asks the public endpoint anything.
    minio_region: str = "us-east-1"
    max_upload_bytes: int = 50 * 1024 * 1024
    retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    retention_days: int = 3650
    # "<unit code>=<host:port>,..." — other agencies' documents services, for transfers.
    documents_peers: str = ""
    # Bearer token this service presents to its peers; empty on the local stack: minted from JWT_SECRET.
    service_token: str = ""
    orphan_sweep_seconds: float = 600.0
    orphan_grace_seconds: float = 3600.0

    @field_validator("max_upload_bytes", "retention_days")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("documents_peers")
    @classmethod
    def _peers(cls, value: str) -> str:
        from .adapters.peers import parse_peers
        parse_peers(value)
        return value
