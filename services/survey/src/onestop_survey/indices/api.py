"""GetSatisfactionIndex of onestop.survey.v1.SurveyService, mixed into the one SurveyServicer."""

from __future__ import annotations

from onestop.survey.v1 import survey_pb2
from onestop_chassis import auth

from ..answers.domain import KIOSK_LEVELS
from ..questionnaires.domain import FACTORS
from ..questionnaires.service import QuestionnaireService
from . import domain
from .service import IndexService, parse_query

POINTS_QUESTIONNAIRE = "tt01-9"  # whose bands name the grades


def summary_to_proto(s: domain.Summary,
                     questionnaires: QuestionnaireService) -> survey_pb2.GetSatisfactionIndexResponse:
    bands = questionnaires.builtin[POINTS_QUESTIONNAIRE].bands
    known = {b.grade for b in bands}
    grades = [survey_pb2.GradeCount(grade=b.grade, label=b.label, count=s.grades.get(b.grade, 0))
              for b in sorted(bands, key=lambda b: -b.lowest)]
    grades += [survey_pb2.GradeCount(grade=g, label=g, count=n) for g, n in sorted(s.grades.items()) if g not in known]
    factors = []
    for code, name in FACTORS.items():
        answers, satisfied, share, perception, expectation = s.factor(code)
        factors.append(survey_pb2.FactorIndex(factor=code, name=name, answers=answers, satisfied=satisfied, share=share,
                                              mean_perception=perception, mean_expectation=expectation))
    return survey_pb2.GetSatisfactionIndexResponse(
        points=survey_pb2.PointsIndex(sheets=s.sheets, total_points=s.total_points, average_total=s.average_total,
                                      grades=grades),
        kiosk=survey_pb2.KioskIndex(ratings=s.ratings, levels=[
            survey_pb2.LevelShare(level=level, label=label, count=s.levels.get(level, 0), share=s.level_share(level))
            for level, label in KIOSK_LEVELS.items()]),
        sipas=survey_pb2.SipasIndex(sheets=s.sipas_sheets, factors=factors, index=s.sipas_index))


class IndexRpcs:
    _indices: IndexService
    _questionnaires: QuestionnaireService

    @auth.requires(auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
    def GetSatisfactionIndex(self, request, context):
        query = parse_query(request.agency_code, request.officer, request.procedure_code, request.field_code,
                            request.from_date, request.to_date)
        summary = self._indices.index(query, auth.current_principal())
        return summary_to_proto(summary, self._questionnaires)
