"""The journey of a case: an append-only log of entries, and the case view folded from it.
Plain Python.

Every action on a case is one `Entry` (who, role, unit, when, why, request_id); nothing rewrites
an entry, and a correction is an entry of its own. The case's state, its clocks and the rows of
the control slip (form 06, Circular 03/2025 Annex I) are computed by `fold`, so statistics can
always be recomputed from the log (DOMAIN.md: corrections never rewrite the record).

Parallel branches: forwarding into a SPLIT step opens a run for each of its branches at once;
a branch forwarding into the JOIN closes; the last one to close passes the case on through the
join. A forward into a split and the close of a branch are parts of one FORWARDED entry, so one
action stays one entry (one insert, which is what makes actions atomic on FerretDB).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from onestop_chassis import codes
from onestop_chassis.worktime import WorkingCalendar, WorkingDuration

from .clocks import Clock, Grade
from .process import Action, ProcessTemplate, StepKind

PROCESSING_STATUS = 4      # Đang xử lý
SUPPLEMENT_STATUS = 5      # Yêu cầu bổ sung giấy tờ
PAYMENT_STATUS = 6         # Yêu cầu thực hiện nghĩa vụ tài chính
STOPPED_STATUS = 8         # Dừng xử lý
FINISHED_STATUS = 9        # Đã xử lý xong


class EntryKind(StrEnum):
    OPENED = "opened"
    ASSIGNED = "assigned"
    CLAIMED = "claimed"
    FORWARDED = "forwarded"
    SENT_BACK = "sent_back"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTENDED = "extended"
    FINISHED = "finished"
    STOPPED = "stopped"
    REFUSED = "refused"
    DUE_SOON = "due_soon"    # found by the overdue scan, once per step run
    OVERDUE = "overdue"      # idem
    CORRECTED = "corrected"  # a correction of an earlier entry (`corrects`), with its reason
    # The desk received a supplement while the case was not paused for one: its request (intake's
    # DossierSupplementRequested, on another queue) was not processed yet. Changes no state; that
    # request, when it comes, finds it answered and does not pause (intake asks once per dossier).
    SUPPLEMENT_RECEIVED = "supplement_received"


class PauseKind(StrEnum):
    SUPPLEMENT = "supplement"  # the citizen supplements the dossier through the desk (status 5)
    PAYMENT = "payment"        # the citizen meets a financial obligation (status 6)


class AssigneeKind(StrEnum):
    PRIMARY = "primary"        # thụ lý chính: the one who acts
    CO_HANDLER = "co_handler"  # phối hợp
    WATCHER = "watcher"        # theo dõi


class CaseState(StrEnum):
    PROCESSING = "processing"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    REFUSED = "refused"


ENDED = frozenset({CaseState.FINISHED, CaseState.STOPPED, CaseState.REFUSED})
TERMINAL_ENTRIES = {EntryKind.FINISHED: (CaseState.FINISHED, FINISHED_STATUS),
                    EntryKind.STOPPED: (CaseState.STOPPED, STOPPED_STATUS),
                    EntryKind.REFUSED: (CaseState.REFUSED, FINISHED_STATUS)}  # a refusal is a result


@dataclass(frozen=True)
class Actor:
    subject: str
    role: str
    unit_code: str


@dataclass(frozen=True)
class Entry:
    seq: int                             # 1, 2, ... per case; unique: the concurrency control
    kind: EntryKind
    at: dt.datetime
    actor: Actor
    request_id: str = ""
    reason: str = ""
    step: str = ""                       # the step acted on
    to_step: str = ""                    # FORWARDED, SENT_BACK: where the case goes
    assignee: str = ""                   # ASSIGNED
    assignee_kind: AssigneeKind | None = None
    pause: PauseKind | None = None       # PAUSED
    extra: WorkingDuration | None = None  # EXTENDED
    due_at: dt.datetime | None = None    # OPENED: the appointment on the receipt
    corrects: int = 0                    # CORRECTED: the seq it corrects


@dataclass(frozen=True)
class StepRun:
    """A step the case is at (one per running branch)."""
    step: str
    unit_code: str
    entered_at: dt.datetime
    clock: Clock
    from_unit: str = ""
    from_officer: str = ""
    primary: str = ""
    co_handlers: tuple[str, ...] = ()
    watchers: tuple[str, ...] = ()
    due_soon: bool = False
    overdue: bool = False


@dataclass(frozen=True)
class Handover:
    """One row of the control slip (form 06): "Giao: from / Nhận: to", when, and how the step that
    gave it away did against its own budget."""
    from_step: str
    from_unit: str
    from_officer: str
    to_step: str                         # empty when the case ended
    to_unit: str
    at: dt.datetime
    due_at: dt.datetime
    grade: Grade
    note: str = ""


@dataclass(frozen=True)
class Extension:
    """An approved extension (gia hạn): the case's due time and the due time of the approving
    leader's unit's running step(s) move by `extra` working time (form 04 names that unit)."""
    reason: str
    extra: WorkingDuration
    approved_by: str
    at: dt.datetime
    new_due_at: dt.datetime               # the case's new due time (the new appointment)
    unit_code: str = ""                   # the agency at fault: the approving leader's unit, holding the step(s)
    steps: tuple[str, ...] = ()           # that unit's steps running then, whose due time moved too


@dataclass(frozen=True)
class CaseView:
    dossier_code: str
    process_code: str
    version: int
    state: CaseState
    national_status: int
    clock: Clock                          # the whole case's: due at the appointment
    runs: tuple[StepRun, ...] = ()
    handovers: tuple[Handover, ...] = ()
    extensions: tuple[Extension, ...] = ()
    supplements: int = 0                  # supplement requests so far (at most one: actions.py)
    paid: bool = False                    # a financial obligation was requested and then confirmed
    seq: int = 0                          # the last entry folded in
    ended_at: dt.datetime | None = None
    overdue: bool = False                 # the case's own clock was found past its due (an OVERDUE entry without
    #                                       step); an extension clears it: the new due time can pass again
    due_soon: bool = False                # the case's clock was found due soon (a DUE_SOON entry without step),
    #                                       once per case: an extension does not clear it

    def run(self, step: str) -> StepRun | None:
        return next((r for r in self.runs if r.step == step), None)

    @property
    def grade(self) -> Grade | None:
        """The case's grade once it ended (the first end of processing counts)."""
        return self.clock.grade(self.ended_at) if self.ended_at else None


