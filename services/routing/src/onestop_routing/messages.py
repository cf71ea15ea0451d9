"""Routing's events (onestop.events.v1.routing_events): the messages each journey entry causes.

One entry, its events: the store writes them with the entry in one insert (transactional outbox),
and routing's relay process publishes them. Intake consumes them to show the national status.
"""

from __future__ import annotations

from collections.abc import Callable

from onestop.common.v1 import common_pb2
from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis import events

from . import domain
from .domain.clocks import Grade
from .domain.journey import CaseView, Entry, EntryKind, PauseKind
from .domain.process import ProcessTemplate

PRODUCER = "routing"
TIMELINESS = {Grade.EARLY: common_pb2.TIMELINESS_EARLY, Grade.ON_TIME: common_pb2.TIMELINESS_ON_TIME,
              Grade.LATE: common_pb2.TIMELINESS_LATE}


def _unknown(code: str) -> str:
    return ""


def unit_ref(case: domain.Case, unit_code: str, names: Callable[[str], str] = _unknown) -> common_pb2.UnitRef:
    """A unit by code; its Vietnamese name when routing knows it: the receiving unit's (from
    DossierReceived), another unit's from `names` (units.UnitNames.name: as last read from intake,
    never a call), else empty (intake fills it from its own units)."""
    name = case.receiving_unit_name if unit_code == case.receiving_unit_code else ""
    return common_pb2.UnitRef(code=unit_code, name=name or names(unit_code))


def case_steps(case: domain.Case, template: ProcessTemplate, view: CaseView,
               names: Callable[[str], str] = _unknown) -> list[rev.CaseStep]:
    steps = []
    for run in view.runs:
        step = rev.CaseStep(step_code=run.step, step_name=template.step(run.step).name,
                            unit=unit_ref(case, run.unit_code, names))
        step.due_at.FromDatetime(run.clock.due_at)
        steps.append(step)
    return steps


def case_opened(case: domain.Case, template: ProcessTemplate | None, view: CaseView | None,
                names: Callable[[str], str] = _unknown) -> rev.CaseOpened:
    message = rev.CaseOpened(header=events.new_header(PRODUCER, case.opened_at), dossier_code=case.dossier_code,
                             process_code=case.process_code, process_version=case.process_version)
    if template is not None and view is not None:
        message.steps.extend(case_steps(case, template, view, names))
    message.due_at.FromDatetime(case.due_at)
    return message


def for_entry(case: domain.Case, template: ProcessTemplate, before: CaseView, after: CaseView,
              entry: Entry, names: Callable[[str], str] = _unknown) -> list:
    """The events `entry` causes (none for assignments and the scan's marks); units named with
    `names` where known (see unit_ref)."""
    header = events.new_header(PRODUCER, entry.at)
    code = case.dossier_code
    match entry.kind:
        case EntryKind.FORWARDED | EntryKind.SENT_BACK:
            return [rev.CaseProgressed(header=header, dossier_code=code,
                                       steps=case_steps(case, template, after, names))]
        case EntryKind.PAUSED if entry.pause is PauseKind.SUPPLEMENT:
            return [rev.CaseSupplementRequested(header=header, dossier_code=code, reason=entry.reason,
                                                requested_by=entry.actor.subject,
                                                unit=unit_ref(case, entry.actor.unit_code, names))]
        case EntryKind.PAUSED:
            return [rev.CasePaymentRequested(header=header, dossier_code=code, reason=entry.reason,
                                             unit=unit_ref(case, entry.actor.unit_code, names))]
        case EntryKind.RESUMED:
            message = rev.CaseResumed(header=header, dossier_code=code,
                                      paused_minutes=after.clock.paused_minutes - before.clock.paused_minutes)
            message.due_at.FromDatetime(after.clock.due_at)
            return [message]
        case EntryKind.EXTENDED:
            extension = after.extensions[-1]
            extended = rev.CaseExtended(header=header, dossier_code=code, reason=entry.reason,
                                        extra=common_pb2.WorkingDuration(**extension.extra.__dict__),
                                        agency_at_fault=unit_ref(case, extension.unit_code, names),
                                        approved_by=entry.actor.subject)
            extended.new_due_at.FromDatetime(extension.new_due_at)
            return [extended]
        case EntryKind.STOPPED:
            stopped = rev.CaseStopped(header=header, dossier_code=code, reason=entry.reason)
            stopped.stopped_at.FromDatetime(entry.at)
            return [stopped]
        case EntryKind.FINISHED | EntryKind.REFUSED:
            grade = after.grade
            finished = rev.CaseFinished(header=header, dossier_code=code, result_summary=entry.reason,
                                        refused=entry.kind is EntryKind.REFUSED,
                                        timeliness=TIMELINESS[grade] if grade else common_pb2.TIMELINESS_UNSPECIFIED)
            finished.finished_at.FromDatetime(entry.at)
            return [finished]
    return []


def step_overdue(case: domain.Case, template: ProcessTemplate, view: CaseView, entry: Entry,
                 escalated_to: str) -> rev.StepOverdue:
    """The scan's mark of one running step (`entry`, OVERDUE or DUE_SOON; `view` before it):
    overdue true, escalated to `escalated_to`, or due soon."""
    run = view.run(entry.step)
    assert run is not None  # the scan marks a running step
    step = rev.CaseStep(step_code=run.step, step_name=template.step(run.step).name, unit=unit_ref(case, run.unit_code))
    step.due_at.FromDatetime(run.clock.due_at)
    return rev.StepOverdue(header=events.new_header(PRODUCER, entry.at), dossier_code=case.dossier_code, step=step,
                           overdue=entry.kind is EntryKind.OVERDUE, escalated_to=escalated_to)
