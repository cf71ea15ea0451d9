"""Survey's `api` process: the SurveyService gRPC API."""

from __future__ import annotations

from onestop.survey.v1 import survey_pb2, survey_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit

from . import domain
from .bootstrap import Survey, bootstrap, prepare_database
from .config import SurveySettings
from .feedback.api import FeedbackRpcs
from .feedback.limits import FeedbackLimits
from .feedback.service import FeedbackService
from .service import SurveyService


def invitation_to_proto(item: domain.Invitation) -> survey_pb2.Invitation:
    message = survey_pb2.Invitation(id=item.id, agency_code=item.agency_code, title=item.title)
    message.created_at.FromDatetime(item.created_at)
    return message


class SurveyServicer(FeedbackRpcs, survey_pb2_grpc.SurveyServiceServicer):
    """onestop.survey.v1.SurveyService: each package of survey (feedback/, ...) holds a mixin of its RPCs."""

    def __init__(self, service: SurveyService, *, feedback: FeedbackService,
                 feedback_limits: FeedbackLimits | None = None):
        self._service = service
        self._feedback = feedback
        self._feedback_limits = feedback_limits or FeedbackLimits()  # this servicer's own budgets

    @auth.requires(auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.AGENCY_ADMIN, auth.SERVICE)
    def GetInvitation(self, request, context):
        item = self._service.get_invitation(request.id, auth.current_principal())
        return survey_pb2.GetInvitationResponse(invitation=invitation_to_proto(item))


def register(server, survey: Survey) -> None:
    """Adds survey's servicers to the chassis gRPC server."""
    server.add_servicer(survey_pb2_grpc.add_SurveyServiceServicer_to_server,
                        SurveyServicer(survey.service, feedback=survey.feedback,
                                       feedback_limits=survey.feedback_limits),
                        survey_pb2.DESCRIPTOR.services_by_name["SurveyService"])


def main() -> None:
    settings = load_or_exit(SurveySettings)

    def start(server) -> None:
        prepare_database()
        register(server, bootstrap(settings))
    run_api(settings, start)
