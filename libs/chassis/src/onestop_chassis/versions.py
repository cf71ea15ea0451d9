"""Optimistic concurrency for documents that more than one request may change.

FerretDB v1 (the local default) applies updates as read-modify-write without isolation, so two
concurrent updates of one document lose one of them, even with a version in the filter (measured;
docs/design.md). The unique-key insert is atomic, so writers serialise on it: before writing
version n+1 of an aggregate, a writer inserts the claim `<id>:<n+1>` into `<aggregates>_claims`.
Only the winner writes the document; a loser gets `ConcurrentChange` (gRPC ABORTED: reload and
retry). A claim whose writer died before writing is taken over once it is older than `stale`.
The claims stay as a small log of who changed what and when.
"""

from __future__ import annotations

import datetime as dt

from pymongo.errors import DuplicateKeyError

from .clock import as_utc
from .errors import ServiceError


class ConcurrentChange(ServiceError):
    code = "ABORTED"

    def __init__(self, aggregate_id: str):
        super().__init__("CONCURRENT_CHANGE",
                         f"{aggregate_id} was changed by someone else meanwhile: reload it and try again",
                         metadata={"id": aggregate_id})


class VersionClaims:
    def __init__(self, aggregates, stale_seconds: float = 30.0):
        self._claims = aggregates.database[f"{aggregates.name}_claims"]
        self._aggregates = aggregates
        self._stale = dt.timedelta(seconds=stale_seconds)

    def claim(self, aggregate_id: str, version: int, *, actor: str, action: str,
              now: dt.datetime | None = None) -> None:
        """Claims `version` (the version the aggregate will have after this change)."""
        now = now or dt.datetime.now(dt.UTC)
        claim = {"_id": f"{aggregate_id}:{version}", "aggregate_id": aggregate_id, "version": version,
                 "actor": actor, "action": action, "at": now}
        try:
            self._claims.insert_one(claim)
            return
        except DuplicateKeyError:
            pass
        held = self._claims.find_one({"_id": claim["_id"]})
        current = self._aggregates.find_one({"_id": aggregate_id}) or {}
        at = as_utc(held["at"]) if held else None
        if held and current.get("version", 0) == version - 1 and at is not None and now - at > self._stale:
            # Its writer died between claim and write: take the claim over (one taker wins the insert).
            self._claims.delete_one({"_id": claim["_id"]})
            try:
                self._claims.insert_one(claim)
                return
            except DuplicateKeyError:
                pass
        raise ConcurrentChange(aggregate_id)

    def release(self, aggregate_id: str, version: int) -> None:
        """After a failed write: the version was not written, let the next writer have it."""
        self._claims.delete_one({"_id": f"{aggregate_id}:{version}"})
