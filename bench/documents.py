"""Documents: upload throughput through the service (gRPC client stream → documents-api → MinIO,
metadata in FerretDB) next to a plain minio SDK put of the same bytes into the same MinIO, in the
same run; where the CPU goes; and the service's memory while uploads stream through it.

Fairness, on a shared 2-core machine:
- the same bytes, the same 8 uploader threads and the same MinIO for both; the SDK puts into a
  bucket made like the service's (object lock, hence versioning);
- the two ways alternate in short rounds (4 × 5 s each way, the order swapped every round), so a
  load change on the machine falls on both alike;
- the client chunk is what a real client sends: 1 MiB, the largest the contract allows
  (documents.proto: "chunks of at most 1 MiB") and what intake's documents client uses.

Isolation from other users of the local stack, which only the service way would pay for:
- the documents service keeps its metadata in a FerretDB of its own (the stack's binary and
  settings, on a free port): the shared one also serves every test run on the machine, and its
  latency under their load set the service's figure;
- its worker runs on the documents test vhost: on the shared test vhost it competed for other
  platforms' FormIssued events, filed their forms into the bench database and counted that work
  against the service.
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent import futures
from dataclasses import dataclass

import grpc
from minio import Minio
from minio.deleteobjects import DeleteObject

from onestop.documents.v1 import documents_pb2 as pb
from onestop.documents.v1 import documents_pb2_grpc
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET

from stack import AMQP_DOCUMENTS_TEST_URI, ROOT, LocalPlatform, free_port, port_open

MiB = 1024 * 1024
AGENCY = "000.00.21.H17"
BUCKET = "onestop-000-00-21-h17"  # the service's bucket for AGENCY
DAY = "991231"  # the bench's dossiers: a day no test uses; what the bench stores is removed afterwards
UPLOADERS = 8
ROUNDS = 4
ROUND_SECONDS = 5.0  # each way, per round
CHUNK = MiB
SIZES = (2 * MiB, 20 * MiB)
TICK = os.sysconf("SC_CLK_TCK")
FERRETDB_BIN = pathlib.Path.home() / ".cache/onestop/bin/ferretdb"


def _file(size: int) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def _requests(data: bytes, dossier: str):
    yield pb.UploadDocumentRequest(metadata=pb.UploadMetadata(
        request_id=str(uuid.uuid4()), dossier_code=dossier, kind=pb.DOCUMENT_KIND_COMPONENT,
        component=f"Bản quét {uuid.uuid4().hex[:8]}", file_name="scan.pdf"))
    for i in range(0, len(data), CHUNK):
        yield pb.UploadDocumentRequest(chunk=data[i:i + CHUNK])


def _cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Way:
    """One way of uploading: calls, time, per-call latencies and CPU seconds per process, summed
    over the rounds."""

    def __init__(self, name: str, work, pids: dict[str, int]):
        self.name, self.work, self.pids = name, work, pids
        self.calls, self.seconds, self.latencies = 0, 0.0, []
        self.cpu = dict.fromkeys(pids, 0.0)

    def run(self, seconds: float) -> None:
        stop, lock = time.monotonic() + seconds, threading.Lock()

        def loop():
            while time.monotonic() < stop:
                started = time.monotonic()
                self.work()
                with lock:
                    self.calls += 1
                    self.latencies.append(time.monotonic() - started)
        before = {k: _cpu_seconds(p) for k, p in self.pids.items()}
        started = time.monotonic()
        with futures.ThreadPoolExecutor(UPLOADERS) as pool:
            for f in [pool.submit(loop) for _ in range(UPLOADERS)]:
                f.result()
        self.seconds += time.monotonic() - started
        for k, p in self.pids.items():
            self.cpu[k] += _cpu_seconds(p) - before[k]

    def mib_per_s(self, size: int) -> float:
        return self.calls * size / MiB / self.seconds

    def cpu_ms_per_mib(self, size: int) -> dict[str, float]:
        mib = self.calls * size / MiB
        return {k: 1000 * v / mib for k, v in self.cpu.items()}

    def p50_ms(self) -> float:
        return 1000 * sorted(self.latencies)[len(self.latencies) // 2]


def _drain_server() -> None:
    """A grpcio server with the chassis' message limit whose UploadDocument only reads the stream:
    no auth, hashing, storage or metadata. Its CPU per MiB is what receiving the bytes costs."""
    class Drain(documents_pb2_grpc.DocumentsServiceServicer):
        def UploadDocument(self, request_iterator, context):
            size = sum(len(m.chunk) for m in request_iterator)
            return pb.UploadDocumentResponse(document=pb.Document(size_bytes=size))
    server = grpc.server(futures.ThreadPoolExecutor(16), options=[("grpc.max_receive_message_length", 8 * MiB)])
    documents_pb2_grpc.add_DocumentsServiceServicer_to_server(Drain(), server)
    print(server.add_insecure_port("127.0.0.1:0"), flush=True)
    server.start()
    server.wait_for_termination()


def _stack_pid(name: str) -> int | None:
    try:
        pid = int((ROOT / ".local" / f"{name}.pid").read_text())
        _cpu_seconds(pid)
        return pid
    except (OSError, ValueError):
        return None


def _own_ferretdb(state: pathlib.Path) -> tuple[subprocess.Popen, int]:
    """FerretDB as deploy/local/stack.sh runs it, with its own state, on a free port."""
    port = free_port()
    with open(state / "ferretdb.log", "w", encoding="utf-8") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [str(FERRETDB_BIN), "--handler=sqlite", f"--sqlite-url=file:{state}/", f"--listen-addr=127.0.0.1:{port}",
             "--debug-addr=-", "--telemetry=disable", "--log-level=warn", f"--state-dir={state}"],
            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the bench's FerretDB did not start; see {state / 'ferretdb.log'}")
        time.sleep(0.2)
    return proc, port


def _remove_versions(minio: Minio, bucket: str, prefix: str = "") -> None:
    doomed = [DeleteObject(o.object_name, o.version_id)
              for o in minio.list_objects(bucket, prefix=prefix, recursive=True, include_version=True)]
    for error in minio.remove_objects(bucket, doomed):
        print(f"bench cleanup: {error}", file=sys.stderr)


@dataclass
class _Clients:
    """What the bench calls: the service, the drain server, MinIO directly."""
    stub: documents_pb2_grpc.DocumentsServiceStub
    drain_stub: documents_pb2_grpc.DocumentsServiceStub
    minio: Minio
    raw_bucket: str
    metadata: tuple[tuple[str, str], ...]


def _compare(size: int, clients: _Clients, pids: dict[str, int], drain_pid: int) -> tuple[str, list[str], str]:
    """The three ways at one file size: (throughput row, CPU rows, note)."""
    data = _file(size)
    counter = iter(range(1, 10**9))

    def through_service():
        dossier = f"{AGENCY}-{DAY}-{next(counter) % 10000:04d}"
        clients.stub.UploadDocument(_requests(data, dossier), metadata=clients.metadata, timeout=120)

    def plain_sdk():
        clients.minio.put_object(clients.raw_bucket, f"raw/{uuid.uuid4()}", io.BytesIO(data), len(data))

    def drained():
        clients.drain_stub.UploadDocument(_requests(data, f"{AGENCY}-{DAY}-0000"), timeout=120)

    service = Way("through the service", through_service, pids)
    sdk = Way("plain SDK put_object", plain_sdk, pids)
    floor = Way("gRPC only (a server that drains the stream)", drained, {**pids, "drain server": drain_pid})
    for round_ in range(ROUNDS):
        for way in (sdk, service) if round_ % 2 == 0 else (service, sdk):
            way.run(ROUND_SECONDS)
    floor.run(ROUND_SECONDS)
    svc, raw = service.mib_per_s(size), sdk.mib_per_s(size)
    row = (f"| {size // MiB} MiB | {UPLOADERS} | {svc:.1f} MiB/s ({service.calls / service.seconds:.1f} files/s, "
           f"p50 {service.p50_ms():.0f} ms) | {raw:.1f} MiB/s ({sdk.calls / sdk.seconds:.1f} files/s, "
           f"p50 {sdk.p50_ms():.0f} ms) | **{svc / raw:.2f}** |")
    cpu_rows = []
    for way in (sdk, service, floor):
        per = way.cpu_ms_per_mib(size)
        shown = [f"{per.get(k, 0.0):.1f}" if k in per else "–" for k in (*pids, "drain server")]
        cpu_rows.append(f"| {size // MiB} MiB | {way.name} | {way.mib_per_s(size):.0f} MiB/s | "
                        + " | ".join(shown) + f" | {sum(per.values()):.1f} |")
    sdk_cpu, svc_cpu = sum(sdk.cpu_ms_per_mib(size).values()), sum(service.cpu_ms_per_mib(size).values())
    transfer = floor.cpu_ms_per_mib(size)
    transfer_cpu = transfer["bench client"] + transfer["drain server"]
    note = (f"- {size // MiB} MiB: CPU per MiB {svc_cpu:.1f} ms through the service, {sdk_cpu:.1f} ms for the SDK "
            f"put (the gRPC transfer alone, client and server: {transfer_cpu:.1f} ms). Cores kept busy: "
            f"{svc_cpu * svc / 1000:.2f} by the service way, {sdk_cpu * raw / 1000:.2f} by the SDK way. "
            f"0.8 × the SDK's {raw:.0f} MiB/s at the service's cost per MiB would need "
            f"{0.8 * raw * svc_cpu / 1000:.1f} cores; the machine has {os.cpu_count()}, shared.")
    return row, cpu_rows, note


def _big_upload(clients: _Clients, api_pid: int) -> str:
    """One 200 MB file through the service: its speed and the api's memory growth."""
    big = _file(200 * MiB)
    before, peak, stop = _rss_mib(api_pid), [0.0], threading.Event()

    def sample_big():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mib(api_pid))
            time.sleep(0.02)
    sampler = threading.Thread(target=sample_big)
    sampler.start()
    started = time.monotonic()
    response = clients.stub.UploadDocument(_requests(big, f"{AGENCY}-{DAY}-9999"), metadata=clients.metadata,
                                           timeout=600)
    seconds = time.monotonic() - started
    stop.set()
    sampler.join()
    assert response.document.sha256 == hashlib.sha256(big).hexdigest()
    return (f"One 200 MB file through the service: {200 / seconds:.0f} MiB/s; documents-api resident memory "
            f"{before:.0f} MiB before, {peak[0]:.0f} MiB at peak: growth {peak[0] - before:.0f} MiB "
            "(target under 50 MB).")


