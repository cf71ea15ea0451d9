"""Routing's overdue scan against the real FerretDB: the scan's `_id` ranges (`all|running|` and
`all|duesoon|` up to now) hold exactly the running steps past their due (or due-soon) moment, a
pass marks each once with its StepOverdue in the journey's outbox, and a paused step is in neither."""

from __future__ import annotations

import datetime as dt

from test_routing_repository import CALENDAR, DESK, LAND, Templates, _command

from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing.adapters.journey import MongoCaseStore
from onestop_routing.domain.actions import Act
from onestop_routing.domain.journey import EntryKind
from onestop_routing.domain.process import Action
from onestop_routing.inbox import DUE_SOON_PREFIX, RUNNING_PREFIX
from onestop_routing.overdue import OverdueScan
from onestop_routing.service import RoutingService

from routing_samples import land_registration

OPENED = [dt.datetime(2026, 11, 23, 8, 0, tzinfo=VIETNAM), dt.datetime(2026, 11, 23, 9, 0, tzinfo=VIETNAM),
          dt.datetime(2026, 11, 23, 10, 0, tzinfo=VIETNAM)]
DESK_BUDGET = WorkingDuration(hours=4)  # the sample's desk step


def _routing(mongo_db, clock):
    return RoutingService(MongoCaseStore(lambda: mongo_db), Templates(land_registration()), calendar=CALENDAR,
                          clock=lambda: clock[0], due_soon_share=0.5)


def _scan(routing, clock):
    return OverdueScan(routing, routing._cases, page=100, clock=lambda: clock[0])


def _open_three(routing, clock) -> list[str]:
    codes = []
    for n, moment in enumerate(OPENED, start=1):
        clock[0] = moment
        code = f"000.00.21.H17-261123-{n:04d}"
        routing.open_case(_command(code, "QT-1.000948", f"e-{n}"))
        codes.append(code)
    return codes


def test_the_scan_ranges_hold_exactly_the_steps_due(mongo_db):
    clock = [OPENED[0]]
    routing = _routing(mongo_db, clock)
    codes = _open_three(routing, clock)
    due = [CALENDAR.add(m, DESK_BUDGET) for m in OPENED]
    soon = [WorkingCalendar().add(m, WorkingDuration(hours=2)) for m in OPENED]  # half of 4 hours
    clock[0] = due[1]  # the second is due at this very second, the third is not yet
    assert [i.dossier_code for i in _scan(routing, clock).due(RUNNING_PREFIX, 100)] == codes[:2]
    assert [i.dossier_code for i in _scan(routing, clock).due(RUNNING_PREFIX, 1)] == codes[:1]  # the page's limit
    clock[0] = due[1] - dt.timedelta(seconds=1)
    assert [i.dossier_code for i in _scan(routing, clock).due(RUNNING_PREFIX, 100)] == codes[:1]
    clock[0] = soon[2] - dt.timedelta(seconds=1)
    assert [i.dossier_code for i in _scan(routing, clock).due(DUE_SOON_PREFIX, 100)] == codes[:2]


def test_a_pass_marks_each_due_step_once_with_its_event_and_skips_a_paused_one(mongo_db):
    clock = [OPENED[0]]
    routing = _routing(mongo_db, clock)
    codes = _open_three(routing, clock)
    # The third goes on to the land office and waits there for a supplement: its clock stops.
    clock[0] = OPENED[2] + dt.timedelta(minutes=5)
    routing.claim(codes[2], "tiep_nhan", "c-3", DESK)
    routing.act(codes[2], Act("tiep_nhan", Action.FORWARD), "f-3", DESK)
    routing.claim(codes[2], "tham_dinh", "c-4", LAND)
    routing.act(codes[2], Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao"), "s-3", LAND)
    clock[0] = dt.datetime(2026, 12, 21, 8, 0, tzinfo=VIETNAM)  # weeks later
    scan = _scan(routing, clock)
    first = scan.run()
    assert (first.overdue_found, first.overdue_marked) == (2, 2)
    assert scan.run().overdue_found == 0
    for code in codes[:2]:
        marks = list(mongo_db["journey"].find({"_id": {"$gte": f"{code}|", "$lt": f"{code}|~"},
                                                "kind": str(EntryKind.OVERDUE)}))
        assert len(marks) == 1
        assert [e["event_type"] for e in marks[0]["outbox"]] == ["StepOverdue"]
        assert marks[0]["outbox"][0]["payload"]["escalatedTo"] == "000.00.21.H17"
    assert mongo_db["journey"].count_documents({"dossier_code": codes[2], "kind": str(EntryKind.OVERDUE)}) == 0
    escalated = [d["_id"] for d in mongo_db["inbox"].find({"_id": {"$gte": "000.00.21.H17|escalated|",
                                                                   "$lt": "000.00.21.H17|escalated|~"}})]
    assert [key.split("|")[3] for key in escalated] == codes[:2]
