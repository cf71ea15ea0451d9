"""The documents service with its real adapters, against the real MinIO and FerretDB."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from minio import Minio

from onestop_chassis import auth
from onestop_chassis.config import load_settings
from onestop_chassis.errors import AlreadyExists, InvalidArgument, PermissionDenied, Unavailable
from onestop_documents import domain
from onestop_documents.adapters import mongo
from onestop_documents.bootstrap import bootstrap, prepare_database
from onestop_documents.config import DocumentsSettings
from onestop_documents.worker import sweep_orphans

AGENCY = "000.00.21.H17"
OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), AGENCY)
MiB = 1024 * 1024


def pdf(size: int) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def chunks(data: bytes, size: int = MiB):
    return (data[i:i + size] for i in range(0, len(data), size))


def dossier() -> str:
    """A dossier code no earlier run used, as far as chance goes: the shared MinIO bucket keeps the
    objects of every run, and one of them under the same code (1 in 10,000 with a fixed date) failed
    an "it leaves nothing" assertion. A random day of 2026 and number: 1 in 3.65 million."""
    day = dt.date(2026, 1, 1) + dt.timedelta(days=uuid.uuid4().int % 365)
    return f"{AGENCY}-{day:%y%m%d}-{uuid.uuid4().int % 10000:04d}"


def request(dossier_code: str, request_id: str = "", component: str = "Giấy đề nghị", kind=domain.Kind.COMPONENT,
            file_name: str = "don.pdf", sha256: str = "") -> domain.UploadRequest:
    return domain.UploadRequest(request_id, dossier_code, int(kind), component, file_name, sha256, "")


@pytest.fixture()
def settings(mongo_db):
    return load_settings(DocumentsSettings, mongodb_database=mongo_db.name)


@pytest.fixture()
def service(settings):
    prepare_database()
    return bootstrap(settings.model_copy(update={"max_upload_bytes": 8 * MiB})).service


@pytest.fixture()
def minio(settings) -> Minio:
    return Minio(settings.minio_endpoint, settings.minio_access_key, settings.minio_secret_key, secure=False)


def objects_under(minio: Minio, code: str, prefix: str = "onestop") -> list:
    bucket = domain.bucket_for(AGENCY, prefix)
    if not minio.bucket_exists(bucket):
        return []
    return [o for o in minio.list_objects(bucket, prefix=code + "/", recursive=True, include_version=True)
            if not o.is_delete_marker]


def test_a_multipart_upload_is_streamed_checksummed_and_read_back(service, mongo_db):
    code, data = dossier(), pdf(7 * MiB + 123)
    result = service.upload(request(code, "r-1"), chunks(data), OFFICER)
    d = result.document
    assert (d.size_bytes, d.sha256, d.content_type, d.version) == (len(data), hashlib.sha256(data).hexdigest(),
                                                                   "application/pdf", 1)
    _, stream = service.download(d.document_id, OFFICER)
    assert b"".join(stream) == data
    stored = mongo_db["documents"].find_one({"_id": d.document_id})
    assert [e["event_type"] for e in stored["outbox"]] == ["DocumentStored"]


def test_rescans_are_versions_and_identical_bytes_are_stored_once(service, minio):
    code, first, second = dossier(), pdf(64 * 1024), pdf(64 * 1024)
    v1 = service.upload(request(code), chunks(first), OFFICER).document
    v2 = service.upload(request(code), chunks(second), OFFICER).document
    assert (v1.version, v2.version) == (1, 2)
    assert b"".join(service.download(v1.document_id, OFFICER)[1]) == first, "older versions stay readable"
    again = service.upload(request(code), chunks(second), OFFICER)
    assert again.deduplicated and again.document.document_id == v2.document_id
    other = service.upload(request(code, component="Bản sao CCCD"), chunks(second), OFFICER)
    assert other.deduplicated and other.document.object_key == v2.object_key and other.document.version == 1
    assert len(objects_under(minio, code)) == 2, "two distinct contents, two objects"


@pytest.mark.parametrize("data, file_name, reason", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(4096), "scan.pdf", "CONTENT_TYPE_MISMATCH"),
    (b"PK\x03\x04" + os.urandom(4096), "ho-so.zip", "UNSUPPORTED_TYPE"),
    (b"", "empty.pdf", "EMPTY_FILE"),
])
def test_content_is_judged_by_its_bytes(service, minio, data, file_name, reason):
    code = dossier()
    with pytest.raises(InvalidArgument) as refused:
        service.upload(request(code, file_name=file_name), chunks(data), OFFICER)
    assert refused.value.reason == reason
    assert service.list(code, "", OFFICER) == [] and objects_under(minio, code) == []


def test_accepted_scan_types(service):
    for head, name in [(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a.jpg"), (b"\x89PNG\r\n\x1a\n", "a.png"),
                       (b"II*\x00\x08\x00\x00\x00", "a.tif")]:
        assert service.upload(request(dossier(), file_name=name), [head + os.urandom(4096)], OFFICER).document


def test_a_wrong_client_checksum_leaves_nothing(service, minio):
    code = dossier()
    with pytest.raises(InvalidArgument) as refused:
        service.upload(request(code, sha256="0" * 64), chunks(pdf(6 * MiB)), OFFICER)
    assert refused.value.reason == "CHECKSUM_MISMATCH"
    assert service.list(code, "", OFFICER) == [] and objects_under(minio, code) == []


def test_an_oversized_upload_stops_at_the_limit_without_buffering_it(settings, minio):
    service = bootstrap(settings.model_copy(update={"max_upload_bytes": 100 * MiB})).service
    code, produced = dossier(), []

    def endless():
        while True:
            produced.append(1)
            yield b"%PDF-1.7\n" + bytes(MiB - 9) if len(produced) == 1 else bytes(MiB)

    tracemalloc.start()
    with pytest.raises(InvalidArgument) as refused:
        service.upload(request(code), endless(), OFFICER)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert refused.value.reason == "FILE_TOO_LARGE"
    assert len(produced) == 101, "reading stops at the first chunk past the 100 MiB limit"
    # minio-py sends 3 parts of 5 MiB in parallel, with copies: bounded by parts, not by the file.
    assert peak < 40 * MiB, f"peak Python allocation {peak} bytes for a 101 MiB upload: it must stream"
    assert service.list(code, "", OFFICER) == [] and objects_under(minio, code) == []


def test_retries_are_idempotent_and_reuse_is_refused(service):
    code, data = dossier(), pdf(32 * 1024)
    first = service.upload(request(code, "same"), chunks(data), OFFICER)
    again = service.upload(request(code, "same"), chunks(data), OFFICER)
    assert again.replayed and again.document.document_id == first.document.document_id
    with pytest.raises(AlreadyExists):
        service.upload(request(code, "same"), chunks(pdf(32 * 1024)), OFFICER)


@pytest.mark.parametrize("vouched", [False, True])
def test_a_retry_replays_only_for_its_first_uploader(service, vouched):
    """Issue 9: a request_id replay was bound to the content, not to who sent it."""
    code, data = dossier(), pdf(16 * 1024)
    sha = hashlib.sha256(data).hexdigest() if vouched else ""
    first = service.upload(request(code, "mine", sha256=sha), chunks(data), OFFICER)
    colleague = auth.Principal("officer-2", frozenset({auth.DESK_OFFICER}), AGENCY)
    with pytest.raises(AlreadyExists) as refused:
        service.upload(request(code, "mine", sha256=sha), chunks(data), colleague)
    assert refused.value.reason == "REQUEST_ID_REUSED" and first.document.document_id not in str(refused.value)
    again = service.upload(request(code, "mine", sha256=sha), chunks(data), OFFICER)
    assert again.replayed and again.document.document_id == first.document.document_id


def test_a_retry_is_recognised_even_when_its_request_pointer_is_missing(service, mongo_db, minio):
    code, data = dossier(), pdf(32 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    first = service.upload(request(code, "pointer"), chunks(data), OFFICER).document
    pointer = mongo_db["documents_requests"].find_one({"_id": f"{AGENCY}|pointer"})
    assert pointer["aggregate_id"] == first.document_id

    # A retry that vouches for its bytes is answered from the pointer, before reading any bytes.
    vouched = service.upload(request(code, "pointer", sha256=digest), iter([b"never read"]), OFFICER)
    assert vouched.replayed and vouched.document.document_id == first.document_id

    # The writer died between the record and its pointer: the retry, for another dossier even, is
    # still recognised at insert, refused for its new target, and the pointer is written again.
    mongo_db["documents_requests"].delete_many({})
    with pytest.raises(AlreadyExists):
        service.upload(request(dossier(), "pointer"), chunks(data), OFFICER)
    assert mongo_db["documents_requests"].find_one({"_id": f"{AGENCY}|pointer"})["aggregate_id"] == first.document_id
    assert mongo_db["documents"].count_documents({"request_id": "pointer"}) == 1
    assert len(objects_under(minio, code)) == 1


def test_concurrent_rescans_get_distinct_versions(service):
    code = dossier()
    with ThreadPoolExecutor(6) as pool:
        versions = sorted(pool.map(lambda _: service.upload(request(code), [pdf(8192)], OFFICER).document.version,
                                   range(12)))
    assert versions == list(range(1, 13))


def test_retention_locks_the_objects_and_stops_withdrawal(service, minio):
    code = dossier()
    d = service.upload(request(code), [pdf(8192)], OFFICER).document
    [retained] = service.apply_retention(code, "", OFFICER)
    assert retained.retention.mode == domain.RetentionMode.GOVERNANCE
    assert retained.retention.retain_until > dt.datetime.now(dt.UTC) + dt.timedelta(days=3649)
    with pytest.raises(Exception, match="WORM"):
        minio.remove_object(d.bucket, d.object_key, version_id=d.object_version)
    with pytest.raises(Exception):  # noqa: B017 - as it was asserted: any refusal, whatever its type
        minio.put_object(d.bucket, d.object_key, io.BytesIO(b"x"), 1)  # a new version, the old one stays
        minio.remove_object(d.bucket, d.object_key, version_id=d.object_version)
    assert b"".join(service.download(d.document_id, OFFICER)[1])[:8] == b"%PDF-1.7"
    with pytest.raises(Exception) as refused:
        service.withdraw(d.document_id, "nhầm hồ sơ", OFFICER)
    assert refused.value.reason == "DOCUMENT_RETAINED"
    held = service.legal_hold(d.document_id, True, OFFICER)
    assert held.legal_hold and minio.is_object_legal_hold_enabled(d.bucket, d.object_key, d.object_version)


def test_withdrawal_before_retention_is_recorded(service):
    code = dossier()
    d = service.upload(request(code), [pdf(8192)], OFFICER).document
    withdrawn = service.withdraw(d.document_id, "Quét nhầm trang", OFFICER)
    assert withdrawn.state == domain.State.WITHDRAWN and withdrawn.history[-1]["by"] == "officer-1"
    assert service.list(code, "", OFFICER) == []
    assert [x.document_id for x in service.list(code, "", OFFICER, include_withdrawn=True)] == [d.document_id]


def test_presigned_links_expire(service):
    import time
    import urllib.error
    import urllib.request
    d = service.upload(request(dossier()), [pdf(8192)], OFFICER).document
    url, _ = service.download_link(d.document_id, 2, OFFICER)
    assert urllib.request.urlopen(url, timeout=5).read()[:8] == b"%PDF-1.7"
    time.sleep(4)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(url, timeout=5)
    assert expired.value.code == 403
    with pytest.raises(InvalidArgument):
        service.download_link(d.document_id, 901, OFFICER)


def test_links_are_signed_for_the_public_endpoint_and_open_there(service, settings):
    """MINIO_PUBLIC_ENDPOINT: the link names the host citizens reach, and the object store accepts
    its signature there (here `localhost:9000` is the public name of the same MinIO)."""
    import urllib.request
    d = service.upload(request(dossier()), [pdf(8192)], OFFICER).document
    host, port = settings.minio_endpoint.split(":")
    public = f"localhost:{port}"
    assert host != "localhost"
    signing = bootstrap(settings.model_copy(update={"minio_public_endpoint": public, "minio_public_secure": False}))
    url, _ = signing.service.download_link(d.document_id, 60, OFFICER)
    assert url.startswith(f"http://{public}/{d.bucket}/"), url
    assert urllib.request.urlopen(url, timeout=5).read()[:8] == b"%PDF-1.7"
    internal, _ = service.download_link(d.document_id, 60, OFFICER)
    assert internal.startswith(f"http://{settings.minio_endpoint}/"), "without it: MINIO_ENDPOINT's host"


def test_other_agencies_cannot_read(service):
    d = service.upload(request(dossier()), [pdf(8192)], OFFICER).document
    other = auth.Principal("officer-2", frozenset({auth.DESK_OFFICER}), "000.00.11.H17")
    with pytest.raises(Exception) as refused:
        service.download(d.document_id, other)
    assert refused.value.reason == "OTHER_AGENCY"


def test_digitisation_status(service):
    code = dossier()
    service.upload(request(code), [pdf(8192)], OFFICER)
    assert service.digitisation(code, "", OFFICER) == {"components": 1, "results": 0}
    service.upload(request(code, component="Giấy phép", kind=domain.Kind.RESULT), [pdf(8192)], OFFICER)
    assert service.digitisation(code, "", OFFICER) == {"components": 1, "results": 1}


def test_the_sweep_removes_only_unreferenced_old_objects(minio, settings):
    # An instance of its own (ONESTOP_INSTANCE): the sweep sees this test's bucket only, never the
    # objects other runs and checkouts keep in the shared MinIO (it would remove them as orphans).
    settings = settings.model_copy(update={"onestop_instance": f"it{uuid.uuid4().hex[:8]}"})
    service = bootstrap(settings).service
    code = dossier()
    kept = service.upload(request(code), [pdf(8192)], OFFICER).document
    assert kept.bucket == domain.bucket_for(AGENCY, settings.resource_prefix)
    orphan_key = f"{code}/{uuid.uuid4()}"
    minio.put_object(kept.bucket, orphan_key, io.BytesIO(b"%PDF-orphan"), 11)
    built = bootstrap(settings)
    assert sweep_orphans(built.store, built.documents, dt.timedelta(hours=1)) == [], "young orphans wait"
    removed = sweep_orphans(built.store, built.documents, dt.timedelta(0),
                            now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    assert orphan_key in [key for _, key, _ in removed]
    assert kept.object_key not in [key for _, key, _ in removed]
    assert [o.object_name for o in objects_under(minio, code, settings.resource_prefix)] == [kept.object_key]


def test_the_sweep_never_touches_another_instance_s_buckets(minio, settings):
    """Two agencies' instances on one MinIO (ONESTOP_INSTANCE): an instance's sweep sees
    'onestop-<other>-<agency>' buckets as not its own, however unreferenced their objects."""
    ours = settings.model_copy(update={"onestop_instance": f"it{uuid.uuid4().hex[:8]}"})
    other_bucket = domain.bucket_for(AGENCY, f"onestop-it{uuid.uuid4().hex[:8]}")
    minio.make_bucket(other_bucket)
    try:
        minio.put_object(other_bucket, "dossier/other-instance", io.BytesIO(b"%PDF-theirs"), 11)
        built = bootstrap(ours)
        built.service.upload(request(dossier()), [pdf(8192)], OFFICER)  # so the sweep has a bucket of its own
        assert other_bucket not in built.store.buckets()
        assert domain.bucket_for(AGENCY, ours.resource_prefix) in built.store.buckets()
        removed = sweep_orphans(built.store, built.documents, dt.timedelta(0),
                                now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
        assert other_bucket not in {bucket for bucket, _, _ in removed}
        assert [o.object_name for o in minio.list_objects(other_bucket, recursive=True)] == ["dossier/other-instance"]
    finally:
        for o in minio.list_objects(other_bucket, recursive=True, include_version=True):
            minio.remove_object(other_bucket, o.object_name, version_id=o.version_id)
        minio.remove_bucket(other_bucket)


def test_object_store_down_gives_unavailable_and_registers_nothing(settings):
    down = settings.model_copy(update={"minio_endpoint": "127.0.0.1:1"})
    service = bootstrap(down).service
    code = dossier()
    with pytest.raises(Unavailable) as refused:
        service.upload(request(code), [pdf(8192)], OFFICER)
    assert refused.value.reason == "OBJECT_STORE_UNAVAILABLE"
    assert mongo.MongoDocuments().for_dossier(AGENCY, code) == []


def test_a_grant_is_one_unique_record_read_by_its_id(service, mongo_db):
    """Liên thông: the land office's officer reads the desk's file once routing handed the case to
    it, the grant stored once however often the event comes; another agency stays refused."""
    code, land = dossier(), "000.01.13.H17"
    stored = service.upload(request(code, "r-grant"), [pdf(4096)], OFFICER).document
    reader = auth.Principal("cv-vpdk", frozenset({auth.PROCESSING_OFFICER}), land)
    with pytest.raises(PermissionDenied):
        service.list(code, AGENCY, reader)
    at = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    assert service.hand_over(code, [land], {"at": at, "event_id": "e-1"}) == [land]
    assert service.hand_over(code, [land], {"at": at, "event_id": "e-1"}) == []  # redelivered
    assert [d.document_id for d in service.list(code, AGENCY, reader)] == [stored.document_id]
    [grant] = mongo_db[mongo.GRANTS].find({"dossier_code": code})
    assert (grant["_id"], grant["agency_code"], grant["event_id"]) == (f"{code}|{land}", land, "e-1")
    with pytest.raises(PermissionDenied):
        service.list(code, AGENCY, auth.Principal("cv-thue", frozenset({auth.PROCESSING_OFFICER}), "000.01.15.H17"))
