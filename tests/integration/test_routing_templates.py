"""Routing's process template store (MongoTemplates) on the real FerretDB: versions by unique
insert, the latest by an `_id` range, two admins at once, request ids, and the same answers as
the FakeTemplates the unit tests use."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

from onestop_routing.adapters.templates import COLLECTION, MongoTemplates

from fakes import FakeTemplates
from routing_samples import land_registration, parallel

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
OWN = "000.00.21.H17"


def _put(store, template, by="admin", request_id=""):
    return store.put(template, published_by=by, published_at=NOW, request_id=request_id)


def _run(store):
    """One sequence of writes and reads; what it returns must not depend on the store."""
    land, par = land_registration(), parallel()
    answers = [
        _put(store, land), _put(store, land),                                    # v1, then unchanged
        _put(store, dataclasses.replace(land, name="Bản 2"), request_id="r-2"),  # v2
        _put(store, dataclasses.replace(land, agency_code=OWN, name="Riêng")),   # the agency's own v1
        _put(store, par),
    ]
    seen = [(p.template.process_code, p.template.agency_code, p.template.version, p.template.name, created)
            for p, created in answers]
    reads = [
        store.for_case(land.process_code, OWN).name, store.for_case(land.process_code, "000.00.11.H17").name,
        store.for_case(land.process_code, "").version, store.for_case("QT.XX.99", OWN),
        store.version(land.process_code, "", 1).name, store.version(land.process_code, "", 3),
        store.published(land.process_code, "", 0).template.version,
        store.for_request(land.process_code, "", "r-2").template.version,
        store.for_request(land.process_code, "", "r-9"),
        [(p.template.process_code, p.template.agency_code, p.template.version) for p in store.latest_all(("", OWN))],
        [(p.template.process_code, p.template.agency_code) for p in store.latest_all(("",))],
    ]
    return seen, reads


def test_the_adapter_answers_as_the_fake_does(mongo_db):
    assert _run(MongoTemplates(mongo_db)) == _run(FakeTemplates())
    seen, _ = _run(FakeTemplates())
    assert [s[2] for s in seen] == [1, 1, 2, 1, 1] and [s[4] for s in seen] == [True, False, True, True, True]


def test_versions_are_kept_whole_and_keyed_for_an_id_range(mongo_db):
    store = MongoTemplates(mongo_db)
    _put(store, land_registration())
    _put(store, dataclasses.replace(land_registration(), name="Bản 2"))
    ids = sorted(d["_id"] for d in mongo_db[COLLECTION].find({}))
    assert ids == ["QT-1.000948|-|000001", "QT-1.000948|-|000002"]
    first = store.published("QT-1.000948", "", 1)
    assert first.template == land_registration() and first.published_at == NOW and first.published_by == "admin"
    assert store.published("QT-1.000948", "", 0).template.name == "Bản 2"


def test_two_admins_at_once_get_distinct_versions_and_nothing_is_lost(mongo_db):
    store = MongoTemplates(mongo_db)
    names = [f"Bản {i}" for i in range(6)]
    start = threading.Barrier(len(names))
    results: list = []

    def put(name):
        start.wait()
        results.append(_put(MongoTemplates(mongo_db), dataclasses.replace(land_registration(), name=name)))
    threads = [threading.Thread(target=put, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(p.template.version for p, created in results if created) == [1, 2, 3, 4, 5, 6]
    stored = {store.version("QT-1.000948", "", v).name for v in range(1, 7)}
    assert stored == set(names)
