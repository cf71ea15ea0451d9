"""Rate limits of the public lookup, shared by the gRPC api and the HTML page."""

from __future__ import annotations

import limits
import limits.storage
import limits.strategies

from onestop_chassis import codes
from onestop_chassis.errors import ResourceExhausted


class LookupLimits:
    """Per client: 60 lookups a minute; per dossier code: 10 wrong secrets an hour, so a secret
    cannot be guessed. In memory, per process (the `limits` library's moving window)."""

    PER_CLIENT = limits.parse("60/minute")
    FAILED_PER_CODE = limits.parse("10/hour")

    def __init__(self):
        self._limiter = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())

    def allow(self, *, client: str, code: str) -> None:
        code = codes.normalise_code(code)  # "…-0003" and "… - 0003" are one dossier: one count
        if not self._limiter.hit(self.PER_CLIENT, "client", client):
            raise ResourceExhausted("RATE_LIMITED", "too many lookups from this address; wait a minute")
        if not self._limiter.test(self.FAILED_PER_CODE, "code", code):
            raise ResourceExhausted("RATE_LIMITED", "too many wrong secrets for this dossier; try again in an hour")

    def failed(self, code: str) -> None:
        self._limiter.hit(self.FAILED_PER_CODE, "code", codes.normalise_code(code))
