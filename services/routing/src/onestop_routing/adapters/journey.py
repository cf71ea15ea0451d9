"""MongoDB / FerretDB adapter of routing's CaseStore: the journey log, the case views and the inboxes.

Collections of routing's database, every hot query by `_id` or an `_id` range (FerretDB v1 answers
only those from an index; our build answers code-like ranges with their sort and limit):
- `journey`: one document per entry, `_id` = `<dossier code>|<seq, 6 digits>`; the unique insert
  is the concurrency control, and the document carries the entry's events (`outbox`: the
  transactional outbox's aggregate; pointers in `journey_outbox`, published by routing's relay).
  The OPENED entry (seq 1) also holds the case's header (`case`). A case's log is one range read.
- `cases`: the case view by `_id` = dossier code: the header, the `seq` it folds up to and its
  inbox keys; written forward only.
- `inbox`: one document per (unit, scope, step due, dossier, step), `_id` = that key
  (inbox.InboxItem; scopes `unit`, `unassigned`, `mine:<subject>`, `escalated`); ListInbox is one
  range `<unit>|<scope>|...` sorted by `_id` with a limit.
  Lean: what the key holds (step, unit) and fields at their default (no assignee, no flag) are not
  stored, since FerretDB's cost per document read grows with its fields (docs/design.md).
- `scan`: the scans' keys, every `_id` beginning `all|` (inbox.SCAN_PREFIX): the step scan's
  `all|running|...` and `all|duesoon|...` (inbox.RUNNING_PREFIX, DUE_SOON_PREFIX) and the case-due
  scan's `all|casedue|<case due>|<dossier>|` (case_due.CASE_DUE_PREFIX), apart from the inboxes,
  each `{_id, entered_at}` and nothing else, so reading every step due among 100,000 open cases
  reads small documents of a small table. A key no case holds any more is deleted by the scan
  that reads it (`drop_keys`).

A projection knows the keys it replaces from the view `load` read (`Stored.projected_keys`) when
nothing was projected since, and writes its keys and removes the stale ones in one batched write
per collection (each statement by `_id`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from mongoengine.connection import get_db
from pymongo import DeleteOne, ReplaceOne
from pymongo.errors import DuplicateKeyError

from onestop_chassis.clock import as_utc
from onestop_chassis.outbox import OUTBOX, OutboxWriter
from onestop_chassis.worktime import WorkingDuration

from .. import domain
from ..cases import Logged, Stored
from ..domain.journey import Actor, AssigneeKind, CaseView, Entry, EntryKind, PauseKind
from ..inbox import SCAN_PREFIX, InboxItem

JOURNEY, CASES, INBOX, SCAN = "journey", "cases", "inbox", "scan"
# An inbox document's fields left out when they hold their default (a step nobody is assigned to,
# no flag set): most items of a unit's list are unassigned and unflagged.
_DEFAULTS = {"primary": "", "co_handlers": [], "watchers": [], "due_soon": False, "overdue": False, "paused": False}
_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(InboxItem) if f.name not in ("key", "step_code", "unit_code"))
CASE_FIELDS = [f.name for f in dataclasses.fields(domain.Case)]


def entry_id(dossier_code: str, seq: int) -> str:
    return f"{dossier_code}|{seq:06d}"


def entry_to_doc(dossier_code: str, logged: Logged) -> dict:
    e = logged.entry
    return {"_id": entry_id(dossier_code, e.seq), "dossier_code": dossier_code, "seq": e.seq, "kind": str(e.kind),
            "at": e.at, "actor": dataclasses.asdict(e.actor), "request_id": e.request_id, "reason": e.reason,
            "step": e.step, "to_step": e.to_step, "assignee": e.assignee,
            "assignee_kind": str(e.assignee_kind) if e.assignee_kind else None,
            "pause": str(e.pause) if e.pause else None,
            "extra": dataclasses.asdict(e.extra) if e.extra else None, "due_at": e.due_at, "corrects": e.corrects,
            "digest": logged.digest}


def entry_from_doc(doc: dict) -> Logged:
    entry = Entry(seq=doc["seq"], kind=EntryKind(doc["kind"]), at=as_utc(doc["at"]), actor=Actor(**doc["actor"]),
                  request_id=doc.get("request_id", ""), reason=doc.get("reason", ""), step=doc.get("step", ""),
                  to_step=doc.get("to_step", ""), assignee=doc.get("assignee", ""),
                  assignee_kind=AssigneeKind(doc["assignee_kind"]) if doc.get("assignee_kind") else None,
                  pause=PauseKind(doc["pause"]) if doc.get("pause") else None,
                  extra=WorkingDuration(**doc["extra"]) if doc.get("extra") else None,
                  due_at=as_utc(doc["due_at"]) if doc.get("due_at") else None, corrects=doc.get("corrects", 0))
    return Logged(entry, doc.get("digest", ""))


def case_to_doc(case: domain.Case) -> dict:
    doc = {name: getattr(case, name) for name in CASE_FIELDS if name != "dossier_code"}
    doc["state"] = int(case.state)
    return doc


def case_from_doc(code: str, doc: dict) -> domain.Case:
    data = {name: doc[name] for name in CASE_FIELDS if name in doc and name != "dossier_code"}
    for name in ("received_at", "due_at", "opened_at"):
        data[name] = as_utc(data[name])
    data["state"] = domain.CaseState(data.get("state", 1))
    data["applied_event_ids"] = list(data.get("applied_event_ids") or [])
    return domain.Case(dossier_code=code, **data)


def collection_of(key: str) -> str:
    """The collection a key is stored in: the overdue scan's keys apart (`scan`), the rest `inbox`."""
    return SCAN if key.startswith(SCAN_PREFIX) else INBOX


