"""Survey (issue 12, items 2-4): invitations per returned dossier, the citizen's one answer, the
counter kiosk's ratings under their limits, and the indices, over the shared in-memory fakes; then
the RPCs through the chassis' real gRPC server wired by the composition root, and the worker's
consumer of intake's DossierResultReturned through nameko's test tools."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from test_workers import _duplicates, _green_waiter, hosted  # noqa: F401 (a fixture)

from onestop.events.v1 import intake_events_pb2 as iev
from onestop.survey.v1 import survey_pb2, survey_pb2_grpc
from onestop_chassis import auth, events
from onestop_chassis.config import load_settings
from onestop_chassis.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from onestop_chassis.grpc_server import GrpcServer
from onestop_intake.reception import domain as intake_domain
from onestop_intake.reception.adapters import events as intake_events
from onestop_survey import api
from onestop_survey.answers.adapters.events import answer_recorded, officer_rated
from onestop_survey.answers.domain import AnswerSheet
from onestop_survey.answers.limits import SurveyLimits
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.indices.service import parse_query
from onestop_survey.invitations import domain
from onestop_survey.invitations.worker import ReturnedDossiers

from fakes import (
    Clock,
    FakeAnswers,
    FakeInvitationStore,
    FakeKiosks,
    FakeQuestionnaires,
    FakeRatings,
    FakeTallyDays,
    FakeUnitTree,
)

UNIT, PARENT, OTHER_UNIT = "000.21.21.H17", "000.00.21.H17", "000.00.22.H17"
NOW = dt.datetime(2026, 11, 17, 3, 0, tzinfo=dt.UTC)   # 10:00 in Vietnam
OFFICER = auth.Principal(subject="officer", roles=frozenset({auth.DESK_OFFICER}), agency=UNIT)
LEADER = auth.Principal(subject="leader", roles=frozenset({auth.UNIT_LEADER}), agency=UNIT)
SETTINGS = SurveySettings(survey_base_url="https://dvc.example.vn/khao-sat")


def returned(code: str = "000.21.21.H17-261117-0001", **changes) -> domain.ResultReturned:
    event = domain.ResultReturned(
        event_id="e-1", dossier_code=code, agency_code=UNIT, parent_agency_code=PARENT, procedure_code="1.000948",
        procedure_name="Cấp phiếu lý lịch tư pháp", received_by="desk-an", returned_by="desk-binh",
        return_method=1, returned_at=NOW)
    return dataclasses.replace(event, **changes)


class World:
    def __init__(self, settings: SurveySettings = SETTINGS, **limits):
        self.clock = Clock(NOW)
        self.invitation_store, self.answer_store = FakeInvitationStore(), FakeAnswers()
        self.ratings, self.tallies = FakeRatings(), FakeTallyDays()
        self.kiosks, self.units = FakeKiosks(), FakeUnitTree({UNIT: PARENT, PARENT: "", OTHER_UNIT: ""})
        self.survey = bootstrap(settings, invitations=self.invitation_store, questionnaires=FakeQuestionnaires(),
                                answers=self.answer_store, ratings=self.ratings, tallies=self.tallies,
                                limits=SurveyLimits(**limits), clock=self.clock, kiosks=self.kiosks,
                                units=self.units)
        self.key = self.survey.answers.kiosks.register(UNIT, "k1", LEADER)[1]  # the unit's kiosk k1
        self.requests = 0

    def rate(self, officer: str, level: int, request_id: str = ""):
        """A rating from the registered kiosk k1, each with a new request id unless given."""
        self.requests += 1
        return self.survey.answers.rate(UNIT, "k1", self.key, officer, level, request_id or f"r-{self.requests}")

    def invite(self, code: str = "000.21.21.H17-261117-0001", **changes) -> tuple[domain.Invitation, str]:
        invitation, _ = self.survey.invitations.issue(returned(code, **changes))
        return invitation, self.survey.invitations.desk_view(invitation).link.rsplit("/", 1)[1]

    def stored(self) -> tuple:
        return (dict(self.answer_store.items), list(self.answer_store.events), dict(self.tallies.items),
                list(self.ratings.items))


def points(*values: int) -> dict[str, int]:
    return {str(i): v for i, v in enumerate(values, 1)}


FIFTEEN = points(2, 2, 2, 2, 2, 2, 1, 1, 1)


# --- invitations -----------------------------------------------------------------------------------
def test_one_invitation_per_dossier_whatever_the_redeliveries():
    world = World()
    first, issued = world.survey.invitations.issue(returned())
    again, issued_again = world.survey.invitations.issue(returned(event_id="e-2"))
    assert (issued, issued_again) == (True, False) and again == first
    assert len(world.invitation_store.items) == 1 and list(world.invitation_store.claims) == [first.dossier_code]
    assert (first.agency_code, first.parent_agency_code, first.procedure_code, first.officers,
            first.return_method) == (UNIT, PARENT, "1.000948", ("desk-an", "desk-binh"), 1)
    assert (first.questionnaire_code, first.questionnaire_version) == ("tt01-9", 1)
    assert first.expires_at == NOW + dt.timedelta(days=30)


def test_the_token_is_not_stored_and_tells_nothing():
    world = World()
    invitation, token = world.invite()
    assert domain.TOKEN.fullmatch(token)
    assert token not in repr(invitation) and invitation.token_hash == domain.token_hash(token)
    for part in (invitation.dossier_code, UNIT, "1.000948"):
        assert part.lower() not in token
    other = World(SurveySettings(invitation_key="another key, another platform"))
    assert other.invite()[1] != token


def test_the_desk_gets_the_link_the_qr_code_and_the_sms():
    world = World()
    invitation, token = world.invite()
    view = world.survey.invitations.get(invitation.id.upper(), OFFICER)
    assert view.link == f"https://dvc.example.vn/khao-sat/{token}"
    assert view.qr_png.startswith(b"\x89PNG\r\n\x1a\n")
    assert view.link in view.sms_text and invitation.dossier_code in view.sms_text
    assert "đánh giá mức độ hài lòng" in view.sms_text


def test_get_invitation_refuses_malformed_unknown_and_other_agency():
    world = World()
    invitation, _ = world.invite()
    with pytest.raises(InvalidArgument):
        world.survey.invitations.get("not-an-id", OFFICER)
    with pytest.raises(NotFound) as unknown:
        world.survey.invitations.get("0" * 32, OFFICER)
    assert unknown.value.reason == "INVITATION_NOT_FOUND"
    with pytest.raises(PermissionDenied):
        world.survey.invitations.get(invitation.id, dataclasses.replace(OFFICER, agency=OTHER_UNIT))
    with pytest.raises(PermissionDenied):
        world.survey.invitations.get("", dataclasses.replace(OFFICER, agency=OTHER_UNIT), invitation.dossier_code)
    for both_or_neither in ((invitation.id, invitation.dossier_code), ("", "")):
        with pytest.raises(InvalidArgument):
            world.survey.invitations.get(both_or_neither[0], OFFICER, both_or_neither[1])
    with pytest.raises(NotFound):
        world.survey.invitations.get("", OFFICER, "000.21.21.H17-261117-0099")


def test_the_desk_finds_the_invitation_by_the_dossier_code():
    world = World()
    invitation, token = world.invite()
    view = world.survey.invitations.get("", OFFICER, f" {invitation.dossier_code} ")
    assert view.invitation == invitation and view.link.endswith(token)


def test_intake_tells_the_survey_what_it_needs_of_the_returned_dossier():
    from test_intake_units_results import _finished
    d = _finished(status=intake_domain.DossierStatus.RESULT_RETURNED, result_return=intake_domain.ResultReturn(
        NOW, intake_domain.ReturnMethod.AT_DESK, "desk-binh", "Lê Văn Bình"),
        history=[intake_domain.Transition(NOW, intake_domain.DossierStatus.NEW, "citizen-x"),
                 intake_domain.Transition(NOW, intake_domain.DossierStatus.RECEIVED, "desk-an")])
    message = intake_events.to_message(intake_domain.DossierResultReturned(d))
    assert (message.procedure_code, message.procedure_name, message.channel, message.received_by,
            message.returned_by, message.receiving_agency_code) == (
        d.procedure_code, d.procedure_name, int(d.channel), "desk-an", "desk-binh", d.receiving_unit.parent_code)
    assert message.procedure_code and message.procedure_name


# --- answers ---------------------------------------------------------------------------------------
def test_an_invitation_is_answered_once():
    world = World()
    invitation, token = world.invite()
    sheet = world.survey.answers.submit(token, FIFTEEN)
    assert (sheet.total, sheet.grade, sheet.officers) == (15, "xuat_sac", ("desk-an", "desk-binh"))
    assert world.answer_store.events == [("AnswerRecorded", sheet)]
    before = world.stored()
    for attempt in (FIFTEEN, points(0, 0, 0, 0, 0, 0, 0, 0, 0)):
        with pytest.raises(FailedPrecondition) as second:
            world.survey.answers.submit(token, attempt)
        assert second.value.reason == "ALREADY_ANSWERED"
    with pytest.raises(FailedPrecondition):
        world.survey.answers.survey(token)
    assert world.stored() == before


@pytest.mark.parametrize("token", ["a" * 26, "not a token", "", "A" * 27, "0" * 26])
def test_a_forged_unknown_or_malformed_token_gets_one_answer(token):
    world = World()
    world.invite()
    with pytest.raises(NotFound) as refused:
        world.survey.answers.submit(token, FIFTEEN)
    assert refused.value.reason == "INVITATION_NOT_FOUND"
    assert world.stored() == ({}, [], {}, [])


def test_an_expired_invitation_is_refused():
    world = World()
    _, token = world.invite()
    world.clock.now = NOW + dt.timedelta(days=30)
    with pytest.raises(FailedPrecondition) as refused:
        world.survey.answers.submit(token, FIFTEEN)
    assert refused.value.reason == "INVITATION_EXPIRED"
    assert world.stored() == ({}, [], {}, [])
    world.clock.now = NOW + dt.timedelta(days=29, hours=23)
    assert world.survey.answers.submit(token, FIFTEEN).total == 15


def test_the_expiry_counts_from_the_results_return_not_from_the_issue():
    """A worker catching up (the event handled 3 days late) does not lengthen the window; an event
    with no return time (the epoch) or one after the issue counts from the issue."""
    world = World()
    world.clock.now = NOW + dt.timedelta(days=3)
    late, _ = world.survey.invitations.issue(returned())
    assert late.expires_at == NOW + dt.timedelta(days=30)
    unset, _ = world.survey.invitations.issue(returned("000.21.21.H17-261117-0002",
                                                       returned_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC)))
    ahead, _ = world.survey.invitations.issue(returned("000.21.21.H17-261117-0003",
                                                       returned_at=NOW + dt.timedelta(days=5)))
    assert unset.expires_at == ahead.expires_at == NOW + dt.timedelta(days=33)


def test_an_answer_and_its_event_carry_no_dossier_code():
    world = World()
    invitation, token = world.invite()
    sheet = world.survey.answers.submit(token, FIFTEEN)
    assert sheet.invitation_id == invitation.id and invitation.dossier_code not in repr(sheet)
    event = answer_recorded(sheet)
    assert event.invitation_id == invitation.id and event.dossier_code == ""
    assert invitation.dossier_code not in str(event) and "dossier_code" not in AnswerSheet.__dataclass_fields__


def test_a_skipped_required_question_or_an_out_of_range_value_stores_nothing():
    world = World()
    _, token = world.invite()
    skipped = dict(FIFTEEN)
    del skipped["7"]
    for answers, field in ((skipped, "answers[7]"), ({**FIFTEEN, "4": 5}, "answers[4]"),
                           ({**FIFTEEN, "2": "hai"}, "answers[2]")):
        with pytest.raises(InvalidArgument) as refused:
            world.survey.answers.submit(token, answers)
        assert [v.field for v in refused.value.violations] == [field]
    assert world.stored() == ({}, [], {}, [])
    assert world.survey.answers.submit(token, FIFTEEN).grade == "xuat_sac"  # still open


def test_the_kiosk_rates_officers_until_it_floods():
    world = World(per_kiosk="3/minute", per_client="100/minute")
    for level in (3, 2, 1):
        world.survey.limits.rating(kiosk="k1", client="10.0.0.5")
        world.rate("desk-an", level)
    with pytest.raises(ResourceExhausted) as flooded:
        world.survey.limits.rating(kiosk="k1", client="10.0.0.5")
    assert flooded.value.reason == "RATE_LIMITED"
    assert [r.level for r in world.ratings.items] == [3, 2, 1]
    world.survey.limits.rating(kiosk="k2", client="10.0.0.5")  # another kiosk has its own budget


@pytest.mark.parametrize("agency, kiosk, officer, level, field", [
    ("UBND", "k1", "desk-an", 3, "agency_code"), (UNIT, "", "desk-an", 3, "kiosk_id"),
    (UNIT, "k1", "", 3, "officer"), (UNIT, "k1", "desk an", 3, "officer"), (UNIT, "k1", "desk-an", 4, "level"),
    (UNIT, "k1", "desk-an", 0, "level"),
])
def test_a_bad_rating_is_refused_and_stores_nothing(agency, kiosk, officer, level, field):
    world = World()
    with pytest.raises(InvalidArgument) as refused:
        world.survey.answers.rate(agency, kiosk, world.key, officer, level, "r-1")
    assert [v.field for v in refused.value.violations] == [field]
    assert world.stored() == ({}, [], {}, [])


def test_only_a_registered_kiosk_of_the_unit_rates():
    world = World()
    stranger = auth.Principal("leader-x", frozenset({auth.UNIT_LEADER}), OTHER_UNIT)
    with pytest.raises(PermissionDenied) as other:
        world.survey.answers.kiosks.register(UNIT, "k2", stranger)
    assert other.value.reason == "OTHER_AGENCY"
    with pytest.raises(NotFound) as unknown:
        world.survey.answers.kiosks.register("000.77.21.H17", "k2", auth.Principal("s", frozenset({auth.SERVICE})))
    assert unknown.value.reason == "UNIT_NOT_FOUND" and set(world.kiosks.items) == {f"{UNIT}|k1"}
    for agency, kiosk, key in ((UNIT, "k2", world.key), (UNIT, "k1", ""), (UNIT, "k1", world.key[:-1] + "x"),
                               (OTHER_UNIT, "k1", world.key)):  # unknown kiosk, no key, wrong key, another unit
        with pytest.raises(Unauthenticated) as refused:
            world.survey.answers.rate(agency, kiosk, key, "desk-an", 3, "r-1")
        assert refused.value.reason == "KIOSK_NOT_REGISTERED" and kiosk in str(refused.value)
    assert world.stored() == ({}, [], {}, [])
    assert world.rate("desk-an", 3).parent_agency_code == PARENT
    revoked = world.survey.answers.kiosks.revoke(UNIT, "k1", LEADER)
    assert revoked.revoked_at == NOW and world.survey.answers.kiosks.revoke(UNIT, "k1", LEADER) == revoked
    before = world.stored()
    with pytest.raises(PermissionDenied) as stopped:
        world.rate("desk-an", 3)
    assert stopped.value.reason == "KIOSK_REVOKED" and world.stored() == before
    with pytest.raises(NotFound) as missing:
        world.survey.answers.kiosks.revoke(UNIT, "k9", LEADER)
    assert missing.value.reason == "KIOSK_NOT_FOUND"
    _, new_key = world.survey.answers.kiosks.register(UNIT, "k1", LEADER)  # registered again: a new key
    with pytest.raises(Unauthenticated):
        world.survey.answers.rate(UNIT, "k1", world.key, "desk-an", 3, "r-old-key")
    assert world.survey.answers.rate(UNIT, "k1", new_key, "desk-an", 3, "r-new-key").level == 3
    assert new_key not in repr(world.kiosks.items)  # only its hash is stored


def test_a_forger_cannot_spend_a_registered_kiosks_budget():
    world = World(per_kiosk="1/minute")
    spend = world.survey.limits.rating_kiosk
    for n in range(3):
        with pytest.raises(Unauthenticated):
            world.survey.answers.rate(UNIT, "k1", "forged-key", "desk-an", 1, f"f-{n}", spend=spend)
    assert world.survey.answers.rate(UNIT, "k1", world.key, "desk-an", 3, "r-1", spend=spend).level == 3
    with pytest.raises(ResourceExhausted):
        world.survey.answers.rate(UNIT, "k1", world.key, "desk-an", 3, "r-2", spend=spend)
    assert [r.level for r in world.ratings.items] == [3]


def test_a_rating_is_recorded_once_per_request_id():
    world = World()
    first = world.rate("desk-an", 3, request_id="r-1")
    before = world.stored()
    world.clock.now = NOW + dt.timedelta(minutes=1)
    assert world.rate("desk-an", 3, request_id="r-1") == first and world.stored() == before
    with pytest.raises(AlreadyExists) as reused:
        world.rate("desk-an", 1, request_id="r-1")
    assert reused.value.reason == "REQUEST_ID_REUSED" and world.stored() == before
    with pytest.raises(InvalidArgument) as missing:
        world.rate("desk-an", 3, request_id=" ")
    assert [v.field for v in missing.value.violations] == ["request_id"]


def test_kiosk_ratings_count_under_the_unit_and_its_agency():
    world = World()
    world.rate("desk-an", 3)
    world.rate("desk-chi", 1)
    for agency in (UNIT, PARENT):
        found = index(world, agency=agency)
        assert (found.ratings, found.levels) == (2, {3: 1, 1: 1}), agency
        assert index(world, agency=agency, officer="desk-an").levels == {3: 1}
    assert index(world, agency=OTHER_UNIT).ratings == 0
    (event,) = [r for r in world.ratings.items if r.officer == "desk-an"]
    assert officer_rated(event).parent_agency_code == PARENT


# --- indices ---------------------------------------------------------------------------------------
def index(world: World, agency: str = UNIT, officer: str = "", procedure: str = "", start: str = "2026-11-01",
          end: str = "2026-11-30"):
    return world.survey.indices.index(parse_query(agency, officer, procedure, "", start, end),
                                      auth.Principal("svc", frozenset({auth.SERVICE})))


def test_the_indices_count_each_answer_once_where_it_belongs():
    world = World()
    for n, answers in enumerate((FIFTEEN, points(2, 2, 2, 2, 2, 2, 0, 0, 0), points(1, 1, 1, 1, 1, 0, 0, 0, 0))):
        _, token = world.invite(f"000.21.21.H17-261117-000{n + 1}")
        world.survey.answers.submit(token, answers)
    world.rate("desk-an", 3)
    world.rate("desk-chi", 1)
    unit = index(world)
    assert (unit.sheets, unit.total_points, unit.grades) == (3, 32, {"xuat_sac": 1, "tot": 1, "yeu": 1})
    assert unit.average_total == pytest.approx(32 / 3)
    assert (unit.ratings, unit.level_share(3), unit.level_share(1), unit.level_share(2)) == (2, 0.5, 0.5, 0.0)
    assert index(world, agency=PARENT).sheets == 3  # the district counts its desk's answers
    officer = index(world, officer="desk-an")
    assert (officer.sheets, officer.ratings, officer.levels) == (3, 1, {3: 1})
    assert index(world, officer="desk-chi").sheets == 0
    assert index(world, procedure="1.000948").sheets == 3
    assert index(world, start="2026-11-18").sheets == 0
    # A retry of the tallies (the same sheet written again) changes nothing.
    before = dict(world.tallies.items)
    world.tallies.add_all(list(before.values()))
    assert world.tallies.items == before


def test_the_sipas_index_is_the_mean_of_the_factors_share_satisfied():
    world = World(SurveySettings(invitation_questionnaire="sipas-5"))
    satisfaction = [{"access": 5, "procedure": 4, "officer": 2, "result": 3, "feedback": 1},
                    {"access": 4, "procedure": 2, "officer": 5, "result": 3, "feedback": 1}]
    for n, sat in enumerate(satisfaction):
        _, token = world.invite(f"000.21.21.H17-261117-000{n + 1}")
        answers = {f"{f}.{a}": (sat[f] if a == "satisfaction" else 3 + n) for f in sat
                   for a in ("perception", "satisfaction", "expectation")}
        world.survey.answers.submit(token, answers)
    s = index(world)
    # access 2/2, procedure 1/2, officer 1/2, result 0/2, feedback 0/2: (1 + .5 + .5 + 0 + 0) / 5 = 0.4
    assert [s.factor(f)[:3] for f in ("access", "procedure", "officer", "result", "feedback")] == [
        (2, 2, 1.0), (2, 1, 0.5), (2, 1, 0.5), (2, 0, 0.0), (2, 0, 0.0)]
    assert s.sipas_index == pytest.approx(0.4)
    assert s.factor("access")[3:] == (3.5, 3.5)  # mean perception, mean expectation: (3 + 4) / 2
    assert (s.sipas_sheets, s.sheets) == (2, 0)


def test_an_invitation_asking_the_kiosk_question_counts_in_the_kiosk_shares():
    world = World(SurveySettings(invitation_questionnaire="kiosk-3"))
    for n, level in enumerate((3, 1)):
        _, token = world.invite(f"000.21.21.H17-261117-000{n + 1}")
        world.survey.answers.submit(token, {"muc_do": level})
    s = index(world, officer="desk-binh")
    assert (s.ratings, s.levels, s.sheets) == (2, {3: 1, 1: 1}, 0)


def test_closed_days_are_rolled_up_once_and_today_is_read_from_its_tallies():
    world = World()
    for n, day in enumerate((15, 16, 17)):
        world.clock.now = NOW.replace(day=day)
        _, token = world.invite(f"000.21.21.H17-2611{day}-0001")
        world.survey.answers.submit(token, FIFTEEN if n != 1 else points(1, 1, 1, 1, 1, 0, 0, 0, 0))
        world.rate("desk-an", 3)
    world.clock.now = NOW.replace(day=17)   # 10:00 on the 17th in Vietnam: the 15th and 16th are closed
    first = index(world)
    assert sorted(k.rsplit("|", 1)[1] for k in world.tallies.days if k.startswith("000.21.21.H17|all|")) == [
        f"2026-11-{d:02d}" for d in range(1, 17)]
    assert (first.sheets, first.total_points, first.grades, first.ratings) == (3, 35, {"xuat_sac": 2, "yeu": 1}, 3)
    reads = world.tallies.range_reads
    again = index(world)
    assert again == first and world.tallies.range_reads == reads + 1  # only today's tallies were read
    _, token = world.invite("000.21.21.H17-261117-0009")
    world.survey.answers.submit(token, FIFTEEN)
    assert index(world).sheets == 4  # today is open: a new answer counts at once
    world.clock.now = NOW.replace(day=18, hour=0)   # 07:00 on the 18th: the 17th ended 7 hours ago
    assert index(world).sheets == 4 and any(k.endswith("|2026-11-17") for k in world.tallies.days)


def test_a_summary_stores_and_merges_as_counts():
    from onestop_survey.indices import domain as indices
    summary = indices.Summary()
    summary.add(indices.Tally("a", "q", "points", 15, "xuat_sac"))
    summary.add(indices.Tally("b", "q", "sipas", sipas=(("access", "satisfaction", 4), ("access", "perception", 2))))
    summary.add(indices.Tally("c", "k", level=2))
    assert indices.Summary.from_doc(summary.to_doc()) == summary
    twice = indices.Summary.from_doc(summary.to_doc())
    twice.merge(summary)
    assert (twice.sheets, twice.total_points, twice.grades, twice.levels, twice.sipas_sheets) == (
        2, 30, {"xuat_sac": 2}, {2: 2}, 2)
    assert twice.factor("access") == (2, 2, 1.0, 2.0, 0.0)


@pytest.mark.parametrize("args, field", [
    (("UBND", "", "", "", "2026-11-01", "2026-11-30"), "agency_code"),
    ((UNIT, "a", "1.000948", "", "2026-11-01", "2026-11-30"), "officer"),
    ((UNIT, "", "", "", "2026-11-31", "2026-11-30"), "from_date"),
    ((UNIT, "", "", "", "2026-11-30", "2026-11-01"), "to_date"),
    ((UNIT, "", "", "", "2025-01-01", "2026-11-30"), "to_date"),
])
def test_a_bad_index_query_is_named(args, field):
    with pytest.raises(InvalidArgument) as refused:
        parse_query(*args)
    assert field in [v.field for v in refused.value.violations]


def test_an_index_of_another_agency_is_refused():
    world = World()
    with pytest.raises(PermissionDenied):
        world.survey.indices.index(parse_query(OTHER_UNIT, "", "", "", "2026-11-01", "2026-11-30"), LEADER)


# --- the worker: DossierResultReturned issues the invitation once ---------------------------------
def _returned_payload(code: str = "000.21.21.H17-261117-0001") -> dict:
    message = iev.DossierResultReturned(header=events.new_header("intake"), dossier_code=code, method=1,
                                        procedure_code="1.000948", procedure_name="Cấp phiếu lý lịch tư pháp",
                                        receiving_agency_code=PARENT, received_by="desk-an", returned_by="desk-binh")
    message.receiving_unit.code = UNIT
    message.returned_at.FromDatetime(NOW)
    return events.to_payload(message)


class InvitingWorker(ReturnedDossiers):
    """The consumer alone (SurveyWorker also serves the page: nameko.web stays out of unit tests)."""
    name = "survey"


def test_the_worker_issues_one_invitation_per_returned_dossier():
    from nameko.testing.services import entrypoint_hook
    world = World()
    with hosted(InvitingWorker, SETTINGS, invitations=world.survey.invitations) as container:
        before = _duplicates("survey", "DossierResultReturned")
        with entrypoint_hook(container, "on_result_returned") as handle:
            assert handle(_returned_payload()) is True
            assert handle(_returned_payload()) is False  # a redelivery
    (invitation,) = world.invitation_store.items.values()
    assert invitation.officers == ("desk-an", "desk-binh") and invitation.parent_agency_code == PARENT
    assert _duplicates("survey", "DossierResultReturned") == before + 1


# --- the RPCs through the chassis ------------------------------------------------------------------
@pytest.fixture
def channel():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings(SurveySettings, grpc_port=port)
    world = World(settings, per_kiosk="2/minute")
    server = GrpcServer(settings)
    api.register(server, world.survey)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield survey_pb2_grpc.SurveyServiceStub(ch), settings, world
    server.stop(grace=0)


def _reason(error: grpc.RpcError) -> str:
    status = status_pb2.Status.FromString(dict(error.trailing_metadata())["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    next(d for d in status.details if d.Is(info.DESCRIPTOR)).Unpack(info)
    return info.reason


def test_the_public_rpcs_answer_without_a_login(channel):
    stub, settings, world = channel
    invitation, token = world.invite()
    survey = stub.GetSurvey(survey_pb2.GetSurveyRequest(token=token), timeout=10)
    assert (survey.questionnaire.code, len(survey.questionnaire.questions)) == ("tt01-9", 9)
    answers = [survey_pb2.Answer(question_id=k, value=v) for k, v in FIFTEEN.items()]
    done = stub.SubmitAnswers(survey_pb2.SubmitAnswersRequest(token=token, answers=answers), timeout=10)
    assert (done.total, done.grade, done.grade_label) == (15, "xuat_sac", "Xuất sắc")
    with pytest.raises(grpc.RpcError) as second:
        stub.SubmitAnswers(survey_pb2.SubmitAnswersRequest(token=token, answers=answers), timeout=10)
    assert (second.value.code(), _reason(second.value)) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_ANSWERED")
    with pytest.raises(grpc.RpcError) as forged:
        stub.SubmitAnswers(survey_pb2.SubmitAnswersRequest(token="b" * 26, answers=answers), timeout=10)
    assert (forged.value.code(), _reason(forged.value)) == (grpc.StatusCode.NOT_FOUND, "INVITATION_NOT_FOUND")
    rate = survey_pb2.RateOfficerRequest(agency_code=UNIT, kiosk_id="k1", officer="desk-an", level=3,
                                         kiosk_key=world.key, request_id="r-1")
    first = stub.RateOfficer(rate, timeout=10)
    assert stub.RateOfficer(rate, timeout=10) == first  # a replay: the same rating
    with pytest.raises(grpc.RpcError) as flooded:
        stub.RateOfficer(survey_pb2.RateOfficerRequest(agency_code=UNIT, kiosk_id="k1", officer="desk-an",
                                                       level=3, kiosk_key=world.key, request_id="r-2"), timeout=10)
    assert flooded.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and len(world.ratings.items) == 1


def test_a_unit_registers_and_revokes_its_kiosk_through_the_rpcs(channel):
    stub, settings, world = channel
    leader = (("authorization", "Bearer " + auth.mint_token(settings.jwt_secret, subject="leader",
                                                              roles=[auth.UNIT_LEADER], agency=UNIT)),)
    registered = stub.RegisterKiosk(survey_pb2.RegisterKioskRequest(unit_code=UNIT, kiosk_id="quay-3"),
                                    metadata=leader, timeout=10)
    assert (registered.kiosk.agency_code, registered.kiosk.registered_by) == (PARENT, "leader")
    assert registered.page_path == f"/quay/quay-3?co_quan={UNIT}&khoa={registered.kiosk_key}"
    rate = survey_pb2.RateOfficerRequest(agency_code=UNIT, kiosk_id="quay-3", officer="desk-an", level=2,
                                         kiosk_key=registered.kiosk_key, request_id="r-1")
    assert len(stub.RateOfficer(rate, timeout=10).rating_id) == 32
    for bad, code, reason in ((dict(kiosk_key="forged"), grpc.StatusCode.UNAUTHENTICATED, "KIOSK_NOT_REGISTERED"),
                              (dict(level=1), grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")):
        request = survey_pb2.RateOfficerRequest()
        request.CopyFrom(rate)
        for name, value in bad.items():
            setattr(request, name, value)
        with pytest.raises(grpc.RpcError) as refused:
            stub.RateOfficer(request, timeout=10)
        assert (refused.value.code(), _reason(refused.value)) == (code, reason)
    revoked = stub.RevokeKiosk(survey_pb2.RevokeKioskRequest(unit_code=UNIT, kiosk_id="quay-3"), metadata=leader,
                               timeout=10)
    assert revoked.kiosk.HasField("revoked_at")
    rate.request_id = "r-2"
    with pytest.raises(grpc.RpcError) as stopped:
        stub.RateOfficer(rate, timeout=10)
    assert (stopped.value.code(), _reason(stopped.value)) == (grpc.StatusCode.PERMISSION_DENIED, "KIOSK_REVOKED")
    assert [r.level for r in world.ratings.items] == [2]


def test_the_desk_and_the_leader_read_through_the_rpcs(channel):
    stub, settings, world = channel
    invitation, token = world.invite()
    world.survey.answers.submit(token, FIFTEEN)

    def bearer(role: str, agency: str) -> tuple:
        minted = auth.mint_token(settings.jwt_secret, subject="someone", roles=[role], agency=agency)
        return (("authorization", f"Bearer {minted}"),)

    got = stub.GetInvitation(survey_pb2.GetInvitationRequest(id=invitation.id),
                             metadata=bearer(auth.DESK_OFFICER, UNIT), timeout=10).invitation
    assert got.link.endswith(token) and got.qr_png.startswith(b"\x89PNG") and got.dossier_code
    with pytest.raises(grpc.RpcError) as stranger:
        stub.GetInvitation(survey_pb2.GetInvitationRequest(id=invitation.id),
                           metadata=bearer(auth.DESK_OFFICER, OTHER_UNIT), timeout=10)
    assert stranger.value.code() == grpc.StatusCode.PERMISSION_DENIED
    got_index = stub.GetSatisfactionIndex(survey_pb2.GetSatisfactionIndexRequest(
        agency_code=UNIT, from_date="2026-11-01", to_date="2026-11-30"), metadata=bearer(auth.UNIT_LEADER, UNIT),
        timeout=10)
    assert (got_index.points.sheets, got_index.points.total_points) == (1, 15)
    assert [(g.label, g.count) for g in got_index.points.grades][0] == ("Xuất sắc", 1)
