"""The public answer RPCs of onestop.survey.v1.SurveyService (GetSurvey, SubmitAnswers,
RateOfficer), under the abuse limits (answers.limits), mixed into the one SurveyServicer."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.survey.v1 import survey_pb2
from onestop_chassis import auth
from onestop_chassis.ratelimits import Network, grpc_client

from ..questionnaires.api import questionnaire_to_proto
from ..questionnaires.domain import grade as grade_of
from .limits import SurveyLimits
from .service import AnswerService

ANSWERS = Counter("onestop_survey_answers", "Answer sheets recorded, by questionnaire", ["questionnaire"])
RATINGS = Counter("onestop_survey_kiosk_ratings", "Counter kiosk ratings recorded, by level", ["level"])


def answers_of(request) -> dict[str, int | str]:
    """The request's answers by question id (the last one of a question given twice)."""
    out: dict[str, int | str] = {}
    for a in request.answers:
        given = a.WhichOneof("given")
        out[a.question_id.strip()] = a.value if given == "value" else a.text if given == "text" else ""
    return out


class AnswerRpcs:
    _answers: AnswerService
    _limits: SurveyLimits
    _trusted_proxies: tuple[Network, ...]

    @auth.public
    def GetSurvey(self, request, context):
        client = grpc_client(context, self._trusted_proxies)
        invitation, questionnaire = self._limits.token(client=client, use=lambda: self._answers.survey(request.token))
        response = survey_pb2.GetSurveyResponse(questionnaire=questionnaire_to_proto(questionnaire),
                                                procedure_name=invitation.title)
        if invitation.expires_at is not None:
            response.expires_at.FromDatetime(invitation.expires_at)
        return response

    @auth.public
    def SubmitAnswers(self, request, context):
        client = grpc_client(context, self._trusted_proxies)
        sheet = self._limits.token(client=client, use=lambda: self._answers.submit(request.token, answers_of(request)))
        ANSWERS.labels(sheet.questionnaire_code).inc()
        response = survey_pb2.SubmitAnswersResponse(total=sheet.total, grade=sheet.grade)
        if sheet.grade:
            q = self._answers.questionnaire_of(sheet)
            response.grade_label = grade_of(q, sheet.total).label
        response.answered_at.FromDatetime(sheet.answered_at)
        return response

    @auth.public
    def RateOfficer(self, request, context):
        self._limits.rating(kiosk=f"{request.agency_code.strip()}|{request.kiosk_id.strip()}",
                            client=grpc_client(context, self._trusted_proxies))
        rating = self._answers.rate(request.agency_code, request.kiosk_id, request.officer, request.level)
        RATINGS.labels(str(rating.level)).inc()
        response = survey_pb2.RateOfficerResponse()
        response.rated_at.FromDatetime(rating.rated_at)
        return response
