"""MongoDB adapter of routing's CaseRepository."""

from __future__ import annotations

import mongoengine as me
from pymongo.errors import DuplicateKeyError

from onestop_chassis import migrations
from onestop_chassis.clock import as_utc

from .. import domain


class CaseDoc(me.Document):
    meta = {"collection": "cases"}
    dossier_code = me.StringField(primary_key=True)
    procedure_code = me.StringField(required=True)
    procedure_name = me.StringField(default="")
    receiving_unit_code = me.StringField(required=True)
    receiving_unit_name = me.StringField(default="")
    channel = me.IntField(required=True)
    applicant_name = me.StringField(default="")
    received_at = me.DateTimeField(required=True)
    due_at = me.DateTimeField(required=True)
    opened_at = me.DateTimeField(required=True)
    state = me.IntField(required=True)
    applied_event_ids = me.ListField(me.StringField())


class MongoCases:
    def add_if_new(self, case: domain.Case) -> bool:
        fields = {k: (int(v) if k == "state" else v) for k, v in case.__dict__.items()}
        try:
            CaseDoc(**fields).save(force_insert=True)  # the case and the event id: one write
        except (me.NotUniqueError, DuplicateKeyError):
            return False
        return True

    def get(self, dossier_code: str) -> domain.Case | None:
        doc = CaseDoc.objects(dossier_code=dossier_code).first()
        if doc is None:
            return None
        data = {name: getattr(doc, name) for name in domain.Case.__dataclass_fields__}
        for name in ("received_at", "due_at", "opened_at"):
            data[name] = as_utc(data[name])
        data["state"] = domain.CaseState(data["state"])
        data["applied_event_ids"] = list(data["applied_event_ids"])
        return domain.Case(**data)


NFC_NAMES = "routing-nfc"


def migrate() -> dict | None:
    """One-shot (the api runs it at start): the names stored in cases (procedure, unit, applicant)
    become NFC. Writes are guarded by the values read. None when it had run already."""
    db = CaseDoc._get_db()
    return migrations.run_once(db, NFC_NAMES, lambda: {
        "cases": migrations.nfc_collection(db[CaseDoc._meta["collection"]])})
