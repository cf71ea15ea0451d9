"""The feedback RPCs of onestop.survey.v1.SurveyService (FileFeedback ... ListPublishedFeedback),
mixed into the one SurveyServicer (onestop_survey.api). The public ones spend the caller's budgets
(limits.FeedbackLimits).

Privacy (issue 12 item 7): `feedback_to_proto` fills the complainant only for officers of the unit
handling the item (never for a SERVICE account); the public views (by code and secret, published
items) carry no complainant, no officer, no dossier code and no log subjects.
"""

from __future__ import annotations

import datetime as dt

from prometheus_client import Counter

from onestop.survey.v1 import survey_pb2
from onestop_chassis import auth
from onestop_chassis.errors import FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated
from onestop_chassis.logs import get_logger
from onestop_chassis.text import nfc

from . import domain
from .limits import FeedbackLimits
from .service import FeedbackService

log = get_logger("onestop.survey")
FEEDBACK_ACTIONS = Counter("onestop_survey_feedback_actions", "Feedback actions carried out, by action", ["action"])
HANDLING = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
# Who reads a complainant's contact details: officers (and the leader an overdue item is escalated
# to) of the unit handling it. Not SERVICE: no service calls the complainant back (the platform
# sends nothing to them), so a service account that leaked would leak nobody's phone.
UNIT_OFFICERS = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN)


def filing_from_proto(request: survey_pb2.FileFeedbackRequest) -> domain.Filing:
    person = request.complainant
    if person.kind not in (domain.FiledBy.PERSON, domain.FiledBy.BUSINESS):
        raise InvalidArgument.from_violations([FieldViolation(
            "complainant.kind", "must be 1 (person) or 2 (business or organisation)")])
    complainant = domain.Complainant(kind=domain.FiledBy(person.kind), name=nfc(person.name.strip()),
                                     phone=person.phone.strip(), email=person.email.strip(),
                                     address=nfc(person.address.strip()))
    return domain.Filing(code="", secret_hash="", agency_code=request.agency_code.strip(),
                         type_code=request.type_code.strip(), content=nfc(request.content.strip()),
                         complainant=complainant, dossier_code=request.dossier_code.strip(),
                         officer_id=request.officer_id.strip())


def _at(field, value: dt.datetime | None) -> None:
    if value is not None:
        field.FromDatetime(value)


def feedback_to_proto(item: domain.Feedback, service: FeedbackService,
                      viewer: auth.Principal | None) -> survey_pb2.Feedback:
    """The item as `viewer` may see it: None is the public (the complainant by secret, anyone for
    a published item); the complainant's contact details only for UNIT_OFFICERS of the unit
    handling it (issue 12 item 7): not another unit's officer, not a SERVICE account."""
    kind = service.policy.types.get(item.type_code)
    message = survey_pb2.Feedback(
        code=item.code, agency_code=item.filing.agency_code, unit_code=item.unit_code, type_code=item.type_code,
        type_name=kind.name if kind else "", content=item.filing.content, state=int(item.state),
        overdue=item.overdue(service.clock()), answer=item.answer, founded=item.founded, published=item.published,
        reopens=item.reopens, rating=item.rating, escalations=item.escalations)
    _at(message.filed_at, item.filed_at)
    _at(message.due_at, item.due_at)
    _at(message.answered_at, item.answered_at)
    _at(message.reopen_until, service.reopen_until(item))
    officer = viewer is not None and viewer.has_any(HANDLING)
    if officer:
        message.dossier_code, message.officer_id = item.filing.dossier_code, item.filing.officer_id
    if viewer is not None and viewer.has_any(UNIT_OFFICERS) and viewer.agency == item.unit_code:
        person = item.filing.complainant
        message.complainant.CopyFrom(survey_pb2.Complainant(kind=int(person.kind), name=person.name,
                                                            phone=person.phone, email=person.email,
                                                            address=person.address))
    for entry in item.log:
        row = message.log.add(seq=entry.seq, kind=str(entry.kind), role=entry.actor.role,
                              unit_code=entry.actor.unit_code, reason=entry.reason)
        row.at.FromDatetime(entry.at)
        if officer:
            row.subject = entry.actor.subject
    return message


def published_to_proto(item: domain.Feedback, service: FeedbackService) -> survey_pb2.Feedback:
    """A published item: the content and answer written for the public, no personal data."""
    message = feedback_to_proto(item, service, None)
    message.content, message.answer = item.public_content, item.public_answer
    del message.log[:]  # reasons are free text the public has no need of
    return message


