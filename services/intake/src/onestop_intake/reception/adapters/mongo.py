"""MongoDB adapters of the intake ports (mongoengine documents in the service's own database)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from enum import IntEnum

import mongoengine as me
from pymongo.errors import DuplicateKeyError

from onestop_chassis import identity, migrations, worktime
from onestop_chassis.clock import as_utc
from onestop_chassis.outbox import OutboxWriter
from onestop_chassis.request_ids import RequestIndex
from onestop_chassis.text import name_key, nfc
from onestop_chassis.versions import VersionClaims

from ...catalogue import domain as catalogue
from ...catalogue.adapters.mongo import ProcedureDoc
from ...units import domain as units
from ...units.adapters.mongo import UnitDoc
from .. import domain
from ..service import CodeTaken, DuplicateRequest
from . import events as event_mapping


class DossierDoc(me.Document):
    """One dossier; `outbox` holds the events of its changes (chassis outbox)."""
    meta = {"collection": "dossiers", "strict": False,
            "indexes": [{"fields": ["receiving_unit_code", "request_id"], "unique": True}]}
    code = me.StringField(primary_key=True)
    receiving_unit_code = me.StringField(required=True)  # with request_id: the idempotency key
    request_id = me.StringField(required=True)
    fingerprint = me.StringField(required=True)
    procedure_code = me.StringField(required=True)
    procedure_name = me.StringField(required=True)
    applicant = me.DictField(required=True)
    channel = me.IntField(required=True)
    status = me.IntField(required=True)
    receiving_unit = me.DictField(required=True)
    received_at = me.DateTimeField(required=True)
    appointment_at = me.DateTimeField()
    legal_duration = me.DictField()
    request_content = me.StringField(default="")
    history = me.ListField(me.DictField())
    version = me.IntField(default=1)
    supplement_requested = me.BooleanField(default=False)
    paused_at = me.DateTimeField()
    status_before_pause = me.IntField()
    lookup_secret = me.StringField(default="")
    documents = me.ListField(me.DictField())
    fees = me.ListField(me.DictField())
    postal_return_allowed = me.BooleanField(default=False)
    supplement_request = me.DictField()
    refusal_reasons = me.ListField(me.StringField())
    result = me.DictField()
    result_return = me.DictField()
    process_version = me.IntField(default=0)  # routing's case (see reception.routed)
    current_steps = me.ListField(me.DictField())
    routing_at = me.DateTimeField()
    steps_at = me.DateTimeField()
    process_code = me.StringField(default="")
    return_by_post = me.BooleanField(default=False)
    postal_notice = me.StringField(default="")
    field_code = me.StringField(default="")
    outbox = me.ListField(me.DictField())


class CounterDoc(me.Document):
    meta = {"collection": "dossier_code_counters"}
    key = me.StringField(primary_key=True)  # "<unit code>-YYMMDD"
    seq = me.IntField(default=0)


def _to_doc(d: domain.Dossier, outbox: list[dict]) -> DossierDoc:
    a = d.applicant
    return DossierDoc(
        code=d.code, receiving_unit_code=d.receiving_unit.code, request_id=d.request_id,
        fingerprint=d.fingerprint, lookup_secret=d.lookup_secret,
        documents=[dict(x.__dict__) for x in d.documents],
        fees=[{**f.__dict__, "exemptions": list(f.exemptions)} for f in d.fees],
        postal_return_allowed=d.postal_return_allowed, process_code=d.process_code,
        return_by_post=d.return_by_post, procedure_code=d.procedure_code, procedure_name=d.procedure_name,
        field_code=d.field_code,
        applicant={**{k: v for k, v in a.__dict__.items() if k not in ("address", "identity", "citizen_id")},
                   "address": dict(a.address.__dict__),
                   # receive() leaves only `identity`; a dossier built with the deprecated field keeps it too
                   "identity": _identity_doc(a.identity or (identity.personal_id_number(a.citizen_id)
                                                            if a.citizen_id else None))},
        channel=int(d.channel),
        receiving_unit={"code": d.receiving_unit.code, "name": d.receiving_unit.name,
                        "parent_code": d.receiving_unit.parent_code},
        legal_duration=dict(d.legal_duration.__dict__), request_content=d.request_content,
        **_mutable(d), outbox=outbox,
    )


def _mutable(d: domain.Dossier) -> dict:
    """The fields a desk action may change."""
    return {
        "status": int(d.status), "received_at": d.received_at, "appointment_at": d.appointment_at,
        "history": [{"at": t.at, "status": int(t.status), "actor": t.actor, "note": t.note,
                     **({"event_id": t.event_id} if t.event_id else {})} for t in d.history],
        "version": d.version, "supplement_requested": d.supplement_requested, "paused_at": d.paused_at,
        "status_before_pause": int(d.status_before_pause) if d.status_before_pause else None,
        "supplement_request": _plain(d.supplement_request), "refusal_reasons": list(d.refusal_reasons),
        "result": _plain(d.result), "result_return": _plain(d.result_return),
        "process_version": d.process_version, "current_steps": [dict(s.__dict__) for s in d.current_steps],
        "routing_at": d.routing_at, "steps_at": d.steps_at, "postal_notice": d.postal_notice,
    }


def _plain(value) -> dict:
    """A frozen dataclass of the dossier → a stored dict ({} for None); enums and tuples as plain values."""
    if value is None:
        return {}
    return {k: (int(v) if isinstance(v, IntEnum) else list(v) if isinstance(v, tuple)
                else _identity_doc(v) if isinstance(v, identity.IdentityDocument) else v)
            for k, v in value.__dict__.items()}


# Identity papers are stored as {type, number, issuing_country}. Dossiers stored before they
# existed hold a 12-digit `citizen_id` (applicant) or `receiver_id_number` (result return): read as
# the personal identification number, so old documents need no migration.
def _identity_doc(d: identity.IdentityDocument | None) -> dict | None:
    return None if d is None else {"type": int(d.type), "number": d.number, "issuing_country": d.issuing_country}


def _identity_from_doc(stored: dict | None, legacy_number: str = "") -> identity.IdentityDocument | None:
    if stored:
        return identity.IdentityDocument(identity.DocumentType(stored["type"]), stored["number"],
                                         stored.get("issuing_country", ""))
    return identity.personal_id_number(legacy_number) if legacy_number else None


def _applicant_from_doc(stored: dict) -> domain.Applicant:
    a = dict(stored)
    address = domain.Address(**a.pop("address", {}))
    document = _identity_from_doc(a.pop("identity", None), a.pop("citizen_id", ""))
    return domain.Applicant(**a, address=address, identity=document)


def _result_return_from_doc(stored: dict) -> domain.ResultReturn:
    r = dict(stored)
    document = _identity_from_doc(r.pop("receiver_identity", None), r.pop("receiver_id_number", ""))
    return domain.ResultReturn(**{**r, "returned_at": as_utc(r["returned_at"]),
                                  "method": domain.ReturnMethod(r["method"]), "receiver_identity": document})


def _from_doc(doc: DossierDoc) -> domain.Dossier:
    return domain.Dossier(
        code=doc.code, request_id=doc.request_id, fingerprint=doc.fingerprint,
        procedure_code=doc.procedure_code, procedure_name=doc.procedure_name,
        applicant=_applicant_from_doc(doc.applicant), channel=domain.Channel(doc.channel),
        status=domain.DossierStatus(doc.status), receiving_unit=units.Unit(**doc.receiving_unit),
        received_at=as_utc(doc.received_at), appointment_at=as_utc(doc.appointment_at),
        legal_duration=worktime.WorkingDuration(**doc.legal_duration), request_content=doc.request_content,
        history=[domain.Transition(at=as_utc(h["at"]), status=domain.DossierStatus(h["status"]),
                                   actor=h["actor"], note=h.get("note", ""), event_id=h.get("event_id", ""))
                 for h in doc.history],
        version=doc.version or 1, supplement_requested=bool(doc.supplement_requested),
        lookup_secret=doc.lookup_secret or "",
        documents=[domain.SubmittedDocument(**x) for x in doc.documents or []],
        fees=[catalogue.Fee(**{**f, "exemptions": tuple(f.get("exemptions", ()))}) for f in doc.fees or []],
        paused_at=as_utc(doc.paused_at),
        status_before_pause=domain.DossierStatus(doc.status_before_pause) if doc.status_before_pause else None,
        postal_return_allowed=bool(doc.postal_return_allowed), process_code=doc.process_code or "",
        return_by_post=bool(doc.return_by_post), postal_notice=doc.postal_notice or "",
        field_code=doc.field_code or "",
        supplement_request=domain.SupplementRequest(
            requested_at=as_utc(doc.supplement_request["requested_at"]), reason=doc.supplement_request["reason"],
            documents_to_add=tuple(doc.supplement_request["documents_to_add"]),
            requested_by=doc.supplement_request["requested_by"]) if doc.supplement_request else None,
        refusal_reasons=tuple(doc.refusal_reasons or ()),
        result=domain.ProcessingResult(**{**doc.result, "finished_at": as_utc(doc.result["finished_at"]),
                                          "timeliness": domain.Timeliness(doc.result["timeliness"])})
        if doc.result else None,
        result_return=_result_return_from_doc(doc.result_return) if doc.result_return else None,
        process_version=doc.process_version or 0, routing_at=as_utc(doc.routing_at), steps_at=as_utc(doc.steps_at),
        current_steps=tuple(domain.CurrentStep(**{**s, "due_at": as_utc(s.get("due_at"))})
                            for s in doc.current_steps or ()),
    )


def _requests() -> RequestIndex:
    return RequestIndex(DossierDoc._get_collection())


class MongoDossiers:
    def by_request_id(self, unit_code: str, request_id: str) -> domain.Dossier | None:
        code = _requests().get(unit_code, request_id)  # by _id: no scan on FerretDB
        return self.by_code(code) if code else None

    def by_code(self, code: str) -> domain.Dossier | None:
        doc = DossierDoc.objects(code=code).first()
        return _from_doc(doc) if doc else None

    def add(self, dossier: domain.Dossier, events: list) -> None:
        try:
            messages = [event_mapping.to_message(e) for e in events]
            with OutboxWriter(DossierDoc._get_collection()).staged(dossier.code, messages) as entries:
                _to_doc(dossier, entries).save(force_insert=True)  # ONE write: the dossier and its events
        except (me.NotUniqueError, DuplicateKeyError) as exc:
            # FerretDB's duplicate-key message does not name the index, so ask the data instead.
            unit, request_id = dossier.receiving_unit.code, dossier.request_id
            holder = DossierDoc.objects(code=dossier.code).first()
            if holder is not None and (holder.receiving_unit_code, holder.request_id) != (unit, request_id):
                raise CodeTaken(dossier.code) from exc
            # The (unit, request_id) index refused it. The earlier dossier's pointer may not be
            # written yet (its writer is between its two writes) or ever: look it up by its fields,
            # the one query here that scans on FerretDB, and only on this rare path.
            earlier = holder or DossierDoc.objects(receiving_unit_code=unit, request_id=request_id).first()
            if earlier is None:
                raise CodeTaken(dossier.code) from exc  # gone meanwhile? never deleted; try again
            _requests().remember(unit, request_id, earlier.code)
            raise DuplicateRequest(_from_doc(earlier)) from exc
        _requests().remember(dossier.receiving_unit.code, dossier.request_id, dossier.code)


    def update(self, dossier: domain.Dossier, events: list, *, actor: str, action: str) -> None:
        collection = DossierDoc._get_collection()
        claims = VersionClaims(collection)
        claims.claim(dossier.code, dossier.version, actor=actor, action=action)  # or ConcurrentChange
        try:
            messages = [event_mapping.to_message(e) for e in events]
            with OutboxWriter(collection).staged(dossier.code, messages) as entries:
                # Only the claim's winner writes this version: safe even where updates are not atomic.
                collection.update_one({"_id": dossier.code},
                                      {"$set": _mutable(dossier), "$push": {"outbox": {"$each": entries}}})
        except Exception:
            claims.release(dossier.code, dossier.version)
            raise


class MongoCodeSequence:
    """Per unit and day, the highest number known to be taken: a hint for the next candidate.
    Updated without atomicity guarantees on purpose; the unique dossier code is the real claim.

    Within one process, the attempts on one unit's day take turns: a caller holds the unit's day
    from `candidate` until `taken`. Without the turns, N concurrent callers all try the same number,
    N - 1 lose, and every lost race costs a failed insert, an outbox discard and the store's look-up
    of who won: 1,000 submissions from 16 threads made 5,857 insert attempts. Only the insert waits
    its turn; everything before it in `submit` runs in parallel.
    Codes stay gap-free by the same argument as without turns (a caller tries hint + 1 and walks up
    only past numbers it found stored), and a number that was handed out but never stored is simply
    tried again by the next caller. A caller that never comes back (its insert failed, or it found
    its request_id already stored) loses its turn when its thread starts its next submission, or
    after `lease_seconds`; taking over a turn too early only costs a lost race. Between processes
    (api replicas, the worker) nothing is shared but the stored codes and this hint, as before.
    """

    LEASE_SECONDS = 5.0

    class _Turn:
        __slots__ = ("owner", "since", "hint", "open_until")

        def __init__(self):
            self.owner: int | None = None  # the thread whose attempt is under way
            self.since = 0.0
            self.hint: int | None = None  # highest number known taken; None until read from the store
            self.open_until = 0.0  # after a failed attempt: no turns until then (see `abandon`)

    def __init__(self, lease_seconds: float = LEASE_SECONDS):
        self._lease = lease_seconds
        self._lock = threading.Condition()
        self._turns: dict[str, MongoCodeSequence._Turn] = {}  # "<unit code>-YYMMDD" → its turn
        self._holding: dict[int, str] = {}  # thread → the unit's day whose turn it holds

    def _collection(self):
        return CounterDoc._get_collection()

    def candidate(self, unit_code: str, day: dt.date, after: int = 0) -> int:
        key, me_ = f"{unit_code}-{day:%y%m%d}", threading.get_ident()
        with self._lock:
            if not after:  # a new submission: a turn this thread still holds was abandoned
                self._release(me_)
            turn = self._turns.get(key)
            if turn is None:
                if len(self._turns) > 10_000:  # old days: forget the idle ones
                    self._turns = {k: t for k, t in self._turns.items() if t.owner is not None}
                turn = self._turns[key] = self._Turn()
            while turn.owner not in (None, me_) and time.monotonic() >= turn.open_until:
                left = turn.since + self._lease - time.monotonic()
                if left <= 0:  # held too long: take it over (the unique insert still decides)
                    self._holding.pop(turn.owner, None)
                    break
                self._lock.wait(left)
            turn.owner, turn.since = me_, time.monotonic()
            self._holding[me_] = key
            hint = turn.hint
        if hint is None or after:  # first use, or another process took `after`: catch up with it
            try:
                doc = self._collection().find_one({"_id": key})
            except BaseException:
                self.abandon(unit_code, day)  # the store is down: let the next caller fail at once too
                raise
            stored = int(doc["seq"]) if doc else 0
            with self._lock:
                turn.hint = hint = max(turn.hint or 0, stored, after)
        return max(hint, after) + 1

    def taken(self, unit_code: str, day: dt.date, sequence: int) -> None:
        key, me_ = f"{unit_code}-{day:%y%m%d}", threading.get_ident()
        with self._lock:
            turn = self._turns.get(key)
            if turn is not None:
                turn.hint = max(turn.hint or 0, sequence)
                if turn.owner == me_:
                    self._release(me_)
        with contextlib.suppress(DuplicateKeyError):  # the hint is already higher
            self._collection().update_one({"_id": key, "seq": {"$lt": sequence}},
                                          {"$set": {"seq": sequence}}, upsert=True)

    def abandon(self, unit_code: str, day: dt.date) -> None:
        """Ends the calling thread's turn because its attempt failed (the store is down). For a
        lease's time the callers of that day no longer take turns: each would otherwise wait for
        the one before it to fail too (measured: 20 submissions in flight when FerretDB was killed
        answered up to 11 s later; all together, they fail at once)."""
        with self._lock:
            turn = self._turns.get(f"{unit_code}-{day:%y%m%d}")
            if turn is not None:
                turn.open_until = time.monotonic() + self._lease
            self._release(threading.get_ident())
            self._lock.notify_all()

    def _release(self, thread: int) -> None:
        """Ends the turn `thread` holds, if any (called with the lock held)."""
        key = self._holding.pop(thread, None)
        turn = self._turns.get(key) if key else None
        if turn is not None and turn.owner == thread:
            turn.owner = None
            self._lock.notify_all()


def outbox_collections():
    """The collections whose outbox the relay publishes (worker and relay process name the same)."""
    return [DossierDoc._get_collection]


def ensure_indexes() -> None:
    for document in (UnitDoc, ProcedureDoc, DossierDoc, CounterDoc):
        document.ensure_indexes()


NFC_NAMES = "intake-nfc-catalogue-wording"


def migrate() -> dict | None:
    """One-shot (the api runs it at start): every name stored in units, procedures and dossiers
    becomes NFC, and each dossier's handed-in documents take the catalogue's wording of the
    component they match by `text.name_key` (unmatched names are only NFC'd). Writes are guarded
    by the version (procedures, dossiers) or the values read (units), so a concurrent change is
    never overwritten. None when it had run already."""
    db = DossierDoc._get_db()

    def run() -> dict:
        procedures = db[ProcedureDoc._meta["collection"]]
        report = {"units": migrations.nfc_collection(db[UnitDoc._meta["collection"]]),
                  "procedures": migrations.nfc_collection(procedures, guard="version")}
        wording = {p["_id"]: {name_key(d.get("name", "")): nfc(d.get("name", ""))
                              for d in p.get("required_documents", [])}
                   for p in procedures.find({}, {"required_documents": 1})}

        def fix(doc: dict) -> dict:
            updates = migrations.nfc_fields(doc)
            names = wording.get(doc.get("procedure_code"), {})
            documents = updates.get("documents", doc.get("documents") or [])
            worded = [{**d, "name": names.get(name_key(d.get("name", "")), d.get("name", ""))} for d in documents]
            if worded != doc.get("documents", []):
                updates["documents"] = worded
            return updates
        report["dossiers"] = migrations.rewrite(db[DossierDoc._meta["collection"]], fix, guard="version")
        return report
    return migrations.run_once(db, NFC_NAMES, run)
