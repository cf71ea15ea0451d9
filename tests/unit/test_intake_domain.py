import dataclasses

import pytest

from onestop_chassis.errors import InvalidArgument
from onestop_intake.reception.domain import (
    Address,
    Applicant,
    ApplicantKind,
    Channel,
    SubmitDossier,
    validate_submission,
)

PERSON = Applicant(kind=ApplicantKind.PERSON, full_name="Nguyễn Văn An", citizen_id="001203004567",
                   phone="0912 345 678", email="an.nguyen@example.vn",
                   address=Address(line="12 Lê Lợi", commune="Phường Bến Thành", province="TP. Hồ Chí Minh"))
ORGANISATION = Applicant(kind=ApplicantKind.ORGANISATION, full_name="Trần Thị Bình",
                         organisation_name="Công ty TNHH Sen Vàng", tax_code="0312345678-001")


def _cmd(applicant=PERSON, **changes) -> SubmitDossier:
    base = SubmitDossier(request_id="req-1", procedure_code="1.000948", applicant=applicant,
                         channel=Channel.IN_PERSON, receiving_unit_code="000.00.21.H17")
    return dataclasses.replace(base, **changes)


def _person(**changes) -> Applicant:
    return dataclasses.replace(PERSON, **changes)


def _violated_fields(cmd) -> list[str]:
    with pytest.raises(InvalidArgument) as info:
        validate_submission(cmd)
    assert info.value.reason == "INVALID_FIELDS"
    return [v.field for v in info.value.violations]


def test_valid_person_submission_passes():
    validate_submission(_cmd())


@pytest.mark.parametrize("channel", [Channel.ONLINE, Channel.POSTAL])
def test_other_channels_pass(channel):
    validate_submission(_cmd(channel=channel))


def test_valid_organisation_submission_passes():
    validate_submission(_cmd(applicant=ORGANISATION))


def test_optional_fields_may_be_empty():
    validate_submission(_cmd(applicant=Applicant(kind=ApplicantKind.PERSON, full_name="An", citizen_id="001203004567"),
                             request_id="", receiving_unit_code=""))


@pytest.mark.parametrize("cmd, field", [
    (_cmd(procedure_code=""), "procedure_code"),
    (_cmd(procedure_code="   "), "procedure_code"),
    (_cmd(procedure_code="1.000 948"), "procedure_code"),
    (_cmd(procedure_code="1" * 65), "procedure_code"),
    (_cmd(channel=0), "channel"),
    (_cmd(channel=99), "channel"),
    (_cmd(receiving_unit_code="H17"), "receiving_unit_code"),
    (_cmd(receiving_unit_code="000.00.21.h17"), "receiving_unit_code"),
    (_cmd(request_id="r" * 129), "request_id"),
    (_cmd(request_content="x" * 2001), "request_content"),
    (_cmd(applicant=_person(kind=0)), "applicant.kind"),
    (_cmd(applicant=_person(citizen_id="00120300456")), "applicant.citizen_id"),
    (_cmd(applicant=_person(citizen_id="00120300456A")), "applicant.citizen_id"),
    (_cmd(applicant=_person(citizen_id="")), "applicant.identity_document"),  # neither field: the new one is named
    (_cmd(applicant=_person(phone="12345")), "applicant.phone"),
    (_cmd(applicant=_person(phone="+1 212")), "applicant.phone"),  # too short for any country (E.164)
    (_cmd(applicant=_person(email="an.nguyen")), "applicant.email"),
    (_cmd(applicant=_person(email="an@@example.vn")), "applicant.email"),
    (_cmd(applicant=dataclasses.replace(ORGANISATION, tax_code="")), "applicant.tax_code"),
    (_cmd(applicant=dataclasses.replace(ORGANISATION, tax_code="031234567")), "applicant.tax_code"),
    (_cmd(applicant=dataclasses.replace(ORGANISATION, organisation_name="")), "applicant.organisation_name"),
    (_cmd(applicant=_person(address=Address()), channel=Channel.POSTAL), "applicant.address.line"),
    (_cmd(applicant=_person(address=Address(line="  ")), channel=Channel.POSTAL), "applicant.address.line"),
    (_cmd(applicant=_person(full_name="")), "applicant.full_name"),
    (_cmd(applicant=_person(full_name="A" * 201)), "applicant.full_name"),
    (_cmd(applicant=_person(full_name="Nguyễn\x00Văn An")), "applicant.full_name"),
    (_cmd(applicant=_person(full_name="Nguyễn\x1bVăn An")), "applicant.full_name"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_problem_names_its_field(cmd, field):
    assert _violated_fields(cmd) == [field]


def test_200_character_name_is_still_fine():
    validate_submission(_cmd(applicant=_person(full_name="A" * 200)))


@pytest.mark.parametrize("applicant, field", [
    (_person(citizen_id="001203004567\n"), "applicant.citizen_id"),
    (_person(email="an.nguyen@example.vn\n"), "applicant.email"),
    (dataclasses.replace(ORGANISATION, tax_code="0312345678\n"), "applicant.tax_code"),
], ids=["citizen_id", "email", "tax_code"])
def test_trailing_newline_is_refused(applicant, field):
    assert _violated_fields(_cmd(applicant=applicant)) == [field]


def test_citizen_id_in_non_ascii_digits_is_refused():
    fullwidth = "００１２０３００４５６７"  # what some input methods type
    assert _violated_fields(_cmd(applicant=_person(citizen_id=fullwidth))) == ["applicant.citizen_id"]


def test_all_problems_are_reported_at_once():
    cmd = _cmd(procedure_code="", channel=Channel.POSTAL, receiving_unit_code="nowhere",
               applicant=_person(citizen_id="123", phone="abc", email="nope", address=Address()))
    fields = _violated_fields(cmd)
    assert set(fields) == {"procedure_code", "receiving_unit_code", "applicant.citizen_id", "applicant.phone",
                           "applicant.email", "applicant.address.line"}
    with pytest.raises(InvalidArgument) as info:
        validate_submission(cmd)
    assert set(info.value.metadata["fields"].split(",")) == set(fields)
