"""Survey after the review (issue 12): an answer stored but never counted is counted from its
AnswerRecorded, once however often it comes; the per-field index, from the field intake now puts
in DossierResultReturned; and the questionnaire each agency's invitations ask. Over the shared
in-memory fakes; the worker's consumer through nameko's test tools (test_workers.hosted)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from nameko.testing.services import entrypoint_hook
from test_survey_service import channel  # noqa: F401 (a fixture: the chassis gRPC server over the fakes)
from test_workers import _duplicates, _green_waiter, hosted  # noqa: F401 (a fixture)

from onestop.events.v1 import intake_events_pb2 as iev
from onestop_chassis import auth, events
from onestop_chassis.errors import InvalidArgument, NotFound, PermissionDenied
from onestop_chassis.worktime import WorkingDuration
from onestop_intake.reception import domain as intake_domain
from onestop_intake.reception.adapters import events as intake_events
from onestop_survey.answers.adapters import events as answer_events
from onestop_survey.answers.limits import SurveyLimits
from onestop_survey.answers.worker import RecordedAnswers
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.indices.service import parse_query
from onestop_survey.invitations import domain
from onestop_survey.invitations.worker import ReturnedDossiers

from fakes import Clock, FakeAnswers, FakeInvitationStore, FakeQuestionnaires, FakeRatings, FakeTallyDays

UNIT, PARENT, OTHER_PARENT = "000.21.21.H17", "000.00.21.H17", "000.00.22.H17"
OTHER_UNIT = "000.21.22.H17"
NOW = dt.datetime(2026, 11, 17, 3, 0, tzinfo=dt.UTC)   # 10:00 in Vietnam
LEADER = auth.Principal(subject="leader", roles=frozenset({auth.UNIT_LEADER}), agency=PARENT)
ADMIN = auth.Principal(subject="admin", roles=frozenset({auth.AGENCY_ADMIN}), agency=PARENT)
OTHER_ADMIN = auth.Principal(subject="admin-2", roles=frozenset({auth.AGENCY_ADMIN}), agency=OTHER_PARENT)
SETTINGS = SurveySettings(survey_base_url="https://dvc.example.vn/khao-sat")
NINE = {str(i): 2 for i in range(1, 10)}   # 18 points: xuất sắc
OWN_FILE = """
- code: nhanh-3
  name: Phiếu nhanh của Sở
  scoring: none
  questions:
    - {id: q1, kind: choice, text: Ông/Bà có hài lòng không?,
       options: [{value: 1, label: Có}, {value: 0, label: Không}]}