def item_to_doc(item: InboxItem) -> dict:
    """The stored form of an item: a scan key keeps its entry time only (its moment, dossier and
    step are in the key); an inbox key leaves out what its key holds (step, unit) and the fields
    at their default."""
    if collection_of(item.key) == SCAN:
        return {"_id": item.key, "entered_at": item.entered_at}  # the moment is in the key
    doc = dataclasses.asdict(item)
    doc["_id"] = doc.pop("key")
    del doc["step_code"], doc["unit_code"]
    doc["co_handlers"], doc["watchers"] = list(item.co_handlers), list(item.watchers)
    return {name: value for name, value in doc.items() if name not in _DEFAULTS or _DEFAULTS[name] != value}


def item_from_doc(doc: dict) -> InboxItem:
    """The item back from its document (either form): step and unit from the key; a scan key's
    item has no names, and its due_at is the moment in its key (the step's due time, or when it
    is due soon): the scan needs the dossier, the step and its entry time only."""
    key = doc["_id"]
    parts = key.split("|")  # <unit>|<scope>|<due>|<dossier>|<step>; all|running|<due>|<dossier>|<step>
    if key.startswith(SCAN_PREFIX):  # tens of thousands in a catch-up: no more than needed
        due = dt.datetime.strptime(parts[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        return InboxItem(key, parts[-2], "", "", parts[-1], "", "", as_utc(doc["entered_at"]), due, due)
    data = {name: doc[name] for name in _ITEM_FIELDS if name in doc}
    data.setdefault("dossier_code", parts[-2])
    for name in ("entered_at", "due_at", "case_due_at"):
        data[name] = as_utc(data[name])
    data["co_handlers"], data["watchers"] = tuple(data.get("co_handlers", ())), tuple(data.get("watchers", ()))
    return InboxItem(key=key, step_code=parts[-1], unit_code=parts[0], **data)


class MongoCaseStore:
    """routing's CaseStore on the process's database connection (`db`: tests pass their own)."""

    def __init__(self, db: Callable[[], object] = get_db):
        self._db = db

    def _collection(self, name: str):
        return self._db()[name]  # type: ignore[index]  # a pymongo Database

    def open(self, case: domain.Case, first: Logged, events: Sequence) -> bool:
        doc = entry_to_doc(case.dossier_code, first)
        doc["case"] = case_to_doc(case)
        if not self._insert(doc, events):
            return False
        # The view starts with the header; a crash before this write is repaired by load().
        with contextlib.suppress(DuplicateKeyError):
            self._collection(CASES).insert_one({"_id": case.dossier_code, **case_to_doc(case), "seq": 0,
                                                "inbox_keys": []})
        return True

    def append(self, dossier_code: str, logged: Logged, events: Sequence) -> bool:
        return self._insert(entry_to_doc(dossier_code, logged), events)

    def _insert(self, doc: dict, events: Sequence) -> bool:
        journey = self._collection(JOURNEY)
        try:
            with OutboxWriter(journey).staged(doc["_id"], list(events)) as outbox:
                journey.insert_one({**doc, OUTBOX: outbox})  # the entry and its events: one write
        except DuplicateKeyError:
            return False  # the seq is taken: the staged pointers were discarded
        return True

    def load(self, dossier_code: str) -> Stored | None:
        # The view first: it is written after the OPENED entry, so a view read here has its entry
        # in the range read next (the other order could see a new case's view without its log).
        view = self._collection(CASES).find_one({"_id": dossier_code})
        docs = list(self._collection(JOURNEY).find(
            {"_id": {"$gte": f"{dossier_code}|", "$lt": f"{dossier_code}|~"}}, {OUTBOX: 0}).sort("_id", 1))
        if not docs:
            if view is None:
                return None
            # A case opened before journeys existed: its header only (no template, no entries).
            return Stored(case_from_doc(dossier_code, view), ())
        first = docs[0]
        if first["seq"] != 1 or "case" not in first:
            raise RuntimeError(f"the journey of {dossier_code} does not start with its OPENED entry")
        case = case_from_doc(dossier_code, first["case"])
        view = view or {}
        return Stored(case, tuple(entry_from_doc(d) for d in docs), view.get("seq", 0),
                      tuple(view.get("inbox_keys") or ()))

    def project(self, case: domain.Case, view: CaseView, items: Sequence[InboxItem],
                previous: tuple[int, Sequence[str]] | None = None) -> None:
        cases = self._collection(CASES)
        if previous is not None and previous[0] == view.seq - 1:
            # The keys of the projection just before this entry, as load() read them: nothing but
            # this entry's writer can have projected since (a later seq would win the update below).
            current: dict = {"seq": previous[0], "inbox_keys": list(previous[1])}
        else:
            current = cases.find_one({"_id": case.dossier_code}, {"seq": 1, "inbox_keys": 1}) or {}
        if current.get("seq", 0) >= view.seq:
            return  # a later entry's projection is stored already
        keys = [item.key for item in items]
        self._write_keys(items, set(current.get("inbox_keys") or []) - set(keys))
        summary = {"seq": view.seq, "inbox_keys": keys, "case_state": str(view.state),
                   "national_status": view.national_status, "current_due_at": view.clock.due_at,
                   "steps": [r.step for r in view.runs], "units": sorted({r.unit_code for r in view.runs})}
        result = cases.update_one({"_id": case.dossier_code, "seq": {"$lt": view.seq}}, {"$set": summary})
        if result.matched_count:
            return
        if not cases.find_one({"_id": case.dossier_code}, {"_id": 1}):
            with contextlib.suppress(DuplicateKeyError):
                cases.insert_one({"_id": case.dossier_code, **case_to_doc(case), **summary})
            return
        # A later entry's projection was written meanwhile: the keys written here that it does not
        # hold are stale, and no later projection would know to remove them.
        latest = cases.find_one({"_id": case.dossier_code}, {"inbox_keys": 1}) or {}
        self._write_keys([], set(keys) - set(latest.get("inbox_keys") or []))

    def _write_keys(self, items: Sequence[InboxItem], stale: Iterable[str]) -> None:
        """Upserts `items` and deletes the `stale` keys: one batched write per collection and kind,
        each statement by `_id` (FerretDB v1 answers `$in` with a scan, a statement by `_id` from
        the index)."""
        writes: dict[str, list] = {}
        for item in items:
            writes.setdefault(collection_of(item.key), []).append(ReplaceOne({"_id": item.key}, item_to_doc(item),
                                                                              upsert=True))
        for key in sorted(stale):
            writes.setdefault(collection_of(key), []).append(DeleteOne({"_id": key}))
        for name, requests in writes.items():
            self._collection(name).bulk_write(requests, ordered=False)

    def inbox(self, after: str, before: str, limit: int) -> list[InboxItem]:
        collection = self._collection(collection_of(after))
        docs = collection.find({"_id": {"$gt": after, "$lt": before}}).sort("_id", 1).limit(limit)
        return [item_from_doc(d) for d in docs]

    def drop_keys(self, keys: Sequence[str]) -> None:
        self._write_keys([], keys)

    def case_codes(self, after: str, before: str, limit: int) -> list[str]:
        docs = self._collection(CASES).find({"_id": {"$gt": after, "$lt": before}}, {"_id": 1}).sort("_id", 1)
        return [d["_id"] for d in docs.limit(limit)]


def outbox_collections() -> list[Callable[[], object]]:
    """The aggregates whose events routing's relay publishes: the journey entries."""
    return [lambda: get_db()[JOURNEY]]
