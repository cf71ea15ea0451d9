"""`onestop-intake-seed`: loads the demo units and the procedure catalogue (idempotent).

The catalogue (catalogue.yaml, package data) goes through the same import as ImportProcedures, so
the shipped file obeys the same rules; an unchanged procedure is not rewritten.
"""

from importlib import resources

from onestop_chassis import auth
from onestop_chassis import mongo as chassis_mongo
from onestop_chassis.config import load_or_exit

from . import demo_data
from .bootstrap import Intake, bootstrap, prepare_database
from .catalogue.service import Imported
from .config import IntakeSettings

SEED = auth.Principal("onestop-intake-seed", frozenset({auth.SERVICE}))


def catalogue_yaml() -> bytes:
    return resources.files("onestop_intake").joinpath("catalogue.yaml").read_bytes()


def load_demo_data(intake: Intake) -> Imported:
    """Loads the demo units and catalogue.yaml through intake's use cases (whatever stores
    `intake` was composed with: the database, or fakes)."""
    for unit in demo_data.UNITS:  # parents first: every unit passes the same checks as PutUnit
        intake.units.put(unit, SEED)
    return intake.catalogue.import_file(catalogue_yaml(), "yaml", SEED)


def main() -> None:
    settings = load_or_exit(IntakeSettings)
    chassis_mongo.connect(settings)
    prepare_database()  # indexes and migrations, as the api does before serving
    result = load_demo_data(bootstrap(settings))
    print(f"intake: loaded {len(demo_data.UNITS)} units; procedures {result.created} created, "
          f"{result.updated} updated, {result.unchanged} unchanged, into {settings.mongodb_database}")
