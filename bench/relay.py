"""Event delivery under a burst: the outbox relay in the worker (the old shape) against the relay in a
process of its own (onestop_chassis.relay, the default), side by side in one run; and the relay's
own capacity, one aggregate at a time against OUTBOX_RELAY_CONCURRENCY at once.

Each shape gets a fresh platform of intake + routing + documents (form 01 of every dossier is
rendered by the intake worker and filed with documents, as in production) on the bench's own
FerretDB and MinIO (the stack's binaries, free ports) and a RabbitMQ vhost of its own, made for the
run and deleted after it. Then:

- a burst of BURST SubmitDossier paced at BURST_RATE a second (open loop: call i starts at
  i / BURST_RATE s, from a pool of callers, whatever the earlier calls are doing);
- then a trickle of TAIL_RATE a second for TAIL_SECONDS, while the worker still catches up on
  the burst's forms;
- per dossier, event delivery = routing's case `opened_at` (stamped by the consumer's handler)
  minus the `created_at` of the DossierReceived entry in the dossier's outbox (stamped just before
  the write); both from this machine's clock, millisecond precision;
- the seconds from the burst's last call to the last of its cases opened, and to its last form
  filed (the forms' work is still done, only off the relay's path);
- CPU seconds of every process from the burst's start until every form was filed, and of the rest
  of the machine (its other users);
- capacity: DRAIN_EVENTS events staged in one aggregate each, drained by one OutboxRelay with 1
  and with 8 threads, to a durable queue (so the broker confirms after storing, as for nameko's
  queues), alternating.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pymongo

from bench.intake import _cpu_seconds, _machine_busy_seconds
from bench.isolated import own_ferretdb, rabbitmqctl
from bench.outbox import raw_broker_latency
from bench.stats import at_quantile
from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET

from stack import LocalPlatform, free_port

MINIO = pathlib.Path.home() / ".cache/onestop/bin/minio"
AGENCY = "000.00.21.H17"
BURST = int(os.environ.get("BENCH_RELAY_BURST", "300"))
BURST_RATE = 60.0
BURST_CALLERS = 64  # enough for 60/s even when a call takes a second on the loaded machine
TAIL_SECONDS, TAIL_RATE = 20.0, 2.0
FORM_KIND = 3  # DOCUMENT_KIND_FORM
SHAPES = {"relay in the worker (before)": {"OUTBOX_RELAY_IN_WORKER": "true"},
          "relay process (after)": {"OUTBOX_RELAY_IN_WORKER": "false"}}
DRAIN_EVENTS, DRAIN_CONCURRENCY = 300, (1, 8, 1, 8)
MINIO_USER, MINIO_PASSWORD = "onestop", "onestop-local-secret"


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    return {"n": len(ordered), "p50": at_quantile(ordered, 0.5), "p95": at_quantile(ordered, 0.95),
            "p99": at_quantile(ordered, 0.99), "max": ordered[-1]}


def _own_minio(workdir: pathlib.Path) -> tuple[subprocess.Popen, str]:
    """MinIO as deploy/local/stack.sh runs it, with its own data folder and free ports."""
    port = free_port()
    with open(workdir / "minio.log", "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [str(MINIO), "server", str(workdir / "minio"), "--address", f"127.0.0.1:{port}",
             "--console-address", f"127.0.0.1:{free_port()}", "--quiet"],
            env={**os.environ, "MINIO_ROOT_USER": MINIO_USER, "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
                 "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"},
            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/minio/health/live", timeout=1).close()
            return proc, f"127.0.0.1:{port}"
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the bench's MinIO did not start: " + (workdir / "minio.log").read_text()) from exc
            time.sleep(0.2)


def _histogram_mean(port: int, name: str, label: str) -> float | None:
    """Mean of a Prometheus histogram on a process's /metrics (its _sum / _count), in seconds."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        for part in ("sum", "count"):
            if line.startswith(f"{name}_{part}{{") and label in line:
                values[part] = float(line.split()[-1])
    return values["sum"] / values["count"] if values.get("count") else None


