"""The events feedback writes through the outbox (onestop.events.v1 survey_events): codes, units,
types and times only; no complainant, content or answer."""

from __future__ import annotations

from onestop.events.v1 import survey_events_pb2 as ev
from onestop_chassis import auth, events

from .domain import Feedback, FeedbackType

PRODUCER = "survey"


def filed(item: Feedback) -> ev.FeedbackFiled:
    message = ev.FeedbackFiled(header=events.new_header(PRODUCER, item.filed_at), code=item.code,
                               agency_code=item.filing.agency_code, type_code=item.type_code,
                               dossier_code=item.filing.dossier_code)
    message.due_at.FromDatetime(item.due_at)
    return message


def answered(item: Feedback, types: dict[str, FeedbackType]) -> ev.FeedbackAnswered:
    kind = types.get(item.type_code)
    return ev.FeedbackAnswered(header=events.new_header(PRODUCER, item.answered_at), code=item.code,
                               agency_code=item.filing.agency_code, unit_code=item.unit_code,
                               on_time=item.answered_on_time(), founded=item.founded,
                               about_officer=bool(kind and kind.about_officer))


def escalated(item: Feedback) -> ev.FeedbackEscalated:
    """`item` as it was found overdue (before its ESCALATED entry)."""
    message = ev.FeedbackEscalated(header=events.new_header(PRODUCER), code=item.code,
                                   agency_code=item.filing.agency_code, unit_code=item.unit_code,
                                   role=auth.UNIT_LEADER)
    message.due_at.FromDatetime(item.due_at)
    return message


def reopened(item: Feedback) -> ev.FeedbackReopened:
    message = ev.FeedbackReopened(header=events.new_header(PRODUCER, item.log[-1].at), code=item.code,
                                  agency_code=item.filing.agency_code, unit_code=item.unit_code)
    message.due_at.FromDatetime(item.due_at)
    return message


def rated(item: Feedback) -> ev.FeedbackRated:
    return ev.FeedbackRated(header=events.new_header(PRODUCER, item.log[-1].at), code=item.code,
                            agency_code=item.filing.agency_code, unit_code=item.unit_code, rating=item.rating)
