"""MongoDB adapters of answer sheets, kiosk ratings and the indices' tallies.

A sheet's `_id` is its invitation's id (the unique insert that keeps one answer per dossier) and
the sheet carries its AnswerRecorded event in its `outbox` array, written in that one insert
(onestop_chassis.outbox); ratings likewise with OfficerRated. Tallies are unique inserts by `_id`
(indices.domain); FerretDB answers their `_id` ranges from its index."""

from __future__ import annotations

import contextlib
import dataclasses

from mongoengine.connection import get_db
from pymongo.errors import BulkWriteError, DuplicateKeyError

from onestop_chassis import migrations
from onestop_chassis.clock import as_utc
from onestop_chassis.outbox import OUTBOX, OutboxWriter

from ...indices import domain as indices
from .. import domain, kiosks
from . import events

ANSWERS = "answers"
RATINGS = "ratings"
KIOSKS = "kiosks"
TALLIES = "tallies"
DAYS = "tally_days"  # closed days' roll-ups of the tallies, `_id` `<prefix><day>`


class MongoAnswers:
    def __init__(self, db=get_db):
        self._db = db

    def add(self, sheet: domain.AnswerSheet) -> bool:
        collection = self._db()[ANSWERS]
        if collection.find_one({"_id": sheet.invitation_id}, {"_id": 1}):
            return False  # answered already: no outbox pointer for an event that will never be
        doc = {**dataclasses.asdict(sheet), "_id": sheet.invitation_id, "officers": list(sheet.officers)}
        try:
            with OutboxWriter(collection).staged(sheet.invitation_id, [events.answer_recorded(sheet)]) as entries:
                collection.insert_one({**doc, OUTBOX: entries})
        except DuplicateKeyError:
            return False  # a concurrent answer won; its pointers were discarded by `staged`
        return True

    def get(self, invitation_id: str) -> domain.AnswerSheet | None:
        doc = self._db()[ANSWERS].find_one({"_id": invitation_id}, {OUTBOX: 0})
        if doc is None:
            return None
        fields = {f.name for f in dataclasses.fields(domain.AnswerSheet)}
        values = {k: v for k, v in doc.items() if k in fields}
        return domain.AnswerSheet(**{**values, "officers": tuple(doc["officers"]),
                                     "answered_at": as_utc(doc["answered_at"])})


class MongoRatings:
    def __init__(self, db=get_db):
        self._db = db

    def add(self, rating: domain.Rating) -> bool:
        collection = self._db()[RATINGS]
        if collection.find_one({"_id": rating.id}, {"_id": 1}):
            return False  # a replay of this kiosk's request_id: no outbox pointer for it
        try:
            with OutboxWriter(collection).staged(rating.id, [events.officer_rated(rating)]) as entries:
                collection.insert_one({**dataclasses.asdict(rating), "_id": rating.id, OUTBOX: entries})
        except DuplicateKeyError:
            return False  # a concurrent replay won
        return True

    def get(self, rating_id: str) -> domain.Rating | None:
        doc = self._db()[RATINGS].find_one({"_id": rating_id}, {OUTBOX: 0})
        if doc is None:
            return None
        fields = {f.name for f in dataclasses.fields(domain.Rating)}
        return domain.Rating(**{**{k: v for k, v in doc.items() if k in fields},
                                "rated_at": as_utc(doc["rated_at"])})


class MongoKiosks:
    """The registered counter kiosks (answers.kiosks), `_id` `<unit>|<kiosk id>`."""

    def __init__(self, db=get_db):
        self._db = db

    def put(self, kiosk: kiosks.Kiosk) -> None:
        self._db()[KIOSKS].replace_one({"_id": kiosk.id}, {**dataclasses.asdict(kiosk), "_id": kiosk.id},
                                       upsert=True)

    def get(self, kiosk_id: str) -> kiosks.Kiosk | None:
        doc = self._db()[KIOSKS].find_one({"_id": kiosk_id})
        if doc is None:
            return None
        doc.pop("_id")
        revoked = doc.pop("revoked_at", None)
        return kiosks.Kiosk(**{**doc, "registered_at": as_utc(doc["registered_at"]),
                               "revoked_at": as_utc(revoked) if revoked else None})


class MongoTallies:
    def __init__(self, db=get_db):
        self._db = db

    def add_all(self, tallies: list[indices.Tally]) -> None:
        if not tallies:
            return
        docs = [{**dataclasses.asdict(t), "_id": t.id, "sipas": [list(x) for x in t.sipas]} for t in tallies]
        for doc in docs:
            doc.pop("id")
        try:
            self._db()[TALLIES].insert_many(docs, ordered=False)
        except BulkWriteError as exc:  # only duplicates (a retry) are expected
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise

    def range(self, start: str, end: str) -> list[indices.Tally]:
        """The tallies with `start` <= `_id` < `end`."""
        return [indices.Tally(id=d["_id"], kind=d["kind"], scoring=d.get("scoring", ""), total=d.get("total", 0),
                              grade=d.get("grade", ""), level=d.get("level", 0),
                              sipas=tuple(tuple(x) for x in d.get("sipas", ())))  # type: ignore[misc]
                for d in self._db()[TALLIES].find({"_id": {"$gte": start, "$lt": end}})]


    def add_missing(self, tallies: list[indices.Tally]) -> list[indices.Tally]:
        """answers.repair: each tally inserted alone, so the ones that were missing are known."""
        written = []
        for t in tallies:
            doc = {**dataclasses.asdict(t), "_id": t.id, "sipas": [list(x) for x in t.sipas]}
            doc.pop("id")
            try:
                self._db()[TALLIES].insert_one(doc)
            except DuplicateKeyError:
                continue
            written.append(t)
        return written

    def drop_day_summaries(self, keys: set[str]) -> None:
        for key in sorted(keys):
            self._db()[DAYS].delete_one({"_id": key})

    def day_summaries(self, start: str, end: str) -> dict[str, indices.Summary]:
        return {d["_id"]: indices.Summary.from_doc(d)
                for d in self._db()[DAYS].find({"_id": {"$gte": start, "$lt": end}})}

    def put_day_summary(self, key: str, summary: indices.Summary) -> None:
        with contextlib.suppress(DuplicateKeyError):  # another reader rolled the day up first: the same
            self._db()[DAYS].insert_one({"_id": key, **summary.to_doc()})


def outbox_collections():
    return [lambda: get_db()[ANSWERS], lambda: get_db()[RATINGS]]


def forget_dossier_codes(db=get_db) -> dict | None:
    """Once per database (the api runs it at start): answer sheets stored before issue 12's review
    lose their `dossier_code` (an answer must not lead back to the dossier, nor so to the
    citizen). One scan, then one `$unset` by `_id` per sheet that has one; None when done before."""
    def run() -> dict:
        answers, changed = db()[ANSWERS], 0
        for doc in answers.find({}, {"_id": 1, "dossier_code": 1}):
            if "dossier_code" in doc:
                answers.update_one({"_id": doc["_id"]}, {"$unset": {"dossier_code": ""}})
                changed += 1
        return {"answers": changed}
    return migrations.run_once(db(), "answers-without-dossier-code", run)

