"""One holder at a time for a job every replica could run: the outbox relay, a sweep, a scan.

However many worker or relay pods run, one of them holds the lease of a job and runs it; the others
wait, and take over within one term when the holder dies. FerretDB v1 isolates nothing but the
unique insert (docs/design.md), so the lease is made of inserts, not of updates: time is cut into
terms of `term_seconds`, and whoever first inserts `<job>|<term>` into the collection `leases` holds
the job for that term. A holder claims the next term before its own ends (at `renew_share` of it),
so it keeps the job; the others try each term only once it has begun, and lose while the holder
lives. Two pods run the job at once only for as long as their clocks disagree, which at-least-once
delivery (consumers remember event ids) and idempotent sweeps tolerate. A holder that dies after
claiming the next term leaves the job idle for at most two terms.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from .logs import get_logger

log = get_logger("onestop.leases")

COLLECTION = "leases"  # in the service's own database
KEEP_TERMS = 100  # past terms kept as a short log of who held the job; older ones are removed


def holder_name() -> str:
    """This process: the pod's name (the host name in Kubernetes) and the process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def relay_lease(relays, service: str, term_seconds: float) -> Lease:
    """The lease of `service`'s outbox relay, kept in the database of its aggregates (OutboxRelay)."""
    return Lease(relays[0].database[COLLECTION], f"{service}.relay", holder_name(), term_seconds=term_seconds)


def holding(held: Callable[[], bool], job: str) -> bool:
    """`held()`, or False when the database cannot say (nobody runs the job meanwhile; the next
    call asks again)."""
    try:
        return held()
    except PyMongoError as exc:
        log.warning("lease unknown: the database did not answer", job=job, error=str(exc))
        return False


class Lease:
    """The lease of `job` (e.g. "intake.relay") for `holder` (e.g. the pod's name), over `collection`.

    `held()` answers, cheaply, whether this holder may run the job now: it inserts at most one
    document per term (and raises pymongo's errors when the database is down: then nobody holds).
    """

    def __init__(self, collection: Collection, job: str, holder: str, term_seconds: float = 10.0,
                 renew_share: float = 0.5, clock: Callable[[], float] = time.time):
        if term_seconds <= 0 or not 0 < renew_share < 1:
            raise ValueError("a lease needs term_seconds > 0 and 0 < renew_share < 1")
        self._leases, self._job, self._holder = collection, job, holder
        self._term_seconds, self._renew_share, self._clock = term_seconds, renew_share, clock
        self._owned: set[int] = set()  # terms this holder won
        self._lost: set[int] = set()   # terms another won

    def _key(self, term: int) -> str:
        return f"{self._job}|{term:012d}"  # zero-padded: keys sort by term

    def _claim(self, term: int) -> bool:
        if term in self._owned:
            return True
        if term in self._lost:
            return False
        try:
            self._leases.insert_one({"_id": self._key(term), "holder": self._holder, "at": self._clock()})
        except DuplicateKeyError:
            self._lost.add(term)
            return False
        self._owned.add(term)
        self._forget_before(term)
        return True

    def _forget_before(self, term: int) -> None:
        self._owned = {t for t in self._owned if t >= term - 1}
        self._lost = {t for t in self._lost if t >= term - 1}
        # An `_id` range: the one kind of query FerretDB answers from its index besides equality.
        self._leases.delete_many({"_id": {"$gte": f"{self._job}|", "$lt": self._key(term - KEEP_TERMS)}})

    def held(self) -> bool:
        """Whether this holder holds the job now; claims the current term when nobody did, and the
        next one ahead of time while holding this one."""
        now = self._clock()
        term = int(now // self._term_seconds)
        if not self._claim(term):
            return False
        if now - term * self._term_seconds >= self._renew_share * self._term_seconds:
            self._claim(term + 1)  # lost only if another pod's clock is ahead: it holds from then on
        return True


class Always:
    """No lease: for a process that has no database to agree on one (it runs alone)."""

    def held(self) -> bool:
        return True


ALWAYS = Always()