def run() -> str:
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-docs-"))
    (work / "ferretdb").mkdir()
    ferretdb, ferretdb_port = _own_ferretdb(work / "ferretdb")
    platform = LocalPlatform(log_dir=work / "logs", services=("documents",),
                             prefix="benchdocs", amqp_uri=AMQP_DOCUMENTS_TEST_URI,
                             extra_env={"LOG_LEVEL": "WARNING", "MAX_UPLOAD_BYTES": str(256 * MiB),
                                        "MONGODB_URI": f"mongodb://127.0.0.1:{ferretdb_port}/"})
    minio = Minio("127.0.0.1:9000", "onestop", "onestop-local-secret", secure=False)
    raw_bucket = f"bench-raw-{uuid.uuid4().hex[:8]}"
    minio.make_bucket(raw_bucket, object_lock=True)  # like the service's buckets
    token = mint_token(LOCAL_JWT_SECRET, subject="bench", roles=["desk_officer"], agency=AGENCY)
    metadata = (("authorization", f"Bearer {token}"),)
    drain = subprocess.Popen([sys.executable, "-c", "from bench.documents import _drain_server; _drain_server()"],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])})
    rows, cpu_rows, notes, memory = [], [], [], ""
    try:
        platform.start()
        api_pid = platform.processes["documents-api"].popen.pid
        pids = {"bench client": os.getpid(), "documents-api": api_pid,
                "documents-worker": platform.processes["documents-worker"].popen.pid}
        if (pid := _stack_pid("minio")) is not None:
            pids["minio"] = pid
        pids["ferretdb"] = ferretdb.pid
        options = [("grpc.max_send_message_length", 8 * MiB)]
        channel = grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['documents']}", options=options)
        stub = documents_pb2_grpc.DocumentsServiceStub(channel)
        drain_channel = grpc.insecure_channel(f"127.0.0.1:{int(drain.stdout.readline())}", options=options)
        clients = _Clients(stub, documents_pb2_grpc.DocumentsServiceStub(drain_channel), minio, raw_bucket, metadata)
        stub.UploadDocument(_requests(_file(MiB), f"{AGENCY}-{DAY}-0000"), metadata=metadata, timeout=60)
        rss_before, rss_peak, sampling = _rss_mib(api_pid), [0.0], threading.Event()

        def sample():
            while not sampling.wait(0.02):
                rss_peak[0] = max(rss_peak[0], _rss_mib(api_pid))
        sampler = threading.Thread(target=sample)
        sampler.start()
        for size in SIZES:
            row, cpu, note = _compare(size, clients, pids, drain.pid)
            rows.append(row)
            cpu_rows += cpu
            notes.append(note)
        sampling.set()
        sampler.join()
        concurrent = (f"With {UPLOADERS} concurrent uploads the documents-api's resident memory peaked at "
                      f"{rss_peak[0]:.0f} MiB ({rss_peak[0] - rss_before:+.0f} MiB over the {rss_before:.0f} MiB "
                      "before them).")
        memory = f"{_big_upload(clients, api_pid)} {concurrent}"
        channel.close()
        drain_channel.close()
    finally:
        drain.kill()
        drain.wait()
        platform.stop(drop_databases=False)
        ferretdb.terminate()
        ferretdb.wait(15)
        shutil.rmtree(work / "ferretdb", ignore_errors=True)
        _remove_versions(minio, raw_bucket)
        minio.remove_bucket(raw_bucket)
        if minio.bucket_exists(BUCKET):
            _remove_versions(minio, BUCKET, prefix=f"{AGENCY}-{DAY}-")
    columns = [*pids, "drain server"]
    return "\n".join([
        "## Documents: streamed uploads (gRPC → documents-api → MinIO) next to the plain minio SDK",
        "",
        f"Each row: {UPLOADERS} concurrent uploaders, {ROUNDS} rounds of {ROUND_SECONDS:.0f} s each way, the two ways "
        "alternating; same bytes, same MinIO (the SDK's bucket has object lock like the service's), 1 MiB gRPC "
        "chunks (the contract's largest). The service also sniffs, hashes (SHA-256), claims the content, "
        "writes the metadata and the outbox event; its worker relays the event.",
        "",
        "| file | uploaders | through the service | plain SDK put_object | ratio (target ≥ 0.8) |",
        "|---|---|---|---|---|",
        *rows, "",
        "CPU per MiB uploaded (ms), by process. MinIO is the shared local stack's: its figures include "
        "whatever else used it meanwhile. FerretDB is the bench's own.",
        "",
        "| file | way | throughput | " + " | ".join(columns) + " | total |",
        "|---|---|---|" + "---|" * len(columns) + "---|",
        *cpu_rows, "",
        *notes, "",
        memory])
