"""Routing: cases opened per second through the whole path, an officer's inbox with
BENCH_ROUTING_CASES open cases stored (default 100,000), and the overdue scan of them, next to the
raw find rate of the same database (FerretDB) in the same run.

- Opens: BENCH_ROUTING_OPENS DossierReceived events (default 500, process QT-1.000948) are queued
  while routing's worker is held (SIGSTOP); it is let go and timed until every case is open (the
  worker's consume → template → OPENED entry with its outbox → projection: case view, 2 inbox keys,
  2 scan keys).
- The open cases: bulk-inserted in the shape the adapters store (a case the worker opened is the
  template: its OPENED entry, its view, its inbox and scan keys, written by the adapter's own
  `item_to_doc`), opened at moments spread over ±3 days around now, so about half of the desk steps
  are past due, every key rewritten with its own due time.
- ListInbox (SCOPE_UNASSIGNED and SCOPE_UNIT, a page of 50) over gRPC by the unit's leader, one
  caller, INBOX_CALLS calls each, next to pymongo's find of the same `_id` range with limit 51.
- The overdue scan: the range of every due step (`all|running|` .. now) read whole through the
  store's `inbox` range, as the scan reads its pages (what a worker down for days must find), and
  one pass of the worker's scan (a page of 200 per range, its cases marked OVERDUE_SCAN_WORKERS at
  a time, each found step marked: its log read and folded, an entry appended, the projection
  rewritten), next to pymongo's find_one by `_id` from one thread on the same database.

Isolation as in bench/intake.py: a FerretDB of its own and a RabbitMQ vhost made for the run.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import random
import signal
import tempfile
import time
import uuid
from dataclasses import replace

import grpc
import pymongo

from bench.intake import _quantiles
from bench.isolated import own_ferretdb, rabbitmqctl, tear_down
from onestop.events.v1 import intake_events_pb2 as ev
from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import events
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET, ServiceSettings, load_settings
from onestop_chassis.publishing import confirming_publisher, publish_event
from onestop_chassis.worktime import WorkingCalendar
from onestop_routing.adapters.journey import INBOX, SCAN, MongoCaseStore, collection_of, item_from_doc, item_to_doc
from onestop_routing.adapters.templates import MongoTemplates
from onestop_routing.case_due import CASE_DUE_PREFIX
from onestop_routing.config import RoutingSettings
from onestop_routing.domain.clocks import Clock
from onestop_routing.domain.journey import StepRun
from onestop_routing.inbox import DUE_SOON_PREFIX, RUNNING_PREFIX, due_soon_at, iso_key
from onestop_routing.overdue import OverdueScan
from onestop_routing.service import RoutingService

from routing_samples import land_registration
from stack import LocalPlatform

UNIT = "000.00.21.H17"
CASES = int(os.environ.get("BENCH_ROUTING_CASES", "100000"))
OPENS = int(os.environ.get("BENCH_ROUTING_OPENS", "500"))
INBOX_CALLS = 1000
RAW_FINDS = 2000
BULK_BATCH = 1000
PER_DAY = 5000  # codes <unit>-YYMMDD-NNNN on past days (2025), never today's numbering
SCAN_PAGE = 200
SCAN_WORKERS = RoutingSettings.model_fields["overdue_scan_workers"].default  # as the worker marks
DUE_SOON_SHARE = 0.8


def _received(code: str, at: dt.datetime) -> ev.DossierReceived:
    message = ev.DossierReceived(header=events.new_header("intake"), dossier_code=code, procedure_code="1.000948",
                                 procedure_name="Đăng ký biến động đất đai", channel=1, process_code="QT-1.000948")
    message.receiving_unit.code, message.receiving_unit.name = UNIT, "Trung tâm Phục vụ hành chính công"
    message.applicant.full_name = "Nguyễn Văn An"
    message.received_at.FromDatetime(at)
    message.appointment_at.FromDatetime(at + dt.timedelta(days=14))
    return message


def _wait_count(collection, count: int, timeout: float) -> float:
    started = time.perf_counter()
    while collection.count_documents({}) < count:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {collection.count_documents({})} of {count} cases opened in {timeout:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - started


def _opens(platform: LocalPlatform, db, amqp_uri: str) -> dict:
    publisher = confirming_publisher(load_settings(ServiceSettings, service_name="bench", amqp_uri=amqp_uri))
    now = dt.datetime.now(dt.UTC)
    warm = _received(f"{UNIT}-241231-0001", now)  # the worker's queue exists, and the template of the bulk
    deadline = time.monotonic() + 120
    while db["cases"].count_documents({}) < 1:  # published again until the worker's queue is there
        if time.monotonic() > deadline:
            raise RuntimeError("routing's worker opened no case in 120 s")
        publish_event(publisher, "intake", "DossierReceived", events.to_payload(warm), {}, warm.header.event_id)
        time.sleep(2)
    worker = platform.processes["routing-worker"].popen
    worker.send_signal(signal.SIGSTOP)
    try:
        for n in range(OPENS):
            message = _received(f"{UNIT}-241230-{n + 1:04d}", now)
            publish_event(publisher, "intake", "DossierReceived", events.to_payload(message), {},
                          message.header.event_id)
    finally:
        worker.send_signal(signal.SIGCONT)
    seconds = _wait_count(db["cases"], OPENS + 1, 600)
    return {"opens": OPENS, "seconds": seconds, "rate": OPENS / seconds}


def _bulk(db, calendar: WorkingCalendar) -> dict:
    """CASES open cases cloned from the one the worker opened, each with its own code and times, its
    keys in the documents the adapter writes (adapters.journey: inbox keys lean, scan keys apart)."""
    template_case = db["cases"].find_one({"_id": f"{UNIT}-241231-0001"})
    template_entry = db["journey"].find_one({"_id": f"{UNIT}-241231-0001|000001"}, {"outbox": 0})
    template_items = [item_from_doc(db[collection_of(k)].find_one({"_id": k})) for k in template_case["inbox_keys"]]
    budget = land_registration().step("tiep_nhan").budget
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(11)
    started, stored, due = time.perf_counter(), 0, 0
    codes = []
    while stored < CASES:
        entries, views, docs = [], [], {INBOX: [], SCAN: []}
        for _ in range(min(BULK_BATCH, CASES - stored)):
            day = dt.date(2025, 1, 1) + dt.timedelta(days=stored // PER_DAY)
            code = f"{UNIT}-{day:%y%m%d}-{stored % PER_DAY + 1:04d}"
            opened = now + dt.timedelta(seconds=rng.uniform(-3, 3) * 86400)
            step_due = calendar.add(opened, budget)
            due += step_due <= now
            case = {**template_entry["case"], "received_at": opened, "opened_at": opened,
                    "due_at": opened + dt.timedelta(days=14)}
            entries.append({**template_entry, "_id": f"{code}|000001", "dossier_code": code, "at": opened,
                            "request_id": f"bench-{code}", "due_at": case["due_at"], "case": case})
            keys = []
            for item in template_items:
                prefix = "|".join(item.key.split("|")[:-3])  # <unit>|<scope> or all|running, all|duesoon
                moment = step_due
                if item.key.startswith(DUE_SOON_PREFIX):
                    run = StepRun("tiep_nhan", UNIT, opened, Clock(step_due))
                    moment = due_soon_at(calendar, run, budget, DUE_SOON_SHARE) or step_due
                key = f"{prefix}|{iso_key(moment)}|{code}|tiep_nhan"
                due_at = step_due
                if item.key.startswith(CASE_DUE_PREFIX):  # the case's own clock: its due, no step
                    key, due_at = f"{CASE_DUE_PREFIX}{iso_key(case['due_at'])}|{code}|", case["due_at"]
                keys.append(key)
                clone = replace(item, key=key, dossier_code=code, entered_at=opened, due_at=due_at,
                                case_due_at=case["due_at"])
                docs[collection_of(key)].append(item_to_doc(clone))
            views.append({**template_case, **{k: case[k] for k in ("received_at", "opened_at", "due_at")},
                          "_id": code, "inbox_keys": keys, "current_due_at": step_due})
            codes.append(code)
            stored += 1
        db["journey"].insert_many(entries, ordered=False)
        db["cases"].insert_many(views, ordered=False)
        for name, batch in docs.items():
            db[name].insert_many(batch, ordered=False)
    return {"seconds": time.perf_counter() - started, "due": due, "codes": codes,
            "inbox_docs": db[INBOX].count_documents({}), "scan_docs": db[SCAN].count_documents({})}


def _timed(call, n: int) -> list[float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _inbox(port: int, db) -> dict:
    token = mint_token(LOCAL_JWT_SECRET, subject="ld-bench", roles=["unit_leader"], agency=UNIT, ttl_seconds=7200)
    metadata = (("authorization", f"Bearer {token}"),)
    result = {}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = routing_pb2_grpc.RoutingServiceStub(channel)
        for name, scope in (("unassigned", routing_pb2.ListInboxRequest.SCOPE_UNASSIGNED),
                            ("unit", routing_pb2.ListInboxRequest.SCOPE_UNIT)):
            request = routing_pb2.ListInboxRequest(unit_code=UNIT, scope=scope)
            request.page.page_size = 50
            sizes: list[int] = []

            def listed(i: int, request=request, sizes=sizes) -> None:
                sizes.append(len(stub.ListInbox(request, metadata=metadata, timeout=30).items))

            def raw_range(i: int, prefix=f"{UNIT}|{name}|") -> None:
                list(db["inbox"].find({"_id": {"$gt": prefix, "$lt": prefix + "~"}}).sort("_id", 1).limit(51))

            times = _timed(listed, INBOX_CALLS)
            raw = _timed(raw_range, INBOX_CALLS)
            result[name] = {"rpc": _quantiles(times), "raw": _quantiles(raw), "items": sizes[-1]}
    return result


def _scan(db, codes: list[str], calendar: WorkingCalendar) -> dict:
    cases = MongoCaseStore(lambda: db)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()  # what the scan reads, as it reads it (the store's range), in one go
    found = len(cases.inbox(RUNNING_PREFIX, RUNNING_PREFIX + iso_key(now) + "~", 10 * CASES))
    range_seconds = time.perf_counter() - started
    soon = db[SCAN].count_documents({"_id": {"$gt": DUE_SOON_PREFIX, "$lt": DUE_SOON_PREFIX + iso_key(now) + "~"}})
    service = RoutingService(cases, MongoTemplates(db), calendar=calendar, due_soon_share=DUE_SOON_SHARE)
    scan = OverdueScan(service, cases, SCAN_PAGE, workers=SCAN_WORKERS)  # one page per range: the budget is 0
    started = time.perf_counter()
    one = scan.run()
    pass_seconds = time.perf_counter() - started
    sample = random.Random(5).sample(codes, min(RAW_FINDS, len(codes)))
    raw = _timed(lambda i: db["cases"].find_one({"_id": sample[i]}), len(sample))
    return {"found": found, "range_seconds": range_seconds, "due_soon_keys": soon, "pass": one,
            "pass_seconds": pass_seconds, "raw": _quantiles(raw), "raw_rate": len(raw) / (sum(raw) / 1000)}


def run() -> str:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-routing-"))
    vhost = f"onestop-bench-routing-{uuid.uuid4().hex[:6]}"
    rabbitmqctl("add_vhost", vhost)
    amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    ferretdb, platform, client = None, None, None
    calendar = WorkingCalendar()
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        ferretdb, mongodb_uri = own_ferretdb(workdir)
        client = pymongo.MongoClient(mongodb_uri, tz_aware=True)
        # The worker's own scan stays out of the measured figures: it would run once an hour.
        platform = LocalPlatform(log_dir=workdir / "logs", services=("routing",), prefix="benchrouting",
                                 amqp_uri=amqp_uri, extra_env={"LOG_LEVEL": "WARNING", "MONGODB_URI": mongodb_uri,
                                                               "OVERDUE_SCAN_SECONDS": "3600",
                                                               "DUE_SOON_SHARE": str(DUE_SOON_SHARE)})
        db = client[platform.databases["routing"]]
        MongoTemplates(db).put(land_registration(), published_by="bench", published_at=dt.datetime.now(dt.UTC))
        platform.start()
        opens = _opens(platform, db, amqp_uri)
        bulk = _bulk(db, calendar)
        inbox = _inbox(platform.grpc_ports["routing"], db)
        scan = _scan(db, bulk.pop("codes"), calendar)
    finally:
        tear_down(client, platform, ferretdb, vhost, workdir)
    return _report(opens, bulk, inbox, scan)


def _report(opens: dict, bulk: dict, inbox: dict, scan: dict) -> str:
    one = scan["pass"]
    lines = [
        "## Routing: cases opened, an officer's inbox and the overdue scan, next to the raw database",
        "",
        "Routing's api, worker and relay on a FerretDB of their own and a RabbitMQ vhost of their own; the raw "
        "figures are pymongo on that same FerretDB in the same run. Targets from the issue: inbox p99 < 50 ms and "
        "the scan < 5 s with 100,000 open cases.",
        "",
        f"- **Opens through the whole path** (DossierReceived queued while the worker was held, then consumed → "
        f"case opened with its template, OPENED entry + outbox, view, inbox keys): {opens['opens']} cases in "
        f"{opens['seconds']:.1f} s = **{opens['rate']:.1f} cases/s**.",
        f"- **Open cases stored**: {CASES:,} (bulk-inserted in {bulk['seconds']:.0f} s; {bulk['inbox_docs']:,} inbox "
        f"keys, {bulk['scan_docs']:,} scan keys), {bulk['due']:,} of their desk steps past due.",
        "",
        "| ListInbox, page of 50 | calls | p50 ms | p99 ms | raw find of the same range (limit 51) p50 / p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name, r in inbox.items():
        rpc, raw = r["rpc"], r["raw"]
        lines.append(f"| {name} ({r['items']} items) | {rpc['n']} | {rpc['p50']:.1f} | {rpc['p99']:.1f} | "
                     f"{raw['p50']:.1f} / {raw['p99']:.1f} |")
    lines += [
        "",
        f"- **Overdue scan, what is due**: the range `all|running|` .. now read whole through the store (as the "
        f"scan reads its pages): {scan['found']:,} keys in "
        f"**{scan['range_seconds']:.2f} s** ({scan['found'] / max(scan['range_seconds'], 1e-9):,.0f} keys/s); "
        f"{scan['due_soon_keys']:,} keys in the due-soon range.",
        f"- **One pass of the worker's scan** (page {SCAN_PAGE} per range, {SCAN_WORKERS} cases at once): "
        f"{one.overdue_marked} overdue and "
        f"{one.due_soon_marked} due-soon marks in **{scan['pass_seconds']:.2f} s** "
        f"({(one.overdue_marked + one.due_soon_marked) / max(scan['pass_seconds'], 1e-9):.0f} marks/s).",
        f"- **Raw find_one by `_id`** (one thread, {scan['raw']['n']} cases): {scan['raw_rate']:.0f}/s "
        f"(p50 {scan['raw']['p50']:.2f} ms, p99 {scan['raw']['p99']:.2f} ms).",
    ]
    return "\n".join(lines) + "\n"
