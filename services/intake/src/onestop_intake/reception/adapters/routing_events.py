"""onestop.events.v1 routing events → `routed.RoutingEvent`."""

from __future__ import annotations

import datetime as dt

from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis.clock import to_ms
from onestop_chassis.worktime import WorkingDuration

from ..domain import CurrentStep
from ..routed import RoutingEvent


def _time(message, name: str) -> dt.datetime | None:
    # Milliseconds, as MongoDB keeps them: the stored routing_at compares equal to a redelivery's.
    return to_ms(getattr(message, name).ToDatetime(tzinfo=dt.UTC)) if message.HasField(name) else None


def _steps(steps) -> tuple[CurrentStep, ...]:
    return tuple(CurrentStep(s.step_code, s.step_name, s.unit.code, s.unit.name, _time(s, "due_at")) for s in steps)


def _base(kind: str, message, at: dt.datetime | None = None, **fields) -> RoutingEvent:
    at = at or _time(message.header, "occurred_at") or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return RoutingEvent(kind=kind, dossier_code=message.dossier_code, event_id=message.header.event_id, at=at,
                        **fields)


def from_message(message) -> RoutingEvent:
    """The event as intake applies it; TypeError for a message that is not one of routing's."""
    if isinstance(message, rev.CaseOpened):
        return _base("opened", message, steps=_steps(message.steps), process_code=message.process_code,
                     process_version=message.process_version, due_at=_time(message, "due_at"))
    if isinstance(message, rev.CaseProgressed):
        return _base("progressed", message, steps=_steps(message.steps))
    if isinstance(message, rev.CaseSupplementRequested):
        return _base("supplement_requested", message, reason=message.reason,
                     documents_to_add=tuple(message.documents_to_add), actor=message.requested_by,
                     unit_code=message.unit.code, unit_name=message.unit.name)
    if isinstance(message, rev.CasePaymentRequested):
        return _base("payment_requested", message, reason=message.reason, unit_code=message.unit.code,
                     unit_name=message.unit.name)
    if isinstance(message, rev.CaseResumed):
        return _base("resumed", message, paused_minutes=message.paused_minutes, due_at=_time(message, "due_at"))
    if isinstance(message, rev.CaseExtended):
        extra = message.extra
        return _base("extended", message, reason=message.reason, due_at=_time(message, "new_due_at"),
                     extra=WorkingDuration(days=extra.days, hours=extra.hours, minutes=extra.minutes),
                     unit_code=message.agency_at_fault.code, unit_name=message.agency_at_fault.name,
                     actor=message.approved_by)
    if isinstance(message, rev.CaseStopped):
        return _base("stopped", message, _time(message, "stopped_at"), reason=message.reason)
    if isinstance(message, rev.CaseFinished):
        return _base("finished", message, _time(message, "finished_at"), timeliness=int(message.timeliness),
                     summary=message.result_summary, refused=message.refused)
    raise TypeError(f"not a routing event intake follows: {type(message).__name__}")
