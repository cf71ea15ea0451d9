"""Idempotency keys that are found by `_id`.

A retried request carries the request_id of its first try, and the service must find what that
try stored. The aggregates carry (scope, request_id) under a unique index, which is what refuses a
second insert; but a look-up by those fields scans the whole collection on FerretDB v1, where only
`{_id: value}` reaches an index. So every stored aggregate also gets a small pointer
`<scope>|<request_id>` → aggregate id in `<aggregates>_requests`, written after the aggregate.

A pointer can be missing: its writer died between the two writes, or the aggregate is older than
the pointers. Then the retry is not recognised up front, its insert hits the unique index, and the
repository falls back to the (slow, rare) look-up by fields and writes the missing pointer.
"""

from __future__ import annotations

import datetime as dt

from pymongo.errors import DuplicateKeyError, PyMongoError

from .errors import AlreadyExists
from .logs import get_logger

log = get_logger("onestop.request_ids")


class RequestIndex:
    def __init__(self, aggregates):
        self._pointers = aggregates.database[f"{aggregates.name}_requests"]

    @staticmethod
    def key(scope: str, request_id: str) -> str:
        return f"{scope}|{request_id}"  # scopes are unit codes: they never hold "|"

    def get(self, scope: str, request_id: str) -> str | None:
        """The id of the aggregate stored for this request, when its pointer exists."""
        doc = self._pointers.find_one({"_id": self.key(scope, request_id)})
        return doc["aggregate_id"] if doc else None

    def remember(self, scope: str, request_id: str, aggregate_id: str) -> None:
        """After the aggregate write. Never fails the request: the aggregate is stored, and a missing
        pointer only costs a retry the slow path."""
        try:
            self._pointers.insert_one({"_id": self.key(scope, request_id), "aggregate_id": aggregate_id,
                                       "at": dt.datetime.now(dt.UTC)})
        except DuplicateKeyError:
            pass  # written already (the slow path of a concurrent retry)
        except PyMongoError as exc:
            log.warning("request_id pointer not written; a retry will take the slow path",
                        scope=scope, request_id=request_id, aggregate_id=aggregate_id, error=str(exc))


def reused(request_id: str, what: str = "request") -> AlreadyExists:
    """ALREADY_EXISTS `REQUEST_ID_REUSED`: this request_id stored something else, or stored it for
    someone else. One answer for both, so it tells nothing about the other request."""
    return AlreadyExists("REQUEST_ID_REUSED",
                         f"request_id {request_id!r} was already used for a different {what}; "
                         f"use a new request_id for a new {what}", metadata={"request_id": request_id})


def check_replay_owner(first_subject: str, actor_subject: str, request_id: str, what: str = "request") -> None:
    """A retry is answered with what its request_id stored only for the subject (token `sub`) that
    sent it first. Another caller with the same request_id and the same content gets
    `REQUEST_ID_REUSED`, never the stored aggregate (for a dossier: its lookup secret)."""
    if first_subject != actor_subject:
        raise reused(request_id, what)
