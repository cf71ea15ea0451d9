"""Answers and ratings → onestop.events.v1 messages (survey_events.proto). AnswerRecorded's
deprecated `dossier_code` is never filled: an answer is not traced to its dossier (issue 12)."""

from __future__ import annotations

from onestop.events.v1 import survey_events_pb2 as ev
from onestop_chassis import events

from .. import domain

PRODUCER = "survey"


def answer_recorded(s: domain.AnswerSheet) -> ev.AnswerRecorded:
    message = ev.AnswerRecorded(
        header=events.new_header(PRODUCER, s.answered_at), invitation_id=s.invitation_id,
        agency_code=s.agency_code, procedure_code=s.procedure_code,
        officers=list(s.officers), return_method=s.return_method, questionnaire_code=s.questionnaire_code,
        questionnaire_version=s.questionnaire_version, values=s.values, total=s.total, grade=s.grade)
    message.answered_at.FromDatetime(s.answered_at)
    return message


def officer_rated(r: domain.Rating) -> ev.OfficerRated:
    message = ev.OfficerRated(header=events.new_header(PRODUCER, r.rated_at), rating_id=r.id,
                              agency_code=r.agency_code, kiosk_id=r.kiosk_id, officer=r.officer, level=r.level,
                              parent_agency_code=r.parent_agency_code)
    message.rated_at.FromDatetime(r.rated_at)
    return message
