"""Documents: upload throughput through the service (gRPC client stream → MinIO) next to a plain
minio SDK put of the same bytes into the same MinIO in the same run; and the service's memory
growth while one 200 MB file streams through it."""

from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
from minio import Minio
from onestop.documents.v1 import documents_pb2 as pb
from onestop.documents.v1 import documents_pb2_grpc

from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET
from stack import LocalPlatform

MiB = 1024 * 1024
AGENCY = "000.00.21.H17"
UPLOADERS = 8
DURATION_SECONDS = 20


def _file(size: int) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def _requests(data: bytes, dossier: str):
    yield pb.UploadDocumentRequest(metadata=pb.UploadMetadata(
        request_id=str(uuid.uuid4()), dossier_code=dossier, kind=pb.DOCUMENT_KIND_COMPONENT,
        component=f"Bản quét {uuid.uuid4().hex[:8]}", file_name="scan.pdf"))
    for i in range(0, len(data), MiB):
        yield pb.UploadDocumentRequest(chunk=data[i:i + MiB])


def _run_for(seconds: float, work) -> tuple[int, float]:
    """Runs `work()` from UPLOADERS threads until `seconds` pass; returns (calls, elapsed)."""
    stop, done, lock = time.monotonic() + seconds, [0], threading.Lock()

    def loop():
        while time.monotonic() < stop:
            work()
            with lock:
                done[0] += 1
    started = time.monotonic()
    with ThreadPoolExecutor(UPLOADERS) as pool:
        for f in [pool.submit(loop) for _ in range(UPLOADERS)]:
            f.result()
    return done[0], time.monotonic() - started


def _rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run() -> str:
    platform = LocalPlatform(log_dir=pathlib.Path(tempfile.mkdtemp(prefix="bench-docs-")), services=("documents",),
                             prefix="benchdocs", extra_env={"LOG_LEVEL": "WARNING",
                                                            "MAX_UPLOAD_BYTES": str(256 * MiB)})
    minio = Minio("127.0.0.1:9000", "onestop", "onestop-local-secret", secure=False)
    raw_bucket = f"bench-raw-{uuid.uuid4().hex[:8]}"
    minio.make_bucket(raw_bucket)
    token = mint_token(LOCAL_JWT_SECRET, subject="bench", roles=["desk_officer"], agency=AGENCY)
    metadata = (("authorization", f"Bearer {token}"),)
    rows, memory = [], ""
    try:
        platform.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['documents']}",
                                        options=[("grpc.max_send_message_length", 8 * MiB)])
        stub = documents_pb2_grpc.DocumentsServiceStub(channel)
        stub.UploadDocument(_requests(_file(MiB), f"{AGENCY}-261123-0000"), metadata=metadata, timeout=60)
        for size in (2 * MiB, 20 * MiB):
            data = _file(size)
            counter = iter(range(1, 10**9))

            def through_service():
                dossier = f"{AGENCY}-261123-{next(counter) % 10000:04d}"
                stub.UploadDocument(_requests(data, dossier), metadata=metadata, timeout=120)

            def plain_sdk():
                import io
                minio.put_object(raw_bucket, f"raw/{uuid.uuid4()}", io.BytesIO(data), len(data))

            raw_calls, raw_seconds = _run_for(DURATION_SECONDS, plain_sdk)
            svc_calls, svc_seconds = _run_for(DURATION_SECONDS, through_service)
            raw = raw_calls * size / MiB / raw_seconds
            svc = svc_calls * size / MiB / svc_seconds
            rows.append(f"| {size // MiB} MB | {UPLOADERS} | {svc:.1f} MB/s ({svc_calls / svc_seconds:.1f} files/s) | "
                        f"{raw:.1f} MB/s ({raw_calls / raw_seconds:.1f} files/s) | {svc / raw:.2f} |")

        pid = platform.processes["documents-api"].popen.pid
        big = _file(200 * MiB)
        before, peak, stop = _rss_mib(pid), [0.0], threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], _rss_mib(pid))
                time.sleep(0.02)
        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        response = stub.UploadDocument(_requests(big, f"{AGENCY}-261123-9999"), metadata=metadata, timeout=600)
        seconds = time.monotonic() - started
        stop.set()
        sampler.join()
        assert response.document.sha256 == hashlib.sha256(big).hexdigest()
        memory = (f"One 200 MB file through the service: {200 / seconds:.0f} MB/s; documents-api resident memory "
                  f"{before:.0f} MiB before, {peak[0]:.0f} MiB at peak: growth {peak[0] - before:.0f} MiB "
                  f"(target under 50 MB).")
        channel.close()
    finally:
        platform.stop()
        for obj in minio.list_objects(raw_bucket, recursive=True):
            minio.remove_object(raw_bucket, obj.object_name)
        minio.remove_bucket(raw_bucket)
    return "\n".join([
        "## Documents: streamed uploads (gRPC → documents-api → MinIO) next to the plain minio SDK",
        "",
        f"Each row: {UPLOADERS} concurrent uploaders for {DURATION_SECONDS} s each way, same bytes, same MinIO, "
        "same run. The service also sniffs, hashes (SHA-256), writes the metadata and the outbox event.",
        "",
        "| file | uploaders | through the service | plain SDK put_object | ratio (target ≥ 0.8) |",
        "|---|---|---|---|---|",
        *rows, "", memory])
