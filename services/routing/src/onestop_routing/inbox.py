"""Inboxes: the keys under which a case's running steps are listed, one per list each step is in
(its unit's, the unassigned or each assignee's own, and every running step by due time), so that
an inbox page, or the overdue scan, is one `_id` range sorted by `_id` (docs/routing.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the service imports this module
    from .service import Loaded

INBOX_PAGE_DEFAULT = 50
INBOX_PAGE_MAX = 200
# Every running step of every unit by due time, for a scan of what is overdue: one `_id` range
# `all|running|` .. `all|running|<now>` (no unit code is "all").
RUNNING_PREFIX = "all|running|"


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


def iso_key(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def inbox_prefix(unit_code: str, scope: str) -> str:
    return f"{unit_code}|{scope}|"


def inbox_items(loaded: Loaded) -> list[InboxItem]:
    """The inbox keys of the case's running steps: the unit's list, and the unassigned list or
    each assignee's own (primary, co-handlers, watchers), and the list of every running step."""
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
        prefixes = [inbox_prefix(run.unit_code, scope) for scope in dict.fromkeys(scopes)] + [RUNNING_PREFIX]
        for prefix in prefixes:
            key = f"{prefix}{iso_key(run.clock.due_at)}|{case.dossier_code}|{run.step}"
            items.append(replace(base, key=key))
    return items
