"""`onestop-intake-seed`: loads the demo units and procedures (idempotent upserts)."""

from onestop_chassis import mongo as chassis_mongo
from onestop_chassis.config import load_or_exit

from . import demo_data
from .adapters import mongo
from .config import IntakeSettings


def load_demo_data(catalogue: mongo.MongoCatalogue | None = None) -> None:
    catalogue = catalogue or mongo.MongoCatalogue()
    mongo.ensure_indexes()
    for unit in demo_data.UNITS:
        catalogue.put_unit(unit)
    for procedure in demo_data.PROCEDURES:
        catalogue.put_procedure(procedure)


def main() -> None:
    settings = load_or_exit(IntakeSettings)
    chassis_mongo.connect(settings)
    load_demo_data()
    print(f"intake: loaded {len(demo_data.UNITS)} units and {len(demo_data.PROCEDURES)} procedures "
          f"into {settings.mongodb_database}")
