"""End-to-end: the documents service runs as real processes (api + worker) for two agencies, on the
real MinIO and FerretDB, and the tests call it with plain grpcio stubs, as an agency's desk would.

Agency A (000.00.21.H17) knows agency B (000.00.11.H17) as a peer for transfers. A third, private
deployment with its own MinIO process is started only by the object-store outage test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import pathlib
import random
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import grpc
import pymongo
import pytest
from conftest import bearer, token
from grpc_health.v1 import health_pb2, health_pb2_grpc
from minio import Minio
from minio.error import S3Error

from onestop.documents.v1 import documents_pb2 as pb
from onestop.documents.v1 import documents_pb2_grpc

from stack import AMQP_DOCUMENTS_TEST_URI, MONGODB_URI, LocalPlatform, free_port
from support import error_info

A_UNIT = "000.00.21.H17"
B_UNIT = "000.00.11.H17"
UNCONFIGURED_UNIT = "000.00.12.H17"
MIB = 1024 * 1024
MINIO_USER, MINIO_PASSWORD = "onestop", "onestop-local-secret"
MINIO_BIN = pathlib.Path.home() / ".cache/onestop/bin/minio"
BUCKET_A = "onestop-000-00-21-h17"
BUCKET_B = "onestop-000-00-11-h17"
COMPONENT = "Giấy đề nghị đăng ký doanh nghiệp"
OTHER_COMPONENT = "Bản sao giấy tờ pháp lý của cá nhân"
RPC_TIMEOUT = 60


# -- file bytes ------------------------------------------------------------------------------------
def pdf(size: int = 64 * 1024) -> bytes:
    head = b"%PDF-1.7\n"
    return head + os.urandom(size - len(head))


def jpeg(size: int = 64 * 1024) -> bytes:
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    return head + os.urandom(size - len(head))


def png(size: int = 64 * 1024) -> bytes:
    head = b"\x89PNG\r\n\x1a\n"
    return head + os.urandom(size - len(head))


def tiff(size: int = 64 * 1024) -> bytes:
    head = b"II*\x00\x08\x00\x00\x00"
    return head + os.urandom(size - len(head))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the shared MinIO ----------------------------------------------------------------------------------
def minio_client(endpoint: str = "127.0.0.1:9000") -> Minio:
    return Minio(endpoint, MINIO_USER, MINIO_PASSWORD, secure=False)


def objects_under(dossier_code: str, bucket: str = BUCKET_A, client: Minio | None = None) -> list:
    """Every object version (and delete marker) stored under the dossier's prefix."""
    client = client or minio_client()
    if not client.bucket_exists(bucket):
        return []
    return list(client.list_objects(bucket, prefix=dossier_code + "/", recursive=True, include_version=True))


_USED_CODES: set[str] = set()


def new_dossier(unit: str = A_UNIT) -> str:
    """A dossier code no other test of this run uses and under which MinIO holds nothing yet
    (objects of earlier runs, governance-locked ones included, stay in the local MinIO)."""
    bucket = "onestop-" + unit.lower().replace(".", "-")
    day = dt.date.today().strftime("%y%m%d")
    while True:
        code = f"{unit}-{day}-{random.randint(0, 9999):04d}"
        if code not in _USED_CODES and not objects_under(code, bucket):
            _USED_CODES.add(code)
            return code


# -- the deployments ------------------------------------------------------------------------------------
def wait_serving(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                assert time.monotonic() < deadline, f"documents api on {port} never reported SERVING"
                time.sleep(0.2)


@dataclass
class Deployment:
    """One agency's documents service (api + worker processes) and a client for it."""
    platform: LocalPlatform
    unit: str
    channel: grpc.Channel
    stub: documents_pb2_grpc.DocumentsServiceStub

    def md(self, roles=("desk_officer",), agency: str | None = None) -> tuple:
        return bearer(token(roles=roles, agency=agency or self.unit))

    def collection(self):
        return pymongo.MongoClient(MONGODB_URI, tz_aware=True)[self.platform.databases["documents"]]["documents"]

    @property
    def api_pid(self) -> int:
        return self.platform.processes["documents-api"].popen.pid


def start_deployment(platform: LocalPlatform, unit: str) -> Deployment:
    platform.start()
    wait_serving(platform.grpc_ports["documents"])
    channel = grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['documents']}")
    return Deployment(platform, unit, channel, documents_pb2_grpc.DocumentsServiceStub(channel))


