"""People who are not Vietnamese citizens (issue 9, kind 5): identity papers of every type a desk
sees, each checked by its own rule, stored as type + number, printed with their Vietnamese name;
the deprecated 12-digit citizen_id / receiver_id_number fields still work."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata

import bson
import pypdf
import pytest

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2
from onestop_chassis import auth, identity, worktime
from onestop_chassis.errors import InvalidArgument, Violations
from onestop_chassis.worktime import WorkingCalendar
from onestop_intake.catalogue import domain as catalogue
from onestop_intake.forms import issued as issued_forms
from onestop_intake.forms import printed
from onestop_intake.reception import domain, service
from onestop_intake.reception.adapters import mongo
from onestop_intake.shared import proto
from onestop_intake.units import domain as units

from fakes import FakeCatalogue, FakeDossiers, FakeSequence

T = identity.DocumentType
UNIT = units.Unit("000.00.21.H17", "Trung tâm Phục vụ hành chính công tỉnh")
PROCEDURE = catalogue.Procedure("1.000948", "Cấp phiếu lý lịch tư pháp", worktime.WorkingDuration(days=3), UNIT.code)
NOW = dt.datetime(2026, 11, 17, 2, 0, tzinfo=dt.UTC)
OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), UNIT.code)
PASSPORT_FR = identity.IdentityDocument(T.PASSPORT, "12ab 34567", "fr")  # as typed at the desk
FOREIGNER = domain.Applicant(kind=domain.ApplicantKind.PERSON, full_name="Jean Dupont", identity=PASSPORT_FR)
CITIZEN = domain.Applicant(kind=domain.ApplicantKind.PERSON, full_name="Nguyễn Văn An", citizen_id="001203004567")


def _check(doc_type, number, country=""):
    v = Violations()
    found = identity.check(identity.IdentityDocument(doc_type, number, country), "doc", v)
    return found, {x.field: x.description for x in v.items}


# -- each type's rule, on both sides ----------------------------------------------------------------

@pytest.mark.parametrize("doc_type, number, country, stored", [
    (T.PERSONAL_ID_NUMBER, "001203004567", "", "001203004567"),
    (T.PERSONAL_ID_NUMBER, " 001 203 004 567 ", "", "001203004567"),  # spaces dropped
    (T.IDENTITY_CARD, "079203004567", "", "079203004567"),
    (T.CITIZEN_IDENTITY_CARD, "046190001234", "VN", "046190001234"),  # Vietnam named: allowed
    (T.PEOPLE_ID_CARD, "123456789", "", "123456789"),                # 9 digits
    (T.PEOPLE_ID_CARD, "123456789012", "", "123456789012"),          # 12 digits
    (T.PASSPORT, "c1234567", "VNM", "C1234567"),                     # Vietnamese: 1 letter + 7 digits
    (T.PASSPORT, "12AB34567", "FRA", "12AB34567"),                   # French: 9 characters
    (T.PASSPORT, "M123A4567", "kr", "M123A4567"),
    (T.PASSPORT, "AB123", "USA", "AB123"),                            # ICAO: 5 is the shortest allowed
    (T.IDENTITY_CERTIFICATE, "001203004567", "", "001203004567"),
    (T.PERMANENT_RESIDENCE_CARD, "TT12345", "", "TT12345"),
    (T.TEMPORARY_RESIDENCE_CARD, "đt 1234567", "", "ĐT1234567"),      # upper case, Vietnamese Đ kept
    (T.BIRTH_CERTIFICATE, "125/2020", "", "125/2020"),                 # register number as printed
    (T.BIRTH_CERTIFICATE, "001220012345", "", "001220012345"),         # the child's personal number
])
def test_each_type_accepts_its_own_numbers(doc_type, number, country, stored):
    found, problems = _check(doc_type, number, country)
    assert problems == {}
    assert (found.type, found.number) == (doc_type, stored)


@pytest.mark.parametrize("doc_type, number, country", [
    (T.PERSONAL_ID_NUMBER, "00120300456", ""),          # 11 digits
    (T.PERSONAL_ID_NUMBER, "0012030045678", ""),        # 13 digits
    (T.PERSONAL_ID_NUMBER, "００１２０３００４５６７", ""),  # full-width digits
    (T.IDENTITY_CARD, "C1234567", ""),                   # a passport number on a card
    (T.CITIZEN_IDENTITY_CARD, "12345678901A", ""),
    (T.PEOPLE_ID_CARD, "1234567890", ""),                # 10 digits: neither 9 nor 12
    (T.PEOPLE_ID_CARD, "12345678", ""),
    (T.PASSPORT, "C12345678", "VNM"),                     # Vietnamese: 8 digits
    (T.PASSPORT, "1234567", "VN"),                        # Vietnamese: no letter
    (T.PASSPORT, "12AB345678", "FRA"),                    # ICAO: 10 characters
    (T.PASSPORT, "AB12", "FRA"),                          # 4
    (T.PASSPORT, "12-AB-345", "FRA"),                     # no punctuation in a passport number
    (T.IDENTITY_CERTIFICATE, "12345", ""),
    (T.PERMANENT_RESIDENCE_CARD, "T123", ""),
    (T.TEMPORARY_RESIDENCE_CARD, "X" * 16, ""),
    (T.BIRTH_CERTIFICATE, "KS/ABC", ""),                  # no digit at all
    (T.BIRTH_CERTIFICATE, "1" * 31, ""),
])
def test_each_type_refuses_numbers_outside_its_rule_naming_the_number(doc_type, number, country):
    found, problems = _check(doc_type, number, country)
    assert found is None
    assert list(problems) == ["doc.number"]


def test_the_vietnamese_passport_rule_is_named_in_the_message():
    _, problems = _check(T.PASSPORT, "C12345678", "VNM")
    assert problems["doc.number"] == "a Vietnamese passport number is 1 letter and 7 digits, e.g. C1234567"


def test_an_empty_number_is_required_for_every_type():
    for doc_type in T:
        _, problems = _check(doc_type, "  ", "FRA" if doc_type == T.PASSPORT else "")
        assert problems["doc.number"].startswith("is required"), doc_type


@pytest.mark.parametrize("value", [0, 10, -1])
def test_an_unknown_type_is_refused_listing_the_types(value):
    _, problems = _check(value, "001203004567")
    assert list(problems) == ["doc.type"]
    assert "5 (Hộ chiếu)" in problems["doc.type"]


def test_a_passport_needs_its_issuing_country():
    _, problems = _check(T.PASSPORT, "12AB34567")
    assert list(problems) == ["doc.issuing_country"]
    assert "required for a passport" in problems["doc.issuing_country"]


@pytest.mark.parametrize("country", ["ZZ", "FRANCE", "XYZ", "F"])
def test_an_unknown_country_is_refused(country):
    _, problems = _check(T.PASSPORT, "12AB34567", country)
    assert list(problems) == ["doc.issuing_country"]


@pytest.mark.parametrize("given, alpha_3", [("FR", "FRA"), ("fra", "FRA"), ("D", "DEU"), ("XXA", "XXA"),
                                            (" gb ", "GBR")])
def test_countries_are_stored_as_alpha_3(given, alpha_3):
    found, _ = _check(T.PASSPORT, "123456789", given)
    assert found.issuing_country == alpha_3


def test_vietnamese_papers_cannot_name_another_issuing_country():
    _, problems = _check(T.CITIZEN_IDENTITY_CARD, "046190001234", "FRA")
    assert list(problems) == ["doc.issuing_country"]


# -- the deprecated 12-digit fields ----------------------------------------------------------------

def _resolve(document, legacy, required="is required"):
    v = Violations()
    found = identity.resolve(document, legacy, field="a.identity_document", legacy_field="a.citizen_id",
                             violations=v, required=required)
    return found, [x.field for x in v.items]


def test_the_old_field_alone_is_the_personal_identification_number():
    assert _resolve(None, "001203004567") == (identity.IdentityDocument(T.PERSONAL_ID_NUMBER, "001203004567"), [])


def test_the_old_field_keeps_its_12_digit_rule_and_its_name():
    assert _resolve(None, "12345") == (None, ["a.citizen_id"])


def test_both_fields_with_the_same_number_are_accepted():
    card = identity.IdentityDocument(T.IDENTITY_CARD, "001 203 004 567")
    assert _resolve(card, "001203004567") == (identity.IdentityDocument(T.IDENTITY_CARD, "001203004567"), [])


def test_both_fields_with_different_numbers_are_refused_naming_the_old_one():
    assert _resolve(PASSPORT_FR, "001203004567") == (None, ["a.citizen_id"])


def test_neither_field_names_the_new_one_when_required():
    assert _resolve(None, "") == (None, ["a.identity_document"])
    assert _resolve(None, "", required="") == (None, [])


# -- what forms print ----------------------------------------------------------------------------

@pytest.mark.parametrize("document, printed", [
    (identity.IdentityDocument(T.PASSPORT, "C1234567", "VNM"), "Hộ chiếu số C1234567 (Việt Nam)"),
    (identity.IdentityDocument(T.PASSPORT, "12AB34567", "FRA"), "Hộ chiếu số 12AB34567 (Pháp)"),
    (identity.IdentityDocument(T.PASSPORT, "M123A4567", "KOR"), "Hộ chiếu số M123A4567 (Hàn Quốc)"),
    (identity.IdentityDocument(T.PASSPORT, "X1234567", "XXA"), "Hộ chiếu số X1234567 (người không quốc tịch)"),
    (identity.IdentityDocument(T.PERSONAL_ID_NUMBER, "001203004567"), "Số định danh cá nhân: 001203004567"),
    (identity.IdentityDocument(T.IDENTITY_CARD, "001203004567"), "Thẻ căn cước số 001203004567"),
    (identity.IdentityDocument(T.CITIZEN_IDENTITY_CARD, "001203004567"), "Căn cước công dân số 001203004567"),
    (identity.IdentityDocument(T.PEOPLE_ID_CARD, "123456789"), "Chứng minh nhân dân số 123456789"),
    (identity.IdentityDocument(T.IDENTITY_CERTIFICATE, "001203004567"),
     "Giấy chứng nhận căn cước số 001203004567"),
    (identity.IdentityDocument(T.PERMANENT_RESIDENCE_CARD, "TT12345"), "Thẻ thường trú số TT12345"),
    (identity.IdentityDocument(T.TEMPORARY_RESIDENCE_CARD, "ĐT1234567"), "Thẻ tạm trú số ĐT1234567"),
    (identity.IdentityDocument(T.BIRTH_CERTIFICATE, "125/2020"), "Giấy khai sinh số 125/2020"),
])
def test_labels_name_the_type_in_vietnamese(document, printed):
    assert identity.label_vi(document) == printed


# -- submitting: a foreigner with a passport -------------------------------------------------------

@pytest.fixture
def desk():
    store = FakeDossiers()
    return (service.IntakeService(store, FakeCatalogue([PROCEDURE], [UNIT]), FakeSequence(), WorkingCalendar(),
                                  clock=lambda: NOW), store)


def _submit(intake, applicant, request_id="req-1"):
    return intake.submit(domain.SubmitDossier(request_id=request_id, procedure_code=PROCEDURE.code,
                                              applicant=applicant, channel=domain.Channel.IN_PERSON), OFFICER).dossier


def test_a_foreigner_with_a_passport_submits_and_the_dossier_keeps_type_and_normalised_number(desk):
    intake, store = desk
    dossier = _submit(intake, FOREIGNER)
    assert dossier.applicant.identity == identity.IdentityDocument(T.PASSPORT, "12AB34567", "FRA")
    assert dossier.applicant.citizen_id == ""
    assert store.items[dossier.code] is dossier


def test_the_old_citizen_id_is_still_accepted_and_stored_as_the_personal_number(desk):
    intake, _ = desk
    dossier = _submit(intake, CITIZEN)
    assert dossier.applicant.identity == identity.IdentityDocument(T.PERSONAL_ID_NUMBER, "001203004567")
    assert dossier.applicant.citizen_id == ""


def test_a_bad_passport_number_names_the_field_and_the_rule_and_stores_nothing(desk):
    intake, store = desk
    bad = dataclasses.replace(FOREIGNER, identity=identity.IdentityDocument(T.PASSPORT, "C12345678", "VNM"))
    with pytest.raises(InvalidArgument) as info:
        _submit(intake, bad)
    assert [v.field for v in info.value.violations] == ["applicant.identity_document.number"]
    assert "1 letter and 7 digits" in info.value.message
    assert store.items == {}


def test_a_person_without_any_identity_paper_is_refused_naming_the_new_field(desk):
    intake, _ = desk
    with pytest.raises(InvalidArgument) as info:
        _submit(intake, dataclasses.replace(CITIZEN, citizen_id=""))
    assert [v.field for v in info.value.violations] == ["applicant.identity_document"]


def test_an_organisations_representative_may_show_a_passport_and_needs_none(desk):
    intake, _ = desk
    company = domain.Applicant(kind=domain.ApplicantKind.ORGANISATION, full_name="Jean Dupont",
                               organisation_name="Công ty TNHH Dupont Việt Nam", tax_code="0101234567",
                               identity=PASSPORT_FR)
    assert _submit(intake, company).applicant.identity.number == "12AB34567"
    assert _submit(intake, dataclasses.replace(company, identity=None), "req-2").applicant.identity is None


def test_a_retry_with_the_old_citizen_id_keeps_the_fingerprint_stored_before_identity_documents():
    cmd = domain.SubmitDossier(request_id="req-1", procedure_code=PROCEDURE.code, applicant=CITIZEN, channel=1)
    # What the fingerprint was made of before: the applicant without an `identity` entry.
    body = dataclasses.asdict(cmd)
    body.pop("request_id")
    body["applicant"].pop("identity")
    body["receiving_unit_code"] = UNIT.code
    before = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert service._fingerprint(cmd, UNIT.code) == before
    assert service._fingerprint(dataclasses.replace(cmd, applicant=FOREIGNER), UNIT.code) != before


def test_a_replay_of_a_passport_submission_returns_the_same_dossier(desk):
    intake, _ = desk
    first = _submit(intake, FOREIGNER)
    again = intake.submit(domain.SubmitDossier(request_id="req-1", procedure_code=PROCEDURE.code,
                                               applicant=FOREIGNER, channel=domain.Channel.IN_PERSON), OFFICER)
    assert again.replayed and again.dossier.code == first.code


# -- collecting: a foreigner shows a passport at the desk ------------------------------------------

def _finished(intake, applicant=FOREIGNER):
    dossier = _submit(intake, applicant)
    return intake.record_result(dossier.code, "Đã cấp phiếu", OFFICER)


def test_a_foreigner_collects_with_a_passport(desk):
    intake, store = desk
    d = _finished(intake)
    returned = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Jean Dupont",
                                    receiver_identity=identity.IdentityDocument(T.PASSPORT, "12ab34567", "FRA"))
    assert returned.result_return.receiver_identity == identity.IdentityDocument(T.PASSPORT, "12AB34567", "FRA")
    assert returned.history[-1].note == ("Trả kết quả tại Bộ phận Một cửa cho Jean Dupont, "
                                         "Hộ chiếu số 12AB34567 (Pháp)")
    assert store.items[d.code] is returned


def test_the_old_receiver_id_number_is_still_accepted(desk):
    intake, _ = desk
    d = _finished(intake, CITIZEN)
    returned = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Nguyễn Văn An",
                                    receiver_id_number=" 001203004567 ")
    assert returned.result_return.receiver_identity == identity.personal_id_number("001203004567")


def test_a_collectors_bad_residence_card_is_refused_and_the_dossier_stays_finished(desk):
    intake, store = desk
    d = _finished(intake)
    with pytest.raises(InvalidArgument) as info:
        intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Jean Dupont",
                             receiver_identity=identity.IdentityDocument(T.TEMPORARY_RESIDENCE_CARD, "T1"))
    assert [v.field for v in info.value.violations] == ["receiver_identity_document.number"]
    assert store.items[d.code] is d and d.status == domain.DossierStatus.FINISHED


# -- the contract: new and deprecated fields --------------------------------------------------------

def test_the_proto_identity_document_reaches_the_domain():
    message = common_pb2.Applicant(kind=1, full_name="Jean Dupont", identity_document=common_pb2.IdentityDocument(
        type=common_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT, number="12AB34567", issuing_country="FRA"))
    a = proto.applicant_from_proto(message)
    assert a.identity == identity.IdentityDocument(T.PASSPORT, "12AB34567", "FRA") and a.citizen_id == ""
    assert proto.applicant_from_proto(common_pb2.Applicant(kind=1, citizen_id=" 001203004567 ")).identity is None


def test_answers_fill_the_deprecated_citizen_id_only_for_papers_that_carry_the_personal_number(desk):
    intake, _ = desk
    foreigner = proto.dossier_to_proto(_submit(intake, FOREIGNER))
    assert foreigner.applicant.citizen_id == ""
    assert (foreigner.applicant.identity_document.type, foreigner.applicant.identity_document.number,
            foreigner.applicant.identity_document.issuing_country) == (
        common_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT, "12AB34567", "FRA")
    citizen = proto.dossier_to_proto(_submit(intake, CITIZEN, "req-2"))
    assert citizen.applicant.citizen_id == "001203004567"
    assert citizen.applicant.identity_document.type == common_pb2.IDENTITY_DOCUMENT_TYPE_PERSONAL_ID_NUMBER


def test_the_enum_numbers_match_the_proto():
    for doc_type in T:
        assert common_pb2.IdentityDocumentType.Value(f"IDENTITY_DOCUMENT_TYPE_{doc_type.name}") == int(doc_type)
    assert len(common_pb2.IdentityDocumentType.values()) == len(T) + 1  # and UNSPECIFIED


def test_the_return_request_carries_the_collectors_paper():
    request = intake_pb2.ReturnResultRequest(receiver_identity_document=common_pb2.IdentityDocument(
        type=common_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT, number="X", issuing_country="FRA"))
    assert proto.identity_from_proto(request, "receiver_identity_document") == identity.IdentityDocument(
        T.PASSPORT, "X", "FRA")
    assert proto.identity_from_proto(intake_pb2.ReturnResultRequest(), "receiver_identity_document") is None


# -- storage: the new shape, and documents stored before it ----------------------------------------

def _through_bson(son) -> mongo.DossierDoc:
    return mongo.DossierDoc._from_son(bson.decode(bson.encode(dict(son))))


def test_a_passport_dossier_round_trips_through_its_document(desk):
    intake, _ = desk
    d = _finished(intake)
    d = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Jean Dupont",
                             receiver_identity=PASSPORT_FR)
    son = mongo._to_doc(d, []).to_mongo().to_dict()
    assert son["applicant"]["identity"] == {"type": 5, "number": "12AB34567", "issuing_country": "FRA"}
    assert "citizen_id" not in son["applicant"]
    assert son["result_return"]["receiver_identity"] == {"type": 5, "number": "12AB34567", "issuing_country": "FRA"}
    back = mongo._from_doc(_through_bson(son))
    assert back.applicant == d.applicant and back.result_return == d.result_return


def test_a_document_stored_before_identity_papers_migrates_on_read(desk):
    intake, _ = desk
    d = _finished(intake, CITIZEN)
    d = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Lê Văn Bình",
                             receiver_id_number="079203004567")
    son = mongo._to_doc(d, []).to_mongo().to_dict()
    # The old shape: a citizen_id in the applicant, a receiver_id_number in the result return.
    son["applicant"].pop("identity")
    son["applicant"]["citizen_id"] = "001203004567"
    son["result_return"] = {**mongo._mutable(d)["result_return"], "receiver_id_number": "079203004567"}
    son["result_return"].pop("receiver_identity")
    back = mongo._from_doc(_through_bson(son))
    assert back.applicant.identity == identity.personal_id_number("001203004567")
    assert back.applicant.citizen_id == ""
    assert back.result_return.receiver_identity == identity.personal_id_number("079203004567")
    assert proto.dossier_to_proto(back).applicant.citizen_id == "001203004567"


# -- forms 01-03 print the paper's type -----------------------------------------------------------

def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", " ".join(p.extract_text() for p in reader.pages)))


def _forms(dossier) -> list[str]:
    refused = dataclasses.replace(dossier, refusal_reasons=("Hồ sơ không thuộc thẩm quyền",))
    supplement = dataclasses.replace(dossier, supplement_request=domain.SupplementRequest(
        NOW, "Thiếu bản dịch hộ chiếu", ("Bản dịch hộ chiếu có chứng thực",), "officer-1"))
    return [_text(issued_forms.render(dossier, issued_forms.Form.RECEIPT, "https://example.vn/tra-cuu")),
            _text(issued_forms.render(supplement, issued_forms.Form.SUPPLEMENT_REQUEST, "")),
            _text(issued_forms.render(refused, issued_forms.Form.REFUSAL, ""))]


def test_forms_01_to_03_print_a_passport_with_its_type_and_country(desk):
    intake, _ = desk
    for text in _forms(_submit(intake, FOREIGNER)):
        assert "Hộ chiếu số 12AB34567 (Pháp)" in text
        assert "Số định danh cá nhân" not in text


def test_forms_print_the_old_citizen_id_as_the_personal_identification_number(desk):
    intake, _ = desk
    for text in _forms(_submit(intake, CITIZEN)):
        assert "Số định danh cá nhân: 001203004567" in text


def test_a_form_prints_an_organisation_representatives_residence_card(desk):
    intake, _ = desk
    company = domain.Applicant(kind=domain.ApplicantKind.ORGANISATION, full_name="Kim Min-jun",
                               organisation_name="Công ty TNHH Hàn Việt", tax_code="0101234567",
                               identity=identity.IdentityDocument(T.TEMPORARY_RESIDENCE_CARD, "đt1234567"))
    text = _forms(_submit(intake, company))[0]
    assert "Người đại diện / người nộp hồ sơ: Kim Min-jun" in text
    assert "Thẻ tạm trú số ĐT1234567" in text


def test_the_receipt_renderer_itself_prints_the_paper(desk):
    intake, _ = desk
    d = _submit(intake, FOREIGNER)
    pdf = printed.render_receipt(d, documents=[], lookup_url="https://example.vn", lookup_secret="ABCD2345",
                               collect_at="Quầy 1", officer_name="Trần Văn Đức")
    assert "Hộ chiếu số 12AB34567 (Pháp)" in _text(pdf)


# -- the same kind: a foreigner's own phone number ------------------------------------------------

@pytest.mark.parametrize("phone", ["+33 6 12 34 56 78", "+1 212 555 0100", "+82-10-1234-5678", "0912345678",
                                   "+84912345678"])
def test_a_foreign_phone_number_in_international_form_is_accepted(phone):
    domain.validate_submission(domain.SubmitDossier(request_id="", procedure_code=PROCEDURE.code, channel=1,
                                                    applicant=dataclasses.replace(FOREIGNER, phone=phone)))


@pytest.mark.parametrize("phone", ["+33 6", "+0 612345678", "+3361234567890123", "0033612345678", "+84 12345",
                                   "612345678"])
def test_a_phone_number_of_no_country_is_refused(phone):
    with pytest.raises(InvalidArgument) as info:
        domain.validate_submission(domain.SubmitDossier(request_id="", procedure_code=PROCEDURE.code, channel=1,
                                                        applicant=dataclasses.replace(FOREIGNER, phone=phone)))
    assert [v.field for v in info.value.violations] == ["applicant.phone"]
