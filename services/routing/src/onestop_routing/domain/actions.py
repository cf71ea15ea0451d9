"""Who may do what to a case, and the journey entry each allowed action writes. Plain Python.

`decide` checks a command against the case view and its template and returns the one `Entry` to
append, or raises: FAILED_PRECONDITION when the case is not where the action needs it (ended,
not at that step, an action the template does not allow there, a guard not met, a second
supplement request, a finish while another parallel branch runs: `BRANCH_OPEN`), PERMISSION_DENIED
when the officer may not act (another unit, not the assigned officer, not a leader),
INVALID_ARGUMENT when the command lacks what it needs (a reason, a positive extension). Nothing
is written by a refused action.

Rules: only the assigned (primary) officer of the performing unit moves a step on (OpenCPS
#489/#552 let anyone act); the unit's leader assigns, reassigns without a send-back (#1174) and
approves extensions, which need a reason (form 04 prints it); a dossier gets at most one
supplement request (DOMAIN.md "Time").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from onestop_chassis.auth import UNIT_LEADER
from onestop_chassis.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied
from onestop_chassis.worktime import WorkingDuration

from .journey import ENDED, Actor, AssigneeKind, CaseState, CaseView, Entry, EntryKind, PauseKind, StepRun
from .process import Action, Guard, ProcessTemplate, Transition

MOVES = {Action.FORWARD: EntryKind.FORWARDED, Action.APPROVE: EntryKind.FORWARDED,
         Action.SEND_BACK: EntryKind.SENT_BACK}
ENDS = {Action.FINISH: EntryKind.FINISHED, Action.STOP: EntryKind.STOPPED, Action.REFUSE: EntryKind.REFUSED}
PAUSES = {Action.REQUEST_SUPPLEMENT: PauseKind.SUPPLEMENT, Action.REQUEST_PAYMENT: PauseKind.PAYMENT}


@dataclass(frozen=True)
class Act:
    """An officer's action on the step they hold: move on, send back, ask the citizen, end."""
    step: str
    action: Action
    to_step: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Assign:
    step: str
    assignee: str
    kind: AssigneeKind = AssigneeKind.PRIMARY


@dataclass(frozen=True)
class Claim:
    step: str


@dataclass(frozen=True)
class Extend:
    extra: WorkingDuration
    reason: str


@dataclass(frozen=True)
class Resume:
    """The desk received the supplement, or the payment was confirmed (intake's event)."""
    reason: str = ""


Command = Act | Assign | Claim | Extend | Resume


def decide(view: CaseView, template: ProcessTemplate, actor: Actor, command: Command, *, at: dt.datetime,
           request_id: str = "") -> Entry:
    """The entry `command` appends to the journey (seq = view.seq + 1); raises as the module says."""
    if view.state in ENDED:
        raise FailedPrecondition("CASE_ENDED", f"case {view.dossier_code} has ended ({view.state}); "
                                               "a correction is recorded as a new entry with its reason")
    entry = Entry(seq=view.seq + 1, kind=EntryKind.CORRECTED, at=at, actor=actor, request_id=request_id)
    match command:
        case Act():
            return _act(view, template, actor, command, entry)
        case Assign():
            run = _held(view, command.step)
            _require_leader(actor, run)
            if not command.assignee.strip():
                raise InvalidArgument.from_violations([FieldViolation("assignee", "is required")])
            return _with(entry, kind=EntryKind.ASSIGNED, step=run.step, assignee=command.assignee.strip(),
                         assignee_kind=command.kind)
        case Claim():
            run = _held(view, command.step)
            _require_unit(actor, run)
            performer = template.step(run.step).performer
            if performer is not None and actor.role not in (performer.role, UNIT_LEADER):
                raise PermissionDenied("ROLE_REQUIRED", f"step {run.step} is performed by a {performer.role}; "
                                                        f"{actor.subject} acts as {actor.role}")
            if run.primary:
                raise FailedPrecondition("ALREADY_ASSIGNED", f"step {run.step} is assigned to {run.primary}; "
                                                             "the unit's leader reassigns it")
            return _with(entry, kind=EntryKind.CLAIMED, step=run.step, assignee=actor.subject,
                         assignee_kind=AssigneeKind.PRIMARY)
        case Extend():
            return _extend(view, actor, command, entry)
        case Resume():
            if view.state is not CaseState.PAUSED:
                raise FailedPrecondition("NOT_PAUSED", f"case {view.dossier_code} is not waiting for the citizen")
            return _with(entry, kind=EntryKind.RESUMED, reason=command.reason)
    raise TypeError(f"not a routing command: {command!r}")


def _with(entry: Entry, **fields) -> Entry:
    return Entry(**{**entry.__dict__, **fields})


def _held(view: CaseView, step: str) -> StepRun:
    run = view.run(step)
    if run is None:
        current = ", ".join(r.step for r in view.runs) or "none"
        raise FailedPrecondition("STEP_NOT_CURRENT", f"case {view.dossier_code} is not at step {step!r} "
                                                     f"(current: {current})", metadata={"step": step})
    return run


