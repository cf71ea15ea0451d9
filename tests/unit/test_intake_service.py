import dataclasses
import datetime as dt

import pytest

from onestop_chassis import auth, codes, worktime
from onestop_chassis.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from onestop_chassis.worktime import VIETNAM, WorkingCalendar
from onestop_intake.catalogue import domain as catalogue_domain
from onestop_intake.reception import domain, service
from onestop_intake.units import domain as units

from fakes import FakeCatalogue, FakeDossiers, FakeSequence

UNIT = units.Unit("000.00.21.H17", "Sở Tư pháp")
# A shared desk that also receives for UNIT.
OTHER_UNIT = units.Unit("000.00.22.H17", "Trung tâm Phục vụ hành chính công", kind=units.UnitKind.DESK,
                         receives_for=(UNIT.code,))
PROCEDURE = catalogue_domain.Procedure("1.000948", "Cấp phiếu lý lịch tư pháp", worktime.WorkingDuration(days=3),
                                       UNIT.code)
RETIRED = catalogue_domain.Procedure("1.000001", "Thủ tục đã bãi bỏ", worktime.WorkingDuration(days=5), UNIT.code,
                                     active=False)
# 18:00 UTC on Monday 16/11/2026 is already 01:00 on Tuesday 17/11 in Vietnam.
NOW = dt.datetime(2026, 11, 16, 18, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 17)  # the Vietnam-local day of NOW: the day of the code sequence

OFFICER = auth.Principal("officer-1", frozenset({auth.DESK_OFFICER}), UNIT.code)
OTHER_OFFICER = auth.Principal("officer-9", frozenset({auth.DESK_OFFICER}), OTHER_UNIT.code)
CITIZEN = auth.Principal("citizen-1", frozenset({auth.CITIZEN}))
PARTNER = auth.Principal("postal-gateway", frozenset({auth.SERVICE}))
APPLICANT = domain.Applicant(kind=domain.ApplicantKind.PERSON, full_name="Nguyễn Văn An",
                             citizen_id="001203004567", phone="0912.345.678")


def _code(unit: units.Unit, sequence: int, day: dt.date = DAY) -> str:
    return codes.dossier_code(unit.code, day, sequence)


@pytest.fixture
def dossiers():
    return FakeDossiers()


@pytest.fixture
def sequence():
    return FakeSequence()


@pytest.fixture
def catalogue():
    return FakeCatalogue((PROCEDURE, RETIRED), (UNIT, OTHER_UNIT))


@pytest.fixture
def intake(dossiers, catalogue, sequence):
    return service.IntakeService(dossiers, catalogue, sequence, WorkingCalendar(), clock=lambda: NOW)


def _cmd(**changes) -> domain.SubmitDossier:
    base = domain.SubmitDossier(request_id="req-1", procedure_code=PROCEDURE.code, applicant=APPLICANT,
                                channel=domain.Channel.IN_PERSON)
    return dataclasses.replace(base, **changes)


# --- receiving ---------------------------------------------------------------------------------

def test_desk_submission_is_received_with_code_and_appointment(intake, dossiers, sequence):
    result = intake.submit(_cmd(), OFFICER)
    dossier = result.dossier
    assert not result.replayed
    assert dossier.code == "000.00.21.H17-261117-0001"  # the Vietnam-local date
    assert dossier.request_id == "req-1"
    assert dossier.status == domain.DossierStatus.RECEIVED
    assert dossier.receiving_unit.code == UNIT.code
    assert dossier.received_at == NOW
    # Received at 01:00 on Tuesday: counts from 07:30 that day, three working days on.
    assert dossier.appointment_at == dt.datetime(2026, 11, 20, 7, 30, tzinfo=VIETNAM)
    assert dossier.appointment_at == WorkingCalendar().add(NOW, PROCEDURE.legal_duration)
    assert dossier.applicant.phone == "0912345678"
    assert [t.status for t in dossier.history] == [domain.DossierStatus.RECEIVED]
    assert [t.actor for t in dossier.history] == [OFFICER.subject]
    stored, events = dossiers.stored[(UNIT.code, "req-1")]
    assert stored is dossier
    assert events == [domain.DossierReceived(dossier)]
    assert sequence.taken_calls == [(UNIT.code, DAY, 1)]


