"""The procedure catalogue in MongoDB (collection `procedures`; changes claimed per version)."""

from __future__ import annotations

import datetime as dt

import mongoengine as me
from pymongo.errors import DuplicateKeyError

from onestop_chassis import worktime
from onestop_chassis.versions import VersionClaims

from ...units.adapters.mongo import MongoUnits
from .. import domain
from ..service import ProcedureExists


class ProcedureDoc(me.Document):
    """A published procedure. Fields added by the catalogue default so older documents still load;
    changes go through VersionClaims ("procedures_claims")."""
    meta = {"collection": "procedures", "strict": False}
    code = me.StringField(primary_key=True)
    name = me.StringField(required=True)
    legal_days = me.IntField(default=0)
    legal_hours = me.IntField(default=0)
    legal_minutes = me.IntField(default=0)
    competent_unit_code = me.StringField(required=True)
    active = me.BooleanField(default=True)
    is_local_code = me.BooleanField(default=False)
    field_code = me.StringField(default="")
    level = me.StringField(default="")
    required_documents = me.ListField(me.DictField())
    fees = me.ListField(me.DictField())
    result = me.StringField(default="")
    online_level = me.IntField(default=1)
    postal_return_allowed = me.BooleanField(default=False)
    process_code = me.StringField(default="")
    effective_from = me.StringField(default="")  # YYYY-MM-DD, Vietnam date; empty: unbounded
    effective_to = me.StringField(default="")
    legal_basis = me.ListField(me.StringField())
    version = me.IntField(default=1)



def _procedure_fields(p: domain.Procedure) -> dict:
    return {
        "name": p.name, "legal_days": p.legal_duration.days, "legal_hours": p.legal_duration.hours,
        "legal_minutes": p.legal_duration.minutes, "competent_unit_code": p.competent_unit_code,
        "active": p.active, "is_local_code": p.is_local_code, "field_code": p.field_code, "level": p.level,
        "required_documents": [{"name": d.name, "copy_kind": int(d.copy_kind), "count": d.count,
                                "form_template": d.form_template, "required": d.required}
                               for d in p.required_documents],
        "fees": [{"name": f.name, "amount": f.amount, "currency": f.currency, "note": f.note,
                  "exemptions": list(f.exemptions)} for f in p.fees],
        "result": p.result, "online_level": int(p.online_level), "postal_return_allowed": p.postal_return_allowed,
        "process_code": p.process_code,
        "effective_from": p.effective_from.isoformat() if p.effective_from else "",
        "effective_to": p.effective_to.isoformat() if p.effective_to else "",
        "legal_basis": list(p.legal_basis), "version": p.version,
    }


def _procedure_from_doc(doc: dict) -> domain.Procedure:
    def day(value):
        return dt.date.fromisoformat(value) if value else None
    return domain.Procedure(
        code=doc["_id"], name=doc["name"], competent_unit_code=doc["competent_unit_code"],
        active=doc.get("active", True),
        legal_duration=worktime.WorkingDuration(doc.get("legal_days", 0), doc.get("legal_hours", 0),
                                              doc.get("legal_minutes", 0)),
        is_local_code=doc.get("is_local_code", False), field_code=doc.get("field_code", ""),
        level=doc.get("level", ""),
        required_documents=tuple(domain.RequiredDocument(
            name=d["name"], copy_kind=d.get("copy_kind", 1), count=d.get("count", 1),
            form_template=d.get("form_template", ""), required=d.get("required", True))
            for d in doc.get("required_documents") or []),
        fees=tuple(domain.Fee(name=f["name"], amount=f.get("amount", 0), currency=f.get("currency", "VND"),
                              note=f.get("note", ""), exemptions=tuple(f.get("exemptions") or []))
                   for f in doc.get("fees") or []),
        result=doc.get("result", ""), online_level=doc.get("online_level", 1),
        postal_return_allowed=doc.get("postal_return_allowed", False), process_code=doc.get("process_code", ""),
        effective_from=day(doc.get("effective_from")), effective_to=day(doc.get("effective_to")),
        legal_basis=tuple(doc.get("legal_basis") or []), version=doc.get("version") or 1)



class MongoCatalogue(MongoUnits):
    """Procedures, and the units they name: the catalogue's ProcedureStore and reception's Catalogue
    port (a procedure's competent unit and a desk are looked up with it)."""

    @staticmethod
    def _procedures():
        return ProcedureDoc._get_collection()

    def procedure(self, code: str) -> domain.Procedure | None:
        doc = self._procedures().find_one({"_id": code})
        return _procedure_from_doc(doc) if doc else None

    def all_procedures(self) -> list[domain.Procedure]:
        return [_procedure_from_doc(doc) for doc in self._procedures().find({})]

    def add_procedure(self, p: domain.Procedure) -> None:
        try:
            self._procedures().insert_one({"_id": p.code, **_procedure_fields(p)})  # the unique insert claims the code
        except DuplicateKeyError as exc:
            raise ProcedureExists(p.code) from exc

    def replace_procedure(self, p: domain.Procedure, *, actor: str, action: str) -> None:
        collection = self._procedures()
        claims = VersionClaims(collection)
        claims.claim(p.code, p.version, actor=actor, action=action)  # or ConcurrentChange
        try:
            # Only the claim's winner writes this version: safe even where updates are not atomic.
            collection.update_one({"_id": p.code}, {"$set": _procedure_fields(p)})
        except Exception:
            claims.release(p.code, p.version)
            raise
