"""Survey's `api` process: the SurveyService gRPC API.

SurveyService is one proto service whose RPCs live with what they act on: questionnaires,
invitations, answers, indices and feedback each hold a mixin of its RPCs; `SurveyServicer` composes
them into the one servicer the server registers.
"""

from __future__ import annotations

from onestop.survey.v1 import survey_pb2, survey_pb2_grpc
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit

from .answers.api import AnswerRpcs
from .bootstrap import Survey, bootstrap, prepare_database
from .config import SurveySettings
from .feedback.api import FeedbackRpcs
from .indices.api import IndexRpcs
from .invitations.api import InvitationRpcs
from .questionnaires.api import QuestionnaireRpcs


class SurveyServicer(InvitationRpcs, QuestionnaireRpcs, AnswerRpcs, IndexRpcs, FeedbackRpcs,
                     survey_pb2_grpc.SurveyServiceServicer):
    """onestop.survey.v1.SurveyService over the composition's use cases."""

    def __init__(self, survey: Survey):
        self._questionnaires = survey.questionnaires
        self._invitations = survey.invitations
        self._answers = survey.answers
        self._indices = survey.indices
        self._limits = survey.limits
        self._trusted_proxies = tuple(survey.settings.trusted_networks)
        self._feedback = survey.feedback
        self._feedback_limits = survey.feedback_limits  # the budgets of feedback's public RPCs


def register(server, survey: Survey) -> None:
    """Adds survey's servicers to the chassis gRPC server."""
    server.add_servicer(survey_pb2_grpc.add_SurveyServiceServicer_to_server, SurveyServicer(survey),
                        survey_pb2.DESCRIPTOR.services_by_name["SurveyService"])


def main() -> None:
    settings = load_or_exit(SurveySettings)

    def start(server) -> None:
        prepare_database()
        register(server, bootstrap(settings))
    run_api(settings, start)
