"""Intake's Mongo adapters against the real FerretDB."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from onestop_chassis import auth
from onestop_chassis.config import load_settings
from onestop_intake.bootstrap import bootstrap, prepare_database
from onestop_intake.config import IntakeSettings
from onestop_intake.reception import domain, routed
from onestop_intake.reception.adapters import mongo
from onestop_intake.reception.following import RoutedDossiers
from onestop_intake.reception.service import CodeTaken, DuplicateRequest
from onestop_intake.seed import load_demo_data

DN_DOCUMENTS = tuple(domain.SubmittedDocument(n) for n in [
    'Giấy đề nghị đăng ký doanh nghiệp', 'Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân'])

DN_DOCUMENTS = tuple(domain.SubmittedDocument(n) for n in [
    "Giấy đề nghị đăng ký doanh nghiệp",
    "Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân"])

OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), "000.00.21.H17")


def _command(request_id: str = "req-1", name: str = "Trần Thị Bích Ngọc") -> domain.SubmitDossier:
    return domain.SubmitDossier(
        request_id=request_id, procedure_code="2.001610", channel=domain.Channel.IN_PERSON,
        applicant=domain.Applicant(kind=1, full_name=name, citizen_id="001203004567", phone="0912 345 678"),
        documents=DN_DOCUMENTS)


@pytest.fixture()
def service(mongo_db):
    intake = bootstrap(load_settings(IntakeSettings, documents_address=""))
    prepare_database()  # indexes and migrations, as the api and the seed run first
    load_demo_data(intake)
    return intake.reception


def test_a_dossier_and_its_event_are_one_document(service, mongo_db):
    dossier = service.submit(_command(), OFFICER).dossier
    stored = mongo_db["dossiers"].find_one({"_id": dossier.code})
    assert stored["applicant"]["full_name"] == "Trần Thị Bích Ngọc"
    assert stored["applicant"]["phone"] == "0912345678"
    [entry] = stored["outbox"]
    assert mongo_db["dossiers_outbox"].find_one({"_id": entry["event_id"]})["aggregate_id"] == dossier.code
    assert entry["event_type"] == "DossierReceived"
    assert entry["payload"]["dossierCode"] == dossier.code

    again = mongo.MongoDossiers().by_request_id("000.00.21.H17", "req-1")
    assert again == dossier


def test_retry_with_the_same_request_id_returns_the_same_dossier(service, mongo_db):
    first = service.submit(_command(), OFFICER)
    second = service.submit(_command(), OFFICER)
    assert second.replayed and second.dossier.code == first.dossier.code
    assert mongo_db["dossiers"].count_documents({}) == 1


def test_the_store_tells_a_duplicate_request_from_a_taken_code(service, mongo_db):
    dossier = service.submit(_command(), OFFICER).dossier
    same_request = domain.Dossier(**{**dossier.__dict__, "code": dossier.code[:-4] + "9999"})
    with pytest.raises(DuplicateRequest):
        mongo.MongoDossiers().add(same_request, [domain.DossierReceived(same_request)])
    same_code = domain.Dossier(**{**dossier.__dict__, "request_id": "req-other"})
    with pytest.raises(CodeTaken):
        mongo.MongoDossiers().add(same_code, [domain.DossierReceived(same_code)])
    assert mongo_db["dossiers"].count_documents({}) == 1
    assert mongo_db["dossiers_outbox"].count_documents({}) == 1, "refused writes leave no staged events"


def test_a_retry_is_found_by_its_pointer_and_the_pointer_is_rebuilt_when_missing(service, mongo_db):
    first = service.submit(_command("req-pointer"), OFFICER).dossier
    assert mongo_db["dossiers_requests"].find_one({"_id": "000.00.21.H17|req-pointer"})["aggregate_id"] == first.code

    # Its writer died between the dossier write and the pointer write: the retry is not recognised
    # up front, its insert hits the unique (unit, request_id) index, and the earlier dossier is found.
    mongo_db["dossiers_requests"].delete_many({})
    again = service.submit(_command("req-pointer"), OFFICER)
    assert again.replayed and again.dossier.code == first.code
    assert mongo_db["dossiers"].count_documents({"request_id": "req-pointer"}) == 1
    assert mongo_db["dossiers_requests"].find_one({"_id": "000.00.21.H17|req-pointer"})["aggregate_id"] == first.code
    assert mongo_db["dossiers_outbox"].count_documents({}) == 1, "the refused retry leaves no staged events"


def test_the_duplicate_request_error_carries_the_dossier_stored_first(service, mongo_db):
    dossier = service.submit(_command("req-dup"), OFFICER).dossier
    retry = domain.Dossier(**{**dossier.__dict__, "code": dossier.code[:-4] + "0777"})
    with pytest.raises(DuplicateRequest) as refused:
        mongo.MongoDossiers().add(retry, [domain.DossierReceived(retry)])
    assert refused.value.dossier == dossier


def test_concurrent_submissions_get_unique_codes_without_gaps(service, mongo_db):
    """FerretDB v1 has no atomic counter (measured), so this is the real test of the code claim."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        dossiers = list(pool.map(lambda i: service.submit(_command(f"req-{i}"), OFFICER).dossier, range(120)))
    numbers = sorted(int(d.code.rsplit("-", 1)[1]) for d in dossiers)
    assert numbers == list(range(1, 121))
    assert len({d.code for d in dossiers}) == 120
    assert mongo_db["dossiers"].count_documents({}) == 120


