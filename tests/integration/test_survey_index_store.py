"""Survey's index after the review, on the real FerretDB: an answer whose tallies were lost (a crash
between the sheet's insert and its tallies) is counted once from its event however often it is
rebuilt, also after its day was rolled up; answers counted per field; and the agency's choice of
its invitation questionnaire stored, replaced and removed by `_id`."""

from __future__ import annotations

import datetime as dt

import pytest

from onestop_chassis import auth
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.indices.service import parse_query
from onestop_survey.invitations import domain

UNIT, PARENT = "000.21.21.H17", "000.00.21.H17"
NOW = dt.datetime(2026, 11, 17, 3, 0, tzinfo=dt.UTC)
NINE = {str(i): 2 for i in range(1, 10)}
LEADER = auth.Principal("leader", frozenset({auth.UNIT_LEADER}), PARENT)
ADMIN = auth.Principal("admin", frozenset({auth.AGENCY_ADMIN}), PARENT)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture()
def world(mongo_db):
    clock = Clock(NOW)
    return bootstrap(SurveySettings(), clock=clock), clock


def _answered(survey, n: int, field_code: str = "ly_lich_tu_phap") -> str:
    invitation, _ = survey.invitations.issue(domain.ResultReturned(
        "e-1", f"{UNIT}-261117-{n:04d}", UNIT, PARENT, "1.000948", "Cấp phiếu lý lịch tư pháp", "desk-an",
        "desk-binh", 1, NOW, field_code=field_code))
    survey.answers.submit(survey.invitations.desk_view(invitation).link.rsplit("/", 1)[1], NINE)
    return invitation.id


def _sheets(survey, agency: str = PARENT, field: str = "") -> int:
    query = parse_query(agency, "", "", field, "2026-11-17", "2026-11-17")
    return survey.indices.index(query, auth.Principal("leader", frozenset({auth.UNIT_LEADER}), agency)).sheets


def test_lost_tallies_are_rebuilt_once_from_the_stored_sheet(world, mongo_db):
    survey, _ = world
    invitation_id = _answered(survey, 1)
    written = mongo_db["tallies"].count_documents({})
    mongo_db["tallies"].delete_many({})  # as if the api process had died before writing them
    assert _sheets(survey) == 0
    assert survey.tally_repair.rebuild(invitation_id) == written > 0
    assert survey.tally_repair.rebuild(invitation_id) == 0   # the redelivery writes nothing
    assert mongo_db["tallies"].count_documents({}) == written
    assert (_sheets(survey), _sheets(survey, UNIT), _sheets(survey, field="ly_lich_tu_phap")) == (1, 1, 1)
    assert survey.tally_repair.rebuild("0" * 32) is None   # no such sheet


def test_a_rebuild_into_a_rolled_up_day_is_counted(world, mongo_db):
    survey, clock = world
    invitation_id = _answered(survey, 2)
    mongo_db["tallies"].delete_many({})
    clock.now = NOW + dt.timedelta(days=2)
    assert _sheets(survey) == 0 and mongo_db["tally_days"].count_documents({}) == 1  # rolled up without it
    survey.tally_repair.rebuild(invitation_id)
    assert mongo_db["tally_days"].count_documents({}) == 0
    assert _sheets(survey) == 1 and mongo_db["tally_days"].count_documents({}) == 1


def test_answers_count_per_field(world):
    survey, _ = world
    _answered(survey, 3, "ly_lich_tu_phap")
    _answered(survey, 4, "ho_tich")
    _answered(survey, 5, "ly_lich_tu_phap")
    assert (_sheets(survey, field="ly_lich_tu_phap"), _sheets(survey, field="ho_tich"), _sheets(survey)) == (2, 1, 3)


def test_the_agencys_choice_is_stored_replaced_and_removed(world, mongo_db):
    survey, _ = world
    assert survey.questionnaires.for_invitations(PARENT).code == "tt01-9"
    survey.questionnaires.choose_for_invitations(PARENT, "sipas-5", ADMIN)
    survey.questionnaires.choose_for_invitations(PARENT, "kiosk-3", ADMIN)
    assert list(mongo_db["invitation_questionnaires"].find()) == [{"_id": PARENT, "code": "kiosk-3"}]
    assert survey.questionnaires.for_invitations(PARENT).code == "kiosk-3"
    assert survey.questionnaires.for_invitations("000.00.22.H17").code == "tt01-9"
    survey.questionnaires.choose_for_invitations(PARENT, "", ADMIN)
    assert mongo_db["invitation_questionnaires"].count_documents({}) == 0
    assert survey.questionnaires.for_invitations(PARENT).code == "tt01-9"
