"""MongoDB adapter of the invitation store. Every read is by `_id` (FerretDB answers nothing else
from an index): `invitations` by id, and `invitation_keys` holds two pointers per invitation,
`dossier|<code>` (the claim: a unique insert, so one invitation per dossier) and `token|<sha256>`."""

from __future__ import annotations

import dataclasses
import datetime as dt

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from onestop_chassis.clock import as_utc

from .. import domain

INVITATIONS = "invitations"
KEYS = "invitation_keys"


def _to_doc(item: domain.Invitation) -> dict:
    doc = dataclasses.asdict(item)
    doc["_id"] = doc.pop("id")
    doc["officers"] = list(item.officers)
    return doc


def _from_doc(doc: dict) -> domain.Invitation:
    fields = {f.name for f in dataclasses.fields(domain.Invitation)}
    values = {k: v for k, v in doc.items() if k in fields}
    return domain.Invitation(**{**values, "id": doc["_id"], "officers": tuple(doc.get("officers", ())),
                                "created_at": as_utc(doc["created_at"]),
                                "expires_at": as_utc(doc["expires_at"]) if doc.get("expires_at") else None})


class MongoInvitations:
    def __init__(self, db=get_db):
        self._db = db

    def _insert(self, collection: str, doc: dict) -> bool:
        try:
            self._db()[collection].insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def claim(self, dossier_code: str, invitation_id: str) -> str:
        key = f"dossier|{dossier_code}"
        if self._insert(KEYS, {"_id": key, "invitation_id": invitation_id, "at": dt.datetime.now(dt.UTC)}):
            return invitation_id
        return self._db()[KEYS].find_one({"_id": key})["invitation_id"]

    def add(self, item: domain.Invitation) -> None:
        self._insert(KEYS, {"_id": f"token|{item.token_hash}", "invitation_id": item.id})
        self._insert(INVITATIONS, _to_doc(item))

    def get(self, invitation_id: str) -> domain.Invitation | None:
        doc = self._db()[INVITATIONS].find_one({"_id": invitation_id})
        return _from_doc(doc) if doc else None

    def by_dossier(self, dossier_code: str) -> domain.Invitation | None:
        pointer = self._db()[KEYS].find_one({"_id": f"dossier|{dossier_code}"})
        return self.get(pointer["invitation_id"]) if pointer else None

    def by_token_hash(self, token_hash: str) -> domain.Invitation | None:
        pointer = self._db()[KEYS].find_one({"_id": f"token|{token_hash}"})
        return self.get(pointer["invitation_id"]) if pointer else None
