"""The ObjectStore port on MinIO (or any S3 endpoint with object lock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import MinioException, S3Error
from minio.retention import Retention

from onestop_chassis.errors import Unavailable

from .. import domain

PART_SIZE = 5 * 1024 * 1024  # S3's smallest multipart part: memory per upload is a few parts
# One part at a time. minio-py 7.2.20 never shuts its parallel-upload pool down when an upload
# fails (refused, cancelled, store down): each failure leaked 2 threads and ~15 MiB (e2e test).
PARALLEL_PARTS = 1
READ_CHUNK = 1024 * 1024


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable("OBJECT_STORE_UNAVAILABLE",
                       f"the object store did not answer ({type(exc).__name__}); nothing was registered, retry later")


class MinioStore:
    def __init__(self, client: Minio):
        self._client = client
        self._buckets: set[str] = set()

    @classmethod
    def from_settings(cls, settings) -> "MinioStore":
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=30), maxsize=16,
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2,
                                                         status_forcelist=[500, 502, 503, 504]))
        return cls(Minio(settings.minio_endpoint, access_key=settings.minio_access_key,
                         secret_key=settings.minio_secret_key, secure=settings.minio_secure, http_client=http))

    def ensure_bucket(self, bucket: str) -> None:
        if bucket in self._buckets:
            return
        try:
            if not self._client.bucket_exists(bucket):
                try:
                    self._client.make_bucket(bucket, object_lock=True)  # retention needs it from birth
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(exc) from exc
        self._buckets.add(bucket)

    def put(self, bucket: str, key: str, stream) -> str:
        try:
            result = self._client.put_object(bucket, key, stream, length=-1, part_size=PART_SIZE,
                                             num_parallel_uploads=PARALLEL_PARTS)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(exc) from exc
        return result.version_id or ""

    def remove(self, bucket: str, key: str, version: str) -> bool:
        """Best effort (the orphan sweep removes what is left); False when the store refused."""
        try:
            self._client.remove_object(bucket, key, version_id=version or None)
        except (MinioException, urllib3.exceptions.HTTPError, OSError):
            return False
        return True

    def open(self, bucket: str, key: str, version: str) -> Iterator[bytes]:
        try:
            response = self._client.get_object(bucket, key, version_id=version or None)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(exc) from exc
        try:
            yield from response.stream(READ_CHUNK)
        finally:
            response.close()
            response.release_conn()

    def presign(self, bucket: str, key: str, version: str, ttl: dt.timedelta) -> str:
        extra = {"versionId": version} if version else None
        return self._client.presigned_get_object(bucket, key, expires=ttl, extra_query_params=extra)

    def retain(self, bucket: str, key: str, version: str, retention: domain.Retention) -> None:
        mode = COMPLIANCE if retention.mode == domain.RetentionMode.COMPLIANCE else GOVERNANCE
        try:
            self._client.set_object_retention(bucket, key, Retention(mode, retention.retain_until),
                                              version_id=version or None)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(exc) from exc

    def legal_hold(self, bucket: str, key: str, version: str, on: bool) -> None:
        change = self._client.enable_object_legal_hold if on else self._client.disable_object_legal_hold
        try:
            change(bucket, key, version_id=version or None)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(exc) from exc

    # -- the orphan sweep -----------------------------------------------------------------------
    def buckets(self) -> list[str]:
        return [b.name for b in self._client.list_buckets() if b.name.startswith("onestop-")]

    def versions(self, bucket: str):
        """(key, version id, last modified) of every object version in the bucket."""
        for obj in self._client.list_objects(bucket, recursive=True, include_version=True):
            if not obj.is_delete_marker:
                yield obj.object_name, obj.version_id or "", obj.last_modified
