"""One-shot data migrations, run by a service's processes when they start.

Why at start and not as a separate job: a new version may count on the migrated form (the documents
service's unique index is on a key the migration fills in), so no process of it may serve before
the migration ran. Each migration is recorded once it finished, in the database's `migrations`
collection (`_id` = its name), so later starts pay one read by `_id`. Migrations are idempotent
and safe when several replicas start together: they compute the same result from the same data
and write it with `$set` only where it differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from .logs import get_logger

log = get_logger("onestop.migrations")
MIGRATIONS = "migrations"
GUARDED_RETRIES = 5


def run_once(db, name: str, migrate: Callable[[], dict]) -> dict | None:
    """Runs `migrate` unless the database records `name` as done; records it after. Returns what
    `migrate` reported (counts), or None when it had already run. An exception leaves it unrecorded,
    so the next start runs it again."""
    markers = db[MIGRATIONS]
    if markers.find_one({"_id": name}) is not None:
        return None
    report = migrate()
    with contextlib.suppress(DuplicateKeyError):  # a replica that started at the same time finished it too
        markers.insert_one({"_id": name, "at": dt.datetime.now(dt.UTC), "report": report})
    log.info("migration done", migration=name, **{k: v for k, v in report.items() if isinstance(v, int)})
    return report


def nfc_value(value: Any) -> tuple[Any, bool]:
    """`value` (a stored field: str, list, dict, anything else) with every string in NFC, and
    whether anything changed. Dict keys are field names and are left alone."""
    if isinstance(value, str):
        if unicodedata.is_normalized("NFC", value):
            return value, False
        return unicodedata.normalize("NFC", value), True
    if isinstance(value, list):
        items = [nfc_value(v) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if isinstance(value, dict):
        fields = {k: nfc_value(v) for k, v in value.items()}
        return {k: v for k, (v, _) in fields.items()}, any(c for _, c in fields.values())
    return value, False


def nfc_fields(doc: dict, skip: tuple[str, ...] = ("_id", "outbox")) -> dict:
    """The top-level fields of a stored document whose NFC form differs, in that form."""
    changed = {}
    for key, value in doc.items():
        if key not in skip:
            new, differs = nfc_value(value)
            if differs:
                changed[key] = new
    return changed


def rewrite(collection, fix: Callable[[dict], dict], guard: str | None = None) -> int:
    """Applies `fix` (stored document → the top-level fields to `$set`, empty when nothing to do)
    to every document of `collection` (one scan). A document that needs a change is read again by
    `_id` and fixed from that fresh copy, written by `_id` only when its `guard` field (a version
    number) or, without one, the fields it rewrites still hold what was read: a change made since
    the scan is never overwritten. Both the read and the write go by `_id` alone because FerretDB
    scans the whole collection for any other filter (measured: an update filtered on `_id` and
    `version` took 75 ms with 2,000 dossiers stored, against 1 ms by `_id`), so the window left is
    the one between that read and that write. Returns how many documents changed."""
    changed = 0
    for doc in collection.find({}):
        if not fix(doc):
            continue
        for _ in range(GUARDED_RETRIES):
            fresh = collection.find_one({"_id": doc["_id"]})
            if fresh is None:
                break
            updates = fix(fresh)
            if not updates:
                break
            if guard and guard in doc and fresh.get(guard) != doc[guard] or \
                    not guard and any(fresh.get(f) != doc.get(f) for f in updates):
                doc = fresh  # changed since it was read: fix the new content instead
                continue
            collection.update_one({"_id": doc["_id"]}, {"$set": updates})
            changed += 1
            break
    return changed


def nfc_collection(collection, guard: str | None = None) -> int:
    """Rewrites every string stored in `collection` to NFC (outbox excepted); see `rewrite`."""
    return rewrite(collection, nfc_fields, guard)
