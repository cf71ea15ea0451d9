import pytest

from onestop_chassis.config import LOCAL_JWT_SECRET, ConfigError, ServiceSettings, load_settings


class IntakeLikeSettings(ServiceSettings):
    service_name: str = "intake"


def test_defaults_follow_the_service_name():
    s = load_settings(IntakeLikeSettings)
    assert (s.grpc_port, s.api_metrics_port, s.worker_metrics_port) == (50051, 9151, 9251)
    assert s.mongodb_database == "onestop_intake"
    assert s.onestop_env == "local"
    assert s.jwt_secret == LOCAL_JWT_SECRET


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


def test_production_requires_a_jwt_secret(monkeypatch):
    monkeypatch.setenv("ONESTOP_ENV", "production")
    with pytest.raises(ConfigError) as info:
        load_settings(IntakeLikeSettings)
    assert "JWT_SECRET" in info.value.message


def test_production_with_a_jwt_secret_loads(monkeypatch):
    monkeypatch.setenv("ONESTOP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "a-real-production-secret")
    s = load_settings(IntakeLikeSettings)
    assert s.onestop_env == "production"
    assert s.jwt_secret == "a-real-production-secret"
