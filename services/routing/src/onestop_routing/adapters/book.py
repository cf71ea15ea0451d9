"""MongoDB / FerretDB store of the tracking book's keys (book.BookIndex): collection `book`, one
document per key `_id` = `<unit>|<YYYY-MM>|<dossier>`, so a unit's month is one `_id` range that
our FerretDB build answers from the index with its sort and limit."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from ..book import book_prefix

BOOK = "book"


class MongoBookIndex:
    def __init__(self, db: Callable[[], object] = get_db):
        self._db = db

    def _collection(self):
        return self._db()[BOOK]  # type: ignore[index]  # a pymongo Database

    def add(self, keys: Iterable[str]) -> None:
        for key in sorted(keys):
            with contextlib.suppress(DuplicateKeyError):  # written before: a repaired projection
                self._collection().insert_one({"_id": key})

    def codes(self, unit_code: str, period: str, limit: int) -> Sequence[str]:
        prefix = book_prefix(unit_code, period)
        docs = self._collection().find({"_id": {"$gt": prefix, "$lt": prefix + "~"}}, {"_id": 1}).sort("_id", 1)
        return [d["_id"][len(prefix):] for d in docs.limit(limit)]