def test_received_at_is_kept_to_the_millisecond(dossiers, catalogue, sequence):
    precise = NOW.replace(microsecond=123456)
    intake = service.IntakeService(dossiers, catalogue, sequence, clock=lambda: precise)
    assert intake.submit(_cmd(), OFFICER).dossier.received_at == NOW.replace(microsecond=123000)


def test_codes_follow_the_days_sequence(intake, sequence):
    first = intake.submit(_cmd(request_id="a"), OFFICER).dossier
    second = intake.submit(_cmd(request_id="b"), OFFICER).dossier
    assert (first.code, second.code) == ("000.00.21.H17-261117-0001", "000.00.21.H17-261117-0002")
    assert sequence.taken_calls == [(UNIT.code, DAY, 1), (UNIT.code, DAY, 2)]


def test_each_unit_has_its_own_sequence(intake, sequence):
    intake.submit(_cmd(request_id="a"), OFFICER)
    other = intake.submit(_cmd(request_id="b", receiving_unit_code=OTHER_UNIT.code), PARTNER).dossier
    assert other.code == _code(OTHER_UNIT, 1)
    assert sequence.taken_calls[-1] == (OTHER_UNIT.code, DAY, 1)


def test_the_hint_gives_the_first_candidate(catalogue):
    """Numbers 1-4 are taken and the hint knows it: 0005 is tried first and stored."""
    dossiers = FakeDossiers(taken_codes=[_code(UNIT, n) for n in range(1, 5)])
    sequence = FakeSequence({(UNIT.code, DAY): 4})
    intake = service.IntakeService(dossiers, catalogue, sequence, clock=lambda: NOW)
    assert intake.submit(_cmd(), OFFICER).dossier.code == _code(UNIT, 5)
    assert dossiers.attempts == [_code(UNIT, 5)]
    assert sequence.taken_calls == [(UNIT.code, DAY, 5)]


def test_taken_codes_are_skipped_when_the_hint_is_behind(catalogue):
    """Other desks stored 0001 and 0002 but the hint still says 0: the insert clashes, then 0003."""
    dossiers = FakeDossiers(taken_codes=[_code(UNIT, 1), _code(UNIT, 2)])
    sequence = FakeSequence()
    intake = service.IntakeService(dossiers, catalogue, sequence, clock=lambda: NOW)

    result = intake.submit(_cmd(), OFFICER)

    assert not result.replayed
    assert result.dossier.code == _code(UNIT, 3)
    assert dossiers.attempts == [_code(UNIT, 1), _code(UNIT, 2), _code(UNIT, 3)]
    assert [(after, answer) for _, _, after, answer in sequence.candidates] == [(0, 1), (1, 2), (2, 3)]
    assert sequence.taken_calls == [(UNIT.code, DAY, 3)]  # the number really used, once
    stored, events = dossiers.stored[(UNIT.code, "req-1")]
    assert stored is result.dossier and events == [domain.DossierReceived(result.dossier)]
    # The hint learnt it: the next dossier is 0004 at the first try.
    assert intake.submit(_cmd(request_id="req-2"), OFFICER).dossier.code == _code(UNIT, 4)
    assert dossiers.attempts[-1:] == [_code(UNIT, 4)] and len(dossiers.attempts) == 4


class ClashingDossiers(FakeDossiers):
    """Every code is taken by the time this desk inserts it (an endless stream of concurrent desks)."""

    def add(self, dossier, events):
        self.attempts.append(dossier.code)
        raise service.CodeTaken(dossier.code)


def test_endless_code_clashes_end_in_unavailable(catalogue, sequence):
    dossiers = ClashingDossiers()
    intake = service.IntakeService(dossiers, catalogue, sequence, clock=lambda: NOW)
    with pytest.raises(Unavailable) as info:
        intake.submit(_cmd(), OFFICER)
    assert info.value.reason == "CODE_ALLOCATION_BUSY"
    assert len(dossiers.attempts) == service.MAX_CODE_ATTEMPTS
    assert dossiers.attempts == [_code(UNIT, n) for n in range(1, service.MAX_CODE_ATTEMPTS + 1)]
    assert sequence.taken_calls == []
    assert dossiers.stored == {}


