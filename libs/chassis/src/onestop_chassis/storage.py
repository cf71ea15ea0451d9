"""MinIO (or any S3 endpoint) client for the service's object storage."""

from __future__ import annotations

import urllib3
from minio import Minio

PROBE_BUCKET = "onestop-health-probe"  # asked about, never created


def http_client(settings, *, read_seconds: float = 30.0, retries: int = 2) -> urllib3.PoolManager:
    """The HTTP pool minio-py uses. minio-py's own default retries 5 times with backoff and waits
    up to 5 minutes to connect; here a stopped MinIO fails within MINIO_TIMEOUT_SECONDS per try.
    Retries are for 5xx answers and resets (each at most 0.2 s × 2ⁿ apart)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=settings.minio_timeout_seconds, read=read_seconds), maxsize=16,
        retries=urllib3.Retry(total=retries, connect=0, backoff_factor=0.2, backoff_max=1.0,
                              status_forcelist=[500, 502, 503, 504]))


def minio_client(settings, http: urllib3.PoolManager | None = None, cls: type[Minio] = Minio) -> Minio:
    return cls(settings.minio_endpoint, access_key=settings.minio_access_key,
               secret_key=settings.minio_secret_key, secure=settings.minio_secure,
               http_client=http or http_client(settings))


def prober(settings):
    """A health probe of the object store: raises unless it answers a HEAD bucket within
    MINIO_TIMEOUT_SECONDS (no retries)."""
    client = minio_client(settings, urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=settings.minio_timeout_seconds, read=settings.minio_timeout_seconds),
        retries=urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0), maxsize=1))

    def probe() -> None:
        client.bucket_exists(PROBE_BUCKET)
    return probe
