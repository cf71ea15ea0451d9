"""Queue tickets on the real FerretDB: no number printed twice, no ticket called twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from onestop_chassis import auth
from onestop_chassis.errors import NotFound
from onestop_intake.queue.adapters.mongo import MongoTickets
from onestop_intake.queue.service import QueueDesk

UNIT = "000.00.21.H17"
OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), UNIT)


def test_concurrent_kiosks_and_counters(mongo_db):
    desk = QueueDesk(MongoTickets(), unit_exists=lambda code: True)
    with ThreadPoolExecutor(8) as pool:
        numbers = sorted(pool.map(lambda _: desk.take(UNIT, "dat-dai")[0].number, range(40)))
    assert numbers == list(range(1, 41))

    def call(counter):
        try:
            return desk.call_next(UNIT, "dat-dai", counter, OFFICER).number
        except NotFound:
            return None
    with ThreadPoolExecutor(8) as pool:
        called = [n for n in pool.map(call, [1 + i % 8 for i in range(48)]) if n is not None]
    assert sorted(called) == list(range(1, 41)), "every ticket called exactly once"
    [(queue, serving, waiting)] = desk.serving(UNIT)
    assert queue == "dat-dai" and waiting == 0 and len({t.counter for t in serving}) == len(serving)
