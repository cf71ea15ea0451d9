"""Budgets across replicas on the real FerretDB (onestop_chassis.shared_budgets): two processes'
budgets over one collection spend one amount between them, concurrent spends never pass more than
the amount, a new window starts afresh and old windows are removed; and survey's kiosk and token
limits and feedback's filing budget, built by its composition root, hold across two
replicas."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from onestop_chassis.errors import NotFound, ResourceExhausted
from onestop_chassis.shared_budgets import COLLECTION, SharedBudgets
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings

T0 = 1_800_000_000.0  # a minute's start (divisible by 60)


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_two_replicas_share_one_budget(mongo_db):
    clock = Clock()
    a, b = (SharedBudgets(lambda: mongo_db[COLLECTION], clock=clock, kiosk="3/minute") for _ in range(2))
    assert [a.spend("kiosk", "u|k1"), b.spend("kiosk", "u|k1"), a.spend("kiosk", "u|k1")] == [True] * 3
    assert not b.spend("kiosk", "u|k1") and not a.left("kiosk", "u|k1") and not b.left("kiosk", "u|k1")
    assert b.spend("kiosk", "u|k2")  # another key has its own budget
    assert a.retry_after("kiosk", "u|k1") == 60
    clock.now = T0 + 59
    assert not a.spend("kiosk", "u|k1") and a.retry_after("kiosk", "u|k1") == 1
    clock.now = T0 + 60  # the next window
    assert a.spend("kiosk", "u|k1") and b.left("kiosk", "u|k1")


def test_concurrent_spends_pass_exactly_the_amount(mongo_db):
    clock = Clock()
    replicas = [SharedBudgets(lambda: mongo_db[COLLECTION], clock=clock, tokens="10/minute") for _ in range(4)]
    with ThreadPoolExecutor(16) as pool:
        passed = list(pool.map(lambda n: replicas[n % 4].spend("tokens", "198.51.100.7"), range(40)))
    assert passed.count(True) == 10
    assert mongo_db[COLLECTION].count_documents({}) == 10


def test_old_windows_are_removed_and_odd_keys_stay_in_range(mongo_db):
    clock = Clock()
    budgets = SharedBudgets(lambda: mongo_db[COLLECTION], clock=clock, tokens="2/minute")
    assert budgets.spend("tokens", "2001:db8::1%eth0 x")  # '%' and ' ' are not `_id` range characters
    assert budgets.spend("tokens", "2001:db8::1%eth0 x") and not budgets.spend("tokens", "2001:db8::1%eth0 x")
    clock.now = T0 + 60
    assert budgets.spend("tokens", "a")
    clock.now = T0 + 120  # two windows on: the first one's uses are removed
    assert budgets.spend("tokens", "a")
    assert sorted(d["_id"].split("|")[1] for d in mongo_db[COLLECTION].find()) == [
        f"{int(T0 // 60) + 1:012d}", f"{int(T0 // 60) + 2:012d}"]


def test_surveys_kiosk_and_token_limits_hold_across_replicas(mongo_db):
    settings = SurveySettings(ratings_per_kiosk="2/minute", ratings_per_client="100/minute",
                              token_requests_per_client="3/minute")
    one, two = bootstrap(settings).limits, bootstrap(settings).limits
    one.rating_kiosk("000.00.21.H17|quay-1")
    two.rating_kiosk("000.00.21.H17|quay-1")
    with pytest.raises(ResourceExhausted) as flooded:
        one.rating_kiosk("000.00.21.H17|quay-1")
    assert flooded.value.reason == "RATE_LIMITED" and flooded.value.metadata["limit"] == "kiosk"
    for limits in (one, two, one):
        limits.token(client="198.51.100.9", use=lambda: None)
    with pytest.raises(ResourceExhausted):
        two.token(client="198.51.100.9", use=lambda: None)

    def unknown():
        raise NotFound("INVITATION_NOT_FOUND", "no invitation has this link")
    with pytest.raises(NotFound):
        one.token(client="198.51.100.10", use=unknown)
    assert mongo_db[COLLECTION].count_documents({"_id": {"$gte": "mismatches|", "$lt": "mismatches|~"}}) == 1


class _Call:
    """What FeedbackLimits reads of a gRPC call: its peer and metadata."""

    def peer(self) -> str:
        return "ipv4:198.51.100.11:40000"

    def invocation_metadata(self):
        return ()


def test_feedbacks_filing_budget_holds_across_replicas(mongo_db):
    settings = SurveySettings(feedback_filings_per_client="2/hour")
    one, two = bootstrap(settings).feedback_limits, bootstrap(settings).feedback_limits
    one.spend(_Call(), "filing")
    two.spend(_Call(), "filing")
    with pytest.raises(ResourceExhausted) as flooded:
        one.spend(_Call(), "filing")
    assert flooded.value.reason == "FEEDBACK_RATE_LIMITED" and flooded.value.metadata["limit"] == "filing"
    two.spend(_Call(), "secret")  # another budget
