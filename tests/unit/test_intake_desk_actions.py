"""Desk actions on the national statuses, with in-memory ports."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from onestop_chassis import auth, worktime
from onestop_chassis.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from onestop_chassis.versions import ConcurrentChange
from onestop_chassis.worktime import VIETNAM
from onestop_intake.reception import domain
from onestop_intake.reception.domain import DossierStatus as S
from onestop_intake.reception.service import IntakeService
from onestop_intake.units import domain as units

from fakes import Clock, FakeDossiers

UNIT = units.Unit("000.00.21.H17", "Trung tâm Phục vụ hành chính công")
OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), UNIT.code)
OTHER = auth.Principal("officer-9", frozenset({auth.DESK_OFFICER}), "000.00.11.H17")
MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=VIETNAM)


def _dossier(status=S.RECEIVED, **changes) -> domain.Dossier:
    base = domain.Dossier(
        code=f"{UNIT.code}-261130-0001", request_id="r", fingerprint="f", procedure_code="2.001610",
        procedure_name="Đăng ký doanh nghiệp", applicant=domain.Applicant(1, "Lê Thị Hoa", "001203004567"),
        channel=domain.Channel.IN_PERSON, status=status, receiving_unit=UNIT, received_at=MONDAY_9,
        appointment_at=dt.datetime(2026, 12, 3, 9, 0, tzinfo=VIETNAM), legal_duration=worktime.WorkingDuration(days=3),
        history=[domain.Transition(MONDAY_9, status, "officer-1")])
    return dataclasses.replace(base, **changes)


@pytest.fixture()
def setup():
    dossiers, clock = FakeDossiers(), Clock(MONDAY_9 + dt.timedelta(hours=1))
    service = IntakeService(dossiers, catalogue=None, sequence=None, clock=clock)
    return service, dossiers, clock


def test_supplement_is_requested_once_and_stops_the_clock(setup):
    service, dossiers, clock = setup
    d = dossiers.items.setdefault(_dossier().code, _dossier())
    requested = service.request_supplement(d.code, "Thiếu bản sao CCCD", ["Bản sao CCCD có chứng thực"], OFFICER)
    assert (requested.status, requested.supplement_requested, requested.version) == (S.SUPPLEMENT_REQUESTED, True, 2)
    assert requested.history[-1].actor == "officer-1" and "Thiếu bản sao CCCD" in requested.history[-1].note
    assert isinstance(dossiers.events[-1], domain.DossierSupplementRequested)

    clock.now = dt.datetime(2026, 12, 2, 10, 0, tzinfo=VIETNAM)  # waited Mon 10:00 → Wed 10:00: 2 working days
    back = service.receive_supplement(d.code, "Đã nộp đủ", OFFICER)
    assert back.status == S.RECEIVED and back.paused_at is None
    assert back.appointment_at == dt.datetime(2026, 12, 7, 9, 0, tzinfo=VIETNAM), "moved by the 2 days waited"

    with pytest.raises(FailedPrecondition) as refused:
        service.request_supplement(d.code, "Lần hai", ["Giấy tờ khác"], OFFICER)
    assert refused.value.reason == "SUPPLEMENT_ALREADY_REQUESTED"
    assert dossiers.items[d.code].version == 3, "a refused action changes nothing"


@pytest.mark.parametrize("status, action", [
    (S.REFUSED, "refuse"), (S.SUPPLEMENT_REQUESTED, "refuse"), (S.NEW, "request_supplement"),
    (S.RECEIVED, "receive_supplement"), (S.RECEIVED, "accept"), (S.RESULT_RETURNED, "request_withdrawal"),
])
def test_actions_outside_their_statuses_are_refused(setup, status, action):
    service, dossiers, _ = setup
    d = dossiers.items.setdefault(_dossier().code, _dossier(status=status))
    calls = {"refuse": lambda: service.refuse(d.code, ["Không thuộc thẩm quyền"], OFFICER),
             "request_supplement": lambda: service.request_supplement(d.code, "Thiếu", ["X"], OFFICER),
             "receive_supplement": lambda: service.receive_supplement(d.code, "", OFFICER),
             "accept": lambda: service.accept(d.code, OFFICER),
             "request_withdrawal": lambda: service.request_withdrawal(d.code, "Không cần nữa", OFFICER)}
    with pytest.raises(FailedPrecondition) as refused:
        calls[action]()
    assert refused.value.reason == "ACTION_NOT_ALLOWED_IN_STATUS"
    assert refused.value.metadata["status"] == str(int(status))
    assert dossiers.items[d.code] == d and dossiers.events == []


def test_accepting_an_online_dossier_sets_its_appointment_and_emits_received(setup):
    service, dossiers, clock = setup
    d = dossiers.items.setdefault(_dossier().code, _dossier(status=S.NEW, appointment_at=None,
                                                            channel=domain.Channel.ONLINE))
    accepted = service.accept(d.code, OFFICER)
    assert accepted.status == S.RECEIVED and accepted.received_at == clock.now
    assert accepted.appointment_at == dt.datetime(2026, 12, 3, 10, 0, tzinfo=VIETNAM)
    assert isinstance(dossiers.events[-1], domain.DossierReceived)


def test_refusal_needs_reasons_and_records_them(setup):
    service, dossiers, _ = setup
    d = dossiers.items.setdefault(_dossier().code, _dossier(status=S.NEW))
    with pytest.raises(InvalidArgument):
        service.refuse(d.code, ["  "], OFFICER)
    refused = service.refuse(d.code, ["Hồ sơ không thuộc thẩm quyền", "Thiếu chữ ký"], OFFICER)
    assert refused.status == S.REFUSED
    assert dossiers.events[-1].reasons == ("Hồ sơ không thuộc thẩm quyền", "Thiếu chữ ký")


def test_withdrawal_is_recorded_from_any_open_status(setup):
    service, dossiers, _ = setup
    d = dossiers.items.setdefault(_dossier().code, _dossier(status=S.PROCESSING))
    withdrawn = service.request_withdrawal(d.code, "Công dân đổi ý", OFFICER)
    assert withdrawn.status == S.WITHDRAWAL_REQUESTED and "Công dân đổi ý" in withdrawn.history[-1].note


def test_other_agencies_and_unknown_codes(setup):
    service, dossiers, _ = setup
    d = dossiers.items.setdefault(_dossier().code, _dossier())
    with pytest.raises(PermissionDenied):
        service.refuse(d.code, ["x"], OTHER)
    with pytest.raises(NotFound):
        service.get(f"{UNIT.code}-261130-0999", OFFICER)
    with pytest.raises(InvalidArgument):
        service.get("HS-1", OFFICER)


def test_a_concurrent_change_is_aborted_and_changes_nothing(setup):
    service, dossiers, _ = setup
    d = dossiers.items.setdefault(_dossier().code, _dossier())
    dossiers.race = True
    with pytest.raises(ConcurrentChange) as aborted:
        service.request_withdrawal(d.code, "x", OFFICER)
    assert aborted.value.code == "ABORTED" and dossiers.items[d.code] == d