class DownDossiers(FakeDossiers):
    """The store stopped answering during the insert."""

    def add(self, dossier, events):
        raise ConnectionError("the database is not answering")


def test_a_store_that_fails_the_insert_gives_the_units_day_to_the_next_caller(catalogue, sequence):
    intake = service.IntakeService(DownDossiers(), catalogue, sequence, clock=lambda: NOW)
    with pytest.raises(ConnectionError):
        intake.submit(_cmd(), OFFICER)
    assert sequence.abandoned == [(UNIT.code, DAY)]  # else every waiting caller sat out the 5 s lease
    assert sequence.taken_calls == []


def test_online_submission_by_a_citizen_is_registered(intake, dossiers):
    dossier = intake.submit(_cmd(channel=domain.Channel.ONLINE), CITIZEN).dossier
    assert dossier.status == domain.DossierStatus.NEW
    assert dossier.appointment_at is None
    assert dossier.receiving_unit.code == UNIT.code  # the procedure's competent unit
    assert dossier.code == _code(UNIT, 1)
    assert dossiers.stored[(UNIT.code, "req-1")][1] == [domain.DossierSubmitted(dossier)]


def test_service_may_receive_for_any_unit(intake):
    dossier = intake.submit(_cmd(receiving_unit_code=OTHER_UNIT.code), PARTNER).dossier
    assert dossier.code.startswith(OTHER_UNIT.code + "-")
    assert dossier.receiving_unit.code == OTHER_UNIT.code


def test_submissions_without_request_id_are_never_replayed(intake, dossiers):
    first = intake.submit(_cmd(request_id=""), OFFICER).dossier
    second = intake.submit(_cmd(request_id=""), OFFICER).dossier
    assert (first.code, second.code) == (_code(UNIT, 1), _code(UNIT, 2))
    assert first.request_id.startswith("auto-") and first.request_id != second.request_id
    assert len(dossiers.stored) == 2
    assert dossiers.lookups == []  # nothing to replay without a request_id


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", [domain.Channel.IN_PERSON, domain.Channel.POSTAL])
def test_citizens_may_not_use_desk_channels(intake, dossiers, channel):
    cmd = _cmd(channel=channel, applicant=dataclasses.replace(APPLICANT, address=domain.Address(line="12 Lê Lợi")))
    with pytest.raises(PermissionDenied) as info:
        intake.submit(cmd, CITIZEN)
    assert info.value.reason == "CHANNEL_NOT_ALLOWED"
    assert dossiers.stored == {}
    assert dossiers.attempts == []


def test_officer_of_another_agency_is_refused(intake, dossiers, sequence):
    with pytest.raises(PermissionDenied) as info:
        intake.submit(_cmd(receiving_unit_code=OTHER_UNIT.code), OFFICER)
    assert info.value.reason == "OTHER_AGENCY"
    assert dossiers.stored == {} and dossiers.attempts == []
    assert sequence.candidates == []


def test_unknown_procedure(intake, dossiers):
    with pytest.raises(NotFound) as info:
        intake.submit(_cmd(procedure_code="9.999999"), OFFICER)
    assert info.value.reason == "PROCEDURE_NOT_FOUND"
    assert info.value.metadata == {"procedure_code": "9.999999"}
    assert dossiers.stored == {}


def test_inactive_procedure(intake, dossiers, sequence):
    with pytest.raises(FailedPrecondition) as info:
        intake.submit(_cmd(procedure_code=RETIRED.code), OFFICER)
    assert info.value.reason == "PROCEDURE_INACTIVE"
    assert dossiers.stored == {} and dossiers.attempts == []
    assert sequence.candidates == []


def test_authorisation_comes_before_the_inactive_procedure_check(intake):
    with pytest.raises(PermissionDenied) as info:
        intake.submit(_cmd(procedure_code=RETIRED.code, receiving_unit_code=OTHER_UNIT.code), OFFICER)
    assert info.value.reason == "OTHER_AGENCY"


