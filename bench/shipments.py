"""Delivery's shipments part: shipments booked per second through CreateShipment (the api, with its
call to intake for the procedure's postal rule and the unique insert of the first log entry), and
carrier reports applied per second through the worker's webhook (signature, lookup by waybill, one
log entry and its events in the outbox each). intake + delivery as processes on the local stack, with
the carrier sandbox LocalPlatform starts beside delivery (which orders every parcel before the
webhooks are measured); its own order rate is bench/carrier.py's, in the same run."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pathlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import requests

from bench.isolated import rabbitmqctl
from bench.stats import at_quantile
from onestop.delivery.v1 import delivery_pb2 as dpb
from onestop.delivery.v1 import delivery_pb2_grpc
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET

from stack import LocalPlatform

SHIPMENTS = int(os.environ.get("BENCH_DELIVERY_SHIPMENTS", "300"))
THREADS = 4
UNIT, PROCEDURE = "000.00.21.H17", "2.001610"  # a demo desk and a procedure that allows postal handling
APPLICANT = dpb.PostalParty(name="Nguyễn Văn An", phone="0912345678", address_line="Xóm 3", commune_code="26734",
                            province_code="79")


def _timed(call: Callable, items: list, threads: int = THREADS) -> dict[str, float]:
    latencies: list[float] = []

    def one(item) -> None:
        started = time.perf_counter()
        call(item)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, items))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"rate": len(items) / elapsed, "p50": at_quantile(ordered, 0.5), "p95": at_quantile(ordered, 0.95),
            "mean": statistics.fmean(ordered)}


def _book(platform: LocalPlatform) -> tuple[dict[str, float], list[str]]:
    metadata = (("authorization", "Bearer " + mint_token(LOCAL_JWT_SECRET, subject="bench", roles=("desk_officer",),
                                                         agency=UNIT, ttl_seconds=3600)),)
    made: list[str] = []
    with grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['delivery']}") as channel:
        stub = delivery_pb2_grpc.DeliveryServiceStub(channel)
        run = uuid.uuid4().hex[:8]  # a pickup's request_id is its order number's seed: new ones each run

        def book(i: int) -> None:
            request = dpb.CreateShipmentRequest(direction=dpb.DIRECTION_INBOUND, procedure_code=PROCEDURE,
                                                applicant=APPLICANT, request_id=f"bench-{run}-{i}")
            made.append(stub.CreateShipment(request, metadata=metadata, timeout=30).shipment.id)
        rate = _timed(book, list(range(SHIPMENTS)))
    return rate, made


def _ordered(platform: LocalPlatform, ids: list[str], timeout: float = 300) -> dict[str, str]:
    """Waits until the worker has ordered every shipment at the sandbox; order number → waybill."""
    deadline = time.monotonic() + timeout
    while True:
        orders = requests.get(platform.sandbox_url + "/sandbox/orders", timeout=30).json()["orders"]
        waybills = {o["orderNumber"]: o["itemCode"] for o in orders}
        if set(ids) <= set(waybills):
            assert len(orders) == len(ids), "an order was made twice"
            time.sleep(2)  # the sandbox's "accepted" webhooks and the ORDERED entries settle
            return waybills
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(set(ids) & set(waybills))} of {len(ids)} shipments ordered")
        time.sleep(0.5)


def _webhooks(platform: LocalPlatform, waybills: dict[str, str]) -> tuple[dict[str, float], int]:
    """One signed "picked up" report per parcel POSTed to the worker; the rate and the reports applied."""
    secret = pathlib.Path(platform.env("delivery")["CARRIER_WEBHOOK_SECRET_FILE"]).read_text().strip().encode()
    url = f"http://127.0.0.1:{platform.web_ports['delivery']}/carrier/webhook"
    session, applied = requests.Session(), []

    def post(item: tuple[str, str]) -> None:
        number, waybill = item
        body = json.dumps({"events": [{"eventId": f"bench-{waybill}-2", "itemCode": waybill, "orderNumber": number,
                                       "statusCode": "200", "statusText": "Đã nhận bưu gửi",
                                       "time": "2026-11-30T08:00:00+07:00", "note": ""}]}).encode()
        answer = session.post(url, data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest()})
        answer.raise_for_status()
        applied.append(answer.json()["applied"])
    rate = _timed(post, sorted(waybills.items()))
    return rate, sum(applied)


def measure() -> dict[str, dict[str, float]]:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-shipments-"))
    vhost = f"onestop-bench-delivery-{uuid.uuid4().hex[:6]}"
    rabbitmqctl("add_vhost", vhost)
    platform = LocalPlatform(log_dir=workdir / "logs", services=("intake", "delivery"), prefix="benchdelivery",
                             amqp_uri=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                             extra_env={"LOG_LEVEL": "WARNING", "ORDER_RETRY_SECONDS": "0.5"})
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        platform.start()
        booked, ids = _book(platform)
        webhooks, applied = _webhooks(platform, {n: w for n, w in _ordered(platform, ids).items() if n in ids})
        assert applied == SHIPMENTS, f"{applied} of {SHIPMENTS} reports applied"
    finally:
        platform.stop()
        rabbitmqctl("delete_vhost", vhost)
    return {"CreateShipment (inbound pickups)": booked, "webhook reports applied (worker)": webhooks}


def run() -> str:
    results = measure()
    lines = ["### Shipments: booked through the api, carrier reports applied through the worker's webhook", "",
             f"{SHIPMENTS} shipments, {THREADS} callers; intake + delivery as processes on the local stack, the "
             "carrier the sandbox (its own order rate: the table above).", "",
             "| what | per second | p50 ms | p95 ms |", "|---|---|---|---|"]
    for label, r in results.items():
        lines.append(f"| {label} | {r['rate']:.0f} | {r['p50'] * 1000:.1f} | {r['p95'] * 1000:.1f} |")
    return "\n".join(lines) + "\n"
