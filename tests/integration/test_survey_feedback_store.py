"""Feedback's MongoDB adapter (onestop_survey.feedback.adapters.mongo) on the real FerretDB: an item
round-trips through its log, two writers of the same seq leave one entry (the unique insert) and
the loser's events are never staged, key ranges come back in order and within their prefix, and
a service over the store refuses bad input without writing anything."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from onestop_chassis import auth
from onestop_chassis.errors import FailedPrecondition, InvalidArgument
from onestop_chassis.outbox import pointer_collection
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.feedback import domain, messages
from onestop_survey.feedback.adapters.mongo import KEYS, LOG, MongoFeedback

from fakes import FakeUnitTree

UNIT = "000.00.21.H17"
LEADER = auth.Principal("leader", frozenset({auth.UNIT_LEADER}), UNIT)
NOW = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 in Vietnam


def _filing(content="Thủ tục hướng dẫn chưa rõ ràng") -> domain.Filing:
    return domain.Filing(code="", secret_hash="", agency_code=UNIT, type_code="thu-tuc", content=content,
                         complainant=domain.Complainant(domain.FiledBy.BUSINESS, "Công ty TNHH Ánh Dương",
                                                        email="lienhe@anhduong.vn"),
                         dossier_code=f"{UNIT}-260504-0007")


@pytest.fixture()
def survey(mongo_db):
    store = MongoFeedback(lambda: mongo_db)
    # intake's unit tree in memory: this file tests the feedback store on FerretDB (the e2e files
    # file feedback against a running intake)
    return bootstrap(SurveySettings(), feedback=store, invitations=None, units=FakeUnitTree({UNIT: ""}),
                     clock=lambda: NOW), store, mongo_db


def test_an_item_round_trips_through_its_log(survey):
    built, store, db = survey
    item, secret = built.feedback.file(_filing())
    built.feedback.answer(item.code, "Đã bổ sung hướng dẫn trên cổng", False, "r-1", LEADER)
    read = built.feedback.lookup(item.code, secret)
    assert read.filing == item.filing and read.filing.complainant.kind is domain.FiledBy.BUSINESS
    assert [e.kind for e in read.log] == [domain.Kind.FILED, domain.Kind.ANSWERED]
    assert read.filed_at == NOW and read.log[1].actor == domain.Actor("leader", auth.UNIT_LEADER, UNIT)
    assert sorted(d["_id"] for d in db[LOG].find({}, {"_id": 1})) == [f"{item.code}|000001", f"{item.code}|000002"]
    assert db[LOG].find_one({"_id": f"{item.code}|000001"})["outbox"][0]["event_type"] == "FeedbackFiled"


def test_two_writers_of_one_seq_leave_one_entry_and_only_its_events(survey):
    built, store, db = survey
    item, _ = built.feedback.file(_filing())
    pointers_before = pointer_collection(db[LOG]).count_documents({})
    results = []

    def write(answer: str) -> None:
        entry = domain.Entry(seq=2, kind=domain.Kind.ANSWERED, at=NOW, actor=domain.Actor("x", auth.UNIT_LEADER),
                             answer=answer)
        after = domain.apply(item, entry)
        results.append(store.append(item.code, entry, None, [messages.answered(after, built.feedback.policy.types)]))

    threads = [threading.Thread(target=write, args=(f"Trả lời {n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert len(store.load(item.code)[1]) == 2
    assert pointer_collection(db[LOG]).count_documents({}) == pointers_before + 1  # the winner's event only


def test_key_ranges_come_back_in_order_within_their_prefix(survey):
    built, store, db = survey
    codes = [built.feedback.file(_filing(f"Phản ánh số {n}"))[0].code for n in range(3)]
    store.put_key("unit|000.00.21.H18|2026|X", "PA-000000-ZZZZZZ")  # a neighbouring unit's key
    listed, token = built.feedback.list_unit(UNIT, LEADER, 2, "")
    rest, end = built.feedback.list_unit(UNIT, LEADER, 2, token)
    assert sorted(i.code for i in listed + rest) == sorted(codes) and end == ""
    keys = [d["_id"] for d in db[KEYS].find({"_id": {"$gte": "unit|", "$lt": "unit|~"}}).sort("_id", 1)]
    assert len(keys) == 4 and keys == sorted(keys)


def test_refusals_write_nothing(survey):
    built, store, db = survey
    item, secret = built.feedback.file(_filing())
    counts = (db[LOG].count_documents({}), db[KEYS].count_documents({}))
    with pytest.raises(InvalidArgument):
        built.feedback.file(_filing(content=" "))
    with pytest.raises(FailedPrecondition):
        built.feedback.rate(item.code, secret, 3)
    assert (db[LOG].count_documents({}), db[KEYS].count_documents({})) == counts