def _request(documents: list[str]) -> intake_pb2.SubmitDossierRequest:
    return intake_pb2.SubmitDossierRequest(
        request_id=str(uuid.uuid4()), procedure_code="2.001610", channel=common_pb2.CHANNEL_IN_PERSON,
        applicant=common_pb2.Applicant(kind=1, full_name="Hoàng Minh Châu", citizen_id="001203004567"),
        documents=[intake_pb2.SubmittedDocument(name=n, count=1) for n in documents])


def _wait(count, target: int, timeout: float) -> float | None:
    """Seconds until count() reaches target, or None at the timeout."""
    started = time.monotonic()
    while count() < target:
        if time.monotonic() - started > timeout:
            return None
        time.sleep(0.2)
    return time.monotonic() - started


def _shape(name: str, env: dict, workdir: pathlib.Path, mongodb_uri: str, minio: str) -> dict:
    vhost = f"onestop-bench-relay-{uuid.uuid4().hex[:6]}"
    rabbitmqctl("add_vhost", vhost)
    platform = None
    client = pymongo.MongoClient(mongodb_uri, tz_aware=True)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        platform = LocalPlatform(
            log_dir=workdir / f"logs-{uuid.uuid4().hex[:4]}", services=("intake", "routing", "documents"),
            prefix="benchrelay", amqp_uri=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
            extra_env={"LOG_LEVEL": "WARNING", "MONGODB_URI": mongodb_uri, "MINIO_ENDPOINT": minio,
                       "MINIO_ACCESS_KEY": MINIO_USER, "MINIO_SECRET_KEY": MINIO_PASSWORD, **env})
        platform.start()
        dossiers = client[platform.databases["intake"]]["dossiers"]
        cases = client[platform.databases["routing"]]["cases"]
        filed = client[platform.databases["documents"]]["documents"]
        procedure = client[platform.databases["intake"]]["procedures"].find_one({"_id": "2.001610"})
        documents = [d["name"] for d in procedure.get("required_documents", []) if d.get("required", True)]
        token = mint_token(LOCAL_JWT_SECRET, subject="bench", roles=["desk_officer"], agency=AGENCY)
        metadata = (("authorization", f"Bearer {token}"),)
        pids = {p: proc.popen.pid for p, proc in platform.processes.items()}
        with grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['intake']}") as channel:
            stub = intake_pb2_grpc.IntakeServiceStub(channel)
            stub.SubmitDossier(_request(documents), metadata=metadata, timeout=60)  # warm-up (its form too)
            if _wait(lambda: cases.count_documents({}) + filed.count_documents({"kind": FORM_KIND}), 2, 120) is None:
                raise RuntimeError(f"{name}: the warm-up dossier never reached routing and documents")
            calls: list[float] = []
            answered: dict[str, float] = {}  # code → when SubmitDossier answered (its writes are done)
            errors: list[str] = []
            lock = threading.Lock()

            def submit(at: float) -> str | None:
                time.sleep(max(0.0, at - time.monotonic()))
                started = time.perf_counter()
                try:
                    code = stub.SubmitDossier(_request(documents), metadata=metadata, timeout=120).dossier.code
                except grpc.RpcError as exc:
                    with lock:
                        errors.append(exc.code().name)
                    return None
                with lock:
                    calls.append(time.perf_counter() - started)
                    answered[code] = time.time()
                return code

            cpu_before = {p: _cpu_seconds(pid) for p, pid in pids.items()}
            machine_before = _machine_busy_seconds()
            started = time.monotonic()
            with ThreadPoolExecutor(BURST_CALLERS) as pool:
                burst = [c for c in pool.map(submit, [started + i / BURST_RATE for i in range(BURST)]) if c]
            burst_end = time.monotonic()
            burst_seconds = burst_end - started
            tail = [c for c in (submit(burst_end + (i + 1) / TAIL_RATE) for i in range(int(TAIL_SECONDS * TAIL_RATE)))
                    if c]
        last_case = _wait(lambda: cases.count_documents({"_id": {"$in": burst}}), len(burst), 600)
        last_form = _wait(lambda: filed.count_documents({"kind": FORM_KIND, "dossier_code": {"$in": burst}}),
                          len(burst), 600)
        cpu = {p: _cpu_seconds(pid) - cpu_before[p] for p, pid in pids.items()}
        machine = _machine_busy_seconds() - machine_before
        # Where the delay goes: write → published with confirm (the relay's histogram, wherever it
        # runs), and write → the routing handler's start (the consumer's), both since the start.
        relay_at = platform.metrics.get("intake-relay") or platform.metrics["intake-worker"]
        split = {"published": _histogram_mean(relay_at, "onestop_outbox_relay_delay_seconds", 'service="intake"'),
                 "handler": _histogram_mean(platform.metrics["routing-worker"], "onestop_event_delivery_delay_seconds",
                                            'event_type="DossierReceived"')}
        cpu_wall = time.monotonic() - started
        written = {}
        for d in dossiers.find({"_id": {"$in": burst + tail}}, {"outbox": 1}):
            entry = next(e for e in d["outbox"] if e["event_type"] == "DossierReceived")
            written[d["_id"]] = entry["created_at"]
        opened = {c["_id"]: c["opened_at"] for c in cases.find({"_id": {"$in": burst + tail}}, {"opened_at": 1})}
        delay = {code: (opened[code] - written[code]).total_seconds() for code in opened if code in written}
        # The entry's created_at is stamped before the api's writes, which take long on a busy machine;
        # the answer comes after them (and after two more small writes): the true delay lies between.
        from_answer = {code: opened[code].timestamp() - answered[code] for code in opened if code in answered}
        # From the burst's last write to its last case opened and its last form filed (stored times).
        last_written = max(written[c] for c in burst if c in written) if burst else None
        last_burst_case = max((opened[c] for c in burst if c in opened), default=None)
        last_burst_form = max((d["stored_at"] for d in filed.find({"kind": FORM_KIND, "dossier_code": {"$in": burst}},
                                                                  {"stored_at": 1})), default=None)
        return {
            "name": name, "burst_rate": len(burst) / burst_seconds,
            "burst": _quantiles([delay[c] for c in burst if c in delay]),
            "tail": _quantiles([delay[c] for c in tail if c in delay]), "calls": _quantiles(calls), "errors": errors,
            "burst_answer": _quantiles([from_answer[c] for c in burst if c in from_answer]),
            "tail_answer": _quantiles([from_answer[c] for c in tail if c in from_answer]),
            "last_case_after_burst": (last_burst_case - last_written).total_seconds() if last_burst_case else None,
            "cases_opened": sum(1 for c in burst if c in opened), "burst_n": len(burst), "tail_n": len(tail),
            "last_form_after_burst": (last_burst_form - last_written).total_seconds() if last_burst_form else None,
            "forms": filed.count_documents({"kind": FORM_KIND, "dossier_code": {"$in": burst}}),
            "timed_out": last_case is None or last_form is None, "cpu": cpu, "cpu_wall": cpu_wall,
            "stack_cpu": {}, "split": split, "machine": machine,
        }
    finally:
        client.close()
        if platform is not None:
            platform.stop(drop_databases=False)  # the databases go with the bench's own FerretDB
        rabbitmqctl("delete_vhost", vhost)


