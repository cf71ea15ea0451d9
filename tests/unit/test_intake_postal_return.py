"""Intake records the applicant's choice of postal return (Decision 45/2016/QĐ-TTg art. 5) with an
address a carrier can take, and refuses it for a procedure that excludes postal handling; the choice
and the address codes travel in the contract and in DossierFinished for delivery."""

from __future__ import annotations

import dataclasses

import pytest
from test_intake_service import APPLICANT, NOW, OFFICER, PROCEDURE, UNIT

from onestop.intake.v1 import intake_pb2
from onestop_chassis.errors import FailedPrecondition, InvalidArgument
from onestop_chassis.worktime import WorkingCalendar
from onestop_intake.reception import domain, service
from onestop_intake.reception.adapters import events as intake_events
from onestop_intake.shared import proto

from fakes import FakeCatalogue, FakeDossiers, FakeSequence

POSTAL = dataclasses.replace(PROCEDURE, code="1.000949", postal_return_allowed=True)
ADDRESS = domain.Address(line="12 Lê Lợi", commune="Phường Hải Châu", province="Đà Nẵng", commune_code="20194",
                         province_code="48")


@pytest.fixture
def desk():
    dossiers = FakeDossiers()
    return service.IntakeService(dossiers, FakeCatalogue((PROCEDURE, POSTAL), (UNIT,)), FakeSequence(),
                                 WorkingCalendar(), clock=lambda: NOW), dossiers


def _cmd(procedure=POSTAL, address=ADDRESS) -> domain.SubmitDossier:
    return domain.SubmitDossier(request_id="req-p", procedure_code=procedure.code, channel=domain.Channel.IN_PERSON,
                                applicant=dataclasses.replace(APPLICANT, address=address), return_by_post=True)


def test_the_choice_is_kept_and_travels_to_delivery(desk):
    intake, dossiers = desk
    d = intake.submit(_cmd(), OFFICER).dossier
    assert d.return_by_post and d.applicant.address.province_code == "48"
    message = proto.dossier_to_proto(d)
    assert message.return_by_post and message.applicant.address.commune_code == "20194"
    finished = dataclasses.replace(d, status=domain.DossierStatus.FINISHED, result=domain.ProcessingResult(
        NOW, "Đã cấp", domain.Timeliness.ON_TIME, "officer-1"))
    event = intake_events.to_message(domain.DossierFinished(finished))
    assert event.return_by_post and event.applicant.address.province_code == "48"
    assert event.applicant.full_name == APPLICANT.full_name and not event.applicant.citizen_id


def test_a_procedure_without_postal_return_and_an_address_without_codes_are_refused(desk):
    intake, dossiers = desk
    with pytest.raises(FailedPrecondition) as refused:
        intake.submit(_cmd(procedure=PROCEDURE), OFFICER)
    assert refused.value.reason == "POSTAL_RETURN_NOT_ALLOWED"
    with pytest.raises(InvalidArgument) as missing:
        intake.submit(_cmd(address=dataclasses.replace(ADDRESS, commune_code="", province_code="")), OFFICER)
    assert [v.field for v in missing.value.violations] == ["applicant.address.commune_code",
                                                          "applicant.address.province_code"]
    assert dossiers.items == {} and dossiers.events == []


def test_the_request_carries_the_choice():
    request = intake_pb2.SubmitDossierRequest(procedure_code=POSTAL.code, return_by_post=True)
    request.applicant.address.province_code = " 48 "
    cmd = proto.submit_command(request)
    assert cmd.return_by_post and cmd.applicant.address.province_code == "48"
