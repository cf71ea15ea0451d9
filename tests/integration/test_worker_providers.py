"""The chassis' nameko DependencyProviders for MinIO and MongoDB, against the real servers."""

from __future__ import annotations

import uuid

import mongoengine
from nameko import config as nameko_config

from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.worker import SETTINGS_KEY, MinioClient, MongoConnection


class _Container:
    """What a provider needs of nameko's container (weak-referenceable, unlike SimpleNamespace)."""

    def __init__(self, service_name: str):
        self.service_name = service_name
        self.config = {}
        self.dependencies = []  # MongoConnection.stop waits for the providers that use the database


_containers = []  # providers hold their container by weak reference


def _bound(provider, service="documents"):
    container = _Container(service)
    _containers.append(container)
    return provider.bind(container, "dependency")


def test_minio_provider_gives_workers_a_working_client(local_stack):
    settings = load_settings(ServiceSettings, service_name="documents")
    with nameko_config.patch({SETTINGS_KEY: settings}):
        provider = _bound(MinioClient())
        provider.setup()
    client = provider.get_dependency(worker_ctx=None)
    bucket = f"itest-{uuid.uuid4().hex[:10]}"
    client.make_bucket(bucket)
    try:
        assert client.bucket_exists(bucket)
    finally:
        client.remove_bucket(bucket)


def test_mongo_provider_connects_mongoengine_to_the_service_database(local_stack):
    name = f"itest_{uuid.uuid4().hex[:10]}"
    settings = load_settings(ServiceSettings, service_name="routing", mongodb_database=name)
    with nameko_config.patch({SETTINGS_KEY: settings}):
        provider = _bound(MongoConnection(), "routing")
        provider.setup()
    try:
        db = mongoengine.get_db()
        assert db.name == name
        db["probe"].insert_one({"_id": 1})
        assert db["probe"].find_one({"_id": 1}) == {"_id": 1}
        db.client.drop_database(name)
    finally:
        provider.stop()
