"""MongoDB / FerretDB adapter of delivery's ShipmentStore. Every hot query is by `_id` or an `_id`
range (FerretDB v1 answers only those from an index):

- `shipment_log`: one document per entry, `_id` = `<shipment id>|<seq, 6 digits>`; the unique insert
  is the concurrency control (two writers of one seq: one wins, the other reloads), and the document
  carries the entry's events (`outbox`, published by delivery's relay). Entry 1 holds the header.
  A shipment is one range read of its log, folded (domain.fold).
- `shipments`: the folded view by `_id` = shipment id, written forward only (by seq): for lists and
  for the latest booking of a dossier (`<dossier>-R` range).
- `shipments_by_agency`: `_id` = `<agency>|<inverted creation time>|<id>`: newest first in one range.
- `waybills`: `_id` = the carrier's waybill → the shipment id.
- `orders_due`: `_id` = `<next try, UTC YYYY-MM-DDTHH:MM:SSZ>|<shipment id>` (ports.due_key), for the order
  timer: one range read up to now gives the orders due, oldest first; the first try is the booking's
  time, a carrier failure moves the key later (ordering.py's backoff); removed once ordered, refused
  or cancelled.
- `postal_fees`: `_id` = `<agency>|<YYYY-MM-DD>|<shipment id>|<kind>`, one line per
  PostalFeeRecorded event an entry writes (totals.py), by unique insert after the entry: a period
  of an agency is one range read, summed. (`fee_counters`, one per booking, counted COD at booking
  and was updated in place: no longer written or read.)
- `shipment_requests`: `_id` = `<agency>|<request_id>` → the action it did (retries, service.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from onestop.events.v1 import delivery_events_pb2 as ev
from onestop_chassis.clock import as_utc
from onestop_chassis.outbox import OUTBOX, OutboxWriter

from .. import domain
from ..carrier import Direction, Party
from ..domain import Entry, Kind, Shipment, Source, State
from ..ports import Due, Loaded, due_key, still_to_order

LOG, VIEWS, BY_AGENCY, WAYBILLS, DUE, FEES, REQUESTS = (
    "shipment_log", "shipments", "shipments_by_agency", "waybills", "orders_due", "postal_fees", "shipment_requests")
FAR = 99_999_999_999  # seconds: inverted times sort newest first


def entry_doc(shipment_id: str, e: Entry) -> dict:
    return {"_id": f"{shipment_id}|{e.seq:06d}", "shipment_id": shipment_id, "seq": e.seq, "kind": e.kind.value,
            "source": e.source.value, "at": e.at, "happened_at": e.happened_at,
            "state": e.state.value if e.state else None, "applied": e.applied, "event_id": e.event_id,
            "waybill": e.waybill, "postal_charge": e.postal_charge, "note": e.note, "actor": e.actor,
            "receipt": e.receipt, "request_id": e.request_id}


def entry_from(doc: dict) -> Entry:
    return Entry(seq=doc["seq"], kind=Kind(doc["kind"]), source=Source(doc["source"]), at=as_utc(doc["at"]),
                 happened_at=as_utc(doc["happened_at"]), state=State(doc["state"]) if doc.get("state") else None,
                 applied=doc.get("applied", True), event_id=doc.get("event_id", ""), waybill=doc.get("waybill", ""),
                 postal_charge=doc.get("postal_charge", 0), note=doc.get("note", ""), actor=doc.get("actor", ""),
                 receipt=doc.get("receipt", ""), request_id=doc.get("request_id", ""))


def header_doc(h: domain.ShipmentHeader) -> dict:
    doc = dataclasses.asdict(h)
    doc["direction"] = h.direction.value
    return doc


def header_from(doc: dict) -> domain.ShipmentHeader:
    return domain.ShipmentHeader(**{**doc, "direction": Direction(doc["direction"]), "sender": Party(**doc["sender"]),
                                    "receiver": Party(**doc["receiver"]), "fees": domain.Fees(**doc["fees"]),
                                    "created_at": as_utc(doc["created_at"])})


def view_doc(s: Shipment) -> dict:
    return {"_id": s.id, "header": header_doc(s.header), "state": s.state.value, "state_at": s.state_at,
            "attempts": s.attempts, "waybill": s.waybill, "postal_charge": s.postal_charge, "seq": s.seq,
            "rebooked_as": s.rebooked_as, "picked_up_at": s.picked_up_at}


def view_from(doc: dict) -> Shipment:
    return Shipment(header=header_from(doc["header"]), state=State(doc["state"]),
                    state_at=as_utc(doc["state_at"]) if doc.get("state_at") else None, attempts=doc["attempts"],
                    waybill=doc.get("waybill", ""), postal_charge=doc.get("postal_charge", 0), seq=doc["seq"],
                    rebooked_as=doc.get("rebooked_as", ""),
                    picked_up_at=as_utc(doc["picked_up_at"]) if doc.get("picked_up_at") else None)


class MongoShipments:
    """delivery's ShipmentStore on the process's database connection (`db`: tests pass their own)."""

    def __init__(self, db: Callable[[], object] = get_db):
        self._db = db

    def _c(self, name: str):
        return self._db()[name]  # type: ignore[index]  # a pymongo Database

    def create(self, shipment: Shipment, first: Entry, events: Sequence) -> bool:
        doc = {**entry_doc(shipment.id, first), "header": header_doc(shipment.header)}
        if not self._insert(doc, events):
            return False
        self.repair(Loaded(shipment, (first,)))
        return True

    def repair(self, loaded: Loaded) -> None:
        """Writes what the log implies beyond itself, each write idempotent: the view (upserted,
        forward only by seq), the agency's list key, the waybill's key and, while the shipment is
        still to order (ports.still_to_order), its due key. After a booking's log entry, and again
        whenever a write after it may have been lost (a retried booking, a read by dossier that
        found no view): a crash between the log and these writes loses nothing for good."""
        s = loaded.shipment
        self._upsert_view(s)
        inverted = FAR - int(s.header.created_at.timestamp())
        keys = [(BY_AGENCY, {"_id": f"{s.agency_code}|{inverted:011d}|{s.id}"})]
        if s.waybill:
            keys.append((WAYBILLS, {"_id": s.waybill, "shipment_id": s.id}))
        if still_to_order(loaded):
            keys.append((DUE, {"_id": due_key(s.header.created_at, s.id), "shipment_id": s.id, "failures": 0}))
        for name, doc in keys:
            with contextlib.suppress(DuplicateKeyError):
                self._c(name).insert_one(doc)

    def _upsert_view(self, s: Shipment) -> None:
        # No document with a lower seq: either none (inserted) or a newer one (the insert's
        # duplicate key is then the answer: the view is already further on).
        with contextlib.suppress(DuplicateKeyError):
            self._c(VIEWS).update_one({"_id": s.id, "seq": {"$lt": s.seq}}, {"$set": view_doc(s)}, upsert=True)

    def append(self, shipment: Shipment, entry: Entry, events: Sequence) -> bool:
        if not self._insert(entry_doc(shipment.id, entry), events):
            return False
        self._project(shipment, entry)
        self.record_fees(events)
        return True

    def record_fees(self, events: Sequence) -> int:
        """A line per PostalFeeRecorded among `events`, by unique insert; how many were new (a line
        written before is left as it is). Called after the entry that carries the events, and by the
        worker for each one published (fee_lines.py: a crash in between lost nothing for good)."""
        added = 0
        for e in events:
            if isinstance(e, ev.PostalFeeRecorded):
                with contextlib.suppress(DuplicateKeyError):
                    self._c(FEES).insert_one({"_id": e.fee_id, "kind": e.kind, "amount_vnd": e.amount_vnd,
                                              "shipment_id": e.shipment.shipment_id, "payer": e.payer,
                                              "receipt": e.receipt_number})
                    added += 1
        return added

    def _insert(self, doc: dict, events: Sequence) -> bool:
        log = self._c(LOG)
        try:
            with OutboxWriter(log).staged(doc["_id"], list(events)) as outbox:
                log.insert_one({**doc, OUTBOX: outbox})  # the entry and its events: one write
        except DuplicateKeyError:
            return False
        return True

    def _project(self, s: Shipment, entry: Entry) -> None:
        self._upsert_view(s)  # upserted: a view lost after the booking's entry comes back here
        if entry.waybill:  # ORDERED, or a report that named the order and its waybill
            with contextlib.suppress(DuplicateKeyError):
                self._c(WAYBILLS).insert_one({"_id": entry.waybill, "shipment_id": s.id})
        if entry.kind is Kind.CANCELLED or (entry.kind is Kind.REPORT and s.state is State.CANCELLED):
            # not by `_id` (the key starts with its time): a scan of the few orders not yet placed
            self._c(DUE).delete_many({"shipment_id": s.id})

    def load(self, shipment_id: str) -> Loaded | None:
        docs = list(self._c(LOG).find({"_id": {"$gte": f"{shipment_id}|", "$lt": f"{shipment_id}|~"}},
                                      {OUTBOX: 0}).sort("_id", 1))
        if not docs or "header" not in docs[0]:
            return None
        log = tuple(entry_from(d) for d in docs)
        return Loaded(domain.fold(header_from(docs[0]["header"]), list(log)), log)

    def latest(self, ref: str) -> Shipment | None:
        """The latest outbound booking of dossier `ref`, found by its log (one `_id` range over
        `<ref>-R…|seq`: the log is written first, so a booking whose view was lost is found) and
        folded; its view is repaired when missing or behind."""
        keys = self._c(LOG).find({"_id": {"$gt": f"{ref}-R", "$lt": f"{ref}-R~"}}, {"_id": 1})
        ids = {k["_id"].split("|", 1)[0] for k in keys}
        bookings = [(int(i.rsplit("-R", 1)[1]), i) for i in ids if i.rsplit("-R", 1)[1].isdigit()]
        if not bookings:
            return None
        loaded = self.load(max(bookings)[1])
        if loaded is None:
            return None
        view = self._c(VIEWS).find_one({"_id": loaded.shipment.id}, {"seq": 1})
        if view is None or view["seq"] < loaded.shipment.seq:
            self.repair(loaded)
        return loaded.shipment

    def page(self, agency_code: str, after: str, limit: int) -> list[tuple[str, Shipment]]:
        lower = after or f"{agency_code}|"
        keys = self._c(BY_AGENCY).find({"_id": {"$gt": lower, "$lt": f"{agency_code}|~"}}).sort("_id", 1).limit(limit)
        rows = []
        for key in keys:
            doc = self._c(VIEWS).find_one({"_id": key["_id"].rsplit("|", 1)[1]})
            if doc is not None:
                rows.append((key["_id"], view_from(doc)))
        return rows

    def by_waybill(self, waybill: str) -> str | None:
        doc = self._c(WAYBILLS).find_one({"_id": waybill})
        return doc["shipment_id"] if doc else None

    def orders_due(self, now: dt.datetime, limit: int) -> list[Due]:
        """The orders whose next try is at or before `now`, the earliest first (one `_id` range)."""
        docs = self._c(DUE).find({"_id": {"$lt": f"{due_key(now, '')}~"}}).sort("_id", 1).limit(limit)
        return [Due(d["_id"], d["shipment_id"], d.get("failures", 0)) for d in docs]

    def order_done(self, key: str) -> None:
        self._c(DUE).delete_one({"_id": key})

    def order_later(self, due: Due, at: dt.datetime) -> None:
        """Moves `due` to its next try `at` with one more failure (the new key first: a crash
        in between leaves the order due twice, never lost; the order number keeps it single)."""
        key = due_key(at, due.shipment_id)
        if key == due.key:  # the same second: only the count changes
            self._c(DUE).update_one({"_id": key}, {"$set": {"failures": due.failures + 1}})
            return
        with contextlib.suppress(DuplicateKeyError):
            self._c(DUE).insert_one({"_id": key, "shipment_id": due.shipment_id, "failures": due.failures + 1})
        self.order_done(due.key)

    def fee_amounts(self, agency_code: str, first: str, last: str) -> list[tuple[str, int]]:
        """(kind, VND) of the lines of days `first` to `last` (totals.period_range's bounds)."""
        docs = self._c(FEES).find({"_id": {"$gt": f"{agency_code}|{first}", "$lt": f"{agency_code}|{last}"}},
                                  {"kind": 1, "amount_vnd": 1})
        return [(d["kind"], int(d["amount_vnd"])) for d in docs]

    def claim(self, key: str, value: str) -> str:
        """`shipment_requests`: `_id` = `<agency>|<request_id>` → what it did; the unique insert decides."""
        try:
            self._c(REQUESTS).insert_one({"_id": key, "value": value})
        except DuplicateKeyError:
            doc = self._c(REQUESTS).find_one({"_id": key})
            return doc["value"] if doc else value
        return value


def outbox_collections() -> list[Callable[[], object]]:
    """The aggregates whose events delivery's relay publishes: the log entries."""
    return [lambda: get_db()[LOG]]


def ensure_indexes(db: Callable[[], object] = get_db) -> None:
    """Nothing beyond `_id`: every query is by `_id` or an `_id` range. Migrates `orders_due` keyed
    by shipment id (before issue 13's review) to `<next try>|<id>` keys, due at once (idempotent;
    the collection holds only orders not yet placed)."""
    due = db()[DUE]  # type: ignore[index]  # a pymongo Database
    for doc in list(due.find({"shipment_id": {"$exists": False}})):
        with contextlib.suppress(DuplicateKeyError):
            due.insert_one({"_id": due_key(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), doc["_id"]),
                            "shipment_id": doc["_id"], "failures": 0})
        due.delete_one({"_id": doc["_id"]})