def opened(dossier_code: str, template: ProcessTemplate, calendar: WorkingCalendar, entry: Entry) -> CaseView:
    """The view after the OPENED entry: the case clock runs to the appointment and the start step runs."""
    if entry.kind is not EntryKind.OPENED or entry.due_at is None:
        raise ValueError("a journey starts with an OPENED entry carrying the appointment")
    view = CaseView(dossier_code=dossier_code, process_code=template.process_code, version=template.version,
                    state=CaseState.PROCESSING, national_status=PROCESSING_STATUS, clock=Clock(entry.due_at),
                    seq=entry.seq)
    return _enter(view, template, calendar, template.start_step, entry, from_unit="", from_officer="")


def fold(dossier_code: str, template: ProcessTemplate, calendar: WorkingCalendar, entries) -> CaseView:
    """The case view from its whole log, in seq order (ValueError if the log has a gap)."""
    entries = sorted(entries, key=lambda e: e.seq)
    view = opened(dossier_code, template, calendar, entries[0])
    for entry in entries[1:]:
        view = apply(view, template, calendar, entry)
    return view


def apply(view: CaseView, template: ProcessTemplate, calendar: WorkingCalendar, entry: Entry) -> CaseView:
    """The view after one more entry. Entries are checked before they are written (onestop_routing.
    actions); here only the log's own order is: ValueError on a gap or a repeated seq."""
    if entry.seq != view.seq + 1:
        raise ValueError(f"entry {entry.seq} of {view.dossier_code} follows entry {view.seq}")
    view = replace(view, seq=entry.seq)
    handler = _APPLY.get(entry.kind)
    return handler(view, template, calendar, entry) if handler else view


