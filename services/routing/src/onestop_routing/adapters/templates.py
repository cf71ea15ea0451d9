"""MongoDB adapter of the process templates (TemplateStore): one immutable document per version.

Keys are code-like (docs/routing.md): `_id` = `<process_code>|<agency_code or ->|<version, 6
digits>`, so a template's latest version is one `_id` range sorted descending with limit 1, which
FerretDB (our patched build) and MongoDB answer from the `_id` index. A new version is claimed by
its unique insert: two admins storing at once get distinct versions, and neither is lost. The
document holds the template in its file form (`files.template_to_entry`), so the stored shape and
the import's are one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from onestop_chassis.clock import as_utc
from onestop_chassis.request_ids import RequestIndex
from onestop_chassis.versions import ConcurrentChange

from ..domain.process import ProcessTemplate, Published, same_content
from ..templates import files

COLLECTION = "process_templates"
META = ("_id", "version", "published_at", "published_by", "request_id")
PUT_ATTEMPTS = 20  # each lost insert means another admin stored a version meanwhile


def prefix(process_code: str, agency_code: str) -> str:
    return f"{process_code}|{agency_code or '-'}|"


def key(process_code: str, agency_code: str, version: int) -> str:
    return f"{prefix(process_code, agency_code)}{version:06d}"


class MongoTemplates:
    def __init__(self, database=None):
        self._database = database  # None: mongoengine's default connection, looked up at first use
        # Stored versions never change (a new version is a new document): each is parsed once per
        # process, by its `_id`, and a case's own version is read once, not at every fold of the case
        # (the overdue scan folds hundreds a pass; every new case parsed its template).
        self._parsed: dict[str, Published] = {}

    @property
    def _collection(self):
        return (self._database if self._database is not None else get_db())[COLLECTION]

    # -- reads ---------------------------------------------------------------------------------------
    def published(self, process_code: str, agency_code: str, version: int = 0) -> Published | None:
        if version:
            cached = self._parsed.get(key(process_code, agency_code, version))
            if cached is not None:
                return cached
            doc = self._collection.find_one({"_id": key(process_code, agency_code, version)})
        else:
            start = prefix(process_code, agency_code)
            doc = next(iter(self._collection.find({"_id": {"$gte": start, "$lt": start + "~"}})
                            .sort("_id", -1).limit(1)), None)
        if not doc:
            return None
        if doc["_id"] not in self._parsed:
            self._parsed[doc["_id"]] = _published(doc)
        return self._parsed[doc["_id"]]

    def for_case(self, process_code: str, agency_code: str) -> ProcessTemplate | None:
        for agency in dict.fromkeys((agency_code, "")):  # the agency's own, then every agency's
            found = self.published(process_code, agency)
            if found is not None:
                return found.template
        return None

    def version(self, process_code: str, agency_code: str, version: int) -> ProcessTemplate | None:
        found = self.published(process_code, agency_code, version) if version > 0 else None
        return found.template if found else None

    def latest_all(self, agency_codes: tuple[str, ...]) -> list[Published]:
        # Every version in key order, the last of each (process, agency) kept: templates are tens to
        # hundreds of documents, read by admins only.
        latest: dict[tuple[str, str], dict] = {}
        for doc in self._collection.find({}).sort("_id", 1):
            latest[(doc["process_code"], doc.get("agency_code", ""))] = doc
        return [_published(doc) for (_, agency), doc in sorted(latest.items()) if agency in agency_codes]

    def for_request(self, process_code: str, agency_code: str, request_id: str) -> Published | None:
        stored = RequestIndex(self._collection).get(prefix(process_code, agency_code), request_id)
        if stored is None:
            return None
        doc = self._collection.find_one({"_id": stored})
        return _published(doc) if doc else None

    # -- the one write -------------------------------------------------------------------------------
    def put(self, template: ProcessTemplate, *, published_by: str, published_at: dt.datetime,
            request_id: str = "") -> tuple[Published, bool]:
        for _ in range(PUT_ATTEMPTS):
            latest = self.published(template.process_code, template.agency_code)
            if latest is not None and same_content(latest.template, template):
                return latest, False
            stored = replace(template, version=latest.template.version + 1 if latest else 1)
            doc = {"_id": key(stored.process_code, stored.agency_code, stored.version), "version": stored.version,
                   "published_at": published_at, "published_by": published_by, "request_id": request_id,
                   **files.template_to_entry(stored)}
            try:
                self._collection.insert_one(doc)
            except DuplicateKeyError:
                continue  # another admin took this version: read the new latest and go again
            if request_id:
                RequestIndex(self._collection).remember(prefix(stored.process_code, stored.agency_code), request_id,
                                                        doc["_id"])
            return Published(stored, as_utc(published_at), published_by), True
        raise ConcurrentChange(f"template {template.process_code}")


def _published(doc: dict) -> Published:
    template, problems = files.entry_to_template({k: v for k, v in doc.items() if k not in META})
    if template is None or problems:
        raise ValueError(f"stored template {doc['_id']} does not read back: {problems}")
    return Published(replace(template, version=doc["version"]), as_utc(doc["published_at"]), doc["published_by"])
