"""Inboxes: the keys under which a case's running steps are listed, one per list each step is in
(its unit's, the unassigned or each assignee's own, and every running step by due time), so that
an inbox page, or the overdue scan, is one `_id` range sorted by `_id` (docs/routing.md)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from onestop_chassis.worktime import WorkingCalendar, WorkingDuration

from .domain.journey import CaseState, StepRun
from .domain.process import working_minutes

if TYPE_CHECKING:  # the service imports this module
    from .cases import Loaded

INBOX_PAGE_DEFAULT = 50
INBOX_PAGE_MAX = 200
# The overdue scan's keys begin so (no unit code is "all"); the store keeps them apart (adapters).
SCAN_PREFIX = "all|"
# Every running step of every unit by due time, for a scan of what is overdue: one `_id` range
# `all|running|` .. `all|running|<now>` (no unit code is "all").
RUNNING_PREFIX = "all|running|"
# Every running step not yet marked due soon, by the moment DUE_SOON_SHARE of its budget is used:
# the overdue scan's second range `all|duesoon|` .. `all|duesoon|<now>`.
DUE_SOON_PREFIX = "all|duesoon|"
# The scope of a unit's list for its leader of the steps the scan found overdue (the escalation).
ESCALATED_SCOPE = "escalated"


@dataclass(frozen=True)
class InboxItem:
    """One step in one inbox: `key` = `<unit>|<scope>|<step due, ISO UTC Z>|<dossier>|<step>`,
    scope `unit`, `unassigned` or `mine:<subject>`, so an inbox page is one `_id` range."""
    key: str
    dossier_code: str
    procedure_name: str
    applicant_name: str
    step_code: str
    step_name: str
    unit_code: str
    entered_at: dt.datetime
    due_at: dt.datetime
    case_due_at: dt.datetime
    primary: str = ""
    co_handlers: tuple[str, ...] = ()
    watchers: tuple[str, ...] = ()
    due_soon: bool = False
    overdue: bool = False
    paused: bool = False


class InboxScope(StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    UNIT = "unit"
    ESCALATED = ESCALATED_SCOPE  # the unit's steps the overdue scan found late (its leader's)


def iso_key(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def inbox_prefix(unit_code: str, scope: str) -> str:
    return f"{unit_code}|{scope}|"


def due_soon_at(calendar: WorkingCalendar, run: StepRun, budget: WorkingDuration,
                share: float) -> dt.datetime | None:
    """When `share` (0..1) of the step's budget is used: its entry plus that share of the budget
    (with its extensions) in working minutes, plus the working minutes its pauses credited (a
    working day = the calendar's windows), counted on the step's unit's calendar (`for_unit`: its
    own closures are not its working time, as for its due time). None for a step without a budget."""
    calendar = calendar.for_unit(run.unit_code)
    day = sum((dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).seconds // 60
              for start, end in calendar.windows)
    minutes = working_minutes(budget, day) + working_minutes(run.clock.extended, day)
    if minutes <= 0:
        return None
    used = math.ceil(minutes * share) + run.clock.paused_minutes
    return calendar.add(run.entered_at, WorkingDuration(minutes=used))


def inbox_items(loaded: Loaded, calendar: WorkingCalendar | None = None,
                due_soon_share: float = 0.0) -> list[InboxItem]:
    """The inbox keys of the case's running steps: the unit's list, and the unassigned list or
    each assignee's own (primary, co-handlers, watchers), and the lists the overdue scan reads.
    Only a running clock (not paused) is in the scan's lists, and only until the scan marked it:
    `all|running|<due>` until marked overdue, `all|duesoon|<due soon>` (with `calendar` and a share
    in 0..1) until marked due soon or overdue; a step marked overdue, and every running step of a
    case marked overdue (while it stays so), is in its unit's `escalated` list."""
    view, template, case = loaded.view, loaded.template, loaded.case
    if view is None or template is None:
        return []
    items = []
    for run in view.runs:
        base = InboxItem(key="", dossier_code=case.dossier_code, procedure_name=case.procedure_name,
                         applicant_name=case.applicant_name, step_code=run.step,
                         step_name=template.step(run.step).name, unit_code=run.unit_code, entered_at=run.entered_at,
                         due_at=run.clock.due_at, case_due_at=view.clock.due_at, primary=run.primary,
                         co_handlers=run.co_handlers, watchers=run.watchers, due_soon=run.due_soon,
                         overdue=run.overdue, paused=run.clock.paused)
        scopes = ["unit", f"mine:{run.primary}" if run.primary else "unassigned",
                  *(f"mine:{s}" for s in (*run.co_handlers, *run.watchers))]
        prefixes = [inbox_prefix(run.unit_code, scope) for scope in dict.fromkeys(scopes)]
        running = not run.clock.paused and view.state is not CaseState.PAUSED
        if running and not run.overdue:
            prefixes.append(RUNNING_PREFIX)
        if run.overdue or view.overdue:  # the step, or the whole case (case_due.py), found late
            prefixes.append(inbox_prefix(run.unit_code, ESCALATED_SCOPE))
        for prefix in prefixes:
            key = f"{prefix}{iso_key(run.clock.due_at)}|{case.dossier_code}|{run.step}"
            items.append(replace(base, key=key))
        if running and calendar is not None and due_soon_share > 0 and not (run.due_soon or run.overdue):
            soon = due_soon_at(calendar, run, template.step(run.step).budget, due_soon_share)
            if soon is not None:
                items.append(replace(base, key=f"{DUE_SOON_PREFIX}{iso_key(soon)}|{case.dossier_code}|{run.step}"))
    return items
