"""The ObjectStore port on MinIO (or any S3 endpoint with object lock)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.datatypes import Part
from minio.error import MinioException, S3Error
from minio.helpers import MIN_PART_SIZE
from minio.retention import Retention

from onestop_chassis import storage
from onestop_chassis.errors import Unavailable

from .. import domain

PART_SIZE = MIN_PART_SIZE  # 5 MiB, S3's smallest part: a file up to this size is one PUT
READ_CHUNK = 1024 * 1024
CONTENT_SHA256 = "x-amz-content-sha256"
OCTET_STREAM = {"Content-Type": "application/octet-stream"}


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable("OBJECT_STORE_UNAVAILABLE",
                       f"the object store did not answer ({type(exc).__name__}); nothing was registered, retry later",
                       metadata={"dependency": "object_store", "retryable": "true"})


class _Minio(Minio):
    """Over plain HTTP minio-py signs each request with the SHA-256 of its body, which it computes
    (a second pass over the bytes). A file sent as one PUT is its own body, and the service has
    already hashed it while receiving it: when the caller gives that SHA-256 in the request's
    `x-amz-content-sha256`, it is signed as it is, and MinIO checks it against the bytes it stores,
    so the object is verified end to end against the checksum the metadata records."""

    def _build_headers(self, host, headers=None, body=None, creds=None):
        known = (headers or {}).get(CONTENT_SHA256)
        if known is None or body is None or creds is None or self._base_url.is_https:
            return super()._build_headers(host, headers, body, creds)
        headers, date = super()._build_headers(host, headers, None, creds)  # without hashing the body
        headers["Content-Length"] = str(len(body))
        headers[CONTENT_SHA256] = known
        return headers, date


def _parts(chunks: Iterable[bytes], part_size: int) -> Iterator[tuple[bytes, bool]]:
    """(part, is it the last) for the chunks grouped into parts of at least part_size bytes (the
    last may be smaller). A part is handed on when the next chunk arrives, or the stream ends: only
    then is it known whether it is the last. Each part is one bytes object: one copy of its chunks,
    none when it is a single chunk."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        if size >= part_size:
            part, pending, size = _joined(pending), [], 0
            yield part, False
            del part  # held by nobody once sent: memory stays one part (and a chunk)
        pending.append(chunk)
        size += len(chunk)
    yield _joined(pending), True


def _joined(chunks: list[bytes]) -> bytes:
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)  # b"" for none


class MinioStore:
    def __init__(self, client: Minio, part_size: int = PART_SIZE, bucket_prefix: str = "onestop",
                 signer: Minio | None = None):
        """`signer` signs download links for the host citizens reach (MINIO_PUBLIC_ENDPOINT); by
        default `client` does, for its own host."""
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 parts are at least {MIN_PART_SIZE} bytes")
        self._client = client
        self._signer = signer or client
        self._bucket_prefix = bucket_prefix  # the instance's (ServiceSettings.resource_prefix)
        self._part_size = part_size
        self._buckets: set[str] = set()

    @classmethod
    def from_settings(cls, settings) -> MinioStore:
        """A stopped MinIO fails a call within MINIO_TIMEOUT_SECONDS (the chassis' HTTP pool)."""
        signer = None
        if settings.minio_public_endpoint:
            # Signing is local arithmetic once the region is known: this client never connects.
            signer = Minio(settings.minio_public_endpoint, access_key=settings.minio_access_key,
                           secret_key=settings.minio_secret_key, secure=settings.minio_public_secure,
                           region=settings.minio_region)
        return cls(storage.minio_client(settings, cls=_Minio), bucket_prefix=settings.resource_prefix, signer=signer)

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
        """Stores the stream's chunks as one object; returns its version. A file that fits in one
        part is one PUT, signed with the stream's SHA-256. A larger one is a multipart upload whose
        parts go one at a time as they fill, so memory per upload stays about one part whatever the
        file size. Each part is the chunks joined once, and minio-py sends it as it is (its own
        `put_object` with an unknown length copies every part two or three more times). On any
        failure, a multipart upload is aborted before the error goes on."""
        try:
            parts = _parts(stream.chunks(), self._part_size)
            data, last = next(parts)
            # minio-py has no public calls for a body already in hand nor for multipart; these are the
            # ones its put_object makes (7.2.20, pinned). Its own parallel parts are not used: they
            # leaked 2 threads and ~15 MiB per failed upload (pool never shut down; e2e test).
            if last:  # one PUT, signed with the SHA-256 computed while receiving (see _Minio)
                return self._client._put_object(bucket, key, data, {**OCTET_STREAM, CONTENT_SHA256: stream.sha256}
                                                ).version_id or ""
            upload_id = self._client._create_multipart_upload(bucket, key, dict(OCTET_STREAM))
            try:
                uploaded = []
                while True:
                    number = len(uploaded) + 1
                    uploaded.append(Part(number, self._client._upload_part(bucket, key, data, None, upload_id, number)))
                    if last:
                        break
                    data = b""  # let the sent part go before the next one fills
                    data, last = next(parts)
                result = self._client._complete_multipart_upload(bucket, key, upload_id, uploaded)
            except BaseException:
                # An abort that fails too is let go: MinIO drops stale multipart uploads itself (and
                # the sweep removes orphans).
                with contextlib.suppress(MinioException, urllib3.exceptions.HTTPError, OSError):
                    self._client._abort_multipart_upload(bucket, key, upload_id)
                raise
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
        return self._signer.presigned_get_object(bucket, key, expires=ttl, extra_query_params=extra)

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
        """This instance's agency buckets only (domain.is_own_bucket): never another instance's."""
        return [b.name for b in self._client.list_buckets() if domain.is_own_bucket(b.name, self._bucket_prefix)]

    def versions(self, bucket: str):
        """(key, version id, last modified) of every object version in the bucket."""
        for obj in self._client.list_objects(bucket, recursive=True, include_version=True):
            if not obj.is_delete_marker:
                yield obj.object_name, obj.version_id or "", obj.last_modified
