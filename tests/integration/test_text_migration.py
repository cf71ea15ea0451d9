"""Text = text (issue 9, kind 1) on the real FerretDB and MinIO: what was stored before, in several
Unicode forms, is migrated once (idempotently) into one form, and new uploads then join it."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import uuid

import pytest
from reportlab.pdfgen import canvas

from onestop_chassis import auth, migrations
from onestop_chassis.config import load_settings
from onestop_documents import domain
from onestop_documents.adapters import mongo
from onestop_documents.bootstrap import bootstrap
from onestop_documents.config import DocumentsSettings
from onestop_intake.reception.adapters import mongo as intake_mongo
from onestop_routing.adapters import mongo as routing_mongo

AGENCY = "000.00.21.H17"
OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), AGENCY)
NAME = "Giấy đề nghị đăng ký doanh nghiệp"
T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def _pdf(text: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, invariant=True)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def _old_record(dossier: str, component: str, version: int, minutes: int, sha: str) -> dict:
    """A record as the service wrote it before component keys (no component_key field)."""
    return {"_id": str(uuid.uuid4()), "request_id": f"auto-{uuid.uuid4()}", "dossier_code": dossier,
            "agency_code": AGENCY, "kind": 1, "component": component, "version": version,
            "file_name": nfd("đơn.pdf"), "content_type": "application/pdf", "size_bytes": 10, "sha256": sha,
            "bucket": domain.bucket_for(AGENCY), "object_key": f"{dossier}/{uuid.uuid4()}", "object_version": "",
            "stored_at": T0 + dt.timedelta(minutes=minutes), "uploaded_by": "officer-1", "state": 1,
            "legal_hold": False, "withdrawn_reason": "", "history": [], "outbox": []}


@pytest.fixture()
def documents_db(mongo_db):
    # The old unique index, as the previous version created it.
    mongo_db["documents"].create_index([("agency_code", 1), ("dossier_code", 1), ("kind", 1), ("component", 1),
                                        ("version", 1)], unique=True)
    return mongo_db


def test_stored_components_under_two_spellings_are_merged_once_and_new_uploads_join_them(documents_db):
    dossier = f"{AGENCY}-261120-{uuid.uuid4().int % 10000:04d}"
    other = f"{AGENCY}-261120-{(uuid.uuid4().int + 1) % 10000:04d}"
    collection = documents_db["documents"]
    collection.insert_many([
        _old_record(dossier, NAME, 1, 0, "a" * 64),              # precomposed, the first
        _old_record(dossier, nfd(NAME), 1, 5, "b" * 64),         # the same name decomposed: "a 2nd component"
        _old_record(dossier, nfd(NAME), 2, 9, "b" * 64),         # identical bytes re-sent: its "version 2"
        _old_record(dossier, NAME, 2, 12, "c" * 64),
        _old_record(dossier, nfd("Bản sao giấy tờ"), 1, 1, "d" * 64),  # alone, only decomposed
        _old_record(other, "Giấy khám sức khỏe", 1, 2, "e" * 64),
        _old_record(other, "GIẤY KHÁM SỨC KHOẺ", 1, 3, "f" * 64),     # other case and tone-mark placement
    ])

    mongo.ensure_indexes()

    rows = sorted(collection.find({"dossier_code": dossier}), key=lambda r: (r["component"], r["version"]))
    merged = [r for r in rows if r["component_key"] == "giấy đề nghị đăng ký doanh nghiệp"]
    assert [(r["component"], r["version"], r["sha256"][0]) for r in merged] == [
        (NAME, 1, "a"), (NAME, 2, "b"), (NAME, 3, "b"), (NAME, 4, "c")]  # in the order stored, nothing lost
    alone = [r for r in rows if r not in merged]
    assert [(r["component"], r["version"]) for r in alone] == [("Bản sao giấy tờ", 1)]
    assert all(r["file_name"] == "đơn.pdf" for r in rows)
    assert [(r["component"], r["version"]) for r in
            sorted(collection.find({"dossier_code": other}), key=lambda r: r["version"])] == [
        ("Giấy khám sức khỏe", 1), ("Giấy khám sức khỏe", 2)]
    assert all("component_key" in r for r in collection.find({}))

    before = sorted(collection.find({}), key=lambda r: r["_id"])
    assert mongo.migrate() is None  # recorded: a second start does nothing
    assert mongo.merge_components(collection) == {"keyed": 0, "merged": 0, "renumbered": 0}  # and would change nothing
    assert sorted(collection.find({}), key=lambda r: r["_id"]) == before

    # The new unique index is on the key: a new upload under any spelling is the next version.
    settings = load_settings(DocumentsSettings, mongodb_database=documents_db.name)
    service = bootstrap(settings).service
    data = _pdf(str(uuid.uuid4()))
    request = domain.UploadRequest("", dossier.lower(), 1, nfd(NAME).upper(), "don.pdf", "", "")
    uploaded = service.upload(request, iter([data]), OFFICER)
    assert (uploaded.document.component, uploaded.document.version,
            uploaded.document.dossier_code) == (NAME, 5, dossier)
    again = service.upload(domain.UploadRequest("", dossier, 1, NAME, "don.pdf", "", ""), iter([data]), OFFICER)
    assert again.deduplicated and again.document.document_id == uploaded.document.document_id
    assert len(service.list(dossier, "", OFFICER)) == 6


def test_a_migration_interrupted_half_way_finishes_on_the_next_start(documents_db):
    dossier = f"{AGENCY}-261121-{uuid.uuid4().int % 10000:04d}"
    collection = documents_db["documents"]
    collection.insert_many([_old_record(dossier, NAME, 1, 0, "a" * 64),
                            _old_record(dossier, nfd(NAME), 1, 1, "b" * 64)])
    # As if the first pass died after moving one record above TEMP_VERSION, before recording itself.
    collection.update_one({"component": NAME}, {"$set": {"version": mongo.TEMP_VERSION}})
    mongo.ensure_indexes()
    assert sorted((r["component"], r["version"], r["sha256"][0]) for r in collection.find({})) == [
        (NAME, 1, "a"), (NAME, 2, "b")]


def test_intake_names_become_nfc_and_documents_take_the_catalogues_wording(mongo_db):
    intake_mongo.ensure_indexes()
    mongo_db["procedures"].insert_one({
        "_id": "2.001610", "name": nfd("Đăng ký doanh nghiệp tư nhân"), "competent_unit_code": AGENCY, "version": 3,
        "required_documents": [{"name": NAME, "copy_kind": 1, "count": 1, "required": True}]})
    mongo_db["units"].insert_one({"_id": AGENCY, "name": nfd("Sở Tài chính")})
    code = f"{AGENCY}-261120-0001"
    mongo_db["dossiers"].insert_one({
        "_id": code, "receiving_unit_code": AGENCY, "request_id": "r-1", "fingerprint": "f", "version": 2,
        "procedure_code": "2.001610", "procedure_name": nfd("Đăng ký doanh nghiệp tư nhân"),
        "applicant": {"full_name": nfd("Nguyễn Thị Thuỷ"), "citizen_id": "001203004567"},
        "documents": [{"name": "giấy đề nghị  ĐĂNG KÝ doanh nghiệp", "copy_kind": 1, "count": 1},
                      {"name": nfd("Tờ khai khác"), "copy_kind": 1, "count": 1}],
        "history": [{"note": nfd("Tiếp nhận hồ sơ")}], "outbox": []})

    report = intake_mongo.migrate()

    assert report == {"units": 1, "procedures": 1, "dossiers": 1}
    stored = mongo_db["dossiers"].find_one({"_id": code})
    assert stored["applicant"]["full_name"] == "Nguyễn Thị Thuỷ"
    assert [d["name"] for d in stored["documents"]] == [NAME, "Tờ khai khác"]  # unmatched: only NFC
    assert stored["history"][0]["note"] == "Tiếp nhận hồ sơ" and stored["version"] == 2
    assert mongo_db["procedures"].find_one({"_id": "2.001610"})["name"] == "Đăng ký doanh nghiệp tư nhân"
    assert mongo_db["units"].find_one({"_id": AGENCY})["name"] == "Sở Tài chính"
    assert intake_mongo.migrate() is None


def test_a_concurrent_change_is_never_overwritten_by_the_migration(mongo_db):
    collection = mongo_db["things"]
    collection.insert_one({"_id": "u", "name": nfd("Sở Tư pháp")})
    seen = []

    def fix(doc):
        if not seen:  # between the read and the write, someone renames it
            collection.update_one({"_id": "u"}, {"$set": {"name": "Sở Tư pháp tỉnh"}})
        seen.append(doc["name"])
        return migrations.nfc_fields(doc)

    assert migrations.rewrite(collection, fix) == 0
    assert collection.find_one({"_id": "u"})["name"] == "Sở Tư pháp tỉnh"
    assert seen == [nfd("Sở Tư pháp"), "Sở Tư pháp tỉnh"]


def test_routing_cases_become_nfc(mongo_db):
    mongo_db["cases"].insert_one({"_id": f"{AGENCY}-261120-0002", "applicant_name": nfd("Lê Văn Hoà"),
                                  "procedure_name": "Đăng ký", "applied_event_ids": ["e1"]})
    assert routing_mongo.migrate() == {"cases": 1}
    assert mongo_db["cases"].find_one({})["applicant_name"] == "Lê Văn Hoà"
    assert routing_mongo.migrate() is None