def _enter(view: CaseView, template: ProcessTemplate, calendar: WorkingCalendar, code: str, entry: Entry,
           *, from_unit: str, from_officer: str) -> CaseView:
    """The case arrives at step `code`: a task runs; a split opens its branches; a join waits while
    a running step can still reach it by forward transitions (the open branches of its own split,
    however deeply nested) and then passes the case on. A step of another split's branch (a
    sibling of an enclosing split) cannot reach it and does not hold it: waiting for it would let
    the case pass the outer join without the steps after this one (issue 11's review)."""
    step = template.step(code)
    if step.kind is StepKind.SPLIT:
        for branch in _forward_targets(template, code):
            view = _enter(view, template, calendar, branch, entry, from_unit=from_unit, from_officer=from_officer)
        return view
    if step.kind is StepKind.JOIN:
        if any(_reaches(template, r.step, code) for r in view.runs):  # a branch of its split still runs
            return view
        after = _forward_targets(template, code)[0]  # validate(): a join passes the case on
        return _enter(view, template, calendar, after, entry, from_unit=from_unit, from_officer=from_officer)
    assert step.performer is not None  # validate(): every task has one
    clock = Clock.start(calendar.for_unit(step.performer.unit_code), entry.at, step.budget)
    if view.state is CaseState.PAUSED:
        clock = clock.pause(entry.at)
    run = StepRun(step=code, unit_code=step.performer.unit_code, entered_at=entry.at, clock=clock,
                  from_unit=from_unit, from_officer=from_officer)
    return replace(view, runs=(*view.runs, run))


def _forward_targets(template: ProcessTemplate, code: str) -> list[str]:
    return [t.to_step for t in template.outgoing(code) if t.action in (Action.FORWARD, Action.APPROVE)]


def _reaches(template: ProcessTemplate, start: str, goal: str) -> bool:
    """Whether step `goal` is reachable from step `start` by forward transitions (through splits
    and joins). validate() refuses forward loops, so the walk ends."""
    seen, todo = set(), [start]
    while todo:
        code = todo.pop()
        if code == goal:
            return True
        if code not in seen:
            seen.add(code)
            todo.extend(_forward_targets(template, code))
    return False


def _leave(view: CaseView, entry: Entry, to_step: str, to_unit: str,
           more: tuple[tuple[str, str], ...] = ()) -> tuple[CaseView, StepRun]:
    """The step hands the case over: one control slip row to (to_step, to_unit), and one per
    further receiver in `more` (the other branches a split opens)."""
    run = view.run(entry.step)
    if run is None:
        raise ValueError(f"entry {entry.seq}: the case is not at step {entry.step!r}")
    rows = tuple(Handover(from_step=run.step, from_unit=run.unit_code, from_officer=entry.actor.subject,
                          to_step=step, to_unit=unit, at=entry.at, due_at=run.clock.due_at,
                          grade=run.clock.grade(entry.at), note=entry.reason)
                 for step, unit in ((to_step, to_unit), *more))
    runs = tuple(r for r in view.runs if r is not run)
    return replace(view, runs=runs, handovers=(*view.handovers, *rows)), run


def _receivers(template: ProcessTemplate, code: str) -> list[tuple[str, str]]:
    """Who receives a case handed to step `code`, as (step, unit) rows of the control slip: the
    step's performer; for a split (no performer) each branch it opens; for a join, the join with
    the unit of the step after it (which takes the case once every branch closed)."""
    step = template.step(code)
    if step.kind is StepKind.SPLIT:
        return [row for branch in _forward_targets(template, code) for row in _receivers(template, branch)]
    if step.kind is StepKind.JOIN:
        return [(code, _receivers(template, _forward_targets(template, code)[0])[0][1])]
    return [(code, step.performer.unit_code if step.performer else "")]


def _moved(view, template, calendar, entry):
    """FORWARDED and SENT_BACK: the step hands the case to the next step."""
    first, *more = _receivers(template, entry.to_step)
    view, run = _leave(view, entry, *first, more=tuple(more))
    return _enter(view, template, calendar, entry.to_step, entry, from_unit=run.unit_code,
                  from_officer=entry.actor.subject)


def _paused(view, template, calendar, entry):
    status = SUPPLEMENT_STATUS if entry.pause is PauseKind.SUPPLEMENT else PAYMENT_STATUS
    return replace(view, state=CaseState.PAUSED, national_status=status, clock=view.clock.pause(entry.at),
                   runs=tuple(replace(r, clock=r.clock.pause(entry.at)) for r in view.runs),
                   supplements=view.supplements + (entry.pause is PauseKind.SUPPLEMENT))


