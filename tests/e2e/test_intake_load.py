"""Load: 1,000 SubmitDossier calls in flight at once against the real intake api process.

Every call must succeed (no CODE_ALLOCATION_BUSY), the 1,000 dossier codes must be distinct, and
within each unit's day the numbers must be exactly the contiguous range that follows the numbers
already used that day (other tests of the session submit at the same desk), so nothing is doubled
and nothing is skipped. Codes are claimed by a unique insert of the dossier itself (FerretDB has no
atomic counter): this is the allocation under its worst case, on one 2-core machine.
"""

from __future__ import annotations

import collections
import re
import time

import grpc
from conftest import UNIT, bearer

from support import error_info, submit_request

CALLS = 1000
# The issue: well under 3 minutes on this 2-core machine. Not met on FerretDB v1 yet: before its
# insert, every submission looks its request_id up, a query that reads every stored dossier.
CALL_DEADLINE_SECONDS = 600  # generous, so that a slow run still shows whether the codes are right
PROCEDURE_NAME = "Đăng ký thành lập doanh nghiệp tư nhân"  # the procedure of support.submit_request
CODE = re.compile(r"(?P<unit>.+)-(?P<day>\d{6})-(?P<number>\d{4,})")


def _numbers_per_day(dossiers, unit: str) -> dict[str, list[int]]:
    """The numbers stored for `unit`, per day (YYMMDD), read from the intake database."""
    per_day: dict[str, list[int]] = collections.defaultdict(list)
    for doc in dossiers.find({"receiving_unit_code": unit}, {"_id": 1}):
        match = CODE.fullmatch(doc["_id"])
        if match and match["unit"] == unit:
            per_day[match["day"]].append(int(match["number"]))
    return per_day


def _let_the_relay_catch_up(platform, timeout: float = 180) -> None:
    """Best effort, for the tests that run after this one on the same platform: the intake worker's
    relay publishes the burst's events before they start (nothing is asserted here)."""
    pointers = platform.db("intake")["dossiers_outbox"]
    deadline = time.monotonic() + timeout
    while pointers.count_documents({}) and time.monotonic() < deadline:
        time.sleep(1)


def test_a_thousand_concurrent_submissions_get_distinct_codes_without_gaps(platform, intake):
    dossiers = platform.db("intake")["dossiers"]
    before = _numbers_per_day(dossiers, UNIT)  # what the session's other tests already used
    for day, numbers in before.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gaps before the load on {day}"

    procedure = platform.db("intake")["procedures"].find_one({"name": PROCEDURE_NAME}, {"_id": 1})
    assert procedure, f"the seeded catalogue has no procedure named {PROCEDURE_NAME!r}"
    metadata = bearer()
    requests = [submit_request(procedure_code=procedure["_id"]) for _ in range(CALLS)]
    assert len({r.request_id for r in requests}) == CALLS
    started = time.monotonic()
    futures = [intake.SubmitDossier.future(r, metadata=metadata, timeout=CALL_DEADLINE_SECONDS) for r in requests]
    outcomes, failures = [], collections.Counter()
    for request, future in zip(requests, futures, strict=True):
        try:
            outcomes.append((request, future.result()))
        except grpc.RpcError as err:
            failures[f"{err.code().name} {error_info(err)[0]}"] += 1
    elapsed = time.monotonic() - started
    print(f"\n{CALLS} concurrent SubmitDossier calls: {elapsed:.1f} s ({CALLS / elapsed:.1f} dossiers/s)")
    _let_the_relay_catch_up(platform)

    assert not failures, f"{sum(failures.values())} of {CALLS} calls failed: {dict(failures)}"
    codes = [response.dossier.code for _, response in outcomes]
    assert len(set(codes)) == CALLS, "a code was given twice"

    new: dict[str, list[int]] = collections.defaultdict(list)
    for code in codes:
        match = CODE.fullmatch(code)
        assert match and match["unit"] == UNIT, code
        new[match["day"]].append(int(match["number"]))
    for day, numbers in new.items():  # one day, or two if the run crosses midnight in Vietnam
        first = len(before.get(day, [])) + 1
        assert sorted(numbers) == list(range(first, first + len(numbers))), \
            f"{day}: numbers are not the contiguous range from {first}: " \
            f"missing {sorted(set(range(first, first + len(numbers))) - set(numbers))[:20]}"

    # What the database holds agrees: each call's dossier under its code, and every day still 1..N.
    stored = {doc["_id"]: doc["request_id"] for doc in dossiers.find({"_id": {"$in": codes}}, {"request_id": 1})}
    assert stored == {response.dossier.code: request.request_id for request, response in outcomes}
    for day, numbers in _numbers_per_day(dossiers, UNIT).items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gaps after the load on {day}"

    # No wall-clock assertion: speed belongs to `make bench intake` (this shared machine is noisy).
