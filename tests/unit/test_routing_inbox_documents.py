"""The stored form of routing's inbox and scan keys (adapters.journey): an inbox document leaves out
what its key holds and the fields at their default and reads back as the same item; a scan key is
two fields in a collection of its own."""

from __future__ import annotations

import datetime as dt

from onestop_routing.adapters.journey import INBOX, SCAN, collection_of, item_from_doc, item_to_doc
from onestop_routing.inbox import DUE_SOON_PREFIX, RUNNING_PREFIX, InboxItem

CODE = "000.00.21.H17-261117-0001"
ENTERED = dt.datetime(2026, 11, 17, 0, 31, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 11, 17, 6, 31, tzinfo=dt.UTC)


def _item(key: str, **fields) -> InboxItem:
    return InboxItem(key=key, dossier_code=CODE, procedure_name="Đăng ký biến động đất đai",
                     applicant_name="Nguyễn Văn An", step_code="tham_dinh", step_name="Thẩm định hồ sơ",
                     unit_code="000.01.21.H17", entered_at=ENTERED, due_at=DUE,
                     case_due_at=DUE + dt.timedelta(days=14), **fields)


def test_an_unassigned_item_is_stored_without_its_key_parts_and_defaults_and_reads_back_the_same():
    item = _item(f"000.01.21.H17|unassigned|2026-11-17T06:31:00Z|{CODE}|tham_dinh")
    doc = item_to_doc(item)
    assert set(doc) == {"_id", "dossier_code", "procedure_name", "applicant_name", "step_name", "entered_at",
                        "due_at", "case_due_at"}
    assert collection_of(item.key) == INBOX
    assert item_from_doc(doc) == item


def test_an_assigned_flagged_item_keeps_its_assignees_and_flags():
    item = _item(f"000.01.21.H17|mine:cv-minh|2026-11-17T06:31:00Z|{CODE}|tham_dinh", primary="cv-minh",
                 co_handlers=("cv-hoa",), watchers=("ld-tuan",), due_soon=True, overdue=True, paused=True)
    doc = item_to_doc(item)
    assert (doc["primary"], doc["co_handlers"], doc["watchers"]) == ("cv-minh", ["cv-hoa"], ["ld-tuan"])
    assert doc["due_soon"] and doc["overdue"] and doc["paused"]
    assert item_from_doc(doc) == item


def test_a_scan_key_is_two_fields_apart_from_the_inboxes():
    for prefix in (RUNNING_PREFIX, DUE_SOON_PREFIX):
        key = f"{prefix}2026-11-17T06:31:00Z|{CODE}|tham_dinh"
        doc = item_to_doc(_item(key))
        assert doc == {"_id": key, "entered_at": ENTERED}
        assert collection_of(key) == SCAN
        read = item_from_doc(doc)
        assert (read.key, read.dossier_code, read.step_code, read.entered_at, read.due_at) == (
            key, CODE, "tham_dinh", ENTERED, DUE)
