"""Routing's database migrations (the stores are in adapters.journey)."""

from __future__ import annotations

from mongoengine.connection import get_db

from onestop_chassis import migrations

from .journey import CASES

NFC_NAMES = "routing-nfc"


def migrate() -> dict | None:
    """One-shot (the api runs it at start): the names stored in cases (procedure, unit, applicant)
    become NFC. Writes are guarded by the values read. None when it had run already."""
    db = get_db()
    return migrations.run_once(db, NFC_NAMES, lambda: {"cases": migrations.nfc_collection(db[CASES])})
