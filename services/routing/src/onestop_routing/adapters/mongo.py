"""Routing's database migrations (the stores are in adapters.journey)."""

from __future__ import annotations

from mongoengine.connection import get_db

from onestop_chassis import migrations

from ..inbox import SCAN_PREFIX
from .journey import CASES, INBOX, SCAN

NFC_NAMES = "routing-nfc"
SCAN_KEYS = "routing-scan-keys"


def migrate() -> dict | None:
    """One-shot (the api runs it at start): the names stored in cases (procedure, unit, applicant)
    become NFC. Writes are guarded by the values read. None when it had run already."""
    db = get_db()
    return migrations.run_once(db, NFC_NAMES, lambda: {"cases": migrations.nfc_collection(db[CASES])})


def migrate_scan_keys(db=None) -> dict | None:
    """One-shot (the api runs it at start): the overdue scan's keys move from `inbox` to their own
    collection (`move_scan_keys`). None when it had run already."""
    db = db if db is not None else get_db()
    return migrations.run_once(db, SCAN_KEYS, lambda: move_scan_keys(db))


def move_scan_keys(db) -> dict:
    """Every `all|...` key stored in `inbox` before the scan had a collection of its own: copied
    into `scan` in its small form when its case's view still holds it (else it is stale: dropped),
    then deleted from `inbox`. Without this, a step due before the upgrade would be found by the
    scan only after its case's next projection. Returns {"moved": n, "dropped": n}."""
    inbox, scan, cases = db[INBOX], db[SCAN], db[CASES]
    moved = dropped = 0
    for doc in list(inbox.find({"_id": {"$gte": SCAN_PREFIX, "$lt": SCAN_PREFIX + "~"}})):
        key = doc["_id"]
        view = cases.find_one({"_id": key.split("|")[-2]}, {"inbox_keys": 1}) or {}
        if key in (view.get("inbox_keys") or []):
            scan.replace_one({"_id": key}, {"_id": key, "entered_at": doc["entered_at"]}, upsert=True)
            moved += 1
        else:
            dropped += 1
        inbox.delete_one({"_id": key})
    return {"moved": moved, "dropped": dropped}
