"""MinIO (or any S3 endpoint) client for the service's object storage."""

from __future__ import annotations

from minio import Minio


def minio_client(settings) -> Minio:
    return Minio(settings.minio_endpoint, access_key=settings.minio_access_key,
                 secret_key=settings.minio_secret_key, secure=settings.minio_secure)