def test_unknown_receiving_unit(dossiers, sequence):
    intake = service.IntakeService(dossiers, FakeCatalogue((PROCEDURE, RETIRED), ()), sequence, clock=lambda: NOW)
    with pytest.raises(NotFound) as info:
        intake.submit(_cmd(), OFFICER)
    assert info.value.reason == "UNIT_NOT_FOUND"
    assert info.value.metadata == {"unit_code": UNIT.code}
    assert dossiers.stored == {} and sequence.candidates == []


def test_invalid_command_is_refused_before_anything_else(intake, dossiers):
    with pytest.raises(InvalidArgument):
        intake.submit(_cmd(channel=0), OFFICER)
    assert dossiers.stored == {}
    assert dossiers.lookups == []


def test_staff_token_without_agency_needs_a_receiving_unit(intake, dossiers):
    agencyless = auth.Principal("officer-2", frozenset({auth.DESK_OFFICER}))
    with pytest.raises(InvalidArgument) as info:
        intake.submit(_cmd(), agencyless)
    assert [v.field for v in info.value.violations] == ["receiving_unit_code"]
    assert dossiers.stored == {}


# --- retries (request_id) ----------------------------------------------------------------------

def test_same_request_twice_returns_the_same_dossier(intake, dossiers, sequence):
    first = intake.submit(_cmd(), OFFICER)
    again = intake.submit(_cmd(), OFFICER)
    assert again.replayed and not first.replayed
    assert again.dossier is first.dossier
    assert len(dossiers.stored) == 1
    assert dossiers.attempts == [first.dossier.code]  # the replay stores nothing
    assert sequence.taken_calls == [(UNIT.code, DAY, 1)]


def test_naming_the_own_unit_explicitly_is_the_same_request(intake):
    first = intake.submit(_cmd(), OFFICER).dossier
    again = intake.submit(_cmd(receiving_unit_code=UNIT.code), OFFICER)
    assert again.replayed and again.dossier is first


def test_same_request_id_with_other_content_is_refused(intake, dossiers):
    intake.submit(_cmd(), OFFICER)
    with pytest.raises(AlreadyExists) as info:
        intake.submit(_cmd(request_content="something else"), OFFICER)
    assert info.value.reason == "REQUEST_ID_REUSED"
    assert info.value.metadata == {"request_id": "req-1"}
    assert len(dossiers.stored) == 1


def test_request_id_reused_does_not_reveal_the_other_dossier(intake):
    first = intake.submit(_cmd(), OFFICER).dossier
    with pytest.raises(AlreadyExists) as info:
        intake.submit(_cmd(request_content="something else"), OFFICER)
    error = info.value
    assert "dossier_code" not in error.metadata
    assert first.code not in error.metadata.values()
    assert first.code not in str(error) and first.code not in error.message


def test_same_request_id_for_another_unit_is_another_request(intake, dossiers):
    """request_ids are scoped by receiving unit: the same id at another desk is a new dossier."""
    first = intake.submit(_cmd(receiving_unit_code=UNIT.code), PARTNER)
    second = intake.submit(_cmd(receiving_unit_code=OTHER_UNIT.code), PARTNER)
    assert not second.replayed and second.dossier.code != first.dossier.code
    assert second.dossier.receiving_unit.code == OTHER_UNIT.code
    assert set(dossiers.stored) == {(UNIT.code, "req-1"), (OTHER_UNIT.code, "req-1")}


def test_officer_of_another_agency_cannot_replay_its_request(intake, dossiers):
    intake.submit(_cmd(receiving_unit_code=UNIT.code), OFFICER)
    lookups = len(dossiers.lookups)
    with pytest.raises(PermissionDenied) as info:
        intake.submit(_cmd(receiving_unit_code=UNIT.code), OTHER_OFFICER)
    assert info.value.reason == "OTHER_AGENCY"
    assert len(dossiers.lookups) == lookups  # refused before the request_id was even looked up


def test_another_agency_reusing_a_request_id_neither_sees_nor_blocks_the_first(intake, dossiers):
    first = intake.submit(_cmd(), OFFICER).dossier
    other = intake.submit(_cmd(), OTHER_OFFICER)
    assert not other.replayed and other.dossier.code != first.code
    assert other.dossier.receiving_unit.code == OTHER_OFFICER.agency
    assert len(dossiers.stored) == 2


