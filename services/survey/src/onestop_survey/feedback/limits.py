"""Budgets of feedback's public RPCs, per client address (in the service: counted in survey's
database across replicas, onestop_chassis.shared_budgets; in tests: per process): filing
(FEEDBACK_FILINGS_PER_CLIENT) and the reads and acts by code and secret
(FEEDBACK_SECRET_USES_PER_CLIENT: GetFeedback with a secret, ReopenFeedback, RateFeedbackAnswer),
so nobody floods a unit with items or tries secrets by the thousand."""

from __future__ import annotations

from collections.abc import Callable

from pymongo.collection import Collection

from onestop_chassis.errors import ResourceExhausted
from onestop_chassis.ratelimits import Budgets, Network, grpc_client
from onestop_chassis.shared_budgets import SharedBudgets

FILINGS_PER_CLIENT = "10/hour"
SECRET_USES_PER_CLIENT = "60/hour"


class FeedbackLimits:
    """`spend(context, "filing" | "secret")` counts one use by the call's client (X-Forwarded-For
    believed from `trusted` proxies only); raises RESOURCE_EXHAUSTED `FEEDBACK_RATE_LIMITED` with
    a RetryInfo and, in metadata `message_vi`, what the page shows the citizen."""

    def __init__(self, filings: str = FILINGS_PER_CLIENT, secret_uses: str = SECRET_USES_PER_CLIENT,
                 trusted: tuple[Network, ...] = (), shared: Callable[[], Collection] | None = None):
        """`shared`: the collection the budgets are counted in across replicas (SharedBudgets: the
        service's); None: in this process only (tests)."""
        amounts = dict(filing=filings, secret=secret_uses)
        self._budgets: Budgets | SharedBudgets = SharedBudgets(shared, **amounts) if shared else Budgets(**amounts)
        self._trusted = trusted

    def spend(self, context, budget: str) -> None:
        self.spend_address(grpc_client(context, self._trusted), budget)

    def spend_address(self, client: str, budget: str) -> None:
        """As `spend`, for a client address found already (the feedback page: public.feedback)."""
        if not self._budgets.spend(budget, client):
            wait = self._budgets.retry_after(budget, client)
            minutes = max(1, int(wait + 59) // 60)
            raise ResourceExhausted(
                "FEEDBACK_RATE_LIMITED", f"too many feedback requests ({budget}) from this address; "
                f"try again in {int(wait)} s", retry_after=wait,
                metadata={"limit": budget,
                          "message_vi": f"Bạn đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau {minutes} phút."})