"""


class Crashing(FakeTallyDays):
    """Tallies whose writer dies once, as the api process would between the sheet and its tallies."""
    crash = True

    def add_all(self, tallies):
        if self.crash:
            self.crash = False
            raise ConnectionError("the api process died after storing the sheet")
        super().add_all(tallies)


class World:
    def __init__(self, settings: SurveySettings = SETTINGS, tallies: FakeTallyDays | None = None):
        self.clock = Clock(NOW)
        self.invitation_store, self.answer_store = FakeInvitationStore(), FakeAnswers()
        self.questionnaire_store, self.tallies = FakeQuestionnaires(), tallies or FakeTallyDays()
        self.survey = bootstrap(settings, invitations=self.invitation_store, questionnaires=self.questionnaire_store,
                                answers=self.answer_store, ratings=FakeRatings(), tallies=self.tallies,
                                limits=SurveyLimits(), clock=self.clock)

    def invite(self, code: str = "000.21.21.H17-261117-0001", **changes) -> tuple[domain.Invitation, str]:
        event = domain.ResultReturned(
            event_id="e-1", dossier_code=code, agency_code=UNIT, parent_agency_code=PARENT,
            procedure_code="1.000948", procedure_name="Cấp phiếu lý lịch tư pháp", received_by="desk-an",
            returned_by="desk-binh", return_method=1, returned_at=NOW)
        invitation, _ = self.survey.invitations.issue(dataclasses.replace(event, **changes))
        return invitation, self.survey.invitations.desk_view(invitation).link.rsplit("/", 1)[1]

    def index(self, agency: str = PARENT, day: dt.date = dt.date(2026, 11, 17), **narrow):
        query = parse_query(agency, narrow.get("officer", ""), narrow.get("procedure", ""),
                            narrow.get("field", ""), day.isoformat(), day.isoformat())
        return self.survey.indices.index(query, dataclasses.replace(LEADER, agency=agency))


# --- 1. an answer stored but never counted ------------------------------------------------------
def _recorded_payload(world: World, invitation_id: str) -> dict:
    (kind, sheet), = [e for e in world.answer_store.events if e[1].invitation_id == invitation_id]
    return events.to_payload(answer_events.answer_recorded(sheet))


def _crashed_answer(world: World) -> domain.Invitation:
    """An answer whose sheet (with its AnswerRecorded) is stored and whose tallies are not."""
    invitation, token = world.invite()
    with pytest.raises(ConnectionError):
        world.survey.answers.submit(token, NINE)
    assert world.answer_store.get(invitation.id) is not None and world.tallies.items == {}
    return invitation


class RepairingWorker(RecordedAnswers):
    """The consumer alone (SurveyWorker also serves the page: nameko.web stays out of unit tests)."""
    name = "survey"


def test_an_answer_stored_without_its_tallies_is_counted_once_from_its_event_delivered_twice():
    world = World(tallies=Crashing())
    invitation = _crashed_answer(world)
    assert world.index().sheets == 0  # the index lost it
    payload = _recorded_payload(world, invitation.id)
    with hosted(RepairingWorker, SETTINGS, tally_repair=world.survey.tally_repair) as container:
        before = _duplicates("survey", "AnswerRecorded")
        with entrypoint_hook(container, "on_answer_recorded") as handle:
            assert handle(payload) is True
            stored = dict(world.tallies.items)
            assert handle(payload) is False  # a redelivery: counted once
    assert _duplicates("survey", "AnswerRecorded") == before + 1
    assert world.tallies.items == stored
    for agency in (PARENT, UNIT):
        index = world.index(agency)
        assert (index.sheets, index.total_points, index.grades) == (1, 18, {"xuat_sac": 1})
    assert world.index(officer="desk-binh").sheets == 1
    assert world.index(procedure="1.000948").sheets == 1


def test_the_event_of_an_answer_counted_already_changes_nothing():
    world = World()
    invitation, token = world.invite()
    world.survey.answers.submit(token, NINE)
    stored = dict(world.tallies.items)
    assert world.survey.tally_repair.rebuild(invitation.id) == 0
    assert world.tallies.items == stored and world.index().sheets == 1


def test_a_repair_after_the_day_was_rolled_up_is_counted():
    """A worker that was down past the day's end: the day's roll-up (written by the first index query
    after it closed) is dropped, so the next query rolls the day up again with the repaired answer."""
    world = World(tallies=Crashing())
    invitation = _crashed_answer(world)
    world.clock.now = NOW + dt.timedelta(days=2)
    assert world.index().sheets == 0 and world.tallies.days  # the closed day rolled up without it
    assert world.survey.tally_repair.rebuild(invitation.id) == len(world.tallies.items) > 0
    assert world.index().sheets == 1 and world.index(UNIT).sheets == 1


def test_the_event_of_a_sheet_that_is_not_stored_is_dead_lettered():
    from onestop_chassis.errors import PermanentError
    world = World()
    invitation, token = world.invite()
    world.survey.answers.submit(token, NINE)
    payload = _recorded_payload(world, invitation.id)
    world.answer_store.items.clear()
    with hosted(RepairingWorker, SETTINGS, tally_repair=world.survey.tally_repair) as container, \
            entrypoint_hook(container, "on_answer_recorded") as handle, pytest.raises(PermanentError):
        handle(payload)


def test_a_kiosk_rating_stored_without_its_tallies_is_counted_once_from_its_event_delivered_twice():
    from test_survey_service import World as KioskWorld
    from test_survey_service import index as kiosk_index
    world = KioskWorld()
    add_all = world.tallies.add_all

    def crash(tallies):
        world.tallies.add_all = add_all  # once: the api process died after storing the rating
        raise ConnectionError("the api process died after storing the rating")
    world.tallies.add_all = crash
    with pytest.raises(ConnectionError):
        world.rate("desk-an", 3)
    (rating,) = world.ratings.items
    assert world.tallies.items == {} and kiosk_index(world).ratings == 0  # stored, never counted
    payload = events.to_payload(answer_events.officer_rated(rating))
    with hosted(RepairingWorker, SETTINGS, tally_repair=world.survey.tally_repair) as container:
        before = _duplicates("survey", "OfficerRated")
        with entrypoint_hook(container, "on_officer_rated") as handle:
            assert handle(payload) is True
            stored = dict(world.tallies.items)
            assert handle(payload) is False  # a redelivery: counted once
    assert _duplicates("survey", "OfficerRated") == before + 1
    assert world.tallies.items == stored
    for agency in (UNIT, PARENT):  # the kiosk's unit and its agency
        found = kiosk_index(world, agency=agency)
        assert (found.ratings, found.levels) == (1, {3: 1}), agency
    assert kiosk_index(world, officer="desk-an").ratings == 1


def test_the_event_of_a_rating_that_is_not_stored_is_dead_lettered():
    from test_survey_service import World as KioskWorld

    from onestop_chassis.errors import PermanentError
    world = KioskWorld()
    world.rate("desk-an", 2)
    payload = events.to_payload(answer_events.officer_rated(world.ratings.items[0]))
    assert world.survey.tally_repair.rebuild_rating(world.ratings.items[0].id) == 0  # counted already
    world.ratings.items.clear()
    with hosted(RepairingWorker, SETTINGS, tally_repair=world.survey.tally_repair) as container, \
            entrypoint_hook(container, "on_officer_rated") as handle, pytest.raises(PermanentError):
        handle(payload)


# --- 2. the per-field index ---------------------------------------------------------------------
def test_intake_copies_the_procedures_field_at_reception_and_tells_it_when_the_result_returns():
    from test_intake_units_results import _finished

    from onestop_intake.catalogue import domain as catalogue
    from onestop_intake.units.domain import Unit
    procedure = catalogue.Procedure(code="1.000948", is_local_code=False, name="Cấp phiếu lý lịch tư pháp",
                                    field_code="ly_lich_tu_phap", competent_unit_code=PARENT,
                                    legal_duration=WorkingDuration(days=3))
    cmd = intake_domain.SubmitDossier(
        request_id="r-1", procedure_code=procedure.code, channel=intake_domain.Channel.IN_PERSON,
        applicant=intake_domain.Applicant(kind=intake_domain.ApplicantKind.PERSON, full_name="Nguyễn Văn An",
                                          citizen_id="001203004567", phone="0912345678"))
    dossier, _ = intake_domain.receive(cmd, request_id="r-1", code=f"{UNIT}-261117-0001", lookup_secret="ABCDEFGH",
                                       fingerprint="f", procedure=procedure, unit=Unit(UNIT, "Bộ phận Một cửa", PARENT),
                                       received_at=NOW, appointment_at=NOW + dt.timedelta(days=3), actor="desk-an")
    assert dossier.field_code == "ly_lich_tu_phap"
    d = _finished(field_code="ly_lich_tu_phap", status=intake_domain.DossierStatus.RESULT_RETURNED,
                  result_return=intake_domain.ResultReturn(NOW, intake_domain.ReturnMethod.AT_DESK, "desk-binh",
                                                           "Lê Văn Bình"))
    message = intake_events.to_message(intake_domain.DossierResultReturned(d))
    assert message.field_code == "ly_lich_tu_phap"


def test_the_field_is_stored_by_intakes_repository():
    from test_intake_units_results import _finished

    from onestop_intake.reception.adapters import mongo as intake_mongo
    d = _finished(field_code="ho_tich")
    assert intake_mongo._to_doc(d, []).field_code == "ho_tich"
    assert intake_mongo._from_doc(intake_mongo._to_doc(d, [])).field_code == "ho_tich"


class InvitingWorker(ReturnedDossiers):
    name = "survey"


def _returned_payload(code: str, field_code: str) -> dict:
    message = iev.DossierResultReturned(header=events.new_header("intake"), dossier_code=code, method=1,
                                        procedure_code="1.000948", procedure_name="Cấp phiếu lý lịch tư pháp",
                                        receiving_agency_code=PARENT, received_by="desk-an", returned_by="desk-binh",
                                        field_code=field_code)
    message.receiving_unit.code = UNIT
    message.returned_at.FromDatetime(NOW)
    return events.to_payload(message)


def test_answers_are_indexed_per_field_of_their_procedure():
    world = World()
    with hosted(InvitingWorker, SETTINGS, invitations=world.survey.invitations) as container, \
            entrypoint_hook(container, "on_result_returned") as handle:
        for n, field in enumerate(("ly_lich_tu_phap", "ly_lich_tu_phap", "ho_tich", ""), 1):
            assert handle(_returned_payload(f"{UNIT}-261117-{n:04d}", field)) is True
    tokens = {}
    for item in world.invitation_store.items.values():
        tokens[item.dossier_code] = (item.field_code, world.survey.invitations.desk_view(item).link.rsplit("/", 1)[1])
    low = {**NINE, "9": 0, "8": 0, "7": 0}   # 12 points: tốt
    for field, token in tokens.values():
        world.survey.answers.submit(token, low if field == "ho_tich" else NINE)
    for agency in (PARENT, UNIT):
        lltp, hotich = world.index(agency, field="ly_lich_tu_phap"), world.index(agency, field="ho_tich")
        assert (lltp.sheets, lltp.total_points, lltp.grades) == (2, 36, {"xuat_sac": 2})
        assert (hotich.sheets, hotich.total_points, hotich.grades) == (1, 12, {"tot": 1})
        assert world.index(agency, field="dat_dai").sheets == 0
        assert world.index(agency).sheets == 4  # the one without a field counts in the agency's total only


# --- 3. each agency's invitation questionnaire --------------------------------------------------
def test_two_agencies_invite_with_their_own_choice_and_others_with_the_default():
    world = World()
    world.survey.questionnaires.put(PARENT, OWN_FILE.encode(), "yaml", ADMIN)
    chosen = world.survey.questionnaires.choose_for_invitations(PARENT, "nhanh-3", ADMIN)
    assert (chosen.questionnaire.code, chosen.questionnaire.version, chosen.platform_default) == ("nhanh-3", 1, False)
    other = world.survey.questionnaires.choose_for_invitations(OTHER_PARENT, "sipas-5", OTHER_ADMIN)
    assert (other.questionnaire.code, other.platform_default) == ("sipas-5", False)
    own, token = world.invite()
    assert (own.questionnaire_code, own.questionnaire_version) == ("nhanh-3", 1)
    assert world.survey.answers.survey(token)[1].code == "nhanh-3"
    assert world.survey.answers.submit(token, {"q1": 1}).questionnaire_code == "nhanh-3"
    theirs, _ = world.invite(f"{OTHER_UNIT}-261117-0001", agency_code=OTHER_UNIT, parent_agency_code=OTHER_PARENT)
    assert theirs.questionnaire_code == "sipas-5"
    third, _ = world.invite("000.21.23.H17-261117-0001", agency_code="000.21.23.H17",
                            parent_agency_code="000.00.23.H17")
    assert third.questionnaire_code == SETTINGS.invitation_questionnaire == "tt01-9"
    back = world.survey.questionnaires.choose_for_invitations(PARENT, "", ADMIN)
    assert (back.questionnaire.code, back.platform_default) == ("tt01-9", True)
    assert world.invite(f"{UNIT}-261117-0002")[0].questionnaire_code == "tt01-9"
    assert world.invitation_store.get(own.id).questionnaire_code == "nhanh-3"  # issued before: unchanged


def test_a_root_unit_chooses_under_its_own_code_and_the_default_follows_the_setting():
    world = World(SurveySettings(survey_base_url="https://dvc.example.vn/khao-sat", invitation_questionnaire="kiosk-3"))
    assert world.invite()[0].questionnaire_code == "kiosk-3"
    root = auth.Principal(subject="admin", roles=frozenset({auth.AGENCY_ADMIN}), agency=UNIT)
    world.survey.questionnaires.choose_for_invitations(UNIT, "sipas-5", root)
    assert world.invite(f"{UNIT}-261117-0002", parent_agency_code="")[0].questionnaire_code == "sipas-5"


def test_a_unit_below_an_agency_chooses_for_itself_and_its_choice_comes_first():
    world = World()
    unit_admin = auth.Principal(subject="admin-u", roles=frozenset({auth.AGENCY_ADMIN}), agency=UNIT)
    world.survey.questionnaires.put(UNIT, OWN_FILE.encode(), "yaml", unit_admin)   # the unit's own
    world.survey.questionnaires.choose_for_invitations(PARENT, "sipas-5", ADMIN)
    world.survey.questionnaires.choose_for_invitations(UNIT, "nhanh-3", unit_admin)
    own, token = world.invite()
    assert own.questionnaire_code == "nhanh-3"
    assert world.survey.answers.survey(token)[1].code == "nhanh-3"
    sheet = world.survey.answers.submit(token, {"q1": 1})
    assert world.survey.answers.questionnaire_of(sheet).code == "nhanh-3"
    sibling, _ = world.invite("000.22.21.H17-261117-0001", agency_code="000.22.21.H17")
    assert sibling.questionnaire_code == "sipas-5"   # another unit of the agency follows the agency


# The agency's own questionnaire of the same code as the unit's (review 12: it once replaced the unit's).
AGENCY_FILE = OWN_FILE.replace("Phiếu nhanh của Sở", "Phiếu nhanh của UBND").replace(
    "Ông/Bà có hài lòng không?", "Câu hỏi của UBND")


def test_an_invitation_keeps_the_owner_of_its_questionnaire_and_reads_only_that_owners():
    world = World()
    unit_admin = auth.Principal(subject="admin-u", roles=frozenset({auth.AGENCY_ADMIN}), agency=UNIT)
    world.survey.questionnaires.put(UNIT, OWN_FILE.encode(), "yaml", unit_admin)
    world.survey.questionnaires.put(PARENT, AGENCY_FILE.encode(), "yaml", ADMIN)   # same code, the agency's
    world.survey.questionnaires.choose_for_invitations(UNIT, "nhanh-3", unit_admin)
    invitation, token = world.invite()
    assert (invitation.questionnaire_owner, invitation.questionnaire_code, invitation.questionnaire_version) == (
        UNIT, "nhanh-3", 1)
    shown = world.survey.answers.survey(token)[1]
    assert (shown.agency_code, shown.name) == (UNIT, "Phiếu nhanh của Sở")
    sheet = world.survey.answers.submit(token, {"q1": 1})
    assert sheet.questionnaire_owner == UNIT and world.survey.answers.questionnaire_of(sheet).agency_code == UNIT
    assert world.survey.tally_repair.rebuild(invitation.id) == 0  # the repair reads the same questionnaire
    # The agency's choice of its own code: its units without a choice ask the agency's, kept as issued.
    world.survey.questionnaires.choose_for_invitations(PARENT, "nhanh-3", ADMIN)
    sibling, sibling_token = world.invite("000.22.21.H17-261117-0001", agency_code="000.22.21.H17")
    assert sibling.questionnaire_owner == PARENT
    world.survey.questionnaires.put(PARENT, AGENCY_FILE.replace("UBND", "UBND (bản 2)").encode(), "yaml", ADMIN)
    assert world.survey.answers.survey(sibling_token)[1].name == "Phiếu nhanh của UBND"  # version 1, as issued


def test_an_invitation_stored_before_its_owner_was_kept_reads_its_units_own_first():
    world = World()
    unit_admin = auth.Principal(subject="admin-u", roles=frozenset({auth.AGENCY_ADMIN}), agency=UNIT)
    world.survey.questionnaires.put(UNIT, OWN_FILE.encode(), "yaml", unit_admin)
    world.survey.questionnaires.put(PARENT, AGENCY_FILE.encode(), "yaml", ADMIN)
    world.survey.questionnaires.choose_for_invitations(UNIT, "nhanh-3", unit_admin)
    invitation, token = world.invite()
    world.invitation_store.items[invitation.id] = dataclasses.replace(invitation, questionnaire_owner="")
    assert world.survey.answers.survey(token)[1].agency_code == UNIT


@pytest.mark.parametrize(("agency", "code", "actor", "error", "reason"), [
    (PARENT, "khong-co", ADMIN, NotFound, "QUESTIONNAIRE_NOT_FOUND"),        # neither built in nor its own
    (PARENT, "nhanh-3", OTHER_ADMIN, PermissionDenied, "OTHER_AGENCY"),
    (OTHER_PARENT, "nhanh-3", OTHER_ADMIN, NotFound, "QUESTIONNAIRE_NOT_FOUND"),  # another agency's own
    ("khong-phai-ma", "tt01-9", ADMIN, InvalidArgument, "INVALID_FIELDS"),
    (PARENT, "Có Dấu", ADMIN, InvalidArgument, "INVALID_FIELDS"),
])
def test_a_bad_choice_is_refused_and_changes_nothing(agency, code, actor, error, reason):
    world = World()
    world.survey.questionnaires.put(PARENT, OWN_FILE.encode(), "yaml", ADMIN)
    world.survey.questionnaires.choose_for_invitations(PARENT, "sipas-5", ADMIN)
    before = dict(world.questionnaire_store.choices)
    with pytest.raises(error) as refused:
        world.survey.questionnaires.choose_for_invitations(agency, code, actor)
    assert refused.value.reason == reason
    assert world.questionnaire_store.choices == before == {PARENT: "sipas-5"}


# --- SetInvitationQuestionnaire through the chassis' gRPC server ----------------------------------
def test_the_admin_chooses_through_the_rpc_and_a_bad_choice_gets_its_status(channel):  # noqa: F811 (the fixture)
    import grpc
    from test_survey_service import PARENT as SERVICE_PARENT
    from test_survey_service import UNIT as SERVICE_UNIT
    from test_survey_service import _reason

    from onestop.survey.v1 import survey_pb2
    stub, settings, world = channel

    def admin(agency: str) -> tuple:
        minted = auth.mint_token(settings.jwt_secret, subject="admin", roles=[auth.AGENCY_ADMIN], agency=agency)
        return (("authorization", f"Bearer {minted}"),)

    chosen = stub.SetInvitationQuestionnaire(survey_pb2.SetInvitationQuestionnaireRequest(
        agency_code=f" {SERVICE_UNIT} ", questionnaire_code="sipas-5"), metadata=admin(SERVICE_UNIT), timeout=10)
    assert (chosen.agency_code, chosen.questionnaire_code, chosen.questionnaire_version, chosen.platform_default) \
        == (SERVICE_UNIT, "sipas-5", 1, False)
    assert world.invite()[0].questionnaire_code == "sipas-5"
    for request, metadata, code, reason in (
            (dict(agency_code=SERVICE_UNIT, questionnaire_code="khong-co"), admin(SERVICE_UNIT),
             grpc.StatusCode.NOT_FOUND, "QUESTIONNAIRE_NOT_FOUND"),
            (dict(agency_code=SERVICE_UNIT, questionnaire_code="tt01-9"), admin(OTHER_PARENT),
             grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY"),
            (dict(agency_code="", questionnaire_code="tt01-9"), admin(SERVICE_UNIT),
             grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELDS")):
        with pytest.raises(grpc.RpcError) as refused:
            stub.SetInvitationQuestionnaire(survey_pb2.SetInvitationQuestionnaireRequest(**request),
                                            metadata=metadata, timeout=10)
        assert (refused.value.code(), _reason(refused.value)) == (code, reason)
    assert world.survey.questionnaires.for_invitations(SERVICE_UNIT, SERVICE_PARENT).code == "sipas-5"
    back = stub.SetInvitationQuestionnaire(survey_pb2.SetInvitationQuestionnaireRequest(
        agency_code=SERVICE_UNIT), metadata=admin(SERVICE_UNIT), timeout=10)
    assert (back.questionnaire_code, back.platform_default) == ("tt01-9", True)
