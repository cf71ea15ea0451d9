"""Abuse limits of survey's public RPCs and pages. In the service (bootstrap) they are counted in
survey's database (onestop_chassis.shared_budgets: fixed windows, unique inserts), so they hold
however many api and worker replicas serve; without a database (tests) on the chassis' moving-window
budgets, per process:

- a counter kiosk's ratings: `per_kiosk` (default 10 a minute: a counter serves a citizen in
  minutes, so more is a finger drumming on the tablet) and `per_client` per address (30 a minute:
  a hall's tablets may share one address);
- tokens: 60 survey requests a minute per address, and 20 unknown or forged tokens an hour per
  address (a token has 130 bits, so guessing is hopeless; this bounds the noise).

Each is a setting (config.SurveySettings: RATINGS_PER_KIOSK, RATINGS_PER_CLIENT,
TOKEN_REQUESTS_PER_CLIENT, UNKNOWN_TOKENS_PER_CLIENT); `make bench survey` lifts them.

A spent budget raises RESOURCE_EXHAUSTED `RATE_LIMITED` (metadata `limit`; a RetryInfo on gRPC)
before anything is read or stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pymongo.collection import Collection

from onestop_chassis.errors import NotFound, ResourceExhausted
from onestop_chassis.ratelimits import Budgets
from onestop_chassis.shared_budgets import SharedBudgets

T = TypeVar("T")


class SurveyLimits:
    def __init__(self, *, per_kiosk: str = "10/minute", per_client: str = "30/minute",
                 token_requests: str = "60/minute", token_mismatches: str = "20/hour",
                 shared: Callable[[], Collection] | None = None):
        """`shared`: the collection the budgets are counted in across replicas (SharedBudgets);
        None: in this process only."""
        amounts = dict(kiosk=per_kiosk, kiosk_client=per_client, tokens=token_requests, mismatches=token_mismatches)
        self._budgets: Budgets | SharedBudgets = SharedBudgets(shared, **amounts) if shared else Budgets(**amounts)

    def _refuse(self, name: str, key: tuple[str, ...], message: str) -> ResourceExhausted:
        return ResourceExhausted("RATE_LIMITED", message, retry_after=self._budgets.retry_after(name, *key),
                                 metadata={"limit": name})

    def rating(self, *, kiosk: str, client: str) -> None:
        """Spends one rating of `kiosk` and of `client`; raises RATE_LIMITED when either is spent."""
        self.rating_client(client)
        self.rating_kiosk(kiosk)

    def rating_client(self, client: str) -> None:
        """Spends one rating of the address `client` (before anything is read)."""
        if not self._budgets.spend("kiosk_client", client):
            raise self._refuse("kiosk_client", (client,), "too many ratings from this address; wait a minute")

    def rating_kiosk(self, kiosk: str) -> None:
        """Spends one rating of the registered kiosk `kiosk` (`<unit>|<kiosk id>`)."""
        if not self._budgets.spend("kiosk", kiosk):
            raise self._refuse("kiosk", (kiosk,), "too many ratings from this kiosk; wait a minute")

    def token(self, *, client: str, use: Callable[[], T]) -> T:
        """Runs `use` (a read or an answer by token) under the token budgets of `client`."""
        if not self._budgets.spend("tokens", client):
            raise self._refuse("tokens", (client,), "too many survey requests from this address; wait a minute")
        if not self._budgets.left("mismatches", client):
            raise self._refuse("mismatches", (client,), "too many unknown links from this address; try again later")
        try:
            return use()
        except NotFound:
            self._budgets.spend("mismatches", client)
            raise
