"""The chassis request_id pointers (RequestIndex) on mongomock."""

from __future__ import annotations

import mongomock
from pymongo.errors import AutoReconnect

from onestop_chassis.request_ids import RequestIndex


def _index():
    aggregates = mongomock.MongoClient().db["dossiers"]
    return RequestIndex(aggregates), aggregates.database["dossiers_requests"]


def test_a_pointer_is_found_by_its_scope_and_request_id_only():
    index, pointers = _index()
    index.remember("000.00.21.H17", "req-1", "000.00.21.H17-261123-0001")
    assert index.get("000.00.21.H17", "req-1") == "000.00.21.H17-261123-0001"
    assert index.get("000.40.21.H17", "req-1") is None, "another unit's request_ids are its own"
    assert pointers.find_one({"_id": "000.00.21.H17|req-1"})["aggregate_id"] == "000.00.21.H17-261123-0001"


def test_the_first_pointer_stays():
    index, _ = _index()
    index.remember("u", "req-1", "first")
    index.remember("u", "req-1", "second")  # a concurrent retry's slow path: no error, no overwrite
    assert index.get("u", "req-1") == "first"


def test_a_store_failure_never_fails_the_request(monkeypatch):
    index, pointers = _index()

    def down(*args, **kwargs):
        raise AutoReconnect("connection refused")

    monkeypatch.setattr(type(pointers), "insert_one", down)
    index.remember("u", "req-1", "stored")  # the aggregate is stored: the caller must still succeed
    monkeypatch.undo()
    assert index.get("u", "req-1") is None  # the retry takes the slow path, which writes it again
