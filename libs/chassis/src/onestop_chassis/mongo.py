"""MongoDB (or FerretDB) connection for mongoengine, shared by the api and worker processes."""

from __future__ import annotations

import mongoengine


def connect(settings, alias: str = "default"):
    """Connects mongoengine to the service's own database. Datetimes come back timezone-aware (UTC)."""
    return mongoengine.connect(
        db=settings.mongodb_database, host=settings.mongodb_uri, alias=alias, tz_aware=True,
        uuidRepresentation="standard", serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)


def disconnect(alias: str = "default") -> None:
    mongoengine.disconnect(alias=alias)
