"""The local database answers `_id` ranges of code-like keys, their sort on `_id` and their limit
from the `_id_` index, exactly (deploy/local/patches/ferretdb-v1.24.0-sqlite-id-ranges.patch):
what routing's inboxes and overdue scan rely on. Production's MongoDB does this natively."""

from __future__ import annotations

import random

import pytest

UNITS = [f"000.{i:02d}.13.H17" for i in range(5)]


@pytest.fixture()
def keys(mongo_db):
    random.seed(7)
    ids = [f"{random.choice(UNITS)}|2026-12-{random.randint(1, 28):02d}T{random.randint(0, 23):02d}:00:00Z|"
           f"000.00.21.H17-261130-{n:04d}|tham_dinh" for n in range(600)]
    collection = mongo_db["keys"]
    collection.insert_many([{"_id": i, "n": n} for n, i in enumerate(ids)])
    return collection, sorted(ids)


def _pushed(collection, query, direction=1, limit=0) -> dict:
    plan = collection.find(query).sort("_id", direction).limit(limit).explain()
    return {k: plan.get(k) for k in ("filterPushdown", "sortPushdown", "limitPushdown")}


def test_a_range_with_its_sort_and_limit_is_answered_from_the_index(keys):
    collection, ids = keys
    unit = UNITS[2]
    query = {"_id": {"$gte": f"{unit}|", "$lt": f"{unit}|~"}}
    assert _pushed(collection, query, 1, 50) == {"filterPushdown": True, "sortPushdown": True, "limitPushdown": True}, \
        "FerretDB runs without the id-ranges patch: restart the stack with `make stop && make stack` (it rebuilds)"
    expected = [i for i in ids if i.startswith(f"{unit}|")]
    assert [d["_id"] for d in collection.find(query).sort("_id", 1).limit(50)] == expected[:50]
    assert [d["_id"] for d in collection.find(query).sort("_id", -1).limit(7)] == expected[::-1][:7]


@pytest.mark.parametrize("bounds", [
    {"$gt": "000.01.13.H17|2026-12-05", "$lte": "000.03.13.H17|2026-12-09T23:00:00Z|~"},
    {"$lt": "000.02.13.H17|"},
    {"$gte": "000.04.13.H17|2026-12-28"},
])
def test_ranges_return_exactly_what_the_filter_says(keys, bounds):
    collection, ids = keys
    got = sorted(d["_id"] for d in collection.find({"_id": bounds}))
    reference = sorted(d["_id"] for d in collection.find({"$and": [{"_id": bounds}]}))  # not pushed down
    assert got == reference and got  # non-empty, and the same as the in-memory filter's


def test_other_filters_still_work_and_a_page_continues_after_its_last_key(keys):
    collection, ids = keys
    unit = UNITS[0]
    first = [d["_id"] for d in collection.find({"_id": {"$gte": f"{unit}|", "$lt": f"{unit}|~"}}).sort("_id").limit(5)]
    after = [d["_id"] for d in collection.find({"_id": {"$gt": first[-1], "$lt": f"{unit}|~"}}).sort("_id").limit(5)]
    expected = [i for i in ids if i.startswith(f"{unit}|")]
    assert first + after == expected[:10]
    # A filter on another field, and a range mixed with one, are filtered exactly (in memory).
    assert collection.count_documents({"n": {"$lt": 10}}) == 10
    mixed = list(collection.find({"_id": {"$gte": f"{unit}|"}, "n": {"$lt": 100}}))
    assert all(d["n"] < 100 and d["_id"] >= f"{unit}|" for d in mixed) and mixed
