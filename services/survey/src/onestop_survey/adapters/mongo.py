"""MongoDB adapter of Survey's InvitationRepository."""

from __future__ import annotations

import mongoengine as me

from onestop_chassis.clock import as_utc

from .. import domain


class InvitationDoc(me.Document):
    meta = {"collection": "invitations"}
    id = me.StringField(primary_key=True)
    agency_code = me.StringField(required=True)
    title = me.StringField(default="")
    created_at = me.DateTimeField(required=True)


class MongoInvitations:
    def add(self, item: domain.Invitation) -> None:
        InvitationDoc(**item.__dict__).save(force_insert=True)

    def get(self, item_id: str) -> domain.Invitation | None:
        doc = InvitationDoc.objects(id=item_id).first()
        if doc is None:
            return None
        return domain.Invitation(id=doc.id, agency_code=doc.agency_code, title=doc.title,
                         created_at=as_utc(doc.created_at))


def ensure_indexes() -> None:
    """The collection's indexes (idempotent)."""
    InvitationDoc.ensure_indexes()
