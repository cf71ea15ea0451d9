"""The worker's settings as nameko holds them: `nameko_config_for(settings)` is the config a
worker runs with (run_worker, and tests' containers), `worker_settings()` reads them back in any
provider or entrypoint."""

from __future__ import annotations

from nameko import config as nameko_config

from .config import ServiceSettings

SETTINGS_KEY = "ONESTOP_SETTINGS"


def worker_settings() -> ServiceSettings:
    return nameko_config[SETTINGS_KEY]


def nameko_config_for(settings: ServiceSettings) -> dict:
    return {
        SETTINGS_KEY: settings,
        "AMQP_URI": settings.amqp_uri,
        "max_workers": 10,
        "PREFETCH_COUNT": 10,
        "HEARTBEAT": 30,
        # Used only by services with @http pages.
        "WEB_SERVER_ADDRESS": f"{settings.web_host}:{settings.web_port}",
    }
