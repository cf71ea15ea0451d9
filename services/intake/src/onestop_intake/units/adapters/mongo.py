"""Units in MongoDB (collection `units`)."""

from __future__ import annotations

import mongoengine as me

from .. import domain


class UnitDoc(me.Document):
    meta = {"collection": "units", "strict": False}
    code = me.StringField(primary_key=True)
    name = me.StringField(required=True)
    parent_code = me.StringField(default="")
    kind = me.IntField(default=int(domain.UnitKind.OTHER))
    level = me.IntField(default=0)
    receives_for = me.ListField(me.StringField())
    address = me.StringField(default="")

    def to_domain(self) -> domain.Unit:
        return domain.Unit(code=self.code, name=self.name, parent_code=self.parent_code or "", kind=self.kind,
                           level=self.level or 0, receives_for=tuple(self.receives_for or ()),
                           address=self.address or "")



class MongoUnits:
    """The units: the UnitService's UnitStore, and the unit lookups of reception and the catalogue."""

    def unit(self, code: str) -> domain.Unit | None:
        doc = UnitDoc.objects(code=code).first()
        return doc.to_domain() if doc else None

    def all_units(self) -> list[domain.Unit]:
        return [doc.to_domain() for doc in UnitDoc.objects()]

    def put_unit(self, unit: domain.Unit) -> None:
        """Creates or replaces the unit in one write (last writer wins: units change rarely)."""
        UnitDoc(code=unit.code, name=unit.name, parent_code=unit.parent_code, kind=int(unit.kind),
                level=int(unit.level), receives_for=list(unit.receives_for), address=unit.address).save()