@pytest.fixture(scope="module")
def agencies(local_stack, tmp_path_factory):
    """(A, B): agency B's deployment first, then A's, which knows B as a peer."""
    logs = tmp_path_factory.mktemp("e2e-documents-logs")
    started: list[Deployment] = []
    platforms: list[LocalPlatform] = []
    try:
        b_platform = LocalPlatform(log_dir=logs / "b", services=("documents",), prefix="e2edocsb",
                                    amqp_uri=AMQP_DOCUMENTS_TEST_URI)
        platforms.append(b_platform)
        b = start_deployment(b_platform, B_UNIT)
        started.append(b)
        a_platform = LocalPlatform(log_dir=logs / "a", services=("documents",), prefix="e2edocsa",
                                    amqp_uri=AMQP_DOCUMENTS_TEST_URI, extra_env={
            "DOCUMENTS_PEERS": f"{B_UNIT}=127.0.0.1:{b_platform.grpc_ports['documents']}",
            "MAX_UPLOAD_BYTES": str(50 * MIB)})
        platforms.append(a_platform)
        a = start_deployment(a_platform, A_UNIT)
        started.append(a)
        yield a, b
    finally:
        for deployment in started:
            deployment.channel.close()
        for platform in reversed(platforms):
            platform.stop()
        remove_test_objects()


def remove_test_objects() -> None:
    """Removes what this run stored in the shared MinIO, except the versions under retention or hold."""
    client = minio_client()
    for bucket in (BUCKET_A, BUCKET_B):
        if not client.bucket_exists(bucket):
            continue
        for code in _USED_CODES:
            for obj in client.list_objects(bucket, prefix=code + "/", recursive=True, include_version=True):
                with contextlib.suppress(S3Error):  # governance-locked or on legal hold: stays, by design
                    client.remove_object(bucket, obj.object_name, version_id=obj.version_id)


@pytest.fixture(scope="module")
def agency_a(agencies) -> Deployment:
    return agencies[0]


@pytest.fixture(scope="module")
def agency_b(agencies) -> Deployment:
    return agencies[1]


# -- calls ------------------------------------------------------------------------------------------------
def messages(meta: pb.UploadMetadata, data: bytes, chunk: int = MIB):
    yield pb.UploadDocumentRequest(metadata=meta)
    for start in range(0, len(data), chunk):
        yield pb.UploadDocumentRequest(chunk=data[start:start + chunk])


def metadata_for(dossier: str, *, component: str = COMPONENT, file_name: str = "scan.pdf",
                 kind: int = pb.DOCUMENT_KIND_COMPONENT, request_id: str | None = None, sha256: str = "",
                 agency_code: str = "") -> pb.UploadMetadata:
    return pb.UploadMetadata(request_id=request_id or str(uuid.uuid4()), dossier_code=dossier, kind=kind,
                             component=component, file_name=file_name, sha256=sha256, agency_code=agency_code)


def upload(dep: Deployment, data: bytes, dossier: str, *, md=None, **meta) -> pb.UploadDocumentResponse:
    return dep.stub.UploadDocument(messages(metadata_for(dossier, **meta), data),
                                   metadata=dep.md() if md is None else md, timeout=RPC_TIMEOUT)


def download(dep: Deployment, document_id: str, md=None) -> tuple[pb.Document, bytes]:
    replies = list(dep.stub.DownloadDocument(pb.DownloadDocumentRequest(document_id=document_id),
                                             metadata=md or dep.md(), timeout=RPC_TIMEOUT))
    assert replies, "DownloadDocument sent nothing"
    assert replies[0].WhichOneof("part") == "document", "the first message must carry the Document"
    assert all(r.WhichOneof("part") == "chunk" for r in replies[1:]), "every later message carries bytes"
    return replies[0].document, b"".join(r.chunk for r in replies[1:])


def listed(dep: Deployment, dossier: str, *, include_withdrawn: bool = False, md=None) -> list[pb.Document]:
    return list(dep.stub.ListDocuments(pb.ListDocumentsRequest(dossier_code=dossier,
                                                               include_withdrawn=include_withdrawn),
                                       metadata=md or dep.md(), timeout=RPC_TIMEOUT).documents)


