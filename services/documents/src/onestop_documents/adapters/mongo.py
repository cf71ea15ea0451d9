"""MongoDB adapter of the documents metadata. Unique indexes are the claims: (agency, request_id)
makes retries idempotent, (agency, dossier, kind, component_key, version) numbers versions (the
key is `text.name_key` of the component: one component however its name was typed), and the
`documents_contents` collection (`_id` = agency/dossier/sha256) tells an upload whether its bytes
may already be in the dossier, without reading the dossier (FerretDB scans the whole collection for
any query that is not on `_id`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections import defaultdict

import mongoengine as me
from pymongo.errors import DuplicateKeyError

from onestop_chassis import migrations
from onestop_chassis.clock import as_utc
from onestop_chassis.outbox import OutboxWriter
from onestop_chassis.request_ids import RequestIndex
from onestop_chassis.text import name_key

from .. import domain
from ..service import DuplicateRequest, VersionTaken
from . import events as event_mapping


class DocumentDoc(me.Document):
    # Indexes are made by `ensure_indexes`, after `migrate`: the unique one needs component_key.
    meta = {"collection": "documents", "strict": False, "auto_create_index": False, "indexes": [
        {"fields": ["agency_code", "request_id"], "unique": True},
        {"fields": ["agency_code", "dossier_code", "kind", "component_key", "version"], "unique": True},
    ]}
    document_id = me.StringField(primary_key=True)
    request_id = me.StringField(required=True)
    dossier_code = me.StringField(required=True)
    agency_code = me.StringField(required=True)
    kind = me.IntField(required=True)
    component = me.StringField(required=True)
    component_key = me.StringField(required=True)
    version = me.IntField(required=True)
    file_name = me.StringField(default="")
    content_type = me.StringField(required=True)
    size_bytes = me.IntField(required=True)
    sha256 = me.StringField(required=True)
    bucket = me.StringField(required=True)
    object_key = me.StringField(required=True)
    object_version = me.StringField(default="")
    stored_at = me.DateTimeField(required=True)
    uploaded_by = me.StringField(required=True)
    state = me.IntField(required=True)
    retention_mode = me.IntField()
    retain_until = me.DateTimeField()
    legal_hold = me.BooleanField(default=False)
    withdrawn_reason = me.StringField(default="")
    history = me.ListField(me.DictField())
    outbox = me.ListField(me.DictField())


class RecordDoc(me.DynamicDocument):
    """Transfers and retention decisions: written once, with their events."""
    meta = {"abstract": True}
    id = me.StringField(primary_key=True)


class TransferDoc(RecordDoc):
    meta = {"collection": "transfers"}


class RetentionDoc(RecordDoc):
    meta = {"collection": "retentions"}


RECORDS = {"transfers": TransferDoc, "retentions": RetentionDoc}
CONTENTS = "documents_contents"
BACKFILLED = "~backfilled"  # marker: the claims of the records written before claims existed are in


def _contents():
    return DocumentDoc._get_db()[CONTENTS]


def _content_id(agency_code: str, dossier_code: str, sha256: str) -> str:
    return f"{agency_code}/{dossier_code}/{sha256}"


_SCALARS = ("document_id", "request_id", "dossier_code", "agency_code", "component", "version", "file_name",
            "content_type", "size_bytes", "sha256", "bucket", "object_key", "object_version", "uploaded_by",
            "legal_hold", "withdrawn_reason")


def _to_doc(d: domain.Document) -> DocumentDoc:
    return DocumentDoc(
        **{name: getattr(d, name) for name in _SCALARS}, kind=int(d.kind), state=int(d.state),
        stored_at=d.stored_at, history=list(d.history), component_key=d.component_key,
        retention_mode=int(d.retention.mode) if d.retention else None,
        retain_until=d.retention.retain_until if d.retention else None)


def _from_doc(doc: DocumentDoc) -> domain.Document:
    retention = None
    if doc.retention_mode:
        retention = domain.Retention(domain.RetentionMode(doc.retention_mode), as_utc(doc.retain_until))
    return domain.Document(
        **{name: getattr(doc, name) for name in _SCALARS}, kind=domain.Kind(doc.kind),
        state=domain.State(doc.state), stored_at=as_utc(doc.stored_at), retention=retention,
        history=[dict(h) for h in doc.history])


def _requests() -> RequestIndex:
    return RequestIndex(DocumentDoc._get_collection())


class MongoDocuments:
    def get(self, document_id: str) -> domain.Document | None:
        doc = DocumentDoc.objects(document_id=document_id).first()
        return _from_doc(doc) if doc else None

    def by_request_id(self, agency_code: str, request_id: str) -> domain.Document | None:
        document_id = _requests().get(agency_code, request_id)  # by _id: no scan on FerretDB
        return self.get(document_id) if document_id else None

    def for_dossier(self, agency_code: str, dossier_code: str) -> list[domain.Document]:
        return [_from_doc(d) for d in DocumentDoc.objects(agency_code=agency_code, dossier_code=dossier_code)]

    def claim_content(self, agency_code: str, dossier_code: str, sha256: str) -> bool:
        """One unique insert. True: no record of this dossier has ever had these bytes."""
        try:
            _contents().insert_one({"_id": _content_id(agency_code, dossier_code, sha256),
                                    "at": dt.datetime.now(dt.UTC)})
        except DuplicateKeyError:
            return False
        return True

    def add(self, document: domain.Document, events: list) -> None:
        doc = _to_doc(document)
        try:
            messages = [event_mapping.to_message(e) for e in events]
            with OutboxWriter(DocumentDoc._get_collection()).staged(document.document_id, messages) as entries:
                doc.outbox = entries
                doc.save(force_insert=True)  # ONE write: the version and its events
        except (me.NotUniqueError, DuplicateKeyError) as exc:
            # FerretDB's duplicate-key message does not name the index, so ask the data instead, with
            # one read of the dossier (which the caller needs anyway to number the next version).
            stored = self.for_dossier(document.agency_code, document.dossier_code)
            earlier = next((d for d in stored if d.request_id == document.request_id), None)
            slot = (document.kind, document.component_key, document.version)
            if earlier is None and all((d.kind, d.component_key, d.version) != slot for d in stored):
                # Another dossier's document has this request_id. Its pointer may be missing (its
                # writer died between the two writes), so look it up by its fields: rare, and slow.
                doc = DocumentDoc.objects(agency_code=document.agency_code, request_id=document.request_id).first()
                earlier = _from_doc(doc) if doc else None
            if earlier is not None:
                _requests().remember(earlier.agency_code, earlier.request_id, earlier.document_id)
                raise DuplicateRequest(earlier) from exc
            raise VersionTaken(stored) from exc
        _requests().remember(document.agency_code, document.request_id, document.document_id)

    def save(self, document: domain.Document) -> None:
        """Updates the mutable fields (state, retention, legal hold, history) of one version."""
        DocumentDoc.objects(document_id=document.document_id).update_one(
            set__state=int(document.state), set__withdrawn_reason=document.withdrawn_reason,
            set__legal_hold=document.legal_hold, set__history=list(document.history),
            set__retention_mode=int(document.retention.mode) if document.retention else None,
            set__retain_until=document.retention.retain_until if document.retention else None)

    def record(self, kind: str, fields: dict, events: list) -> None:
        model = RECORDS[kind]
        record_id = str(uuid.uuid4())
        messages = [event_mapping.to_message(e) for e in events]
        with OutboxWriter(model._get_collection()).staged(record_id, messages) as entries:
            model(id=record_id, outbox=entries, **fields).save(force_insert=True)

    def object_keys(self, bucket: str) -> set[str]:
        return {d.object_key for d in DocumentDoc.objects(bucket=bucket).only("object_key")}


GRANTS = "documents_grants"


class MongoGrants:
    """Who each dossier was handed to (`handover.Grants`): one record per `<dossier>|<agency>`
    `_id`, written by a unique insert and read by `_id` (no scan on FerretDB)."""

    @staticmethod
    def _collection():
        return DocumentDoc._get_db()[GRANTS]

    def add(self, dossier_code: str, agency_code: str, fields: dict) -> bool:
        try:
            self._collection().insert_one({"_id": f"{dossier_code}|{agency_code}", "dossier_code": dossier_code,
                                           "agency_code": agency_code, **fields})
        except DuplicateKeyError:
            return False
        return True

    def has(self, dossier_code: str, agency_code: str) -> bool:
        return self._collection().find_one({"_id": f"{dossier_code}|{agency_code}"}, {"_id": 1}) is not None


def ensure_indexes() -> None:
    """Migrates what is stored (`migrate`, once per database), then makes the indexes. Every
    process of the service calls it when it starts."""
    migrate()
    DocumentDoc.ensure_indexes()
    _backfill_content_claims()


COMPONENT_KEYS = "documents-component-keys-nfc"
_TYPED = ("file_name", "uploaded_by", "withdrawn_reason")
TEMP_VERSION = 1_000_000  # above any real version: renumbering passes through it, clash-free


def migrate() -> dict | None:
    """One-shot: every stored component gets its key (`component_key`), components whose keys
    collide (one name typed two ways) become one, and stored names are NFC. See
    `merge_components`. None when it had run already."""
    db = DocumentDoc._get_db()
    collection = db[DocumentDoc._meta["collection"]]

    return migrations.run_once(db, COMPONENT_KEYS, lambda: merge_components(collection))


def merge_components(collection) -> dict:
    """Gives every record its component_key and makes each (agency, dossier, kind, key) one
    component: its name becomes the NFC form of the first stored spelling and, where several
    spellings were stored, its versions are renumbered 1..n in the order they were stored
    (stored_at, then id). Nothing is deleted: identical bytes stored twice stay two versions. The
    other names people typed (file name, uploader, withdrawal reason) become NFC in the same write;
    request_id stays as sent (it is a key, not a name).
    Idempotent and safe to run concurrently (the target is computed from the records alone; a
    renumbering first moves the versions above TEMP_VERSION so the old unique index never
    clashes). Returns counts: records keyed, components merged, records renumbered."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    fields = {"agency_code": 1, "dossier_code": 1, "kind": 1, "component": 1, "component_key": 1,
              "version": 1, "stored_at": 1, **{name: 1 for name in _TYPED}}
    for r in collection.find({}, fields):
        groups[(r["agency_code"], r["dossier_code"], r["kind"], name_key(r["component"]))].append(r)
    report = {"keyed": 0, "merged": 0, "renumbered": 0}
    for (_, _, _, key), group in groups.items():
        group.sort(key=lambda r: (r["stored_at"], r["_id"]))
        name = domain.component_name(group[0]["component"])
        renumber = len({r["component"] for r in group}) > 1 or any(r["version"] >= TEMP_VERSION for r in group)
        if renumber:
            report["merged"] += 1
            for rank, r in enumerate(group):
                if r["version"] != rank + 1:
                    collection.update_one({"_id": r["_id"]}, {"$set": {"version": TEMP_VERSION + rank}})
        for rank, r in enumerate(group):
            target = {"component": name, "component_key": key, "version": rank + 1 if renumber else r["version"],
                      **migrations.nfc_fields({k: r[k] for k in _TYPED if k in r})}
            if any(r.get(k) != v for k, v in target.items()):
                collection.update_one({"_id": r["_id"]}, {"$set": target})
                report["keyed"] += 1
                report["renumbered"] += target["version"] != r["version"]
    return report


def _backfill_content_claims() -> None:
    """Claims for the records written before content claims existed (one scan, once per database),
    so that deduplication still finds them. Idempotent: replicas starting together may both run it."""
    contents = _contents()
    if contents.find_one({"_id": BACKFILLED}) is not None:
        return
    ids = {_content_id(d["agency_code"], d["dossier_code"], d["sha256"]) for d in DocumentDoc._get_collection().find(
        {}, {"agency_code": 1, "dossier_code": 1, "sha256": 1})}
    now = dt.datetime.now(dt.UTC)
    for claim in [*ids, BACKFILLED]:
        with contextlib.suppress(DuplicateKeyError):  # claimed already (a replica starting together)
            contents.insert_one({"_id": claim, "at": now})


def outbox_collections():
    return [DocumentDoc._get_collection, TransferDoc._get_collection, RetentionDoc._get_collection]
