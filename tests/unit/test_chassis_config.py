from typing import ClassVar

import pytest

from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET, ConfigError, ServiceSettings, load_settings


class IntakeLikeSettings(ServiceSettings):
    service_name: str = "intake"


def test_defaults_follow_the_service_name():
    s = load_settings(IntakeLikeSettings)
    assert (s.grpc_port, s.api_metrics_port, s.worker_metrics_port) == (50051, 9151, 9251)
    assert s.mongodb_database == "onestop_intake"
    assert s.onestop_env == "local"
    assert s.jwt_secret == LOCAL_JWT_SECRET


def test_an_instance_name_prefixes_databases_and_buckets(monkeypatch):
    """Two agencies' instances on one MongoDB and MinIO: every name apart (docs/operations.md)."""
    monkeypatch.setenv("ONESTOP_INSTANCE", "hue")
    s = load_settings(IntakeLikeSettings)
    assert (s.mongodb_database, s.resource_prefix) == ("onestop_hue_intake", "onestop-hue")
    monkeypatch.setenv("ONESTOP_INSTANCE", "da-nang")
    assert load_settings(IntakeLikeSettings).mongodb_database == "onestop_da_nang_intake"
    monkeypatch.delenv("ONESTOP_INSTANCE")
    assert load_settings(IntakeLikeSettings).resource_prefix == "onestop"


@pytest.mark.parametrize("name", ["Hue", "1hue", "hue-", "h_ue", "hue.vn", "a" * 21])
def test_a_bad_instance_name_is_refused_naming_the_variable(monkeypatch, name):
    monkeypatch.setenv("ONESTOP_INSTANCE", name)
    with pytest.raises(ConfigError) as info:
        load_settings(IntakeLikeSettings)
    assert "ONESTOP_INSTANCE" in info.value.message


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("GRPC_PORT", "6000")
    monkeypatch.setenv("MONGODB_DATABASE", "elsewhere")
    s = load_settings(IntakeLikeSettings)
    assert s.grpc_port == 6000
    assert s.mongodb_database == "elsewhere"


def test_non_numeric_port_names_the_variable(monkeypatch):
    monkeypatch.setenv("GRPC_PORT", "abc")
    with pytest.raises(ConfigError) as info:
        load_settings(IntakeLikeSettings)
    assert "GRPC_PORT" in info.value.message
    assert info.value.code == 2


def test_port_out_of_range_is_refused(monkeypatch):
    monkeypatch.setenv("GRPC_PORT", "70000")
    with pytest.raises(ConfigError) as info:
        load_settings(IntakeLikeSettings)
    assert "GRPC_PORT" in info.value.message


def test_production_requires_the_identity_provider_s_keys(monkeypatch):
    monkeypatch.setenv("ONESTOP_ENV", "production")
    with pytest.raises(ConfigError) as info:
        load_settings(IntakeLikeSettings)
    assert "JWT_JWKS_URL" in info.value.message


PRODUCTION_SECRET = "a-real-production-secret-of-32-chars-or-more"
JWKS_URL = "https://idp.prod/realms/motcua/protocol/openid-connect/certs"
# What the identity provider issued this service for calling others: the role "service" alone.
SERVICE_TOKEN = mint_token("the-identity-provider-s-own-key", subject="svc", roles=["service"])


def _production(monkeypatch, **env):
    monkeypatch.setenv("ONESTOP_ENV", "production")
    for name, value in {"JWT_JWKS_URL": JWKS_URL, "JWT_ISSUER": "https://idp.prod/realms/motcua",
                        "JWT_AUDIENCE": "onestop", "SERVICE_TOKEN": SERVICE_TOKEN,
                        "MONGODB_URI": "mongodb://db.prod:27017/",
                        "AMQP_URI": "amqp://svc:pw@mq.prod:5672/", **env}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_production_with_its_own_settings_loads(monkeypatch):
    _production(monkeypatch)
    s = load_settings(IntakeLikeSettings)
    assert (s.onestop_env, s.jwt_jwks_url, s.mongodb_uri) == ("production", JWKS_URL, "mongodb://db.prod:27017/")
    assert s.jwt_secret == "", "no shared signing secret in a production process"


