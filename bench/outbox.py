"""Write-to-delivery delay of an event: from the dossier write at the intake desk to the case
opened by the routing worker, through the outbox relay and RabbitMQ, on the real local stack.

Measured per dossier from the stored timestamps (dossier.received_at → case.opened_at, same
machine clock), next to the raw publish→consume latency of the same broker in the same run.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
from kombu import Connection, Exchange, Queue

from bench.stats import at_quantile
from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET

from stack import AMQP_TEST_URI, MONGODB_URI, LocalPlatform

SEQUENTIAL = 200
BURST = 300
BURST_THREADS = 16


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(ordered), "p50": at_quantile(ordered, 0.5), "p95": at_quantile(ordered, 0.95),
            "p99": at_quantile(ordered, 0.99), "max": ordered[-1], "mean": statistics.fmean(ordered)}


def raw_broker_latency(count: int = 500) -> dict[str, float]:
    """Publish with confirms and consume on the same broker: the floor under any event delay."""
    exchange = Exchange(f"bench-{uuid.uuid4().hex[:6]}", type="topic", durable=False, auto_delete=True)
    queue = Queue(f"{exchange.name}-q", exchange=exchange, routing_key="#", auto_delete=True)
    delays: list[float] = []
    received = threading.Event()
    with Connection(AMQP_TEST_URI, transport_options={"confirm_publish": True}) as conn:
        queue(conn.default_channel).declare()
        producer = conn.Producer(serializer="json")
        with Connection(AMQP_TEST_URI) as consumer_conn:
            def on_message(body, message):
                delays.append(time.perf_counter() - body["t"])
                message.ack()
                received.set()
            with consumer_conn.Consumer(queue, callbacks=[on_message], accept=["json"]):
                for _ in range(count):
                    received.clear()
                    producer.publish({"t": time.perf_counter()}, exchange=exchange, routing_key="x")
                    while not received.is_set():
                        consumer_conn.drain_events(timeout=5)
    return _quantiles(delays)


def _submit_request() -> intake_pb2.SubmitDossierRequest:
    return intake_pb2.SubmitDossierRequest(
        request_id=str(uuid.uuid4()), procedure_code="2.001610", channel=common_pb2.CHANNEL_IN_PERSON,
        applicant=common_pb2.Applicant(kind=1, full_name="Hoàng Minh Châu", citizen_id="001203004567"),
        documents=[intake_pb2.SubmittedDocument(name=n, count=1) for n in [
            "Giấy đề nghị đăng ký doanh nghiệp",
            "Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân"]])


def platform_delay(poll_seconds: float) -> dict:
    import pymongo

    token = mint_token(LOCAL_JWT_SECRET, subject="bench", roles=["desk_officer"], agency="000.00.21.H17")
    metadata = (("authorization", f"Bearer {token}"),)
    platform = LocalPlatform(log_dir=__import__("pathlib").Path(tempfile.mkdtemp(prefix="bench-")), prefix="bench",
                             extra_env={"OUTBOX_POLL_SECONDS": str(poll_seconds), "LOG_LEVEL": "WARNING"})
    try:
        platform.start()
        with grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['intake']}") as channel:
            stub = intake_pb2_grpc.IntakeServiceStub(channel)
            stub.SubmitDossier(_submit_request(), metadata=metadata, timeout=30)  # warm-up
            calls: list[float] = []
            for _ in range(SEQUENTIAL):
                started = time.perf_counter()
                stub.SubmitDossier(_submit_request(), metadata=metadata, timeout=30)
                calls.append(time.perf_counter() - started)
                time.sleep(0.01)  # a steady trickle, as at a desk, rather than a flood
            sequential_codes = _codes(platform)

            started = time.perf_counter()
            with ThreadPoolExecutor(BURST_THREADS) as pool:
                list(pool.map(lambda _: stub.SubmitDossier(_submit_request(), metadata=metadata, timeout=60),
                              range(BURST)))
            burst_seconds = time.perf_counter() - started

        client = pymongo.MongoClient(MONGODB_URI, tz_aware=True)
        dossiers = client[platform.databases["intake"]]["dossiers"]
        cases = client[platform.databases["routing"]]["cases"]
        total = dossiers.count_documents({})
        deadline = time.monotonic() + 300
        while cases.count_documents({}) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        received = {d["_id"]: d["received_at"] for d in dossiers.find({}, {"received_at": 1})}
        delays = {c["_id"]: (c["opened_at"] - received[c["_id"]]).total_seconds() for c in cases.find()}
        seq = [v for k, v in delays.items() if k in sequential_codes]
        burst = [v for k, v in delays.items() if k not in sequential_codes]
        return {"poll": poll_seconds, "submit": _quantiles(calls), "sequential": _quantiles(seq),
                "burst": _quantiles(burst), "burst_rate": BURST / burst_seconds,
                "opened": len(delays), "written": total}
    finally:
        platform.stop()


def _codes(platform) -> set[str]:
    import pymongo
    client = pymongo.MongoClient(MONGODB_URI)
    return {d["_id"] for d in client[platform.databases["intake"]]["dossiers"].find({}, {"_id": 1})}


def run() -> str:
    broker = raw_broker_latency()
    runs = [platform_delay(0.2), platform_delay(0.05)]
    def ms(v: float) -> str:
        return f"{v * 1000:.1f}"

    lines = [
        "## Outbox: write → delivery (dossier written at intake → case opened by the routing worker)",
        "",
        f"Raw broker floor (publish with confirm → consume, same RabbitMQ, {broker['n']} messages): "
        f"p50 {ms(broker['p50'])} ms, p99 {ms(broker['p99'])} ms.",
        "",
        "| relay poll | load | dossiers | p50 ms | p95 ms | p99 ms | max ms | p50 / broker p50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        for label, q in (("sequential, 1 caller, 10 ms apart", r["sequential"]),
                         (f"burst, {BURST_THREADS} callers ({r['burst_rate']:.0f} dossiers/s)", r["burst"])):
            lines.append(f"| {r['poll']} s | {label} | {q['n']} | {ms(q['p50'])} | {ms(q['p95'])} | "
                         f"{ms(q['p99'])} | {ms(q['max'])} | {q['p50'] / broker['p50']:.0f}× |")
    lines += ["", "SubmitDossier seen by one sequential client (same runs): " + "; ".join(
        f"poll {r['poll']} s: p50 {ms(r['submit']['p50'])} ms, p99 {ms(r['submit']['p99'])} ms" for r in runs)]
    lines += ["", "Every run: " + ", ".join(f"{r['opened']}/{r['written']} cases opened" for r in runs) + "."]
    return "\n".join(lines)
