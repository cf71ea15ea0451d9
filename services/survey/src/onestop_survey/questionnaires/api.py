"""The questionnaire RPCs of onestop.survey.v1.SurveyService (PutQuestionnaire,
SetInvitationQuestionnaire), mixed into the one SurveyServicer (onestop_survey.api); and the
questionnaire as proto, for GetSurvey."""

from __future__ import annotations

from onestop.survey.v1 import survey_pb2
from onestop_chassis import auth
from onestop_chassis.errors import FieldViolation, InvalidArgument

from . import domain
from .service import QuestionnaireService

FORMATS = {survey_pb2.QUESTIONNAIRE_FILE_FORMAT_YAML: "yaml", survey_pb2.QUESTIONNAIRE_FILE_FORMAT_JSON: "json"}


def questionnaire_to_proto(q: domain.Questionnaire) -> survey_pb2.Questionnaire:
    return survey_pb2.Questionnaire(code=q.code, version=q.version, name=q.name, questions=[
        survey_pb2.Question(id=x.id, kind=x.kind.value, text=x.text, required=x.required,
                            options=[survey_pb2.QuestionOption(value=o.value, label=o.label) for o in x.options],
                            factor=x.factor, aspect=x.aspect, max_length=x.max_length)
        for x in q.questions])


class QuestionnaireRpcs:
    _questionnaires: QuestionnaireService

    @auth.requires(auth.AGENCY_ADMIN, auth.SERVICE)
    def PutQuestionnaire(self, request, context):
        fmt = FORMATS.get(request.format)
        if fmt is None:
            raise InvalidArgument.from_violations([FieldViolation("format", "must be YAML or JSON")])
        stored = self._questionnaires.put(request.agency_code, request.content, fmt, auth.current_principal())
        return survey_pb2.PutQuestionnaireResponse(questionnaires=[
            survey_pb2.StoredQuestionnaire(code=s.code, version=s.version, changed=s.changed) for s in stored])

    @auth.requires(auth.AGENCY_ADMIN, auth.SERVICE)
    def SetInvitationQuestionnaire(self, request, context):
        choice = self._questionnaires.choose_for_invitations(request.agency_code, request.questionnaire_code,
                                                             auth.current_principal())
        return survey_pb2.SetInvitationQuestionnaireResponse(
            agency_code=request.agency_code.strip(), questionnaire_code=choice.questionnaire.code,
            questionnaire_version=choice.questionnaire.version, platform_default=choice.platform_default)
