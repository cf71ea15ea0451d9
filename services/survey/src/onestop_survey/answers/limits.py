"""Abuse limits of survey's public RPCs and pages, on the chassis' moving-window budgets (as
intake's lookup uses them), counted per process:

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

from onestop_chassis.errors import NotFound, ResourceExhausted
from onestop_chassis.ratelimits import Budgets

T = TypeVar("T")


class SurveyLimits:
    def __init__(self, *, per_kiosk: str = "10/minute", per_client: str = "30/minute",
                 token_requests: str = "60/minute", token_mismatches: str = "20/hour"):
        self._budgets = Budgets(kiosk=per_kiosk, kiosk_client=per_client, tokens=token_requests,
                                mismatches=token_mismatches)

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
