"""Survey's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mongoengine.connection import get_db

from onestop_chassis import auth
from onestop_chassis.clock import utcnow
from onestop_chassis.shared_budgets import COLLECTION as BUDGETS
from onestop_chassis.worktime import WorkingCalendar

from .answers.adapters.mongo import MongoAnswers, MongoKiosks, MongoRatings, MongoTallies, forget_dossier_codes
from .answers.kiosks import KioskRegistry, KioskStore
from .answers.limits import SurveyLimits
from .answers.repair import TallyRepair, TallyRepairStore
from .answers.service import AnswerService, AnswerStore, RatingStore, TallyStore
from .config import SurveySettings
from .feedback import domain as feedback_domain
from .feedback.adapters.intake_units import IntakeUnitTree
from .feedback.adapters.mongo import MongoFeedback
from .feedback.limits import FeedbackLimits
from .feedback.overdue import FeedbackOverdueScan
from .feedback.service import FeedbackService, FeedbackStore, Policy, UnitTree
from .indices.service import IndexService, TallyReader
from .invitations.adapters.mongo import MongoInvitations
from .invitations.service import InvitationService, InvitationStore
from .public.feedback import FeedbackPages
from .public.pages import SurveyPages
from .questionnaires import files as questionnaire_files
from .questionnaires.adapters.mongo import MongoQuestionnaires
from .questionnaires.service import QuestionnaireService, QuestionnaireStore

BUILT_IN_TYPES = pathlib.Path(__file__).parent / "feedback" / "types.yaml"


class Tallies(TallyStore, TallyReader, TallyRepairStore, Protocol):
    """The indices' tallies: written per answer (and again from AnswerRecorded), read per index query."""


@dataclass(frozen=True)
class Survey:
    """Everything survey's processes use, built once per process."""
    settings: SurveySettings
    questionnaires: QuestionnaireService  # built in and each agency's own, versioned
    invitations: InvitationService        # one per returned dossier (the worker issues them)
    answers: AnswerService                # the citizen's answers and the kiosks' ratings
    indices: IndexService                 # GetSatisfactionIndex
    limits: SurveyLimits                  # the budgets of the public RPCs and pages (in the database: all replicas)
    pages: SurveyPages                    # the public pages /khao-sat and /quay (worker)
    trusted_proxies: tuple                # X-Forwarded-For is read only from these (settings.trusted_networks)
    feedback: FeedbackService             # feedback and complaints
    feedback_overdue: FeedbackOverdueScan  # the worker's overdue scan of feedback
    feedback_limits: FeedbackLimits       # the budgets of feedback's public RPCs (in the database)
    tally_repair: TallyRepair             # the worker's rebuild of tallies from AnswerRecorded and OfficerRated
    feedback_pages: FeedbackPages         # the public feedback pages /phan-anh (worker)


def feedback_policy(settings: SurveySettings) -> Policy:
    """Feedback types (FEEDBACK_TYPES_FILE, else the built-in types.yaml), the shared calendar
    (WORKING_CALENDAR_FILE) and the reopen rules. InvalidArgument naming a bad line of the types file."""
    path = pathlib.Path(settings.feedback_types_file or BUILT_IN_TYPES)
    return Policy(types=feedback_domain.load_types(path.read_bytes()),
                  calendar=WorkingCalendar.of(settings.calendar_days()),
                  reopen_days=settings.feedback_reopen_days, max_reopens=settings.feedback_max_reopens)


def bootstrap(settings: SurveySettings, *, invitations: InvitationStore | None = None,
              questionnaires: QuestionnaireStore | None = None, answers: AnswerStore | None = None,
              ratings: RatingStore | None = None, tallies: Tallies | None = None,
              limits: SurveyLimits | None = None, feedback: FeedbackStore | None = None,
              feedback_limits: FeedbackLimits | None = None, units: UnitTree | None = None,
              kiosks: KioskStore | None = None,
              clock: Callable[[], dt.datetime] | None = None) -> Survey:
    """Builds survey from its settings; each keyword replaces what it names (tests: in-memory
    fakes, a fixed `clock`, lifted limits, a fixed unit tree). The units client opens its channel
    to INTAKE_ADDRESS at its first call (an assignment to another unit). The database connection itself is the process's
    (chassis `run_api` / `MongoConnection`)."""
    questionnaire_service = QuestionnaireService(
        questionnaires if questionnaires is not None else MongoQuestionnaires(), questionnaire_files.builtin(),
        invitation_default=settings.invitation_questionnaire)
    invitation_service = InvitationService(
        invitations if invitations is not None else MongoInvitations(), questionnaire_service,
        key=settings.invitation_key.encode(), base_url=settings.survey_base_url,
        expiry_days=settings.invitation_expiry_days, clock=clock)
    tally_store: Tallies = tallies if tallies is not None else MongoTallies()
    units = units if units is not None else IntakeUnitTree(
        settings.intake_address, lambda: auth.service_token(settings), settings.intake_timeout_seconds)
    kiosk_registry = KioskRegistry(kiosks if kiosks is not None else MongoKiosks(), units, clock=clock or utcnow)
    answer_store = answers if answers is not None else MongoAnswers()
    rating_store = ratings if ratings is not None else MongoRatings()
    answer_service = AnswerService(invitation_service, questionnaire_service, answer_store, rating_store,
                                   tally_store, kiosk_registry)
    limits = limits if limits is not None else SurveyLimits(
        per_kiosk=settings.ratings_per_kiosk, per_client=settings.ratings_per_client,
        token_requests=settings.token_requests_per_client, token_mismatches=settings.unknown_tokens_per_client,
        shared=lambda: get_db()[BUDGETS])
    feedback_service = FeedbackService(feedback if feedback is not None else MongoFeedback(),
                                       feedback_policy(settings), units, clock=clock or utcnow)
    feedback_limits = feedback_limits or FeedbackLimits(settings.feedback_filings_per_client,
                                                        settings.feedback_secret_uses_per_client,
                                                        tuple(settings.trusted_networks),
                                                        shared=lambda: get_db()[BUDGETS])
    return Survey(
        settings=settings, questionnaires=questionnaire_service, invitations=invitation_service,
        answers=answer_service, indices=IndexService(tally_store, clock=clock), limits=limits,
        pages=SurveyPages(answer_service, limits), trusted_proxies=tuple(settings.trusted_networks),
        feedback=feedback_service, feedback_limits=feedback_limits,
        feedback_overdue=FeedbackOverdueScan(feedback_service, settings.feedback_overdue_scan_page,
                                             clock=clock or utcnow),
        tally_repair=TallyRepair(answer_store, questionnaire_service, tally_store, rating_store),
        feedback_pages=FeedbackPages(feedback_service, feedback_limits))


def prepare_database() -> None:
    """Once per process start, before serving: indexes and migrations of what is stored (idempotent).
    Every collection of issues 12's items 2-5 is read by `_id` only: nothing to build. Answer
    sheets stored with a dossier code lose it (answers.adapters.mongo.forget_dossier_codes)."""
    forget_dossier_codes()