def refused(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def assert_refused(err: grpc.RpcError, code: grpc.StatusCode, reason: str) -> tuple[dict, list[str]]:
    got_reason, metadata, fields = error_info(err)
    assert (err.code(), got_reason) == (code, reason), f"{err.code()} {got_reason}: {err.details()}"
    return metadata, fields


def stored_record(dep: Deployment, document_id: str) -> dict:
    record = dep.collection().find_one({"_id": document_id})
    assert record is not None, f"no record for document {document_id} in {dep.platform.databases['documents']}"
    return record


def _proc_status(pid: int, field: str) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def rss_bytes(pid: int) -> int:
    return _proc_status(pid, "VmRSS") * 1024


def thread_count(pid: int) -> int:
    return _proc_status(pid, "Threads")


# -- 1. upload, download, versions, dedup ------------------------------------------------------------------
def test_large_pdf_is_stored_checksummed_versioned_and_deduplicated(agency_a):
    dossier = new_dossier()
    first = pdf(12 * MIB)
    reply = upload(agency_a, first, dossier, file_name="don-de-nghi.pdf")
    doc = reply.document
    assert doc.sha256 == sha256(first)
    assert doc.size_bytes == len(first)
    assert doc.content_type == "application/pdf"
    assert doc.version == 1
    assert (doc.dossier_code, doc.agency_code, doc.component, doc.kind) == \
        (dossier, A_UNIT, COMPONENT, pb.DOCUMENT_KIND_COMPONENT)
    assert doc.state == pb.DOCUMENT_STATE_ACTIVE and doc.uploaded_by == "e2e-officer"
    assert not reply.deduplicated and not reply.replayed

    record = stored_record(agency_a, doc.document_id)
    stat = minio_client().stat_object(record["bucket"], record["object_key"], version_id=record["object_version"])
    assert stat.size == len(first)
    assert stat.etag.endswith("-3"), f"12 MiB in 5 MiB parts is a 3-part multipart object, etag {stat.etag}"

    got, data = download(agency_a, doc.document_id)
    assert got.document_id == doc.document_id and got.sha256 == doc.sha256
    assert data == first

    assert [d.document_id for d in listed(agency_a, dossier)] == [doc.document_id]

    second = pdf(256 * 1024)
    reply2 = upload(agency_a, second, dossier, file_name="don-de-nghi-sua.pdf")
    assert reply2.document.version == 2 and reply2.document.sha256 == sha256(second)
    assert reply2.document.document_id != doc.document_id and not reply2.deduplicated
    assert [(d.document_id, d.version) for d in listed(agency_a, dossier)] == \
        [(reply2.document.document_id, 2), (doc.document_id, 1)], "newest version first"
    _, again = download(agency_a, doc.document_id)
    assert sha256(again) == sha256(first), "version 1 stays downloadable"

    reply3 = upload(agency_a, second, dossier, component=OTHER_COMPONENT, file_name="ban-sao.pdf")
    assert reply3.deduplicated and not reply3.replayed
    assert reply3.document.component == OTHER_COMPONENT and reply3.document.version == 1
    assert reply3.document.sha256 == sha256(second)
    assert download(agency_a, reply3.document.document_id)[1] == second
    assert len(listed(agency_a, dossier)) == 3
    versions = objects_under(dossier)
    assert len(versions) == 2, f"the deduplicated upload stored no third object: {[o.object_name for o in versions]}"


# -- 2. bad input stores nothing ------------------------------------------------------------------------------
def test_bad_uploads_are_refused_with_reasons_and_leave_nothing_behind(agency_a, agency_b):
    a = agency_a
    dossiers = []

    dossiers.append(dossier := new_dossier())
    err = refused(upload, a, jpeg(), dossier, file_name="scan.pdf")
    metadata, _ = assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "CONTENT_TYPE_MISMATCH")
    assert (metadata.get("detected"), metadata.get("claimed")) == ("image/jpeg", "application/pdf")

    dossiers.append(dossier := new_dossier())
    err = refused(upload, a, b"PK\x03\x04" + os.urandom(64 * 1024), dossier, file_name="hoso.zip")
    assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "UNSUPPORTED_TYPE")

    dossiers.append(dossier := new_dossier())
    err = refused(upload, a, b"", dossier)
    assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "EMPTY_FILE")

    dossiers.append(dossier := new_dossier())
    data = pdf(2 * MIB)
    err = refused(upload, a, data, dossier, sha256="0" * 64)
    metadata, _ = assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "CHECKSUM_MISMATCH")
    assert metadata.get("received_sha256") == sha256(data)

    dossiers.append(dossier := new_dossier())

    def chunk_first():
        yield pb.UploadDocumentRequest(chunk=pdf())
        yield pb.UploadDocumentRequest(metadata=metadata_for(dossier))
    err = refused(a.stub.UploadDocument, chunk_first(), metadata=a.md(), timeout=RPC_TIMEOUT)
    assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "METADATA_FIRST")

    malformed = f"{A_UNIT}-2611-{random.randint(0, 9999):04d}"
    err = refused(upload, a, pdf(), malformed)
    _, fields = assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELDS")
    assert fields == ["dossier_code"]

    dossiers.append(dossier := new_dossier())
    err = refused(upload, a, pdf(), dossier, md=())
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err.details()

    dossiers.append(dossier := new_dossier())
    err = refused(upload, a, pdf(), dossier, agency_code=A_UNIT, md=agency_b.md())
    assert_refused(err, grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY")

    for dossier in dossiers:
        assert listed(a, dossier, include_withdrawn=True) == [], f"a refused upload registered {dossier}"
        assert objects_under(dossier) == [], f"a refused upload left objects under {dossier}/"
    assert objects_under(malformed) == []
    assert a.collection().count_documents({"dossier_code": {"$in": [*dossiers, malformed]}}) == 0


# -- 3. the size limit, with bounded memory --------------------------------------------------------------------------
def oversized_upload(dossier: str, counter: list[int]):
    """Metadata, then 51 MiB of a PDF in 1 MiB chunks; counter[0] counts the chunks produced."""
    block = os.urandom(MIB)
    yield pb.UploadDocumentRequest(metadata=metadata_for(dossier))
    for i in range(51):
        counter[0] += 1
        yield pb.UploadDocumentRequest(chunk=pdf(MIB) if i == 0 else block)


def test_file_over_the_limit_is_refused_without_buffering_it(agency_a):
    pid = agency_a.api_pid
    rss_before, threads_before = rss_bytes(pid), thread_count(pid)
    dossiers, growth = [], []
    # A refused upload may cost memory once (allocator warm-up), not again and again: three in a row.
    for _ in range(3):
        dossier, produced = new_dossier(), [0]
        dossiers.append(dossier)
        err = refused(agency_a.stub.UploadDocument, oversized_upload(dossier, produced), metadata=agency_a.md(),
                      timeout=RPC_TIMEOUT)
        growth.append(rss_bytes(pid) - rss_before)
        metadata, _ = assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "FILE_TOO_LARGE")
        assert metadata.get("limit_bytes") == str(50 * MIB)
        assert produced[0] == 51, f"the client produced {produced[0]} of 51 chunks"
    threads_after = thread_count(pid)

    for dossier in dossiers:
        assert listed(agency_a, dossier) == []
        assert agency_a.collection().count_documents({"dossier_code": dossier}) == 0
        assert objects_under(dossier) == [], "the aborted multipart upload left an object"
    report = (f"api RSS after each of 3 refused uploads: +{', +'.join(f'{g / MIB:.1f}' for g in growth)} MiB; "
              f"threads {threads_before} -> {threads_after}")
    assert growth[0] < 40_000_000, "one refused upload cost too much memory: " + report
    assert threads_after - threads_before < 3, "refused uploads leave threads behind: " + report
    assert growth[-1] < 50_000_000, "memory keeps growing with refused uploads: " + report


