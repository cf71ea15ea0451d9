"""MongoDB (or FerretDB) connection for mongoengine, shared by the api and worker processes."""

from __future__ import annotations

import contextlib

import mongoengine
import pymongo


def connect(settings, alias: str = "default"):
    """Connects mongoengine to the service's own database. Datetimes come back timezone-aware (UTC).

    Timeouts come from settings (seconds): MONGODB_TIMEOUT_SECONDS for server selection and
    connect (pymongo waits 30 s by default, so a stopped database cost every call 30 s), and
    MONGODB_SOCKET_TIMEOUT_SECONDS for a server that accepted a request and never answers. A
    stopped server makes an operation raise pymongo's `ConnectionFailure` (AutoReconnect,
    ServerSelectionTimeoutError, NetworkTimeout) within about MONGODB_TIMEOUT_SECONDS, which the
    api maps to UNAVAILABLE `DATABASE_UNAVAILABLE`. pymongo reconnects by itself when it is back.
    """
    return mongoengine.connect(
        db=settings.mongodb_database, host=settings.mongodb_uri, alias=alias, tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=int(settings.mongodb_timeout_seconds * 1000),
        connectTimeoutMS=int(settings.mongodb_timeout_seconds * 1000),
        socketTimeoutMS=int(settings.mongodb_socket_timeout_seconds * 1000))


def disconnect(alias: str = "default") -> None:
    mongoengine.disconnect(alias=alias)


def ping(timeout: float, alias: str = "default") -> None:
    """Raises pymongo's ConnectionFailure (or another PyMongoError) unless the database answers a
    ping within `timeout` seconds."""
    with pymongo.timeout(timeout):
        mongoengine.get_connection(alias).admin.command("ping")


def bounded(seconds: float | None):
    """Every database operation inside the block ends within `seconds` (pymongo's client-side
    timeout: retries included, also against a server that hangs); no bound for None."""
    return pymongo.timeout(seconds) if seconds is not None else contextlib.nullcontext()
