"""`onestop-routing-seed`: loads the shipped process templates (process_templates.yaml, package
data) through the same import as ImportProcessTemplates (idempotent: a template identical to its
latest version stores nothing). The units they name are checked against intake's unit list, so
intake's api must be up (`make run` seeds routing after starting the services); the seed waits
for it up to `wait_seconds`."""

from __future__ import annotations

import time
from importlib import resources

from onestop_chassis import auth
from onestop_chassis import mongo as chassis_mongo
from onestop_chassis.config import load_or_exit
from onestop_chassis.errors import Unavailable

from .bootstrap import Routing, bootstrap
from .config import RoutingSettings
from .templates.service import Imported

SEED = auth.Principal("onestop-routing-seed", frozenset({auth.SERVICE}))


def templates_yaml() -> bytes:
    return resources.files("onestop_routing").joinpath("process_templates.yaml").read_bytes()


def load_templates(routing: Routing, wait_seconds: float = 60.0) -> Imported:
    """Imports process_templates.yaml as the SERVICE account, retrying while intake's unit list is
    unavailable (intake still starting) for up to `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return routing.templates.import_file(templates_yaml(), "yaml", SEED)
        except Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def main() -> None:
    settings = load_or_exit(RoutingSettings)
    chassis_mongo.connect(settings)
    result = load_templates(bootstrap(settings))
    print(f"routing: process templates {len(result.stored)} stored, {result.unchanged} unchanged, "
          f"into {settings.mongodb_database}")
