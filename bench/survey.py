"""Survey: answers per second through the RPC (SubmitAnswers) and through the page (POST
/khao-sat/<token>), and GetSatisfactionIndex over a year of a province's answers, next to the raw
`_id` range read of the same tallies on the same database.

- Invitations: BENCH_SURVEY_INVITATIONS (default 600) issued in this process with survey's own use
  case on the platform's database (as its worker would on DossierResultReturned); half are
  answered through the RPC, half through the page, by BENCH_SURVEY_CALLERS threads (default 8).
- The year: BENCH_SURVEY_YEAR (default 50,000) answer sheets' tallies of a province's agency
  (`all` and one officer of ten), bulk-inserted in the shape the adapter writes, spread over 365
  days; the index for the year and for one month, INDEX_CALLS calls each over gRPC by a leader
  (the first call of each rolls the closed days up: reported apart).

Isolation as in bench/intake.py: a FerretDB of its own and a RabbitMQ vhost made for the run; the
public limits are lifted (they would refuse a bench from one address).
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import random
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import mongoengine
import pymongo

from bench.intake import _quantiles
from bench.isolated import own_ferretdb, rabbitmqctl, tear_down
from onestop.survey.v1 import survey_pb2, survey_pb2_grpc
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET, load_settings
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.indices import domain as indices
from onestop_survey.invitations import domain

from stack import LocalPlatform

PROVINCE, DESK = "000.00.00.H17", "000.00.21.H17"
INVITATIONS = int(os.environ.get("BENCH_SURVEY_INVITATIONS", "600"))
CALLERS = int(os.environ.get("BENCH_SURVEY_CALLERS", "8"))
YEAR = int(os.environ.get("BENCH_SURVEY_YEAR", "50000"))
INDEX_CALLS = 10
NINE = {str(i): random.Random(i).choice([0, 1, 2]) for i in range(1, 10)}
LIFTED = {"TOKEN_REQUESTS_PER_CLIENT": "1000000/minute", "UNKNOWN_TOKENS_PER_CLIENT": "1000000/hour",
          "RATINGS_PER_CLIENT": "1000000/minute", "RATINGS_PER_KIOSK": "1000000/minute"}


def _tokens(mongodb_uri: str, database: str) -> list[str]:
    settings = load_settings(SurveySettings, mongodb_uri=mongodb_uri, mongodb_database=database)
    mongoengine.connect(db=database, host=mongodb_uri, alias="default", tz_aware=True)
    try:
        survey = bootstrap(settings)
        out = []
        for n in range(INVITATIONS):
            invitation, _ = survey.invitations.issue(domain.ResultReturned(
                f"bench-{n}", f"{DESK}-261130-{n:04d}", DESK, PROVINCE, "1.000948", "Cấp phiếu lý lịch tư pháp",
                "desk-an", "desk-binh", 1, dt.datetime.now(dt.UTC)))
            out.append(domain.token_for(settings.invitation_key.encode(), invitation.id))
        return out
    finally:
        mongoengine.disconnect(alias="default")


def _timed(call, items: list) -> dict:
    latencies: list[float] = []

    def one(item):
        started = time.perf_counter()
        call(item)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(one, items))
    seconds = time.perf_counter() - started
    return {"n": len(items), "seconds": seconds, "rate": len(items) / seconds, **_quantiles(latencies)}


def _answers(platform: LocalPlatform, tokens: list[str]) -> tuple[dict, dict]:
    half = len(tokens) // 2
    answers = [survey_pb2.Answer(question_id=k, value=v) for k, v in NINE.items()]
    with grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['survey']}") as channel:
        stub = survey_pb2_grpc.SurveyServiceStub(channel)
        rpc = _timed(lambda t: stub.SubmitAnswers(survey_pb2.SubmitAnswersRequest(token=t, answers=answers),
                                                  timeout=30), tokens[:half])
    site = f"http://127.0.0.1:{platform.web_ports['survey']}/khao-sat/"
    body = urllib.parse.urlencode({f"q_{k}": v for k, v in NINE.items()}).encode()

    def post(t: str) -> None:
        with urllib.request.urlopen(urllib.request.Request(site + t, data=body, method="POST"), timeout=30) as r:
            assert r.status == 200
    return rpc, _timed(post, tokens[half:])


def _year(db) -> dict:
    """YEAR sheets' tallies over the last 365 days, in the adapter's shape."""
    rng, today, docs = random.Random(12), dt.date.today(), []
    started = time.perf_counter()
    for n in range(YEAR):
        day = (today - dt.timedelta(days=rng.randrange(365))).isoformat()
        total = sum(rng.choice([0, 1, 2]) for _ in range(9))
        grade = "xuat_sac" if total >= 15 else "tot" if total >= 12 else "kha" if total >= 9 else \
            "trung_binh" if total >= 6 else "yeu"
        for prefix in (indices.prefix(PROVINCE, "all"), indices.prefix(PROVINCE, "officer", f"desk-{n % 10}")):
            docs.append({"_id": f"{prefix}{day}|q|{uuid.uuid4().hex}", "kind": "q", "scoring": "points",
                         "total": total, "grade": grade, "level": 0, "sipas": []})
        if len(docs) >= 2000:
            db["tallies"].insert_many(docs, ordered=False)
            docs = []
    if docs:
        db["tallies"].insert_many(docs, ordered=False)
    return {"seconds": time.perf_counter() - started}


def _index(platform: LocalPlatform, db) -> dict:
    token = mint_token(LOCAL_JWT_SECRET, subject="bench-leader", roles=["unit_leader"], agency=PROVINCE)
    today = dt.date.today()
    out = {}
    with grpc.insecure_channel(f"127.0.0.1:{platform.grpc_ports['survey']}") as channel:
        stub = survey_pb2_grpc.SurveyServiceStub(channel)
        for name, start in (("year", today - dt.timedelta(days=364)), ("month", today - dt.timedelta(days=29))):
            request = survey_pb2.GetSatisfactionIndexRequest(agency_code=PROVINCE, from_date=start.isoformat(),
                                                             to_date=today.isoformat())
            latencies, sheets = [], 0
            for _ in range(INDEX_CALLS):
                began = time.perf_counter()
                sheets = stub.GetSatisfactionIndex(request, metadata=(("authorization", f"Bearer {token}"),),
                                                   timeout=300).points.sheets
                latencies.append(time.perf_counter() - began)
            prefix = indices.prefix(PROVINCE, "all")
            began = time.perf_counter()
            raw = len(list(db["tallies"].find({"_id": {"$gte": f"{prefix}{start.isoformat()}",
                                                       "$lt": f"{prefix}{today.isoformat()}|~"}})))
            out[name] = {"sheets": sheets, "raw_docs": raw, "raw_seconds": time.perf_counter() - began,
                         "first": latencies[0], **_quantiles(latencies[1:])}
    return out


def run() -> str:
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-survey-"))
    vhost = f"onestop-bench-survey-{uuid.uuid4().hex[:6]}"
    rabbitmqctl("add_vhost", vhost)
    ferretdb, platform, client = None, None, None
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        ferretdb, mongodb_uri = own_ferretdb(workdir)
        client = pymongo.MongoClient(mongodb_uri, tz_aware=True)
        platform = LocalPlatform(log_dir=workdir / "logs", services=("survey",), prefix="benchsurvey",
                                 amqp_uri=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                                 extra_env={"LOG_LEVEL": "WARNING", "MONGODB_URI": mongodb_uri, **LIFTED})
        platform.start()
        db = client[platform.databases["survey"]]
        tokens = _tokens(mongodb_uri, platform.databases["survey"])
        rpc, page = _answers(platform, tokens)
        year = _year(db)
        index = _index(platform, db)
    finally:
        tear_down(client, platform, ferretdb, vhost, workdir)
    return _report(rpc, page, year, index)


def _report(rpc: dict, page: dict, year: dict, index: dict) -> str:
    def ms(x: float) -> str:
        return f"{x * 1000:.0f} ms"
    lines = [
        "## Survey: answers through the RPC and the page, and the indices over a province's year",
        "",
        f"Survey's api, worker (the page) and relay on a FerretDB of their own; {CALLERS} callers.",
        "",
        f"- **SubmitAnswers (gRPC)**: {rpc['n']} answers in {rpc['seconds']:.1f} s = **{rpc['rate']:.1f}/s**, "
        f"p50 {ms(rpc['p50'])}, p99 {ms(rpc['p99'])}.",
        f"- **The page (POST /khao-sat/<token>)**: {page['n']} answers in {page['seconds']:.1f} s = "
        f"**{page['rate']:.1f}/s**, p50 {ms(page['p50'])}, p99 {ms(page['p99'])}.",
        f"- **A province's year**: {YEAR:,} sheets' tallies (the agency's and an officer's each) inserted in "
        f"{year['seconds']:.0f} s.",
    ]
    for name, r in index.items():
        lines.append(f"- **GetSatisfactionIndex, the {name}** ({r['sheets']:,} sheets): the first call "
                     f"{ms(r['first'])} (it rolls the closed days up), then p50 {ms(r['p50'])}, p99 {ms(r['p99'])} "
                     f"over {r['n']} calls; the raw `_id` range read of its {r['raw_docs']:,} tallies: "
                     f"{ms(r['raw_seconds'])}.")
    return "\n".join(lines) + "\n"
