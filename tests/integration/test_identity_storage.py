"""Identity papers in intake's store, on the real FerretDB: a passport dossier is stored as type +
normalised number and read back; a dossier stored before identity papers (citizen_id,
receiver_id_number) still loads, as the personal identification number."""

from __future__ import annotations

import pytest

from onestop_chassis import auth, identity
from onestop_chassis.config import load_settings
from onestop_intake.bootstrap import bootstrap, prepare_database
from onestop_intake.config import IntakeSettings
from onestop_intake.reception import domain
from onestop_intake.reception.adapters import mongo
from onestop_intake.seed import load_demo_data

OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), "000.00.21.H17")
DN_DOCUMENTS = tuple(domain.SubmittedDocument(n) for n in [
    "Giấy đề nghị đăng ký doanh nghiệp", "Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân"])
PASSPORT = identity.IdentityDocument(identity.DocumentType.PASSPORT, "12ab 34567", "FR")


@pytest.fixture()
def intake(mongo_db):
    intake = bootstrap(load_settings(IntakeSettings, documents_address=""))
    prepare_database()  # indexes and migrations, as the api and the seed run first
    load_demo_data(intake)
    return intake.reception


def _submit(intake, applicant, request_id):
    return intake.submit(domain.SubmitDossier(request_id=request_id, procedure_code="2.001610",
                                              channel=domain.Channel.IN_PERSON, applicant=applicant,
                                              documents=DN_DOCUMENTS), OFFICER).dossier


def test_a_passport_dossier_is_stored_and_read_back_from_ferretdb(intake, mongo_db):
    foreigner = domain.Applicant(kind=1, full_name="Jean Dupont", identity=PASSPORT)
    code = _submit(intake, foreigner, "req-passport").code
    stored = mongo_db["dossiers"].find_one({"_id": code})
    assert stored["applicant"]["identity"] == {"type": 5, "number": "12AB34567", "issuing_country": "FRA"}
    assert "citizen_id" not in stored["applicant"]
    intake.record_result(code, "Đã cấp", OFFICER)
    intake.return_result(code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Jean Dupont",
                         receiver_identity=PASSPORT)
    back = mongo.MongoDossiers().by_code(code)
    expected = identity.IdentityDocument(identity.DocumentType.PASSPORT, "12AB34567", "FRA")
    assert back.applicant.identity == expected and back.result_return.receiver_identity == expected


def test_a_dossier_stored_before_identity_papers_loads_and_is_looked_up(intake, mongo_db):
    citizen = domain.Applicant(kind=1, full_name="Trần Thị Bích Ngọc", citizen_id="001203004567")
    code = _submit(intake, citizen, "req-old").code
    intake.record_result(code, "Đã cấp", OFFICER)
    intake.return_result(code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Lê Văn Bình",
                         receiver_id_number="079203004567")
    # Put it back in the shape stored before identity papers existed.
    collection = mongo_db["dossiers"]
    stored = collection.find_one({"_id": code})
    applicant = {k: v for k, v in stored["applicant"].items() if k != "identity"} | {"citizen_id": "001203004567"}
    returned = {k: v for k, v in stored["result_return"].items() if k != "receiver_identity"} \
        | {"receiver_id_number": "079203004567"}
    collection.update_one({"_id": code}, {"$set": {"applicant": applicant, "result_return": returned}})
    assert "identity" not in collection.find_one({"_id": code})["applicant"]

    back = mongo.MongoDossiers().by_code(code)
    assert back.applicant.identity == identity.personal_id_number("001203004567")
    assert back.result_return.receiver_identity == identity.personal_id_number("079203004567")
    assert intake.lookup(code, back.lookup_secret).code == code
