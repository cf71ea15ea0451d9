"""Rate limits of the public lookup (LookupDossier, GetResultLinks and the page /tra-cuu).

Budgets, each a moving window counted per process (`onestop_chassis.ratelimits`):

- per client: 60 lookups a minute, whatever their outcome (a flood limit);
- per client and dossier code: 10 mismatches an hour (an owner mistyping the secret has ten tries);
- per client: 30 mismatches an hour over all codes (what bounds guessing).

No budget belongs to a dossier code alone. A stranger spends only their own budgets, so however
much they guess, the owner's lookup from their own address is never refused. (An owner behind the
same address as the guesser, such as one NAT, shares its budget: the price of counting by client.)

Only real mismatches count: a code and secret that match no dossier (NOT_FOUND `NO_MATCH`, the
same answer for an unknown code, so the limits are no oracle for which codes exist either). An
outage (UNAVAILABLE, INTERNAL), a right secret whose result is not ready yet (`RESULT_NOT_READY`)
and a refused request count nothing.

Why this is enough without a per-code lock: the secret is 8 characters from a 32-letter alphabet,
32**8 = 2**40 ≈ 1.1e12 values, and one guess tests one code. At 30 mismatches an hour an address
makes at most 262,800 guesses a year: a chance of 2.4e-7 a year of hitting any secret at all. A
botnet of 100,000 addresses, all year, has a 2.4% chance of one hit; against one chosen dossier
(10 an hour each) 0.8%. Each api or worker replica counts on its own, which multiplies these by
the number of replicas that serve the public.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from onestop_chassis import codes
from onestop_chassis.errors import NotFound, ResourceExhausted
from onestop_chassis.ratelimits import Budgets, Network, client_address

T = TypeVar("T")
NO_MATCH = "NO_MATCH"  # the service layer's reason for a code and secret that match no dossier

LOOKUPS_PER_CLIENT = "60/minute"
MISMATCHES_PER_CODE_AND_CLIENT = "10/hour"
MISMATCHES_PER_CLIENT = "30/hour"


class LookupLimits:
    """`guarded(client=..., code=..., find=...)` runs a lookup under the budgets above; raises
    RESOURCE_EXHAUSTED `RATE_LIMITED` (metadata `limit`, `retry_after_seconds`; a RetryInfo on gRPC)
    when one is spent, before looking anything up."""

    def __init__(self, lookups_per_client: str | None = None, mismatches_per_code_and_client: str | None = None,
                 mismatches_per_client: str | None = None):
        # The module's constants are read here, not bound as defaults, so `make bench` can lift one.
        self._budgets = Budgets(lookups=lookups_per_client or LOOKUPS_PER_CLIENT,
                                code_mismatches=mismatches_per_code_and_client or MISMATCHES_PER_CODE_AND_CLIENT,
                                mismatches=mismatches_per_client or MISMATCHES_PER_CLIENT)

    def _refuse(self, name: str, key: tuple[str, ...], message: str) -> ResourceExhausted:
        return ResourceExhausted("RATE_LIMITED", message, retry_after=self._budgets.retry_after(name, *key),
                                 metadata={"limit": name})

    def allow(self, *, client: str, code: str) -> None:
        """Spends one lookup of `client`; raises RATE_LIMITED when a budget is spent."""
        if not self._budgets.spend("lookups", client):
            raise self._refuse("lookups", (client,), "too many lookups from this address; wait a minute")
        if not self._budgets.left("mismatches", client):
            raise self._refuse("mismatches", (client,),
                               "too many wrong codes or secrets from this address; try again later")
        if not self._budgets.left("code_mismatches", client, code):
            raise self._refuse("code_mismatches", (client, code),
                               "too many wrong secrets for this dossier from this address; try again later")

    def mismatch(self, *, client: str, code: str) -> None:
        self._budgets.spend("mismatches", client)
        self._budgets.spend("code_mismatches", client, code)

    def guarded(self, *, client: str, code: str, find: Callable[[], T]) -> T:
        code = codes.normalise_code(code)  # "…-0003" and "… - 0003" are one dossier: one budget
        self.allow(client=client, code=code)
        try:
            return find()
        except NotFound as exc:
            if exc.reason == NO_MATCH:
                self.mismatch(client=client, code=code)
            raise


class PageLookup(Generic[T]):
    """The /tra-cuu page's lookup: `lookup(code, secret)` (the reception service's) under `limits`,
    counted per client address (X-Forwarded-For is read only from `trusted` proxies). Called with
    the page's request: `page_lookup(code, secret, request)` → the dossier, or raises as `guarded`."""

    def __init__(self, lookup: Callable[[str, str], T], limits: LookupLimits, trusted: tuple[Network, ...] = ()):
        self._lookup = lookup
        self._limits = limits
        self._trusted = trusted

    def __call__(self, code: str, secret: str, request) -> T:
        client = client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For", ""), self._trusted)
        return self._limits.guarded(client=client, code=code, find=lambda: self._lookup(code, secret))