def relay_capacity(mongodb_uri: str) -> dict[int, list[float]]:
    """Events per second one OutboxRelay drains, by concurrency (see the module docstring)."""
    from kombu import Connection, Exchange, Queue

    from onestop.events.v1 import intake_events_pb2 as ev
    from onestop_chassis import events, outbox
    from onestop_chassis.config import ServiceSettings, load_settings
    from onestop_chassis.publishing import confirming_publisher, publish_event

    vhost = f"onestop-bench-drain-{uuid.uuid4().hex[:6]}"
    rabbitmqctl("add_vhost", vhost)
    client = pymongo.MongoClient(mongodb_uri, tz_aware=True)
    rates: dict[int, list[float]] = {}
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        amqp = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
        with Connection(amqp) as conn:
            Queue("evt-benchdrain-DossierReceived", durable=True, routing_key="DossierReceived",
                  exchange=Exchange("benchdrain.events", type="topic", durable=True))(conn.default_channel).declare()
        publisher = confirming_publisher(load_settings(ServiceSettings, service_name="benchdrain", amqp_uri=amqp))

        def publish(entry: dict, headers: dict) -> None:
            publish_event(publisher, entry["producer"], entry["event_type"], entry["payload"], headers,
                          entry["event_id"])
        db = client[f"benchdrain_{uuid.uuid4().hex[:6]}"]
        for concurrency in DRAIN_CONCURRENCY:
            aggregates = db[f"aggregates_{concurrency}_{uuid.uuid4().hex[:4]}"]
            writer = outbox.OutboxWriter(aggregates)
            for i in range(DRAIN_EVENTS):
                message = ev.DossierReceived(header=events.new_header("benchdrain"), dossier_code=f"D-{i}")
                aggregates.insert_one({"_id": f"D-{i}", "outbox": writer.stage(f"D-{i}", [message])})
            relay = outbox.OutboxRelay("benchdrain", aggregates, publish, concurrency=concurrency)
            started, published = time.perf_counter(), 0
            while count := relay.run_once():
                published += count
            rates.setdefault(concurrency, []).append(published / (time.perf_counter() - started))
        client.drop_database(db.name)
    finally:
        client.close()
        rabbitmqctl("delete_vhost", vhost)
    return rates