def case_calendar(calendar: WorkingCalendar, dossier_code: str) -> WorkingCalendar:
    """The calendar of the case's own clock: its receiving unit's (the unit the dossier code names),
    as intake computed the appointment with (chassis `WorkingCalendar.for_unit`)."""
    return calendar.for_unit(codes.unit_of(dossier_code)) if codes.is_dossier_code(dossier_code) else calendar


def _resumed(view, template, calendar, entry):
    """Each clock credits the working time paused on its own unit's calendar (a step's unit's
    closures are not its working time; the case's clock counts the receiving unit's days)."""
    return replace(view, state=CaseState.PROCESSING, national_status=PROCESSING_STATUS,
                   paid=view.paid or view.national_status == PAYMENT_STATUS,
                   clock=view.clock.resume(case_calendar(calendar, view.dossier_code), entry.at),
                   runs=tuple(replace(r, clock=r.clock.resume(calendar.for_unit(r.unit_code), entry.at))
                              for r in view.runs))


def _extended(view, template, calendar, entry):
    """The case's clock and the clocks of the approving leader's unit's running steps move by the
    extra working time (actions.py: that unit holds at least one running step). Steps of other
    units (another parallel branch) keep their budgets: their units did not ask for more time. A
    step already marked overdue stays marked (the mark is once per run; it was late)."""
    assert entry.extra is not None
    clock = view.clock.extend(case_calendar(calendar, view.dossier_code), entry.extra)
    unit = entry.actor.unit_code
    runs = tuple(replace(r, clock=r.clock.extend(calendar.for_unit(unit), entry.extra)) if r.unit_code == unit else r
                 for r in view.runs)
    extension = Extension(reason=entry.reason, extra=entry.extra, approved_by=entry.actor.subject, at=entry.at,
                          new_due_at=clock.due_at, unit_code=unit,
                          steps=tuple(r.step for r in view.runs if r.unit_code == unit))
    return replace(view, clock=clock, runs=runs, extensions=(*view.extensions, extension), overdue=False)


def _ended(view, template, calendar, entry):
    state, status = TERMINAL_ENTRIES[entry.kind]
    for run in view.runs:
        view, _ = _leave(view, replace(entry, step=run.step), "", "")
    return replace(view, state=state, national_status=status, ended_at=view.ended_at or entry.at)


def _assigned(view, template, calendar, entry):
    def assign(run: StepRun) -> StepRun:
        if entry.kind is EntryKind.CLAIMED or entry.assignee_kind is AssigneeKind.PRIMARY:
            return replace(run, primary=entry.assignee or entry.actor.subject)
        if entry.assignee_kind is AssigneeKind.CO_HANDLER:
            return replace(run, co_handlers=_added(run.co_handlers, entry.assignee))
        return replace(run, watchers=_added(run.watchers, entry.assignee))
    return _update_run(view, entry.step, assign)


def _added(names: tuple[str, ...], name: str) -> tuple[str, ...]:
    return names if name in names else (*names, name)


def _marked(view, template, calendar, entry):
    if not entry.step:  # the case's own clock (case_due.py)
        if entry.kind is EntryKind.DUE_SOON:
            return replace(view, due_soon=True)
        return replace(view, overdue=True)
    if entry.kind is EntryKind.DUE_SOON:
        return _update_run(view, entry.step, lambda run: replace(run, due_soon=True))
    return _update_run(view, entry.step, lambda run: replace(run, overdue=True))


def _update_run(view: CaseView, step: str, change) -> CaseView:
    return replace(view, runs=tuple(change(r) if r.step == step else r for r in view.runs))


_APPLY = {EntryKind.FORWARDED: _moved, EntryKind.SENT_BACK: _moved, EntryKind.PAUSED: _paused,
          EntryKind.RESUMED: _resumed, EntryKind.EXTENDED: _extended, EntryKind.FINISHED: _ended,
          EntryKind.STOPPED: _ended, EntryKind.REFUSED: _ended, EntryKind.ASSIGNED: _assigned,
          EntryKind.CLAIMED: _assigned, EntryKind.DUE_SOON: _marked, EntryKind.OVERDUE: _marked}