def test_citizen_cannot_replay_a_desk_request(intake):
    intake.submit(_cmd(), OFFICER)
    with pytest.raises(PermissionDenied) as info:
        intake.submit(_cmd(), CITIZEN)
    assert info.value.reason == "CHANNEL_NOT_ALLOWED"


def test_retry_is_replayed_after_the_procedure_was_deactivated(intake, dossiers, catalogue):
    first = intake.submit(_cmd(), OFFICER).dossier
    catalogue.procedures[PROCEDURE.code] = dataclasses.replace(PROCEDURE, active=False)

    again = intake.submit(_cmd(), OFFICER)
    assert again.replayed and again.dossier is first

    with pytest.raises(FailedPrecondition) as info:  # a new submission is refused
        intake.submit(_cmd(request_id="req-2"), OFFICER)
    assert info.value.reason == "PROCEDURE_INACTIVE"
    assert list(dossiers.stored) == [(UNIT.code, "req-1")]


class RacingDossiers(FakeDossiers):
    """A concurrent retry stored the dossier between this request's lookup and its insert."""

    blind_lookups = 0

    def by_request_id(self, unit_code, request_id):
        if self.blind_lookups:
            self.blind_lookups -= 1
            self.lookups.append(request_id)
            return None
        return super().by_request_id(unit_code, request_id)


@pytest.mark.parametrize("hint", [1, 0], ids=["hint-current", "hint-behind"])
def test_concurrent_retry_is_a_replay(catalogue, hint):
    """With the hint behind, the retry's candidate is the very code the first insert used: the
    request_id clash must still win over the code clash."""
    dossiers = RacingDossiers()
    sequence = FakeSequence()
    intake = service.IntakeService(dossiers, catalogue, sequence, clock=lambda: NOW)
    first = intake.submit(_cmd(), OFFICER).dossier
    sequence.highest[UNIT.code, DAY] = hint
    dossiers.blind_lookups = 1

    again = intake.submit(_cmd(), OFFICER)

    assert again.replayed and again.dossier is first
    assert len(dossiers.stored) == 1
    assert dossiers.attempts[-1] == _code(UNIT, hint + 1)
    assert sequence.taken_calls == [(UNIT.code, DAY, 1)]  # the replay took no number


def test_concurrent_request_with_other_content_is_refused(catalogue, sequence):
    dossiers = RacingDossiers()
    intake = service.IntakeService(dossiers, catalogue, sequence, clock=lambda: NOW)
    first = intake.submit(_cmd(), OFFICER).dossier
    dossiers.blind_lookups = 1
    with pytest.raises(AlreadyExists) as info:
        intake.submit(_cmd(request_content="something else"), OFFICER)
    assert info.value.reason == "REQUEST_ID_REUSED"
    assert info.value.metadata == {"request_id": "req-1"}
    assert first.code not in str(info.value)
    assert len(dossiers.stored) == 1


def test_the_received_event_carries_the_procedures_process_code_for_routing(dossiers, sequence):
    """Routing opens the case with the process template the catalogue names (issue 11)."""
    from onestop_intake.reception.adapters.events import to_message
    with_process = dataclasses.replace(PROCEDURE, process_code="QT.LLTP.01")
    intake = service.IntakeService(dossiers, FakeCatalogue((with_process,), (UNIT,)), sequence, WorkingCalendar(),
                                   clock=lambda: NOW)
    dossier = intake.submit(_cmd(), OFFICER).dossier
    assert dossier.process_code == "QT.LLTP.01"
    assert to_message(domain.DossierReceived(dossier)).process_code == "QT.LLTP.01"


def test_the_received_event_names_the_agency_the_receiving_unit_belongs_to(dossiers, sequence):
    """Routing runs the agency's own process template for a desk of that agency (its parent unit)."""
    from onestop_intake.reception.adapters.events import to_message
    child = dataclasses.replace(UNIT, parent_code="000.00.00.H17")
    intake = service.IntakeService(dossiers, FakeCatalogue((PROCEDURE,), (child,)), sequence, WorkingCalendar(),
                                   clock=lambda: NOW)
    dossier = intake.submit(_cmd(), OFFICER).dossier
    assert to_message(domain.DossierReceived(dossier)).receiving_agency_code == "000.00.00.H17"
