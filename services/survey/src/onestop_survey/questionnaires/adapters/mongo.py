"""MongoDB adapter of the questionnaire store: one document per version, `_id`
`<agency>|<code>|<version, 6 digits>`, so the latest version is one `_id` range read (FerretDB
answers nothing else from an index) and a new version is claimed by its unique insert. An agency's
choice of the questionnaire its invitations ask is one document, `_id` the agency code."""

from __future__ import annotations

import dataclasses

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from .. import domain

COLLECTION = "questionnaires"
CHOICES = "invitation_questionnaires"  # `_id` the agency code: what its invitations ask


def _key(agency_code: str, code: str, version: int) -> str:
    return f"{agency_code}|{code}|{version:06d}"


def to_doc(q: domain.Questionnaire) -> dict:
    return {"_id": _key(q.agency_code, q.code, q.version), **dataclasses.asdict(q)}


def from_doc(d: dict) -> domain.Questionnaire:
    questions = tuple(domain.Question(**{**q, "kind": domain.Kind(q["kind"]),
                                         "options": tuple(domain.Option(**o) for o in q["options"])})
                      for q in d["questions"])
    return domain.Questionnaire(
        code=d["code"], version=d["version"], name=d["name"], scoring=domain.Scoring(d["scoring"]),
        questions=questions, bands=tuple(domain.Band(**b) for b in d["bands"]), source=d["source"],
        agency_code=d["agency_code"])


class MongoQuestionnaires:
    def _collection(self):
        return get_db()[COLLECTION]

    def latest(self, agency_code: str, code: str) -> domain.Questionnaire | None:
        prefix = f"{agency_code}|{code}|"
        found = list(self._collection().find({"_id": {"$gt": prefix, "$lt": prefix + "~"}})
                     .sort("_id", -1).limit(1))
        return from_doc(found[0]) if found else None

    def get(self, agency_code: str, code: str, version: int) -> domain.Questionnaire | None:
        found = self._collection().find_one({"_id": _key(agency_code, code, version)})
        return from_doc(found) if found else None

    def add(self, item: domain.Questionnaire) -> bool:
        try:
            self._collection().insert_one(to_doc(item))
        except DuplicateKeyError:
            return False
        return True

    def chosen(self, agency_code: str) -> str:
        found = get_db()[CHOICES].find_one({"_id": agency_code})
        return found["code"] if found else ""

    def choose(self, agency_code: str, code: str) -> None:
        if code:
            get_db()[CHOICES].replace_one({"_id": agency_code}, {"code": code}, upsert=True)
        else:
            get_db()[CHOICES].delete_one({"_id": agency_code})
