"""Routing's overdue scan against the real FerretDB: the scan's `_id` ranges (`all|running|` and
`all|duesoon|` up to now) hold exactly the running steps past their due (or due-soon) moment, a
pass marks each once with its StepOverdue in the journey's outbox, and a paused step is in neither."""

from __future__ import annotations

import datetime as dt

import pymongo
from pymongo import monitoring
from test_routing_repository import CALENDAR, DESK, LAND, NOW, Templates, _command

from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing.adapters.journey import MongoCaseStore
from onestop_routing.adapters.mongo import migrate_scan_keys
from onestop_routing.adapters.templates import MongoTemplates
from onestop_routing.case_due import CaseDueScan
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


class _Commands(monitoring.CommandListener):
    """The database commands a client sent (name and collection), for counting a mark's calls."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def started(self, event):
        self.sent.append((event.command_name, str(event.command.get(event.command_name, ""))))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_the_scan_keys_are_small_documents_of_their_own_collection(mongo_db):
    clock = [OPENED[0]]
    routing = _routing(mongo_db, clock)
    [code, *_] = _open_three(routing, clock)
    scan_docs = list(mongo_db["scan"].find({"_id": {"$gte": "all|", "$lt": "all|~"}}))
    # the step's keys, and the case's own due and due-soon keys (case_due.py: `all|casedue|<due>|<dossier>|`,
    # `all|casesoon|<due soon>|<dossier>|`)
    assert {d["_id"].split("|")[1] for d in scan_docs if d["_id"].split("|")[3] == code} == {
        "running", "duesoon", "casedue", "casesoon"}
    assert all(set(d) == {"_id", "entered_at"} for d in scan_docs)
    assert mongo_db["inbox"].count_documents({"_id": {"$gte": "all|", "$lt": "all|~"}}) == 0
    clock[0] = CALENDAR.add(OPENED[0], DESK_BUDGET)
    [item] = _scan(routing, clock).due(RUNNING_PREFIX, 100)
    assert (item.dossier_code, item.step_code, item.entered_at) == (code, "tiep_nhan", OPENED[0])


def test_a_mark_costs_eight_database_commands_once_the_template_is_read(mongo_db, local_stack):
    """The case's view and log (2), the entry's outbox pointer and the entry (2), the inbox keys
    and the scan keys one batched write each, the scan keys it replaces one batched delete, and the
    view's update (4); the template version is read once per process. Before: twelve, the template
    read and parsed at every mark."""
    clock = [OPENED[0]]
    commands = _Commands()
    client = pymongo.MongoClient(local_stack["mongodb_uri"], event_listeners=[commands], tz_aware=True)
    try:
        db = client[mongo_db.name]
        templates = MongoTemplates(db)
        templates.put(land_registration(), published_by="test", published_at=OPENED[0])
        routing = RoutingService(MongoCaseStore(lambda: db), templates, calendar=CALENDAR, clock=lambda: clock[0],
                                 due_soon_share=0.5)
        for n, moment in enumerate(OPENED[:2], start=1):
            clock[0] = moment
            routing.open_case(_command(f"000.00.21.H17-261123-{n:04d}", "QT-1.000948", f"e-{n}"))
        clock[0] = CALENDAR.add(OPENED[0], DESK_BUDGET) + dt.timedelta(minutes=1)  # the first is due, not the second
        scan = OverdueScan(routing, routing._cases, page=100, clock=lambda: clock[0])
        assert scan.run().overdue_marked == 1  # reads the template version
        clock[0] = CALENDAR.add(OPENED[1], DESK_BUDGET) + dt.timedelta(minutes=1)
        commands.sent.clear()
        result = scan.run()
        assert (result.overdue_found, result.overdue_marked) == (1, 1)
        ranges = [c for c in commands.sent if c == ("find", "scan")]
        assert len(ranges) == 2  # the two ranges, a page each
        assert [c for c in commands.sent if c != ("find", "scan")] == [
            ("find", "cases"), ("find", "journey"), ("insert", "journey_outbox"), ("insert", "journey"),
            ("update", "inbox"), ("update", "scan"), ("delete", "scan"), ("update", "cases")]
        assert not [c for c in commands.sent if c[1] == "process_templates"]
    finally:
        client.close()


def test_scan_keys_stored_in_the_inbox_before_the_upgrade_move_to_their_collection_once(mongo_db):
    """A database written before the scan keys had a collection of their own: the keys its views
    still hold move (small), a stale one is dropped, both leave `inbox`; the scan finds the moved
    step, and the migration runs once."""
    clock = [OPENED[0]]
    routing = _routing(mongo_db, clock)
    [code, *_] = _open_three(routing, clock)
    old = [{"_id": d["_id"], "dossier_code": code, "procedure_name": "Đăng ký", "applicant_name": "Nguyễn Văn An",
            "step_code": "tiep_nhan", "step_name": "Tiếp nhận", "unit_code": "000.00.21.H17",
            "entered_at": d["entered_at"], "due_at": OPENED[0], "case_due_at": OPENED[0], "primary": "",
            "co_handlers": [], "watchers": [], "due_soon": False, "overdue": False, "paused": False}
           for d in mongo_db["scan"].find({"_id": {"$gte": "all|running|", "$lt": "all|running|~"}})]
    stale = {**old[0], "_id": f"all|running|2026-11-20T01:00:00Z|{code}|tiep_nhan"}
    mongo_db["scan"].delete_many({})
    mongo_db["inbox"].insert_many([*old, stale])
    assert migrate_scan_keys(mongo_db) == {"moved": 3, "dropped": 1}
    assert mongo_db["inbox"].count_documents({"_id": {"$gte": "all|", "$lt": "all|~"}}) == 0
    assert {d["_id"] for d in mongo_db["scan"].find({})} == {d["_id"] for d in old}
    assert migrate_scan_keys(mongo_db) is None
    clock[0] = CALENDAR.add(OPENED[0], DESK_BUDGET) + dt.timedelta(minutes=1)
    assert _scan(routing, clock).run().overdue_marked == 1


def test_a_case_mark_costs_eight_database_commands_escalation_included(mongo_db, local_stack):
    """A case marked overdue (case_due.py) costs what a step's mark does: the case's view and log
    (2), the entry's outbox pointer and the entry (2), the inbox keys (its running step now in its
    unit's escalated list) and the scan keys one batched write each, the scan keys it replaces one
    batched delete, and the view's update (4); and a find per scan range (`all|casedue|`,
    `all|casesoon|`). The due-soon mark before it read the template version."""
    clock = [NOW]
    commands = _Commands()
    client = pymongo.MongoClient(local_stack["mongodb_uri"], event_listeners=[commands], tz_aware=True)
    try:
        db = client[mongo_db.name]
        templates = MongoTemplates(db)
        templates.put(land_registration(), published_by="test", published_at=NOW)
        routing = RoutingService(MongoCaseStore(lambda: db), templates, calendar=CALENDAR, clock=lambda: clock[0],
                                 due_soon_share=0.5)
        code = "000.00.21.H17-261123-0001"
        routing.open_case(_command(code, "QT-1.000948", "e-1"))
        scan = CaseDueScan(routing, routing._cases, page=100, clock=lambda: clock[0])
        due = routing.loaded(code).view.clock.due_at
        clock[0] = due - dt.timedelta(minutes=1)
        assert scan.run().due_soon_marked == 1  # reads the template version
        clock[0] = due + dt.timedelta(minutes=1)
        commands.sent.clear()
        result = scan.run()
        assert (result.found, result.marked, result.due_soon_found) == (1, 1, 0)
        assert [c for c in commands.sent if c == ("find", "scan")] == [("find", "scan")] * 2  # a page of each range
        assert [c for c in commands.sent if c != ("find", "scan")] == [
            ("find", "cases"), ("find", "journey"), ("insert", "journey_outbox"), ("insert", "journey"),
            ("update", "inbox"), ("update", "scan"), ("delete", "scan"), ("update", "cases")]
        escalated = [d["_id"] for d in db["inbox"].find({"_id": {"$gte": "000.00.21.H17|escalated|",
                                                                 "$lt": "000.00.21.H17|escalated|~"}})]
        assert [key.split("|")[3:] for key in escalated] == [[code, "tiep_nhan"]]
    finally:
        client.close()