def test_code_hint_moves_forward_only(mongo_db):
    sequence = mongo.MongoCodeSequence()
    day = dt.date(2026, 11, 23)
    assert sequence.candidate("000.00.21.H17", day) == 1
    sequence.taken("000.00.21.H17", day, 5)
    sequence.taken("000.00.21.H17", day, 3)
    assert sequence.candidate("000.00.21.H17", day) == 6
    assert sequence.candidate("000.00.21.H17", day, after=9) == 10
    assert sequence.candidate("000.00.21.H17", day + dt.timedelta(days=1)) == 1, "numbering restarts daily"
    assert sequence.candidate("000.00.11.H17", day) == 1, "each unit has its own numbering"


def test_routing_events_applied_are_stored_and_read_back(mongo_db):
    """What intake keeps of routing's case (issue 11): the template version, the current steps,
    the time of the last routing event and each history line's event id survive the round trip,
    so a redelivery read from the database is still found a duplicate."""
    intake = bootstrap(load_settings(IntakeSettings, documents_address=""))
    load_demo_data(intake)
    dossier = intake.reception.submit(_command("req-routed"), OFFICER).dossier
    at = dt.datetime(2026, 12, 1, 2, 0, 0, 123000, tzinfo=dt.UTC)
    step = domain.CurrentStep("THAM_DINH", "Thẩm định hồ sơ", "000.01.13.H17", "Văn phòng Đăng ký đất đai tỉnh",
                              at + dt.timedelta(days=2))
    follower = RoutedDossiers(mongo.MongoDossiers())
    opened = routed.RoutingEvent("opened", dossier.code, "ev-1", at, process_code="QT-1", process_version=4)
    progressed = routed.RoutingEvent("progressed", dossier.code, "ev-2", at + dt.timedelta(seconds=1), steps=(step,))
    assert follower.apply(opened) is routed.Verdict.APPLY
    assert follower.apply(progressed) is routed.Verdict.APPLY

    stored = mongo.MongoDossiers().by_code(dossier.code)
    assert (stored.status, stored.process_version, stored.current_steps) == (domain.DossierStatus.PROCESSING, 4,
                                                                             (step,))
    assert stored.steps_at == progressed.at and [t.event_id for t in stored.history] == ["", "ev-1", "ev-2"]
    paid = routed.RoutingEvent("payment_requested", dossier.code, "ev-3", at + dt.timedelta(seconds=2))
    assert follower.apply(paid) is routed.Verdict.APPLY
    stored = mongo.MongoDossiers().by_code(dossier.code)
    assert (stored.routing_at, stored.paused_at) == (paid.at, paid.at)
    assert follower.apply(progressed) is routed.Verdict.DUPLICATE
    assert mongo.MongoDossiers().by_code(dossier.code) == stored
def test_the_process_code_is_stored_and_published_with_the_dossier(service, mongo_db):
    """Routing opens the case with the template the catalogue names (DossierReceived.process_code)."""
    dossier = service.submit(_command(request_id="req-pc"), OFFICER).dossier  # 2.001610: QT.DN.01 in the catalogue
    stored = mongo_db["dossiers"].find_one({"_id": dossier.code})
    assert stored["process_code"] == "QT.DN.01"
    assert stored["outbox"][0]["payload"]["processCode"] == "QT.DN.01"
    assert mongo.MongoDossiers().by_request_id("000.00.21.H17", "req-pc").process_code == "QT.DN.01"