# -- 4. idempotent retries -----------------------------------------------------------------------------------------
def test_retried_upload_with_same_request_id_is_replayed(agency_a):
    dossier = new_dossier()
    data, request_id = png(), str(uuid.uuid4())
    first = upload(agency_a, data, dossier, request_id=request_id, file_name="anh.png")
    assert not first.replayed and first.document.content_type == "image/png"
    again = upload(agency_a, data, dossier, request_id=request_id, file_name="anh.png")
    assert again.replayed
    assert again.document.document_id == first.document.document_id
    assert again.document.version == 1

    err = refused(upload, agency_a, png(), dossier, request_id=request_id, file_name="anh.png")
    metadata, _ = assert_refused(err, grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    assert metadata.get("request_id") == request_id
    assert [d.document_id for d in listed(agency_a, dossier)] == [first.document.document_id]
    assert len(objects_under(dossier)) == 1


# -- 5. presigned links ------------------------------------------------------------------------------------------
def test_presigned_link_works_until_it_expires(agency_a):
    dossier = new_dossier()
    data = tiff()
    doc = upload(agency_a, data, dossier, file_name="ban-ve.tif").document
    assert doc.content_type == "image/tiff"
    link = agency_a.stub.GetDownloadLink(pb.GetDownloadLinkRequest(document_id=doc.document_id, ttl_seconds=2),
                                         metadata=agency_a.md(), timeout=RPC_TIMEOUT)
    expires = link.expires_at.ToDatetime(tzinfo=dt.UTC)
    assert abs((expires - dt.datetime.now(dt.UTC)).total_seconds() - 2) < 5
    with urllib.request.urlopen(link.url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == data
    time.sleep(4)
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(link.url, timeout=10)
    assert expired.value.code == 403

    err = refused(agency_a.stub.GetDownloadLink, pb.GetDownloadLinkRequest(document_id=doc.document_id,
                                                                          ttl_seconds=901),
                  metadata=agency_a.md(), timeout=RPC_TIMEOUT)
    _, fields = assert_refused(err, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELDS")
    assert fields == ["ttl_seconds"]


# -- 6. retention and legal hold --------------------------------------------------------------------------------------
def test_retention_locks_objects_and_blocks_withdrawal_and_legal_hold_is_recorded(agency_a):
    dossier = new_dossier()
    files = {"to-khai.pdf": pdf(), "anh-the.jpg": jpeg()}
    docs = {name: upload(agency_a, data, dossier, component=name, file_name=name).document
            for name, data in files.items()}

    applied = agency_a.stub.ApplyRetention(pb.ApplyRetentionRequest(dossier_code=dossier),
                                           metadata=agency_a.md(roles=("processing_officer",)), timeout=RPC_TIMEOUT)
    expected_until = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    assert sorted(d.document_id for d in applied.documents) == sorted(d.document_id for d in docs.values())
    for listed_docs in (applied.documents, listed(agency_a, dossier)):
        for d in listed_docs:
            assert d.HasField("retention"), f"{d.file_name} has no retention"
            assert d.retention.mode == pb.RETENTION_MODE_GOVERNANCE
            until = d.retention.retain_until.ToDatetime(tzinfo=dt.UTC)
            assert abs((until - expected_until).total_seconds()) < 300, until

    target = docs["to-khai.pdf"]
    record = stored_record(agency_a, target.document_id)
    client = minio_client()
    lock = client.get_object_retention(record["bucket"], record["object_key"], version_id=record["object_version"])
    assert lock.mode == "GOVERNANCE"
    with pytest.raises(S3Error):
        client.remove_object(record["bucket"], record["object_key"], version_id=record["object_version"])
    assert download(agency_a, target.document_id)[1] == files["to-khai.pdf"], "WORM: the bytes are still there"

    err = refused(agency_a.stub.WithdrawDocument,
                  pb.WithdrawDocumentRequest(document_id=target.document_id, reason="nộp nhầm"),
                  metadata=agency_a.md(), timeout=RPC_TIMEOUT)
    assert_refused(err, grpc.StatusCode.FAILED_PRECONDITION, "DOCUMENT_RETAINED")

    held = agency_a.stub.SetLegalHold(pb.SetLegalHoldRequest(document_id=target.document_id, on=True),
                                      metadata=agency_a.md(roles=("agency_admin",)), timeout=RPC_TIMEOUT)
    assert held.document.legal_hold
    assert client.is_object_legal_hold_enabled(record["bucket"], record["object_key"],
                                               version_id=record["object_version"])
    holds = {d.document_id: d.legal_hold for d in listed(agency_a, dossier)}
    assert holds == {target.document_id: True, docs["anh-the.jpg"].document_id: False}


# -- 7. withdrawal before retention ----------------------------------------------------------------------------------
def test_withdrawn_document_is_hidden_unless_asked_for(agency_a):
    dossier = new_dossier()
    kept = upload(agency_a, pdf(), dossier, component=COMPONENT).document
    wrong = upload(agency_a, jpeg(), dossier, component=OTHER_COMPONENT, file_name="nham.jpg").document
    reply = agency_a.stub.WithdrawDocument(
        pb.WithdrawDocumentRequest(document_id=wrong.document_id, reason="Nộp nhầm tệp"),
        metadata=agency_a.md(), timeout=RPC_TIMEOUT)
    assert reply.document.state == pb.DOCUMENT_STATE_WITHDRAWN
    assert reply.document.withdrawn_reason == "Nộp nhầm tệp"
    assert [d.document_id for d in listed(agency_a, dossier)] == [kept.document_id]
    everything = {d.document_id: d for d in listed(agency_a, dossier, include_withdrawn=True)}
    assert set(everything) == {kept.document_id, wrong.document_id}
    assert everything[wrong.document_id].state == pb.DOCUMENT_STATE_WITHDRAWN
    assert everything[wrong.document_id].withdrawn_reason == "Nộp nhầm tệp"
    assert everything[kept.document_id].state == pb.DOCUMENT_STATE_ACTIVE


# -- 8. transfer to another agency -----------------------------------------------------------------------------------
def test_transfer_copies_documents_once_with_their_checksums(agency_a, agency_b):
    dossier = new_dossier()
    files = {"don.pdf": pdf(3 * MIB), "anh.png": png(), "ban-ve.tif": tiff()}
    sent = {name: upload(agency_a, data, dossier, component=name, file_name=name).document
            for name, data in files.items()}

    request = pb.TransferDocumentsRequest(dossier_code=dossier, target_agency_code=B_UNIT)
    reply = agency_a.stub.TransferDocuments(request, metadata=agency_a.md(), timeout=RPC_TIMEOUT)
    assert reply.sent_now == 3
    assert sorted(d.sha256 for d in reply.transferred) == sorted(sha256(d) for d in files.values())

    at_b = listed(agency_b, dossier)
    assert len(at_b) == 3
    assert sorted(d.sha256 for d in at_b) == sorted(d.sha256 for d in sent.values())
    assert {d.agency_code for d in at_b} == {B_UNIT}
    for d in at_b:
        assert download(agency_b, d.document_id)[1] == files[d.file_name]

    again = agency_a.stub.TransferDocuments(request, metadata=agency_a.md(), timeout=RPC_TIMEOUT)
    assert again.sent_now == 0
    assert sorted(d.document_id for d in again.transferred) == sorted(d.document_id for d in at_b)
    assert len(listed(agency_b, dossier)) == 3
    assert len(objects_under(dossier, BUCKET_B)) == 3

    err = refused(agency_a.stub.TransferDocuments,
                  pb.TransferDocumentsRequest(dossier_code=dossier, target_agency_code=UNCONFIGURED_UNIT),
                  metadata=agency_a.md(), timeout=RPC_TIMEOUT)
    assert_refused(err, grpc.StatusCode.NOT_FOUND, "PEER_NOT_CONFIGURED")


# -- 9. the client goes away mid-stream -----------------------------------------------------------------------------
def start_stalled_upload(dep: Deployment, dossier: str, release: threading.Event):
    """Metadata and 8 MiB, then the client stalls until `release`; returns (future, produced)."""
    produced = [0]
    block = os.urandom(MIB)

    def stalled():
        yield pb.UploadDocumentRequest(metadata=metadata_for(dossier))
        for i in range(8):
            produced[0] += 1
            yield pb.UploadDocumentRequest(chunk=pdf(MIB) if i == 0 else block)
        release.wait(60)

    return dep.stub.UploadDocument.future(stalled(), metadata=dep.md(), timeout=RPC_TIMEOUT), produced


def test_cancelled_upload_leaves_nothing(agency_a):
    # How the server sees a cancellation races inside grpcio (an end of stream, or a cancelled call),
    # so the scenario runs a few times, each with its own dossier, cancelled after a different pause.
    dossiers = []
    for pause in (1.0, 0.3, 0.1, 1.0, 0.5):
        dossier, release = new_dossier(), threading.Event()
        dossiers.append(dossier)
        future, produced = start_stalled_upload(agency_a, dossier, release)
        try:
            deadline = time.monotonic() + 10
            while produced[0] < 8 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert produced[0] == 8, "the upload never got going"
            time.sleep(pause)  # the server streams the first 5 MiB part to MinIO meanwhile
            assert not future.done(), "the upload must still be waiting for bytes"
            assert future.cancel()
        finally:
            release.set()
        assert future.cancelled()
    time.sleep(2)

    for dossier in dossiers:
        registered = listed(agency_a, dossier)
        assert registered == [], f"a cancelled upload (8 MiB sent, then the client went away) was registered " \
            f"for {dossier} as a complete file: " + ", ".join(f"{d.size_bytes} bytes, sha256 {d.sha256[:12]}…"
                                                           for d in registered)
        assert agency_a.collection().count_documents({"dossier_code": dossier}) == 0
        assert objects_under(dossier) == [], f"a cancelled upload left an object under {dossier}/"
    assert agency_a.platform.processes["documents-api"].popen.poll() is None


# -- 10. the object store dies during an upload ----------------------------------------------------------------------
def _wait_live(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/minio/health/live", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        assert proc.poll() is None, "the private MinIO exited"
        assert time.monotonic() < deadline, "the private MinIO never became live"
        time.sleep(0.2)


def test_object_store_outage_mid_upload_registers_nothing(local_stack, tmp_path):
    port, console = free_port(), free_port()
    minio = None
    platform = None
    channel = None
    try:
        with open(tmp_path / "minio.log", "w", encoding="utf-8") as log:  # the child keeps its own descriptor
            minio = subprocess.Popen(
                [str(MINIO_BIN), "server", str(tmp_path / "minio-data"), "--address", f"127.0.0.1:{port}",
                 "--console-address", f"127.0.0.1:{console}", "--quiet"],
                env={**os.environ, "MINIO_ROOT_USER": MINIO_USER, "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
                     "MINIO_BROWSER": "off"}, stdout=log, stderr=subprocess.STDOUT)
        _wait_live(port, minio)
        platform = LocalPlatform(log_dir=tmp_path / "logs", services=("documents",), prefix="e2edocsc",
                                 amqp_uri=AMQP_DOCUMENTS_TEST_URI,
                                 extra_env={"MINIO_ENDPOINT": f"127.0.0.1:{port}"})
        deployment = start_deployment(platform, A_UNIT)
        channel = deployment.channel
        private = minio_client(f"127.0.0.1:{port}")
        dossier = new_dossier()
        block = os.urandom(MIB)
        killed = threading.Event()

        def interrupted():
            yield pb.UploadDocumentRequest(metadata=metadata_for(dossier))
            for i in range(12):
                yield pb.UploadDocumentRequest(chunk=pdf(MIB) if i == 0 else block)
            deadline = time.monotonic() + 10
            while not private.bucket_exists(BUCKET_A) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)  # let the first parts reach MinIO
            minio.kill()
            minio.wait(10)
            killed.set()
            for _ in range(8):
                yield pb.UploadDocumentRequest(chunk=block)

        started = time.monotonic()
        err = refused(deployment.stub.UploadDocument, interrupted(), metadata=deployment.md(), timeout=RPC_TIMEOUT)
        assert killed.is_set(), "MinIO was not killed during the upload"
        assert_refused(err, grpc.StatusCode.UNAVAILABLE, "OBJECT_STORE_UNAVAILABLE")
        assert time.monotonic() - started < 45, "the api must give up on a dead object store promptly"
        assert deployment.collection().count_documents({"dossier_code": dossier}) == 0
        assert listed(deployment, dossier) == [], "the api keeps answering, with nothing registered"
    finally:
        if channel is not None:
            channel.close()
        if platform is not None:
            platform.stop()
        if minio is not None and minio.poll() is None:
            minio.kill()
            minio.wait(10)
