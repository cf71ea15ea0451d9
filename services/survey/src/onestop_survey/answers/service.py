"""Answers: the citizen's one answer per invitation (SubmitAnswers, public) and the registered
counter kiosks' ratings (RateOfficer, public: the kiosk's key is its credential, answers.kiosks).
Each writes its event through the outbox (AnswerRecorded, OfficerRated) and its tallies for the
indices; a rating counts under its unit and its unit's agency.

One answer per invitation: the sheet's `_id` is the invitation's id, so of two answers sent at
once exactly one insert wins; the other gets ALREADY_ANSWERED. A refused answer stores nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from onestop_chassis.errors import AlreadyExists, FailedPrecondition

from ..indices import domain as indices
from ..invitations import domain as invitations
from ..invitations.service import InvitationService
from ..questionnaires import domain as questionnaires
from ..questionnaires.service import QuestionnaireService
from . import domain
from .kiosks import KioskRegistry


class AnswerStore(Protocol):
    def add(self, sheet: domain.AnswerSheet) -> bool:
        """Inserts the sheet with its AnswerRecorded event (outbox); False when the invitation has
        a sheet already (nothing written)."""
        ...
    def get(self, invitation_id: str) -> domain.AnswerSheet | None: ...


class RatingStore(Protocol):
    def add(self, rating: domain.Rating) -> bool:
        """Inserts the rating with its OfficerRated event (outbox); False when a rating has its id
        (the same kiosk's request_id: nothing written)."""
        ...
    def get(self, rating_id: str) -> domain.Rating | None: ...


class TallyStore(Protocol):
    def add_all(self, tallies: list[indices.Tally]) -> None:
        """Inserts each tally; one stored already (same `_id`) is left as it is."""
        ...


def already_answered(sheet: domain.AnswerSheet) -> FailedPrecondition:
    return FailedPrecondition("ALREADY_ANSWERED", "this invitation has been answered already "
                              f"(at {sheet.answered_at:%Y-%m-%d %H:%M} UTC); each dossier is rated once")


class AnswerService:
    def __init__(self, invitations_: InvitationService, questionnaires_: QuestionnaireService,
                 answers: AnswerStore, ratings: RatingStore, tallies: TallyStore, kiosks: KioskRegistry):
        self.kiosks = kiosks
        self._invitations = invitations_
        self._questionnaires = questionnaires_
        self._answers = answers
        self._ratings = ratings
        self._tallies = tallies

    def survey(self, token: str) -> tuple[invitations.Invitation, questionnaires.Questionnaire]:
        """The open invitation of `token` and its questionnaire (at the invitation's version).
        Raises NotFound INVITATION_NOT_FOUND, FailedPrecondition INVITATION_EXPIRED or
        ALREADY_ANSWERED."""
        invitation = self._invitations.open(token)
        sheet = self._answers.get(invitation.id)
        if sheet is not None:
            raise already_answered(sheet)
        return invitation, self._questionnaire(invitation)

    def _questionnaire(self, invitation: invitations.Invitation) -> questionnaires.Questionnaire:
        return self._questionnaires.issued(invitation.questionnaire_owner, invitation.questionnaire_code,
                                           invitation.questionnaire_version, invitation.agency_code,
                                           invitation.parent_agency_code)

    def questionnaire_of(self, sheet: domain.AnswerSheet) -> questionnaires.Questionnaire:
        return self._questionnaires.issued(sheet.questionnaire_owner, sheet.questionnaire_code,
                                           sheet.questionnaire_version, sheet.agency_code, sheet.parent_agency_code)

    def submit(self, token: str, answers: questionnaires.Answers) -> domain.AnswerSheet:
        """Records the answer to the invitation of `token`. Raises as `survey`, and InvalidArgument
        naming each question skipped, unknown or answered out of range (questionnaires.check_answers)."""
        invitation, questionnaire = self.survey(token)
        scored = questionnaires.check_answers(questionnaire, answers)
        sheet = domain.AnswerSheet(
            invitation_id=invitation.id, agency_code=invitation.agency_code,
            parent_agency_code=invitation.parent_agency_code, procedure_code=invitation.procedure_code,
            field_code=invitation.field_code,
            officers=invitation.officers, return_method=invitation.return_method,
            questionnaire_code=questionnaire.code, questionnaire_version=questionnaire.version,
            questionnaire_owner=questionnaire.agency_code, answered_at=self._invitations.now(), values=scored.values,
            texts={k: str(v) for k, v in answers.items() if isinstance(v, str) and v},
            total=scored.total, grade=scored.grade)
        if not self._answers.add(sheet):
            earlier = self._answers.get(invitation.id)
            raise already_answered(earlier or sheet)
        self._tallies.add_all(sheet_tallies(sheet, questionnaire))
        return sheet

    def rate(self, agency_code: str, kiosk_id: str, kiosk_key: str, officer: str, level: int,
             request_id: str, spend: Callable[[str], None] = lambda kiosk: None) -> domain.Rating:
        """Records one rating from a registered kiosk, once per its `request_id`: a replay answers
        the rating recorded first. `spend(<unit>|<kiosk>)` spends the kiosk's budget once the kiosk
        is known to be registered (a forger cannot spend a real kiosk's). Raises InvalidArgument
        (domain.new_rating), Unauthenticated KIOSK_NOT_REGISTERED, PermissionDenied KIOSK_REVOKED
        (kiosks.KioskRegistry.check), what `spend` raises (RATE_LIMITED), and AlreadyExists
        REQUEST_ID_REUSED when the request_id was this kiosk's for another rating."""
        rating = domain.new_rating(agency_code.strip(), kiosk_id.strip(), officer.strip(), level,
                                   self._invitations.now(), request_id.strip())
        kiosk = self.kiosks.check(rating.agency_code, rating.kiosk_id, kiosk_key.strip())
        spend(kiosk.id)
        rating = dataclasses.replace(rating, parent_agency_code=kiosk.agency_code)
        if not self._ratings.add(rating):
            earlier = self._ratings.get(rating.id)
            if earlier is None or not earlier.same_request(rating):
                raise AlreadyExists("REQUEST_ID_REUSED", f"request_id {rating.request_id} was this kiosk's for "
                                    "another rating: send a new id per rating",
                                    metadata={"request_id": rating.request_id})
            rating = earlier  # a replay; its tallies (same ids) are written again below, harmlessly
        self._tallies.add_all(rating_tallies(rating))  # a crash before: the worker writes them from OfficerRated
        return rating


def rating_tallies(rating: domain.Rating) -> list[indices.Tally]:
    """The kiosk rating's contribution to the officer, its unit and the unit's agency (indices.domain)."""
    return indices.tallies(indices.places((rating.agency_code, rating.parent_agency_code), (rating.officer,), "", ""),
                           rating.rated_at, rating.id, kind="k", level=rating.level)


def sheet_tallies(sheet: domain.AnswerSheet, q: questionnaires.Questionnaire) -> list[indices.Tally]:
    """The sheet's contribution to every place it counts in (indices.domain)."""
    sipas = tuple((question.factor, question.aspect, sheet.values[question.id]) for question in q.questions
                  if question.kind == questionnaires.Kind.SCALE and question.id in sheet.values)
    places = indices.places((sheet.agency_code, sheet.parent_agency_code), sheet.officers,
                            sheet.procedure_code, sheet.field_code)
    level = next(iter(sheet.values.values()), 0) if q.scoring == questionnaires.Scoring.KIOSK else 0
    return indices.tallies(places, sheet.answered_at, sheet.invitation_id, kind="q", scoring=q.scoring.value,
                           total=sheet.total, grade=sheet.grade, sipas=sipas, level=level)
