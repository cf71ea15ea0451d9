"""The answer RPCs of onestop.survey.v1.SurveyService: the public GetSurvey, SubmitAnswers and
RateOfficer, under the abuse limits (answers.limits), and the units' RegisterKiosk and RevokeKiosk
(answers.kiosks); mixed into the one SurveyServicer."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.survey.v1 import survey_pb2
from onestop_chassis import auth
from onestop_chassis.logs import get_logger
from onestop_chassis.ratelimits import Network, grpc_client

from ..questionnaires.api import questionnaire_to_proto
from ..questionnaires.domain import grade as grade_of
from . import kiosks
from .limits import SurveyLimits
from .service import AnswerService

log = get_logger("onestop.survey")
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
        self._limits.rating_client(grpc_client(context, self._trusted_proxies))
        rating = self._answers.rate(request.agency_code, request.kiosk_id, request.kiosk_key, request.officer,
                                    request.level, request.request_id, spend=self._limits.rating_kiosk)
        RATINGS.labels(str(rating.level)).inc()
        response = survey_pb2.RateOfficerResponse(rating_id=rating.id)
        response.rated_at.FromDatetime(rating.rated_at)
        return response

    @auth.requires(auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
    def RegisterKiosk(self, request, context):
        kiosk, key = self._answers.kiosks.register(request.unit_code, request.kiosk_id, auth.current_principal())
        log.info("kiosk registered", unit_code=kiosk.unit_code, kiosk_id=kiosk.kiosk_id)
        return survey_pb2.RegisterKioskResponse(kiosk=kiosk_to_proto(kiosk), kiosk_key=key,
                                                page_path=kiosks.page_path(kiosk, key))

    @auth.requires(auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
    def RevokeKiosk(self, request, context):
        kiosk = self._answers.kiosks.revoke(request.unit_code, request.kiosk_id, auth.current_principal())
        log.info("kiosk revoked", unit_code=kiosk.unit_code, kiosk_id=kiosk.kiosk_id)
        return survey_pb2.RevokeKioskResponse(kiosk=kiosk_to_proto(kiosk))


def kiosk_to_proto(kiosk: kiosks.Kiosk) -> survey_pb2.Kiosk:
    message = survey_pb2.Kiosk(unit_code=kiosk.unit_code, kiosk_id=kiosk.kiosk_id, agency_code=kiosk.agency_code,
                               registered_by=kiosk.registered_by)
    message.registered_at.FromDatetime(kiosk.registered_at)
    if kiosk.revoked_at is not None:
        message.revoked_at.FromDatetime(kiosk.revoked_at)
    return message