def _require_unit(actor: Actor, run: StepRun) -> None:
    if actor.unit_code != run.unit_code:
        raise PermissionDenied("OTHER_UNIT", f"step {run.step} is performed by unit {run.unit_code}; "
                                             f"{actor.subject} acts for {actor.unit_code or '(none)'}",
                               metadata={"unit_code": run.unit_code})


def _require_leader(actor: Actor, run: StepRun) -> None:
    _require_unit(actor, run)
    if actor.role != UNIT_LEADER:
        raise PermissionDenied("LEADER_REQUIRED", f"only the leader of unit {run.unit_code} may do this")


def _act(view: CaseView, template: ProcessTemplate, actor: Actor, command: Act, entry: Entry) -> Entry:
    run = _held(view, command.step)
    _require_unit(actor, run)
    if run.primary != actor.subject:
        holder = f"assigned to {run.primary}" if run.primary else "not assigned yet: claim it first"
        raise PermissionDenied("NOT_ASSIGNED", f"step {run.step} is {holder}")
    transition = _transition(template, command)
    if view.state is CaseState.PAUSED:
        raise FailedPrecondition("CASE_PAUSED", f"case {view.dossier_code} waits for the citizen "
                                                f"(status {view.national_status}); it resumes first")
    _check_guards(view, run, transition)
    if command.action is Action.FINISH and len(view.runs) > 1:
        # A finish from one branch would end the others unheard; STOP ends the whole case on purpose.
        open_ = ", ".join(r.step for r in view.runs if r is not run)
        raise FailedPrecondition("BRANCH_OPEN", f"case {view.dossier_code} cannot finish while parallel "
                                                f"step(s) still run: {open_}", metadata={"open_steps": open_})
    entry = _with(entry, step=run.step, reason=command.reason.strip())
    if command.action in MOVES:
        return _with(entry, kind=MOVES[command.action], to_step=transition.to_step)
    if command.action in ENDS:
        if command.action is not Action.FINISH and not entry.reason:
            raise InvalidArgument.from_violations([FieldViolation("reason", "is required (printed on the notice)")])
        return _with(entry, kind=ENDS[command.action])
    if not entry.reason:
        raise InvalidArgument.from_violations([FieldViolation("reason", "is required (printed on form 02)")])
    return _with(entry, kind=EntryKind.PAUSED, pause=PAUSES[command.action])


def _transition(template: ProcessTemplate, command: Act) -> Transition:
    allowed = [t for t in template.outgoing(command.step) if t.action is command.action
               and (not command.to_step or t.to_step == command.to_step)]
    if len(allowed) != 1:
        offered = ", ".join(sorted({f"{t.action}{' → ' + t.to_step if t.to_step else ''}"
                                    for t in template.outgoing(command.step)}))
        what = "names no single next step" if allowed else "is not allowed at this step"
        raise FailedPrecondition("ACTION_NOT_ALLOWED", f"{command.action} {command.to_step} {what} "
                                                       f"{command.step}; allowed: {offered}",
                                 metadata={"step": command.step, "action": str(command.action)})
    return allowed[0]


def _check_guards(view: CaseView, run: StepRun, transition: Transition) -> None:
    if transition.action is Action.REQUEST_SUPPLEMENT and view.supplements:
        raise FailedPrecondition("SECOND_SUPPLEMENT", f"case {view.dossier_code} already had a supplement "
                                                      "request; a dossier gets at most one (DOMAIN.md, Time)")
    if Guard.PAID in transition.guards and not view.paid:
        raise FailedPrecondition("NOT_PAID", f"case {view.dossier_code}: the financial obligation is not "
                                             "confirmed yet")
    if Guard.ALL_BRANCHES_DONE in transition.guards and any(r is not run for r in view.runs):
        open_ = ", ".join(r.step for r in view.runs if r is not run)
        raise FailedPrecondition("BRANCHES_OPEN", f"parallel steps are still running: {open_}")


def _extend(view: CaseView, actor: Actor, command: Extend, entry: Entry) -> Entry:
    if actor.role != UNIT_LEADER or all(actor.unit_code != r.unit_code for r in view.runs):
        raise PermissionDenied("LEADER_REQUIRED", "an extension is approved by the leader of a unit holding the case")
    violations = []
    if not command.reason.strip():
        violations.append(FieldViolation("reason", "is required (form 04 gives it to the citizen)"))
    extra = command.extra
    if min(extra.days, extra.hours, extra.minutes) < 0 or not (extra.days or extra.hours or extra.minutes):
        violations.append(FieldViolation("extra", "is a positive working time"))
    if violations:
        raise InvalidArgument.from_violations(violations)
    return _with(entry, kind=EntryKind.EXTENDED, extra=extra, reason=command.reason.strip())
