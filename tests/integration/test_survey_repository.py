"""Survey's MongoDB adapters on the real FerretDB (issue 12, items 2-4): one invitation per dossier
and one answer per invitation under concurrent writers (unique inserts are FerretDB's only
concurrency primitive), the answer's event staged in its outbox, questionnaire versions, and the
indices' tallies read back by `_id` range."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from onestop_chassis import auth
from onestop_chassis.errors import AlreadyExists, FailedPrecondition, PermissionDenied
from onestop_survey.answers import kiosks
from onestop_survey.answers.adapters.mongo import MongoKiosks
from onestop_survey.bootstrap import bootstrap, prepare_database
from onestop_survey.config import SurveySettings
from onestop_survey.indices.service import parse_query
from onestop_survey.invitations import domain

UNIT, PARENT = "000.21.21.H17", "000.00.21.H17"
NOW = dt.datetime(2026, 11, 17, 3, 0, tzinfo=dt.UTC)
NINE = {str(i): 2 for i in range(1, 10)}
ADMIN = auth.Principal("admin", frozenset({auth.AGENCY_ADMIN}), UNIT)


def _returned(code: str) -> domain.ResultReturned:
    return domain.ResultReturned("e-1", code, UNIT, PARENT, "1.000948", "Cấp phiếu lý lịch tư pháp", "desk-an",
                                 "desk-binh", 1, NOW)


@pytest.fixture()
def survey(mongo_db):
    return bootstrap(SurveySettings(), clock=lambda: NOW)


def test_concurrent_deliveries_issue_one_invitation(survey, mongo_db):
    code = f"{UNIT}-261117-0001"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: survey.invitations.issue(_returned(code)), range(8)))
    assert sum(issued for _, issued in results) == 1
    assert len({invitation.id for invitation, _ in results}) == 1
    assert mongo_db["invitations"].count_documents({}) == 1
    assert mongo_db["invitation_keys"].count_documents({}) == 2  # the dossier's claim and the token's hash


def test_concurrent_answers_leave_exactly_one(survey, mongo_db):
    invitation, _ = survey.invitations.issue(_returned(f"{UNIT}-261117-0002"))
    token = survey.invitations.desk_view(invitation).link.rsplit("/", 1)[1]

    def answer(_):
        try:
            survey.answers.submit(token, NINE)
            return "ok"
        except FailedPrecondition as exc:
            return exc.reason
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(answer, range(16)))
    assert outcomes.count("ok") == 1 and set(outcomes) <= {"ok", "ALREADY_ANSWERED"}
    assert mongo_db["answers"].count_documents({}) == 1
    stored = mongo_db["answers"].find_one({"_id": invitation.id})
    assert [e["event_type"] for e in stored["outbox"]] == ["AnswerRecorded"]
    assert mongo_db["answers_outbox"].count_documents({}) == 1  # the losers' pointers were discarded
    assert token not in str(stored)
    summary = survey.indices.index(parse_query(PARENT, "", "", "", "2026-11-17", "2026-11-17"),
                                   auth.Principal("svc", frozenset({auth.SERVICE})))
    assert (summary.sheets, summary.total_points, summary.grades) == (1, 18, {"xuat_sac": 1})


def _kiosk(key: str = "the-kiosk-key") -> str:
    """Registers kiosk k1 of UNIT (agency PARENT) straight in the store; returns its key."""
    MongoKiosks().put(kiosks.Kiosk(UNIT, "k1", PARENT, kiosks.key_hash(key), NOW, "admin"))
    return key


def test_tallies_are_read_by_range_and_written_once(survey, mongo_db):
    key = _kiosk()
    for day in (16, 17, 18):
        clocked = bootstrap(SurveySettings(), clock=lambda d=day: NOW.replace(day=d))
        clocked.answers.rate(UNIT, "k1", key, "desk-an", 3 if day != 18 else 1, f"r-{day}")
    before = mongo_db["tallies"].count_documents({})
    assert before == 12  # per rating: the unit's and its agency's "all" and officer's
    svc = auth.Principal("svc", frozenset({auth.SERVICE}))
    seventeenth = survey.indices.index(parse_query(UNIT, "desk-an", "", "", "2026-11-17", "2026-11-18"), svc)
    assert (seventeenth.ratings, seventeenth.levels) == (2, {3: 1, 1: 1})
    three = parse_query(UNIT, "desk-an", "", "", "2026-11-16", "2026-11-18")
    first = survey.indices.index(three, svc)  # at 10:00 on the 17th: the 16th is closed, rolled up
    assert (first.ratings, first.levels) == (3, {3: 2, 1: 1})
    assert [d["_id"][-10:] for d in mongo_db["tally_days"].find()] == ["2026-11-16"]
    assert survey.indices.index(three, svc) == first and mongo_db["tally_days"].count_documents({}) == 1
    from onestop_survey.answers.adapters.mongo import MongoTallies
    again = MongoTallies().range("", "~")
    MongoTallies().add_all(again)  # a retry: nothing changes, nothing raises
    assert mongo_db["tallies"].count_documents({}) == before


def test_kiosks_and_ratings_by_request_id_on_the_database(survey, mongo_db):
    key = _kiosk()
    stored = mongo_db["kiosks"].find_one({"_id": f"{UNIT}|k1"})
    assert stored["agency_code"] == PARENT and key not in str(stored)

    def rate(_):
        try:
            return survey.answers.rate(UNIT, "k1", key, "desk-an", 3, "r-same").id
        except AlreadyExists as exc:
            return exc.reason
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(rate, range(8)))
    assert len(set(outcomes)) == 1 and len(outcomes[0]) == 32  # every replay answers the one rating
    assert mongo_db["ratings"].count_documents({}) == 1 and mongo_db["ratings_outbox"].count_documents({}) == 1
    with pytest.raises(AlreadyExists):
        survey.answers.rate(UNIT, "k1", key, "desk-an", 1, "r-same")
    rating = mongo_db["ratings"].find_one({})
    assert (rating["parent_agency_code"], rating["request_id"]) == (PARENT, "r-same")
    survey.answers.kiosks.revoke(UNIT, "k1", ADMIN)
    with pytest.raises(PermissionDenied):
        survey.answers.rate(UNIT, "k1", key, "desk-an", 3, "r-after")
    assert MongoKiosks().get(f"{UNIT}|k1").revoked_at == NOW and mongo_db["ratings"].count_documents({}) == 1


def test_an_answer_sheet_stores_no_dossier_code(survey, mongo_db):
    code = f"{UNIT}-261117-0003"
    invitation, _ = survey.invitations.issue(_returned(code))
    survey.answers.submit(survey.invitations.desk_view(invitation).link.rsplit("/", 1)[1], NINE)
    stored = mongo_db["answers"].find_one({"_id": invitation.id})
    assert stored["agency_code"] == UNIT and code not in str(stored) and "dossier_code" not in stored


def test_sheets_stored_with_a_dossier_code_lose_it_once(survey, mongo_db):
    code = f"{UNIT}-261117-0004"
    mongo_db["answers"].insert_many([{"_id": "a" * 32, "agency_code": UNIT, "dossier_code": code},
                                     {"_id": "b" * 32, "agency_code": UNIT}])
    prepare_database()
    assert [d.get("dossier_code") for d in mongo_db["answers"].find({}, {"dossier_code": 1})] == [None, None]
    assert mongo_db["migrations"].find_one({"_id": "answers-without-dossier-code"})["report"] == {"answers": 1}
    mongo_db["answers"].insert_one({"_id": "c" * 32, "dossier_code": code})
    prepare_database()  # done once: a later start reads the marker only
    assert mongo_db["answers"].find_one({"_id": "c" * 32})["dossier_code"] == code


def test_questionnaire_versions_and_the_latest_by_range(survey, mongo_db):
    file = b"""- code: quay-1
  name: "Phi\xe1\xba\xbfu t\xe1\xba\xa1i qu\xe1\xba\xa7y"
  questions:
    - {id: y-kien, kind: text, text: "\xc3\x9d ki\xe1\xba\xbfn", max_length: 100}
"""
    assert [(s.version, s.changed) for s in survey.questionnaires.put(UNIT, file, "yaml", ADMIN)] == [(1, True)]
    assert [(s.version, s.changed) for s in survey.questionnaires.put(UNIT, file, "yaml", ADMIN)] == [(1, False)]
    changed = file.replace(b"max_length: 100", b"max_length: 200")
    assert [s.version for s in survey.questionnaires.put(UNIT, changed, "yaml", ADMIN)] == [2]
    assert survey.questionnaires.get("quay-1", 0, UNIT).questions[0].max_length == 200
    assert survey.questionnaires.get("quay-1", 1, UNIT).questions[0].max_length == 100
    assert mongo_db["questionnaires"].count_documents({}) == 2
