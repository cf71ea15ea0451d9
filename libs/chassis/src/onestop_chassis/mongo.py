"""MongoDB (or FerretDB) connection for mongoengine, shared by the api and worker processes."""

from __future__ import annotations

import mongoengine
import pymongo


def connect(settings, alias: str = "default"):
    """Connects mongoengine to the service's own database. Datetimes come back timezone-aware (UTC).

    Timeouts come from settings (seconds):
    - MONGODB_TIMEOUT_SECONDS (1) for server selection and connect: pymongo waits 30 s by default,
      so a stopped database cost every call 30 s;
    - MONGODB_HEARTBEAT_SECONDS (0.5; pymongo's default 10): how often pymongo's own monitor asks
      the server. A heartbeat that gets no answer within MONGODB_TIMEOUT_SECONDS marks the server
      down and interrupts the operations waiting on it: against a frozen FerretDB (SIGSTOP), those
      in flight failed after 2.5-3 s and new ones after 1.5 s, instead of waiting for their socket;
    - MONGODB_SOCKET_TIMEOUT_SECONDS (30), the last resort for one reply (a long scan is legal).
    A stopped server makes an operation raise pymongo's `ConnectionFailure` (AutoReconnect,
    ServerSelectionTimeoutError, NetworkTimeout), which the api maps to UNAVAILABLE
    `DATABASE_UNAVAILABLE`. pymongo reconnects by itself once the server answers again.

    No client-side operation timeout (`pymongo.timeout`, timeoutMS) is set: under one, pymongo
    waits for a server for the whole timeout instead of MONGODB_TIMEOUT_SECONDS (measured: 15 s
    with a 15 s timeout against a stopped FerretDB).
    """
    return mongoengine.connect(
        db=settings.mongodb_database, host=settings.mongodb_uri, alias=alias, tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=int(settings.mongodb_timeout_seconds * 1000),
        connectTimeoutMS=int(settings.mongodb_timeout_seconds * 1000),
        heartbeatFrequencyMS=int(settings.mongodb_heartbeat_seconds * 1000),
        socketTimeoutMS=int(settings.mongodb_socket_timeout_seconds * 1000))


def disconnect(alias: str = "default") -> None:
    mongoengine.disconnect(alias=alias)


def ping(timeout: float, alias: str = "default") -> None:
    """Raises pymongo's ConnectionFailure (or another PyMongoError) unless the database answers a
    ping within `timeout` seconds."""
    with pymongo.timeout(timeout):
        mongoengine.get_connection(alias).admin.command("ping")

