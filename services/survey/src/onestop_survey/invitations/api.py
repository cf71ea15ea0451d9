"""The invitation RPCs of onestop.survey.v1.SurveyService (GetInvitation, for the desk), mixed
into the one SurveyServicer (onestop_survey.api)."""

from __future__ import annotations

from onestop.survey.v1 import survey_pb2
from onestop_chassis import auth

from .service import DeskView, InvitationService


def invitation_to_proto(view: DeskView) -> survey_pb2.Invitation:
    item = view.invitation
    message = survey_pb2.Invitation(
        id=item.id, agency_code=item.agency_code, title=item.title, dossier_code=item.dossier_code,
        procedure_code=item.procedure_code, officers=list(item.officers), return_method=item.return_method,
        questionnaire_code=item.questionnaire_code, questionnaire_version=item.questionnaire_version,
        link=view.link, qr_png=view.qr_png, sms_text=view.sms_text)
    message.created_at.FromDatetime(item.created_at)
    if item.expires_at is not None:
        message.expires_at.FromDatetime(item.expires_at)
    return message


class InvitationRpcs:
    _invitations: InvitationService

    @auth.requires(auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.AGENCY_ADMIN, auth.SERVICE)
    def GetInvitation(self, request, context):
        view = self._invitations.get(request.id, auth.current_principal(), request.dossier_code)
        return survey_pb2.GetInvitationResponse(invitation=invitation_to_proto(view))
