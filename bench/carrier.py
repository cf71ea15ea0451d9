"""Delivery's carrier part: the carrier sandbox's own order rate (raw HTTP, no adapter) next to the
VNPost adapter's create rate against the same sandbox process in the same run, one caller and
several. The gap is the adapter's own cost (JSON mapping, tenacity, the receipt); both are bounded by
the sandbox, a single Python process that is not a carrier: a real carrier's rate is not measured here."""

from __future__ import annotations

import dataclasses
import pathlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from carrier_sandbox import sandbox_process

from bench.stats import at_quantile
from onestop_delivery.adapters.vnpost import VNPostCarrier, order_body
from onestop_delivery.carrier import CarrierOrder, Direction, Party

ORDERS = 400
THREADS = 8
ORDER = CarrierOrder(
    order_number="", customer_code="KH-BENCH", direction=Direction.OUTBOUND,
    sender=Party("Trung tâm Phục vụ hành chính công tỉnh", "02383888888", "Số 1 Trường Thi", "16681", "40"),
    receiver=Party("Nguyễn Văn An", "0912345678", "Xóm 3", "17920", "40"),
    weight_grams=350, cod_amount_vnd=50_000, content="Kết quả giải quyết TTHC (bench)")


def _measure(create: Callable[[str], object], threads: int) -> dict[str, float]:
    """Creates ORDERS orders with new order numbers from `threads` callers: rate and latencies (s)."""
    prefix = uuid.uuid4().hex[:8]
    latencies: list[float] = []

    def one(n: int) -> None:
        started = time.perf_counter()
        create(f"BENCH-{prefix}-{n}")
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(ORDERS)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"rate": ORDERS / elapsed, "p50": at_quantile(ordered, 0.5), "p95": at_quantile(ordered, 0.95),
            "mean": statistics.fmean(ordered)}


def _raw(sandbox) -> Callable[[str], object]:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {sandbox.token}"}

    def create(number: str) -> object:
        answer = session.post(sandbox.url + "/api/orders", headers=headers, timeout=10,
                              json=order_body(dataclasses.replace(ORDER, order_number=number)))
        answer.raise_for_status()
        return answer.json()["itemCode"]
    return create


def _adapter(sandbox) -> Callable[[str], object]:
    carrier = VNPostCarrier(sandbox.url, ORDER.customer_code, sandbox.token, sandbox.secret, timeout_seconds=10)
    return lambda number: carrier.create_order(dataclasses.replace(ORDER, order_number=number))


def measure() -> dict[str, dict[str, float]]:
    with sandbox_process(pathlib.Path(tempfile.mkdtemp(prefix="bench-carrier-"))) as sandbox:
        results = {}
        for threads in (1, THREADS):
            results[f"sandbox, raw HTTP, {threads} caller(s)"] = _measure(_raw(sandbox), threads)
            results[f"VNPost adapter, {threads} caller(s)"] = _measure(_adapter(sandbox), threads)
        orders = sandbox.orders()
        assert len(orders["orders"]) == 4 * ORDERS, "an order was made twice or lost"
    return results


def run() -> str:
    results = measure()
    lines = ["### The carrier: the sandbox's own order rate and the VNPost adapter's create rate", "",
             f"{ORDERS} orders per row, each a new order number, against one `onestop-carrier-sandbox` process "
             "(a stand-in, not a carrier).", "",
             "| caller | orders/s | p50 ms | p95 ms |", "|---|---|---|---|"]
    for label, r in results.items():
        lines.append(f"| {label} | {r['rate']:.0f} | {r['p50'] * 1000:.1f} | {r['p95'] * 1000:.1f} |")
    return "\n".join(lines) + "\n"
