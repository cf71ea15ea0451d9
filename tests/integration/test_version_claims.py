"""Version claims serialise writers on the real FerretDB, which has no atomic updates."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from onestop_chassis import auth
from onestop_chassis.config import load_settings
from onestop_chassis.errors import ServiceError
from onestop_chassis.versions import ConcurrentChange, VersionClaims
from onestop_intake.bootstrap import bootstrap, prepare_database
from onestop_intake.config import IntakeSettings
from onestop_intake.reception import domain
from onestop_intake.seed import load_demo_data

DN_DOCUMENTS = tuple(domain.SubmittedDocument(n) for n in [
    'Giấy đề nghị đăng ký doanh nghiệp', 'Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân'])

DN_DOCUMENTS = tuple(domain.SubmittedDocument(n) for n in [
    "Giấy đề nghị đăng ký doanh nghiệp",
    "Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân"])

OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), "000.00.21.H17")


def test_exactly_one_writer_wins_a_version(mongo_db):
    aggregates = mongo_db["things"]
    aggregates.insert_one({"_id": "t1", "version": 1})
    claims = VersionClaims(aggregates)

    def attempt(i):
        try:
            claims.claim("t1", 2, actor=f"w{i}", action="x")
            return True
        except ConcurrentChange:
            return False
    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(attempt, range(16))) == 1


def test_a_stale_claim_of_a_dead_writer_is_taken_over(mongo_db):
    aggregates = mongo_db["things"]
    aggregates.insert_one({"_id": "t1", "version": 1})
    claims = VersionClaims(aggregates, stale_seconds=30)
    claims.claim("t1", 2, actor="dead", action="x", now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    claims.claim("t1", 2, actor="alive", action="x")  # taken over: the document is still at version 1
    with pytest.raises(ConcurrentChange):
        claims.claim("t1", 2, actor="third", action="x")  # now fresh: refused


def test_concurrent_desk_actions_on_one_dossier_change_it_once(mongo_db):
    intake = bootstrap(load_settings(IntakeSettings, documents_address=""))
    prepare_database()  # indexes and migrations, as the api and the seed run first
    load_demo_data(intake)
    service = intake.reception
    code = service.submit(domain.SubmitDossier(
        "r-1", "2.001610", domain.Applicant(1, "Vũ Thị Lan", "001203004567"), domain.Channel.IN_PERSON,
        documents=DN_DOCUMENTS),
        OFFICER).dossier.code

    def act(i):
        try:
            if i % 2:
                service.request_supplement(code, f"Thiếu giấy tờ {i}", ["Bản sao CCCD"], OFFICER)
            else:
                service.request_withdrawal(code, f"Lý do {i}", OFFICER)
            return "ok"
        except ServiceError as exc:
            return exc.reason
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(act, range(16)))
    done = outcomes.count("ok")  # e.g. a supplement request (2→5), then a withdrawal from 5 (5→7)
    assert 1 <= done <= 2, outcomes
    assert set(outcomes) - {"ok"} <= {"CONCURRENT_CHANGE", "ACTION_NOT_ALLOWED_IN_STATUS",
                                      "SUPPLEMENT_ALREADY_REQUESTED"}
    stored = mongo_db["dossiers"].find_one({"_id": code})
    assert stored["version"] == 1 + done, "every successful change, and only those, was written"
    assert len(stored["history"]) == 1 + done and len(stored["outbox"]) == 1 + done, "none lost or doubled"
    assert [h["status"] for h in stored["history"]][0] == 2
