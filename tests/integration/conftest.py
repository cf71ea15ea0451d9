from __future__ import annotations

import uuid

import mongoengine
import pymongo
import pytest


@pytest.fixture()
def mongo_db(local_stack):
    """A fresh database on the real FerretDB, connected for mongoengine too; dropped afterwards."""
    name = f"itest_{uuid.uuid4().hex[:10]}"
    client = pymongo.MongoClient(local_stack["mongodb_uri"], serverSelectionTimeoutMS=5000, tz_aware=True)
    mongoengine.connect(db=name, host=local_stack["mongodb_uri"], alias="default", tz_aware=True,
                        uuidRepresentation="standard")
    yield client[name]
    mongoengine.disconnect(alias="default")
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="session", autouse=True)
def tracing_configured():
    """As in every service process: a real tracer provider, so trace context is carried."""
    from onestop_chassis.tracing import configure_tracing
    configure_tracing("itest")
