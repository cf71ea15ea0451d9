"""Routing's journey store (adapters.journey) against the real FerretDB: cases open once, officers
acting at once leave one entry, replays, a projection repaired from its log, inbox pages by `_id`
range, and the entries' events published by the outbox relay in order.

Templates come from a small in-test repository (the template store is another part of issue 11)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from onestop_chassis import auth
from onestop_chassis.errors import Aborted, FailedPrecondition
from onestop_chassis.outbox import OutboxRelay
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration
from onestop_routing import domain
from onestop_routing.adapters.journey import MongoCaseStore, outbox_collections
from onestop_routing.case_due import case_due_items
from onestop_routing.cases import Logged
from onestop_routing.domain.actions import Act, Extend
from onestop_routing.domain.journey import Actor, AssigneeKind, Entry, EntryKind
from onestop_routing.domain.process import Action
from onestop_routing.inbox import InboxScope, inbox_items
from onestop_routing.service import RoutingService

from routing_samples import land_registration

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
DESK_UNIT, LAND_UNIT = "000.00.21.H17", "000.01.21.H17"
DESK = auth.Principal("desk-lan", frozenset({auth.DESK_OFFICER}), DESK_UNIT)
LAND = auth.Principal("cv-minh", frozenset({auth.PROCESSING_OFFICER}), LAND_UNIT)
LEADER = auth.Principal("ld-tuan", frozenset({auth.UNIT_LEADER}), LAND_UNIT)
CALENDAR = WorkingCalendar()


class Templates:
    """The TemplateRepository port over templates this test holds."""

    def __init__(self, *templates):
        self._all = {(t.process_code, t.agency_code, t.version): t for t in templates}

    def for_case(self, process_code, agency_code):
        return self.version(process_code, "", 1)

    def version(self, process_code, agency_code, version):
        return self._all.get((process_code, agency_code, version))


def _command(code: str, process_code: str = "", event_id: str = "e-1") -> domain.OpenCase:
    return domain.OpenCase(event_id=event_id, dossier_code=code, procedure_code="2.001610",
                           procedure_name="Đăng ký thành lập doanh nghiệp tư nhân", receiving_unit_code=DESK_UNIT,
                           receiving_unit_name="Trung tâm", channel=1, applicant_name="Lê Văn Đức",
                           received_at=NOW, due_at=NOW + dt.timedelta(days=14), process_code=process_code)


@pytest.fixture
def clock():
    moment = [dt.datetime(2026, 11, 23, 8, 0, tzinfo=VIETNAM)]
    return moment


@pytest.fixture
def routing(mongo_db, clock):
    return RoutingService(MongoCaseStore(lambda: mongo_db), Templates(land_registration()), calendar=CALENDAR,
                          clock=lambda: clock[0])


def _at_land(routing, code, n=0):
    routing.open_case(_command(code, "QT-1.000948", f"e-{code}"))
    routing.claim(code, "tiep_nhan", f"c-{n}", DESK)
    routing.act(code, Act("tiep_nhan", Action.FORWARD), f"f-{n}", DESK)


def test_a_case_opens_once_and_remembers_its_event(mongo_db):
    cmd = _command("000.00.21.H17-261123-0001")
    cases = MongoCaseStore(lambda: mongo_db)
    first = Entry(seq=1, kind=EntryKind.OPENED, at=NOW, actor=Actor("intake", "service", ""), request_id="e-1",
                  due_at=cmd.due_at)
    assert cases.open(domain.open_case(cmd, NOW), Logged(first), []) is True
    assert cases.open(domain.open_case(cmd, NOW + dt.timedelta(seconds=5)), Logged(first), []) is False
    case = cases.load(cmd.dossier_code).case
    assert case.applied_event_ids == ["e-1"]
    assert case.opened_at == NOW and case.applicant_name == "Lê Văn Đức"
    assert mongo_db["cases"].count_documents({}) == 1
    assert cases.load("000.00.21.H17-261123-0002") is None


def test_eight_officers_acting_at_once_on_one_step_leave_one_entry(routing, mongo_db):
    code = "000.00.21.H17-261123-0001"
    _at_land(routing, code)
    routing.assign([code], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, "a-1", LEADER)
    entries_before = mongo_db["journey"].count_documents({})
    start, outcomes = threading.Barrier(8), []

    def act(n):
        start.wait()
        try:
            routing.act(code, Act("tham_dinh", Action.FORWARD, reason=f"lần {n}"), f"race-{n}", LAND)
            outcomes.append("ok")
        except (Aborted, FailedPrecondition) as exc:
            outcomes.append(exc.reason)
    threads = [threading.Thread(target=act, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"CONCURRENT_CHANGE", "STEP_NOT_CURRENT"}
    assert mongo_db["journey"].count_documents({}) == entries_before + 1
    view = routing.get_case(code, LAND).view
    assert [r.step for r in view.runs] == ["thue"] and [h.from_step for h in view.handovers][-1] == "tham_dinh"


def test_a_replayed_request_answers_the_same_and_stores_nothing(routing, mongo_db):
    code = "000.00.21.H17-261123-0001"
    _at_land(routing, code)
    first = routing.assign([code], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, "a-1", LEADER)[0]
    count = mongo_db["journey"].count_documents({})
    again = routing.assign([code], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, "a-1", LEADER)[0]
    assert again.view == first.view and mongo_db["journey"].count_documents({}) == count


def test_a_projection_behind_its_log_is_repaired_on_the_next_read(routing, mongo_db):
    code = "000.00.21.H17-261123-0001"
    _at_land(routing, code)
    # As if the api died between the append and the projection: the view is at seq 1, no inbox keys.
    mongo_db["cases"].update_one({"_id": code}, {"$set": {"seq": 1, "inbox_keys": []}})
    mongo_db["inbox"].delete_many({})
    assert routing.inbox(LAND, LAND_UNIT, InboxScope.UNASSIGNED)[0] == []
    routing.get_case(code, DESK)
    assert mongo_db["cases"].find_one({"_id": code})["seq"] == mongo_db["journey"].count_documents({})
    assert [i.step_code for i in routing.inbox(LAND, LAND_UNIT, InboxScope.UNASSIGNED)[0]] == ["tham_dinh"]


def test_inbox_pages_are_id_ranges_soonest_due_first(routing, mongo_db, clock):
    codes = [f"000.00.21.H17-261123-{n:04d}" for n in range(1, 8)]
    for n, code in enumerate(reversed(codes)):  # opened latest-due first, listed soonest-due first
        clock[0] = dt.datetime(2026, 11, 23, 9, 0, tzinfo=VIETNAM) - dt.timedelta(minutes=n)
        _at_land(routing, code, n)
    seen, token = [], ""
    while True:
        page, token = routing.inbox(LAND, LAND_UNIT, InboxScope.UNASSIGNED, page_size=3, page_token=token)
        seen.append([i.dossier_code for i in page])
        if not token:
            break
    assert seen == [codes[:3], codes[3:6], codes[6:]]
    assert mongo_db["inbox"].count_documents({"_id": {"$gte": f"{LAND_UNIT}|unit|", "$lt": f"{LAND_UNIT}|unit|~"}}) == 7


def test_the_entries_events_are_published_in_order_by_the_outbox_relay(routing, mongo_db, monkeypatch):
    code = "000.00.21.H17-261123-0001"
    _at_land(routing, code)
    published = []
    monkeypatch.setattr("onestop_routing.adapters.journey.get_db", lambda: mongo_db)
    [collection] = [c() for c in outbox_collections()]
    relay = OutboxRelay("routing", collection, lambda entry, headers: published.append(entry["event_type"]))
    while relay.run_once():
        pass
    assert published == ["CaseOpened", "CaseProgressed"]
    assert mongo_db["journey_outbox"].count_documents({}) == 0


def test_a_legacy_case_without_journey_reads_as_an_open_case(mongo_db):
    mongo_db["cases"].insert_one({"_id": "000.00.21.H17-261123-0009", "procedure_code": "2.001610",
                                  "procedure_name": "Đăng ký", "receiving_unit_code": DESK_UNIT,
                                  "receiving_unit_name": "Trung tâm", "channel": 1, "applicant_name": "An",
                                  "received_at": NOW, "due_at": NOW, "opened_at": NOW, "state": 1,
                                  "applied_event_ids": ["e-0"]})
    stored = MongoCaseStore(lambda: mongo_db).load("000.00.21.H17-261123-0009")
    assert stored.log == () and stored.case.process_version == 0 and stored.case.applicant_name == "An"


def test_the_whole_way_through_two_agencies_is_stored_with_its_events_in_order(routing, mongo_db, clock):
    """Desk → land office → tax authority (another agency) → land office → desk, with a supplement
    (resumed by intake's event), a payment, an extension; each entry's events in the journey outbox."""
    code = "000.00.21.H17-261123-0001"
    tax = auth.Principal("thue-an", frozenset({auth.PROCESSING_OFFICER}), "000.00.30.H17")
    tax_leader = auth.Principal("ld-thue", frozenset({auth.UNIT_LEADER}), "000.00.30.H17")
    _at_land(routing, code)
    routing.assign([code], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, "a-1", LEADER)
    clock[0] = dt.datetime(2026, 11, 24, 8, 0, tzinfo=VIETNAM)
    routing.act(code, Act("tham_dinh", Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao"), "s-1", LAND)
    clock[0] = dt.datetime(2026, 11, 26, 8, 0, tzinfo=VIETNAM)
    assert routing.resume_after_supplement(code, "evt-supplement") is True
    routing.act(code, Act("tham_dinh", Action.FORWARD), "f-2", LAND)
    routing.claim(code, "thue", "c-2", tax)
    routing.act(code, Act("thue", Action.REQUEST_PAYMENT, reason="Lệ phí trước bạ"), "p-1", tax)
    routing.confirm_payment(code, "Biên lai 01", "p-2", tax)
    routing.extend(code, Extend(WorkingDuration(days=2), "Chờ xác minh nghĩa vụ tài chính"), "e-1", tax_leader)
    routing.act(code, Act("thue", Action.FORWARD), "f-3", tax)
    routing.assign([code], "ky_duyet", "ld-tuan", AssigneeKind.PRIMARY, "a-2", LEADER)
    routing.act(code, Act("ky_duyet", Action.APPROVE), "f-4", auth.Principal(
        "ld-tuan", frozenset({auth.UNIT_LEADER}), LAND_UNIT))
    routing.claim(code, "tra_ket_qua", "c-3", DESK)
    done = routing.act(code, Act("tra_ket_qua", Action.FINISH, reason="Đã cấp giấy chứng nhận"), "f-5", DESK)
    assert done.view.national_status == 9
    docs = list(mongo_db["journey"].find({"dossier_code": code}).sort("_id", 1))
    assert [d["seq"] for d in docs] == list(range(1, len(docs) + 1))
    assert [e["event_type"] for d in docs for e in d["outbox"]] == [
        "CaseOpened", "CaseProgressed", "CaseSupplementRequested", "CaseResumed", "CaseProgressed",
        "CasePaymentRequested", "CaseResumed", "CaseExtended", "CaseProgressed", "CaseProgressed", "CaseFinished"]
    assert mongo_db["inbox"].count_documents({}) == 0  # ended: in no inbox
    assert mongo_db["scan"].count_documents({}) == 0  # nor in the overdue scan's ranges
    again = routing.get_case(code, tax)  # the tax authority still sees the case it worked on
    assert [h.to_step for h in again.view.handovers][-1] == ""


class _StaleRead:
    """Routing's database as seen by a projection writer that read the case's view just before a
    later entry's projection landed (the first read of `cases` returns the view as it was then)."""

    def __init__(self, db, stale_view: dict):
        self._db, self._stale = db, stale_view

    def __getitem__(self, name):
        collection = self._db[name]
        if name != "cases":
            return collection
        outer = self

        class Cases:
            def __getattr__(self, attr):
                return getattr(collection, attr)

            def find_one(self, *args, **kwargs):
                if outer._stale is not None:
                    stale, outer._stale = outer._stale, None
                    return stale
                return collection.find_one(*args, **kwargs)
        return Cases()


def test_a_projection_that_lost_the_race_to_a_later_one_leaves_no_stale_inbox_key(routing, mongo_db):
    code = "000.00.21.H17-261123-0001"
    _at_land(routing, code)  # seq 3: at the land office, unassigned
    loaded = routing.get_case(code, LAND)
    at_three = mongo_db["cases"].find_one({"_id": code})
    routing.assign([code], "tham_dinh", LAND.subject, AssigneeKind.PRIMARY, "a-1", LEADER)  # seq 4 projected
    keys_now = set(mongo_db["cases"].find_one({"_id": code})["inbox_keys"])
    # A slow writer of seq 3 read the view before seq 4's projection and writes its keys after it.
    late = MongoCaseStore(lambda: _StaleRead(mongo_db, {**at_three, "seq": 2}))
    items = inbox_items(loaded, CALENDAR, 0.8) + case_due_items(loaded, CALENDAR, 0.8)  # as RoutingService projects
    late.project(loaded.case, loaded.view, items)
    stored = {d["_id"] for name in ("inbox", "scan") for d in mongo_db[name].find({})}  # the scan's keys apart
    assert stored == keys_now
    assert mongo_db["cases"].find_one({"_id": code})["seq"] == 4


def test_a_desks_cases_of_a_month_are_one_id_range_for_the_tracking_book(routing, mongo_db):
    codes = [f"{DESK_UNIT}-261031-0009", f"{DESK_UNIT}-261101-0001", f"{DESK_UNIT}-261123-0002",
             f"{DESK_UNIT}-261130-0010", f"{DESK_UNIT}-261201-0001", "000.00.22.H17-261115-0001"]
    for code in codes:
        routing.open_case(_command(code, event_id=f"e-{code}"))
    store = MongoCaseStore(lambda: mongo_db)
    november = store.case_codes(f"{DESK_UNIT}-261101-", f"{DESK_UNIT}-261131-~", 10)
    assert november == codes[1:4]
    assert store.case_codes(f"{DESK_UNIT}-261101-", f"{DESK_UNIT}-261131-~", 2) == codes[1:3]
    assert [c.case.dossier_code for c in routing.received_by(DESK_UNIT, "261101", "261131", 10, DESK)] == codes[1:4]


def test_a_department_s_month_is_one_id_range_of_book_keys_written_with_the_projection(mongo_db, clock):
    from onestop_routing.adapters.book import MongoBookIndex

    book = MongoBookIndex(lambda: mongo_db)
    routing = RoutingService(MongoCaseStore(lambda: mongo_db), Templates(land_registration()), calendar=CALENDAR,
                             clock=lambda: clock[0], book=book)
    codes = [f"{DESK_UNIT}-261123-000{n}" for n in (2, 1, 3)]
    for n, code in enumerate(codes):
        _at_land(routing, code, n)
    assert book.codes(LAND_UNIT, "2026-11", 10) == sorted(codes)
    assert book.codes(LAND_UNIT, "2026-11", 2) == sorted(codes)[:2]
    assert book.codes(LAND_UNIT, "2026-12", 10) == [] and book.codes("000.00.30.H17", "2026-11", 10) == []
    book.add([f"{LAND_UNIT}|2026-11|{codes[0]}"])  # written again (a repaired projection): still one key
    assert mongo_db["book"].count_documents({"_id": f"{LAND_UNIT}|2026-11|{codes[0]}"}) == 1
    leader = auth.Principal("ld-tuan", frozenset({auth.UNIT_LEADER}), LAND_UNIT)
    assert [c.case.dossier_code for c in routing.tracking_book(LAND_UNIT, 2026, 11, 10, leader)] == sorted(codes)


def test_a_stale_scan_key_is_deleted_by_the_case_due_scan_on_the_real_database(routing, mongo_db, clock):
    """Review of issue 11: a scan key the case no longer holds (left by a failed delete) is deleted
    from the `scan` collection when the scan reads it, and the case is not marked."""
    from onestop_routing.case_due import CASE_DUE_PREFIX, CaseDueScan
    from onestop_routing.inbox import iso_key

    code = "000.00.21.H17-261123-0001"
    _at_land(routing, code)
    [held] = [d["_id"] for d in mongo_db["scan"].find({}) if d["_id"].startswith(CASE_DUE_PREFIX)]
    stale = f"{CASE_DUE_PREFIX}{iso_key(NOW)}|{code}|"  # an older due time of the same case
    mongo_db["scan"].insert_one({"_id": stale, "entered_at": NOW})
    entries = mongo_db["journey"].count_documents({"dossier_code": code})
    scan = CaseDueScan(routing, MongoCaseStore(lambda: mongo_db), page=10, clock=lambda: NOW + dt.timedelta(hours=1))
    result = scan.run()
    assert (result.found, result.marked) == (1, 0)
    assert {d["_id"] for d in mongo_db["scan"].find({}) if d["_id"].startswith(CASE_DUE_PREFIX)} == {held}
    assert mongo_db["journey"].count_documents({"dossier_code": code}) == entries