class FeedbackRpcs:
    """FileFeedback, GetFeedback, ListFeedback, AssignFeedback, AnswerFeedback, PublishFeedback,
    ReopenFeedback, RateFeedbackAnswer, GetFeedbackIndicators, ListPublishedFeedback."""

    _feedback: FeedbackService
    _feedback_limits: FeedbackLimits

    def _view(self, item: domain.Feedback, viewer: auth.Principal | None) -> survey_pb2.Feedback:
        return feedback_to_proto(item, self._feedback, viewer)

    @auth.public
    def FileFeedback(self, request, context):
        self._feedback_limits.spend(context, "filing")
        item, secret = self._feedback.file(filing_from_proto(request))
        FEEDBACK_ACTIONS.labels("filed").inc()
        log.info("feedback filed", feedback_code=item.code, type_code=item.type_code)
        return survey_pb2.FileFeedbackResponse(feedback=self._view(item, None), secret=secret)

    @auth.public
    def GetFeedback(self, request, context):
        if request.secret:
            self._feedback_limits.spend(context, "secret")
            item = self._feedback.lookup(request.code, request.secret)
            return survey_pb2.GetFeedbackResponse(feedback=self._view(item, None))
        actor = auth.current_principal()
        if actor is None:
            raise Unauthenticated("TOKEN_MISSING", "give the tracking secret, or sign in as an officer")
        if not actor.has_any(HANDLING):
            raise PermissionDenied("ROLE_REQUIRED", "only officers read feedback without its tracking secret")
        return survey_pb2.GetFeedbackResponse(feedback=self._view(self._feedback.get(request.code, actor), actor))

    @auth.requires(*HANDLING)
    def ListFeedback(self, request, context):
        actor = auth.current_principal()
        items, token = self._feedback.list_unit(request.unit_code, actor, request.page_size, request.page_token,
                                                request.escalated_only)
        return survey_pb2.ListFeedbackResponse(items=[self._view(i, actor) for i in items], next_page_token=token)

    @auth.requires(auth.DESK_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
    def AssignFeedback(self, request, context):
        actor = auth.current_principal()
        item = self._feedback.assign(request.code, request.unit_code, request.type_code, request.reason,
                                     request.request_id, actor)
        FEEDBACK_ACTIONS.labels("assigned").inc()
        return survey_pb2.AssignFeedbackResponse(feedback=self._view(item, actor))

    @auth.requires(auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.SERVICE)
    def AnswerFeedback(self, request, context):
        actor = auth.current_principal()
        item = self._feedback.answer(request.code, request.answer, request.founded, request.request_id, actor)
        FEEDBACK_ACTIONS.labels("answered").inc()
        return survey_pb2.AnswerFeedbackResponse(feedback=self._view(item, actor))

    @auth.requires(auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
    def PublishFeedback(self, request, context):
        actor = auth.current_principal()
        item = self._feedback.publish(request.code, nfc(request.public_content), nfc(request.public_answer),
                                      request.request_id, actor)
        FEEDBACK_ACTIONS.labels("published").inc()
        return survey_pb2.PublishFeedbackResponse(feedback=self._view(item, actor))

    @auth.public
    def ReopenFeedback(self, request, context):
        self._feedback_limits.spend(context, "secret")
        item = self._feedback.reopen(request.code, request.secret, nfc(request.reason))
        FEEDBACK_ACTIONS.labels("reopened").inc()
        return survey_pb2.ReopenFeedbackResponse(feedback=self._view(item, None))

    @auth.public
    def RateFeedbackAnswer(self, request, context):
        self._feedback_limits.spend(context, "secret")
        item = self._feedback.rate(request.code, request.secret, request.rating)
        FEEDBACK_ACTIONS.labels("rated").inc()
        return survey_pb2.RateFeedbackAnswerResponse(feedback=self._view(item, None))

    @auth.requires(*HANDLING)
    def GetFeedbackIndicators(self, request, context):
        if not (request.HasField("start") and request.HasField("end")):
            raise InvalidArgument.from_violations([FieldViolation("start", "start and end are both required")])
        found = self._feedback.indicators(request.agency_code, request.start.ToDatetime(dt.UTC),
                                          request.end.ToDatetime(dt.UTC), auth.current_principal())
        return survey_pb2.GetFeedbackIndicatorsResponse(indicators=survey_pb2.FeedbackIndicators(
            agency_code=found.agency_code, filed=found.filed, answered=found.answered,
            answered_on_time=found.answered_on_time, due=found.due, protracted=found.protracted,
            reopened=found.reopened, founded_officer_complaints=found.founded_officer_complaints,
            indicator_8_points=found.indicator_8_points, indicator_7_complaint=found.indicator_7_complaint))

    @auth.public
    def ListPublishedFeedback(self, request, context):
        items, token = self._feedback.published(request.agency_code, request.page_size, request.page_token)
        return survey_pb2.ListPublishedFeedbackResponse(items=[published_to_proto(i, self._feedback) for i in items],
                                                        next_page_token=token)

