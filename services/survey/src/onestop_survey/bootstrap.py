"""Survey's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .answers.adapters.mongo import MongoAnswers, MongoRatings, MongoTallies
from .answers.limits import SurveyLimits
from .answers.service import AnswerService, AnswerStore, RatingStore, TallyStore
from .config import SurveySettings
from .indices.service import IndexService, TallyReader
from .invitations.adapters.mongo import MongoInvitations
from .invitations.service import InvitationService, InvitationStore
from .public.pages import SurveyPages
from .questionnaires import files as questionnaire_files
from .questionnaires.adapters.mongo import MongoQuestionnaires
from .questionnaires.service import QuestionnaireService, QuestionnaireStore


class Tallies(TallyStore, TallyReader, Protocol):
    """The indices' tallies: written per answer, read per index query."""


@dataclass(frozen=True)
class Survey:
    """Everything survey's processes use, built once per process."""
    settings: SurveySettings
    questionnaires: QuestionnaireService  # built in and each agency's own, versioned
    invitations: InvitationService        # one per returned dossier (the worker issues them)
    answers: AnswerService                # the citizen's answers and the kiosks' ratings
    indices: IndexService                 # GetSatisfactionIndex
    limits: SurveyLimits                  # this process's budgets of the public RPCs and pages
    pages: SurveyPages                    # the public pages /khao-sat and /quay (worker)
    trusted_proxies: tuple                # X-Forwarded-For is read only from these (settings.trusted_networks)


def bootstrap(settings: SurveySettings, *, invitations: InvitationStore | None = None,
              questionnaires: QuestionnaireStore | None = None, answers: AnswerStore | None = None,
              ratings: RatingStore | None = None, tallies: Tallies | None = None,
              limits: SurveyLimits | None = None, clock: Callable[[], dt.datetime] | None = None) -> Survey:
    """Builds survey from its settings; each keyword replaces what it names (tests: in-memory
    fakes, a fixed `clock`, lifted limits). The database connection itself is the process's
    (chassis `run_api` / `MongoConnection`)."""
    questionnaire_service = QuestionnaireService(
        questionnaires if questionnaires is not None else MongoQuestionnaires(), questionnaire_files.builtin())
    invitation_service = InvitationService(
        invitations if invitations is not None else MongoInvitations(), questionnaire_service,
        key=settings.invitation_key.encode(), base_url=settings.survey_base_url,
        expiry_days=settings.invitation_expiry_days, questionnaire_code=settings.invitation_questionnaire,
        clock=clock)
    tally_store: Tallies = tallies if tallies is not None else MongoTallies()
    answer_service = AnswerService(invitation_service, questionnaire_service,
                                   answers if answers is not None else MongoAnswers(),
                                   ratings if ratings is not None else MongoRatings(), tally_store)
    limits = limits if limits is not None else SurveyLimits(
        per_kiosk=settings.ratings_per_kiosk, per_client=settings.ratings_per_client,
        token_requests=settings.token_requests_per_client, token_mismatches=settings.unknown_tokens_per_client)
    return Survey(
        settings=settings, questionnaires=questionnaire_service, invitations=invitation_service,
        answers=answer_service, indices=IndexService(tally_store, clock=clock), limits=limits,
        pages=SurveyPages(answer_service, limits), trusted_proxies=tuple(settings.trusted_networks))


def prepare_database() -> None:
    """Once per process start, before serving: indexes and migrations of what is stored (idempotent).
    Every collection of issues 12's items 2-5 is read by `_id` only: nothing to build."""
