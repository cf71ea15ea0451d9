"""MongoDB / FerretDB adapter of feedback's FeedbackStore. Every query is by `_id` or an `_id`
range (FerretDB v1 answers only those from an index):
- `feedback_log`: one document per log entry, `_id` = `<code>|<seq, 6 digits>`; the unique insert
  is the concurrency control; entry 1 also holds the item's header (`filing`), and each document
  carries its events (`outbox`; pointers in `feedback_log_outbox`, published by survey's relay).
  An item is one range read.
- `feedback_keys`: `_id` = a key of keys.py, `code` = the item's code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from google.protobuf.message import Message
from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from onestop_chassis.clock import as_utc
from onestop_chassis.outbox import OUTBOX, OutboxWriter

from ..domain import Actor, Complainant, Entry, FiledBy, Filing, Kind

LOG, KEYS = "feedback_log", "feedback_keys"


def entry_to_doc(code: str, entry: Entry) -> dict:
    doc = dataclasses.asdict(entry)
    doc.update(_id=f"{code}|{entry.seq:06d}", code=code, kind=str(entry.kind))
    return doc


def entry_from_doc(doc: dict) -> Entry:
    data = {f.name: doc[f.name] for f in dataclasses.fields(Entry) if f.name in doc}
    data.update(kind=Kind(doc["kind"]), at=as_utc(doc["at"]), actor=Actor(**doc["actor"]),
                due_at=as_utc(doc.get("due_at")))
    return Entry(**data)


def filing_to_doc(filing: Filing) -> dict:
    doc = dataclasses.asdict(filing)
    doc["complainant"]["kind"] = int(filing.complainant.kind)
    return doc


def filing_from_doc(doc: dict) -> Filing:
    person = dict(doc["complainant"])
    person["kind"] = FiledBy(person["kind"])
    return Filing(**{**doc, "complainant": Complainant(**person)})


class MongoFeedback:
    """feedback's FeedbackStore on the process's database connection (`db`: tests pass their own)."""

    def __init__(self, db: Callable[[], object] = get_db):
        self._db = db

    def _collection(self, name: str):
        return self._db()[name]  # type: ignore[index]  # a pymongo Database

    def append(self, code: str, entry: Entry, filing: Filing | None, events: Sequence[Message]) -> bool:
        doc = entry_to_doc(code, entry)
        if filing is not None:
            doc["filing"] = filing_to_doc(filing)
        log = self._collection(LOG)
        try:
            with OutboxWriter(log).staged(doc["_id"], list(events)) as outbox:
                log.insert_one({**doc, OUTBOX: outbox})  # the entry and its events: one write
        except DuplicateKeyError:
            return False  # the seq is taken: the staged pointers were discarded
        return True

    def load(self, code: str) -> tuple[Filing, list[Entry]] | None:
        docs = list(self._collection(LOG).find({"_id": {"$gte": f"{code}|", "$lt": f"{code}|~"}},
                                               {OUTBOX: 0}).sort("_id", 1))
        if not docs or "filing" not in docs[0]:
            return None
        return filing_from_doc(docs[0]["filing"]), [entry_from_doc(d) for d in docs]

    def put_key(self, key: str, code: str) -> None:
        self._collection(KEYS).replace_one({"_id": key}, {"_id": key, "code": code}, upsert=True)

    def delete_key(self, key: str) -> None:
        self._collection(KEYS).delete_one({"_id": key})

    def keys(self, after: str, before: str, limit: int) -> list[tuple[str, str]]:
        docs = self._collection(KEYS).find({"_id": {"$gt": after, "$lt": before}}).sort("_id", 1).limit(limit)
        return [(d["_id"], d["code"]) for d in docs]


def outbox_collections() -> list[Callable[[], object]]:
    """The aggregates whose events survey's relay publishes: the feedback log entries."""
    return [lambda: get_db()[LOG]]
