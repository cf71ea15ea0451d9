"""Survey's composition root: the one place that builds adapters and use cases from settings.

The api process, the worker process and tests all call `bootstrap`; tests pass fakes for the
adapters they replace. No servicer, worker or entry module constructs an adapter itself.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Callable
from dataclasses import dataclass

from onestop_chassis.clock import utcnow
from onestop_chassis.worktime import WorkingCalendar

from .adapters.mongo import MongoInvitations, ensure_indexes
from .config import SurveySettings
from .feedback import domain as feedback_domain
from .feedback.adapters.mongo import MongoFeedback
from .feedback.limits import FeedbackLimits
from .feedback.overdue import FeedbackOverdueScan
from .feedback.service import FeedbackService, FeedbackStore, Policy
from .service import InvitationRepository, SurveyService

BUILT_IN_TYPES = pathlib.Path(__file__).parent / "feedback" / "types.yaml"


@dataclass(frozen=True)
class Survey:
    """Everything survey's processes use, built once per process."""
    service: SurveyService
    feedback: FeedbackService               # feedback and complaints
    feedback_overdue: FeedbackOverdueScan   # the worker's overdue scan of feedback
    feedback_limits: FeedbackLimits         # this process's budgets of feedback's public RPCs


def feedback_policy(settings: SurveySettings) -> Policy:
    """Feedback types (FEEDBACK_TYPES_FILE, else the built-in types.yaml), the shared calendar
    (WORKING_CALENDAR_FILE) and the reopen rules. InvalidArgument naming a bad line of the types file."""
    path = pathlib.Path(settings.feedback_types_file or BUILT_IN_TYPES)
    return Policy(types=feedback_domain.load_types(path.read_bytes()),
                  calendar=WorkingCalendar.of(settings.calendar_days()),
                  reopen_days=settings.feedback_reopen_days, max_reopens=settings.feedback_max_reopens)


def bootstrap(settings: SurveySettings, *, invitations: InvitationRepository | None = None,
              feedback: FeedbackStore | None = None, clock: Callable[[], dt.datetime] | None = None,
              feedback_limits: FeedbackLimits | None = None) -> Survey:
    """Builds survey from its settings; `invitations` and `feedback` replace the MongoDB stores,
    `clock` the wall clock, `feedback_limits` the public RPCs' budgets (tests). The database
    connection itself is the process's (chassis `run_api` / `MongoConnection`)."""
    if invitations is None:
        invitations = MongoInvitations()
    clock = clock or utcnow
    feedback_service = FeedbackService(feedback if feedback is not None else MongoFeedback(),
                                       feedback_policy(settings), clock=clock)
    limits = feedback_limits or FeedbackLimits(settings.feedback_filings_per_client,
                                               settings.feedback_secret_uses_per_client,
                                               tuple(settings.trusted_networks))
    return Survey(service=SurveyService(invitations), feedback=feedback_service,
                  feedback_overdue=FeedbackOverdueScan(feedback_service, settings.feedback_overdue_scan_page,
                                                       clock=clock), feedback_limits=limits)


def prepare_database() -> None:
    """Once per process start, before serving: indexes and migrations of what is stored (idempotent)."""
    ensure_indexes()
