"""Shared fixtures of the unit tier: no servers, no environment leaking in from the shell."""

import pytest

# Variables the settings read that a developer's shell or CI might have set.
_SETTINGS_VARIABLES = (
    "SERVICE_NAME", "ONESTOP_ENV", "LOG_LEVEL", "GRPC_HOST", "GRPC_PORT", "GRPC_MAX_WORKERS",
    "API_METRICS_PORT", "WORKER_METRICS_PORT", "MONGODB_URI", "MONGODB_DATABASE",
    "JWT_SECRET", "JWT_PUBLIC_KEY_FILE", "JWT_AUDIENCE", "JWT_ISSUER", "JWT_LEEWAY_SECONDS", "OUTBOX_POLL_SECONDS",
    "JWT_JWKS_URL", "JWT_JWKS_CACHE_SECONDS", "JWT_JWKS_COOLDOWN_SECONDS", "JWT_MAX_LIFETIME_SECONDS",
    "JWT_MAX_SERVICE_LIFETIME_SECONDS", "SERVICE_TOKEN",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


@pytest.fixture(autouse=True)
def _clean_settings_environment(monkeypatch):
    for name in _SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def pytest_configure(config):
    # nameko's pytest plugin warns about eventlet monkey-patching, which unit tests do not need.
    if hasattr(config.option, "suppress_eventlet_notification"):
        config.option.suppress_eventlet_notification = True