def run() -> str:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-relay-"))
    ferretdb = minio = None
    results = []
    try:
        broker = raw_broker_latency()
        ferretdb, mongodb_uri = own_ferretdb(workdir)
        minio, minio_endpoint = _own_minio(workdir)
        capacity = relay_capacity(mongodb_uri)
        for name, env in SHAPES.items():
            ferretdb_cpu, minio_cpu = _cpu_seconds(ferretdb.pid), _cpu_seconds(minio.pid)
            result = _shape(name, env, workdir, mongodb_uri, minio_endpoint)
            # FerretDB and MinIO from the burst's start is within the shape's window; measured over it
            # all (start-up included, a few tenths of a second), which the report says.
            result["stack_cpu"] = {"FerretDB": _cpu_seconds(ferretdb.pid) - ferretdb_cpu,
                                   "MinIO": _cpu_seconds(minio.pid) - minio_cpu}
            results.append(result)
    finally:
        for proc in (ferretdb, minio):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return _report(broker, results, capacity)


def _report(broker: dict, results: list[dict], capacity: dict[int, list[float]]) -> str:
    def ms(v: float) -> str:
        return f"{v * 1000:.0f}"

    def s(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f} s"

    lines = [
        "## Relay: event delivery during and after a burst (write → handled in the consumer)",
        "",
        f"Per shape a fresh intake + routing + documents platform (forms filed), its own vhost, the bench's own "
        f"FerretDB and MinIO. A burst of {BURST} SubmitDossier paced at {BURST_RATE:g}/s from up to {BURST_CALLERS} "
        f"callers, then {TAIL_RATE:g}/s for {TAIL_SECONDS:g} s. Delivery = routing case `opened_at` − the "
        f"DossierReceived outbox entry's `created_at` (stamped before the api's writes), and again from the moment "
        f"SubmitDossier answered (after its writes; negative when the case opened first): the delay from the "
        f"commit lies between the two. Relay poll {os.environ.get('OUTBOX_POLL_SECONDS', '0.2')} s "
        f"(the default). Broker floor (publish with confirm → consume, {broker['n']} messages): p50 "
        f"{broker['p50'] * 1000:.1f} ms, p99 {broker['p99'] * 1000:.1f} ms.",
        "",
        "| shape | events | submitted/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['name']} | {r['burst']['n']} written during the burst | {r['burst_rate']:.0f} | "
                     f"{ms(r['burst']['p50'])} | {ms(r['burst']['p95'])} | {ms(r['burst']['p99'])} | "
                     f"{ms(r['burst']['max'])} |")
        lines.append(f"| {r['name']} | {r['tail']['n']} written after it | {TAIL_RATE:g} | {ms(r['tail']['p50'])} | "
                     f"{ms(r['tail']['p95'])} | {ms(r['tail']['p99'])} | {ms(r['tail']['max'])} |")
        for label, q in (("during the burst, from the api's answer", r["burst_answer"]),
                         ("after it, from the api's answer", r["tail_answer"])):
            lines.append(f"| {r['name']} | {q['n']} {label} | | {ms(q['p50'])} | {ms(q['p95'])} | {ms(q['p99'])} | "
                         f"{ms(q['max'])} |")
    lines += ["", "| shape | last burst case opened, after the burst's last write | burst cases opened | "
              "burst forms filed | last burst form filed, after the burst's last write | "
              "SubmitDossier p50 / p99 ms | errors |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        error_kinds = f" ({', '.join(sorted(set(r['errors'])))})" if r["errors"] else ""
        lines.append(f"| {r['name']} | {s(r['last_case_after_burst'])} | {r['cases_opened']}/{r['burst_n']} | "
                     f"{r['forms']}/{r['burst_n']} | {s(r['last_form_after_burst'])} | {ms(r['calls']['p50'])} / "
                     f"{ms(r['calls']['p99'])} | {len(r['errors'])}{error_kinds} |")
    names = list(dict.fromkeys(n for r in results for n in r["cpu"]))
    stack = ["FerretDB", "MinIO"]
    lines += ["", "CPU seconds per process from the burst's start until every burst form was filed (2 cores give "
              "2 CPU-seconds a second; FerretDB and MinIO over the whole shape, start-up included):", "",
              "| shape | window s | " + " | ".join(names + stack)
              + " | rest of the machine (other users) | machine busy |",
              "|---|---|" + "---|" * (len(names) + 4)]
    for r in results:
        ours = sum(r["cpu"].values()) + sum(r["stack_cpu"].values())
        lines.append(f"| {r['name']} | {r['cpu_wall']:.0f} | " + " | ".join(f"{r['cpu'].get(n, 0):.1f}" for n in names)
                     + " | " + " | ".join(f"{r['stack_cpu'].get(n, 0):.1f}" for n in stack)
                     + f" | {max(0.0, r['machine'] - ours):.1f} | {100 * r['machine'] / (2 * r['cpu_wall']):.0f} % |")
    lines += ["", "Where the delay goes, mean over every DossierReceived of the shape (warm-up, burst and tail), from "
              "the processes' histograms: write → published with confirm (`onestop_outbox_relay_delay_seconds`), "
              "write → routing's handler starts (`onestop_event_delivery_delay_seconds`): " + "; ".join(
                  f"{r['name']}: {ms(r['split']['published'] or 0)} ms and {ms(r['split']['handler'] or 0)} ms"
                  for r in results) + "."]
    if len(results) >= 2 and results[-1]["burst"]["p99"]:
        before, after = results[0], results[-1]
        lines += ["", f"Ratio before / after, events written during the burst: p50 "
                  f"{before['burst']['p50'] / max(after['burst']['p50'], 1e-9):.0f}×, p99 "
                  f"{before['burst']['p99'] / max(after['burst']['p99'], 1e-9):.0f}×. Target p99 < 1 s: "
                  f"{'reached' if after['burst']['p99'] < 1 and after['tail']['p99'] < 1 else 'not reached'} "
                  f"(during {ms(after['burst']['p99'])} ms, after {ms(after['tail']['p99'])} ms; from the api's "
                  f"answer: during {ms(after['burst_answer']['p99'])} ms, after {ms(after['tail_answer']['p99'])} ms)."]
    lines += ["", f"Relay capacity ({DRAIN_EVENTS} events staged, one per aggregate, drained by one relay to a durable "
              "queue; the bench's FerretDB, the shared RabbitMQ; runs alternate): " + "; ".join(
                  f"{c} thread{'s' if c > 1 else ''}: " + ", ".join(f"{r:.0f}" for r in rates) + " events/s"
                  for c, rates in capacity.items()) + "."]
    if any(r["timed_out"] for r in results):
        lines += ["", "**A shape timed out waiting for its cases or forms (600 s): see the counts above.**"]
    return "\n".join(lines)