@pytest.mark.parametrize("env, named", [
    ({"JWT_SECRET": LOCAL_JWT_SECRET}, "JWT_SECRET"),
    ({"JWT_SECRET": "too-short"}, "JWT_SECRET"),
    ({"JWT_SECRET": PRODUCTION_SECRET}, "JWT_SECRET must not be set"),  # a strong one too: no shared secret
    ({"MONGODB_URI": None}, "MONGODB_URI"),
    ({"AMQP_URI": None}, "AMQP_URI"),
])
def test_production_refuses_local_defaults(monkeypatch, env, named):
    _production(monkeypatch, **env)
    with pytest.raises(ConfigError) as refused:
        load_settings(IntakeLikeSettings)
    assert named in refused.value.message


class StoreLikeSettings(ServiceSettings):
    """A service that uses the object store (documents): MinIO's credentials are required too."""
    service_name: str = "documents"
    PRODUCTION_REQUIRED: ClassVar[tuple[str, ...]] = (
        "mongodb_uri", "amqp_uri", "minio_endpoint", "minio_access_key", "minio_secret_key")


MINIO = {"MINIO_ENDPOINT": "files.internal:9000", "MINIO_ACCESS_KEY": "svc-documents",
         "MINIO_SECRET_KEY": "Zq8-mR2v_9KfLw3pXn7TbY4cHs6JdE1u"}


@pytest.mark.parametrize("env, named, why", [
    # Credentials published in this repository (the local overlay's, the local stack's) or a server's own.
    ({"JWT_SECRET": "local-only-jwt-secret-do-not-use-in-production"}, "JWT_SECRET", "published"),
    ({"JWT_SECRET": "a" * 32}, "JWT_SECRET", "weak"),
    ({"JWT_SECRET": "abababababababababababababababab"}, "JWT_SECRET", "weak"),
    ({"MINIO_SECRET_KEY": "onestop-local-secret"}, "MINIO_SECRET_KEY", "published"),
    ({"MINIO_SECRET_KEY": "minioadmin"}, "MINIO_SECRET_KEY", "published"),
    ({"MINIO_ACCESS_KEY": "onestop"}, "MINIO_ACCESS_KEY", "default user"),
    ({"MINIO_ACCESS_KEY": "minioadmin"}, "MINIO_ACCESS_KEY", "default user"),
    ({"AMQP_URI": "amqp://guest:guest@mq.prod:5672/"}, "AMQP_URI", "guest"),
    ({"AMQP_URI": "amqp://mq.prod:5672/"}, "AMQP_URI", "no user"),
    ({"MONGODB_URI": "mongodb://127.0.0.1:27017/"}, "MONGODB_URI", "machine the process runs on"),
    ({"MINIO_ENDPOINT": "localhost:9000"}, "MINIO_ENDPOINT", "machine the process runs on"),
])
def test_production_refuses_public_weak_and_loopback_values(monkeypatch, env, named, why):
    _production(monkeypatch, **{**MINIO, **env})
    with pytest.raises(ConfigError) as refused:
        load_settings(StoreLikeSettings)
    assert named in refused.value.message and why in refused.value.message


def test_production_with_strong_credentials_of_its_own_loads(monkeypatch):
    _production(monkeypatch, **MINIO)
    assert load_settings(StoreLikeSettings).minio_access_key == "svc-documents"


def test_intake_in_production_needs_the_lookup_page_and_documents_addresses(monkeypatch):
    from onestop_intake.config import IntakeSettings
    _production(monkeypatch)
    with pytest.raises(ConfigError) as refused:
        load_settings(IntakeSettings)
    assert "PUBLIC_LOOKUP_URL" in refused.value.message and "DOCUMENTS_ADDRESS" in refused.value.message
    monkeypatch.setenv("PUBLIC_LOOKUP_URL", "http://127.0.0.1:8051/tra-cuu")
    monkeypatch.setenv("DOCUMENTS_ADDRESS", "documents:50053")
    with pytest.raises(ConfigError) as refused:
        load_settings(IntakeSettings)
    assert "PUBLIC_LOOKUP_URL" in refused.value.message, "a QR code citizens cannot open"
    monkeypatch.setenv("PUBLIC_LOOKUP_URL", "https://motcua.hue.example/tra-cuu")
    assert load_settings(IntakeSettings).public_lookup_url == "https://motcua.hue.example/tra-cuu"
