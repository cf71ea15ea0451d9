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

from onestop_chassis.clock import as_utc
from onestop_chassis.outbox import OUTBOX, OutboxWriter

from ...indices import domain as indices
from .. import domain
from . import events

ANSWERS = "answers"
RATINGS = "ratings"
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

    def add(self, rating: domain.Rating) -> None:
        collection = self._db()[RATINGS]
        with OutboxWriter(collection).staged(rating.id, [events.officer_rated(rating)]) as entries:
            collection.insert_one({**dataclasses.asdict(rating), "_id": rating.id, OUTBOX: entries})


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
