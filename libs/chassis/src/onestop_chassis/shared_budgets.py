"""Budgets that hold across replicas: counted in the service's database, not in the process
(ratelimits.Budgets counts per process, so n replicas allow n times a budget).

FerretDB v1 isolates nothing but the unique insert (docs/design.md), so a use is an insert, never
an update: time is cut into fixed windows of the budget's period (a minute, an hour), and one use
of `key` within budget `name` is the first free `_id` `<name>|<window>|<key>|<n>` with n below the
budget's amount. A spend inserts the next n: the count of the window's uses of the key read by one
`_id` range (answered from FerretDB's index) the first time this process spends the key in the
window, then the one after its own last; of two replicas inserting the same n, one wins and the
other tries n + 1, so exactly `amount` uses pass per window, whatever the replicas. Windows are
fixed, not moving: at a window's edge a client may spend up to twice the amount within one period.
Each process removes its budgets' windows older than the previous one, once per window.

Keys keep the characters FerretDB's `_id` ranges take (letters, digits, `-._:|~+`); others
become `_`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable

import limits
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

COLLECTION = "budgets"  # in the service's own database
_UNSAFE = re.compile(r"[^A-Za-z0-9\-._:|~+]")


class SharedBudgets:
    """Named fixed-window budgets in the collection `collection()` returns, e.g.
    `SharedBudgets(lambda: get_db()["budgets"], per_client="60/minute")`: the interface of
    ratelimits.Budgets (`spend`, `left`, `retry_after`, `item`). Raises pymongo's errors when the
    database does not answer."""

    def __init__(self, collection: Callable[[], Collection], *, clock: Callable[[], float] = time.time,
                 **budgets: str):
        self._collection = collection
        self._items = {name: limits.parse(text) for name, text in budgets.items()}
        self._clock = clock
        self._swept: dict[str, int] = {}  # budget name → the window whose older windows were removed
        self._next: dict[str, int] = {}   # `<name>|<window>|<key>|` → the next use to try
        self._lock = threading.Lock()

    def item(self, name: str) -> limits.RateLimitItem:
        return self._items[name]

    def _window(self, name: str) -> tuple[int, float]:
        """(the current window's number, its length in seconds) of budget `name`."""
        seconds = float(self._items[name].get_expiry())
        return int(self._clock() // seconds), seconds

    def _prefix(self, name: str, window: int, key: tuple[str, ...]) -> str:
        return f"{name}|{window:012d}|{_UNSAFE.sub('_', '|'.join(key))}|"

    def _used(self, prefix: str, amount: int) -> int:
        found = self._collection().find({"_id": {"$gte": prefix, "$lt": prefix + "~"}}, {"_id": 1}).limit(amount)
        return len(list(found))

    def spend(self, name: str, *key: str) -> bool:
        """Counts one use of `key` in budget `name`; False (nothing stored) when the window's
        amount is spent."""
        window, _ = self._window(name)
        self._sweep(name, window)
        amount = self._items[name].amount
        prefix = self._prefix(name, window, key)
        # The next use this process expects; the window's uses are read only for a key it has not
        # spent in this window (a lifted budget of thousands would otherwise be read per request).
        n = self._next.get(prefix)
        if n is None:
            n = self._used(prefix, amount)
        while n < amount:
            try:
                self._collection().insert_one({"_id": f"{prefix}{n:06d}", "at": self._clock()})
                self._next[prefix] = n + 1
                return True
            except DuplicateKeyError:
                n += 1  # another replica (or thread) took this use: the next one
        self._next[prefix] = amount
        return False

    def left(self, name: str, *key: str) -> bool:
        """Whether a use of `key` in budget `name` would be within it now (nothing stored)."""
        window, _ = self._window(name)
        amount = self._items[name].amount
        return self._used(self._prefix(name, window, key), amount) < amount

    def retry_after(self, name: str, *key: str) -> float:
        """Seconds (at least 1) until the current window of `name` ends."""
        window, seconds = self._window(name)
        return max(1.0, math.ceil((window + 1) * seconds - self._clock()))

    def _sweep(self, name: str, window: int) -> None:
        with self._lock:
            if self._swept.get(name) == window:
                return
            self._swept[name] = window
            current = f"{name}|{window:012d}|"
            for prefix in [p for p in list(self._next) if p.startswith(f"{name}|") and not p.startswith(current)]:
                self._next.pop(prefix, None)
        self._collection().delete_many({"_id": {"$gte": f"{name}|", "$lt": f"{name}|{window - 1:012d}"}})
