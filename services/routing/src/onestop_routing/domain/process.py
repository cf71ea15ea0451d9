"""Process templates (quy trình nội bộ): the steps a procedure's dossier goes through after the
desk, who performs each, its time budget and the actions between steps, as data. Plain Python.

A template is keyed by the catalogue's `process_code` (optionally per agency) and versioned: a
running case keeps the version it started with. `validate` refuses a template that cannot finish.
The model and its reasons are in docs/routing.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from onestop_chassis.errors import FieldViolation
from onestop_chassis.worktime import WorkingDuration

MINUTES_PER_WORKING_DAY = 450  # the desk's default windows, 7:30-11:30 and 13:30-17:00


class StepKind(StrEnum):
    TASK = "task"          # performed by a unit and role of the agency
    DESK = "desk"          # the one-stop desk: reception checks, returning the result
    EXTERNAL = "external"  # performed by another agency (liên thông)
    SPLIT = "split"        # opens parallel branches (no performer, no budget)
    JOIN = "join"          # waits for every branch of its split


class Action(StrEnum):
    FORWARD = "forward"                        # chuyển bước tiếp theo
    SEND_BACK = "send_back"                    # trả lại bước trước
    REQUEST_SUPPLEMENT = "request_supplement"  # yêu cầu bổ sung qua Bộ phận Một cửa (status 5, clock paused)
    REQUEST_PAYMENT = "request_payment"        # yêu cầu thực hiện nghĩa vụ tài chính (status 6, clock paused)
    APPROVE = "approve"                        # phê duyệt
    FINISH = "finish"                          # có kết quả (status 9)
    STOP = "stop"                              # dừng xử lý (status 8, form 05)
    REFUSE = "refuse"                          # từ chối giải quyết


TERMINAL_ACTIONS = frozenset({Action.FINISH, Action.STOP, Action.REFUSE})
# The case stays at its step, its clocks paused, until the citizen has supplemented or paid.
PAUSE_ACTIONS = frozenset({Action.REQUEST_SUPPLEMENT, Action.REQUEST_PAYMENT})
# Actions that move a case forward; the others go back or wait for the citizen, so they do not
# add to the path whose budgets must fit in the legal limit.
FORWARD_ACTIONS = frozenset({Action.FORWARD, Action.APPROVE})


class Guard(StrEnum):
    """Conditions a transition waits for. Always enforced, with no guard needed: at most one
    supplement request per dossier, and no action while the case waits for the citizen."""
    PAID = "paid"                            # the financial obligation was requested and confirmed
    ALL_BRANCHES_DONE = "all_branches_done"  # no other parallel branch is still running


@dataclass(frozen=True)
class Performer:
    unit_code: str
    role: str


@dataclass(frozen=True)
class Step:
    code: str
    name: str                                  # in Vietnamese, as on the control slip
    kind: StepKind = StepKind.TASK
    performer: Performer | None = None         # None only for SPLIT and JOIN
    budget: WorkingDuration = WorkingDuration()
    national_status: int = 4                   # the status the dossier shows meanwhile (1-10)


@dataclass(frozen=True)
class Transition:
    from_step: str
    action: Action
    to_step: str = ""                          # empty for FINISH, STOP, REFUSE and the two requests
    guards: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class ProcessTemplate:
    process_code: str
    version: int
    name: str
    legal_limit: WorkingDuration
    start_step: str
    steps: tuple[Step, ...]
    transitions: tuple[Transition, ...]
    agency_code: str = ""                      # empty: for every agency without its own

    def step(self, code: str) -> Step:
        """KeyError when the template has no such step."""
        for step in self.steps:
            if step.code == code:
                return step
        raise KeyError(code)

    @property
    def step_codes(self) -> frozenset[str]:
        return frozenset(s.code for s in self.steps)

    def outgoing(self, code: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.from_step == code)


def same_content(a: ProcessTemplate, b: ProcessTemplate) -> bool:
    """Equal apart from the version (a put of the latest's content stores nothing)."""
    return replace(a, version=0) == replace(b, version=0)


@dataclass(frozen=True)
class Published:
    """A stored version of a template, with when and by whom (a token's subject) it was stored."""
    template: ProcessTemplate
    published_at: dt.datetime
    published_by: str


class TemplateRepository(Protocol):
    """Where process templates are kept (the routing service's port; adapters implement it).
    Stored versions are immutable; `put` is the only write."""

    def for_case(self, process_code: str, agency_code: str) -> ProcessTemplate | None:
        """The latest version a new case of `agency_code` runs: the agency's own template of
        `process_code`, else the one for every agency (agency_code ""); None when neither exists."""
        ...

    def version(self, process_code: str, agency_code: str, version: int) -> ProcessTemplate | None:
        """One stored version exactly (a running case keeps the version it started with)."""
        ...

    def put(self, template: ProcessTemplate, *, published_by: str, published_at: dt.datetime,
            request_id: str = "") -> tuple[Published, bool]:
        """Stores `template` (its own `version` ignored) as the next version of its process code
        and agency: (that version, True). When its content equals the latest version's, stores
        nothing: (the latest, False). Two puts at once get distinct versions, neither lost."""
        ...


def template_for_case(templates: TemplateRepository, process_code: str, unit_code: str,
                      agency_code: str = "") -> ProcessTemplate | None:
    """The template a new case runs: the receiving unit's own, else its agency's (a desk such as
    000.40.21.H17 receives for the People's Committee 000.00.40.H17 it belongs to), else the one
    for every agency; None without process code or without any."""
    if not process_code:
        return None
    template = templates.for_case(process_code, unit_code)
    if (template is None or not template.agency_code) and agency_code:
        own = templates.for_case(process_code, agency_code)
        template = own if own is not None and own.agency_code else template
    return template


def working_minutes(duration: WorkingDuration, minutes_per_day: int = MINUTES_PER_WORKING_DAY) -> int:
    """A duration in working minutes (a working day = `minutes_per_day`)."""
    return duration.days * minutes_per_day + duration.hours * 60 + duration.minutes


def validate(template: ProcessTemplate, *, unit_exists: Callable[[str], bool], roles: Iterable[str],
             minutes_per_day: int = MINUTES_PER_WORKING_DAY) -> list[FieldViolation]:
    """Every reason the template cannot run, each naming its field (`steps[2].performer`,
    `transitions[0].to_step`): duplicate step codes, a step without a performer, an unknown unit or
    role, a transition to an unknown step, a step unreachable from the start, a step from which no
    FINISH can be reached, a parallel split or join with fewer than two branches, a loop of forward
    actions, a send_back that leaves a parallel branch (to a step before its split or into
    another branch: the other branches would run on beside it), and a critical path (the longest
    chain of step budgets through forward actions, parallel branches counted once) longer than the
    legal limit. An empty list: it can run."""
    problems = _step_problems(template, unit_exists, frozenset(roles))
    problems += _transition_problems(template)
    if problems:
        return problems  # the graph checks need well-formed steps and edges
    problems += _graph_problems(template) + _branch_problems(template)
    if not problems:
        problems += _budget_problems(template, minutes_per_day)
    return problems


def _step_problems(template: ProcessTemplate, unit_exists: Callable[[str], bool],
                   roles: frozenset[str]) -> list[FieldViolation]:
    problems, seen = [], set()
    for i, step in enumerate(template.steps):
        where = f"steps[{i}]"
        if not step.code.strip():
            problems.append(FieldViolation(f"{where}.code", "is required"))
        elif step.code in seen:
            problems.append(FieldViolation(f"{where}.code", f"repeats step code {step.code!r}"))
        seen.add(step.code)
        if not step.name.strip():
            problems.append(FieldViolation(f"{where}.name", "is required (the name printed on the control slip)"))
        if not 1 <= step.national_status <= 10:
            problems.append(FieldViolation(f"{where}.national_status", "is not a national status 1-10"))
        problems += _performer_problems(step, where, unit_exists, roles)
    if template.start_step not in seen:
        problems.append(FieldViolation("start_step", f"names no step of the template: {template.start_step!r}"))
    return problems


def _performer_problems(step: Step, where: str, unit_exists: Callable[[str], bool],
                        roles: frozenset[str]) -> list[FieldViolation]:
    if step.kind in (StepKind.SPLIT, StepKind.JOIN):
        if step.performer is not None or working_minutes(step.budget):
            return [FieldViolation(where, f"a {step.kind} step has no performer and no budget")]
        return []
    if step.performer is None or not step.performer.unit_code.strip():
        return [FieldViolation(f"{where}.performer", f"step {step.code!r} has no performing unit")]
    problems = []
    if not unit_exists(step.performer.unit_code):
        problems.append(FieldViolation(f"{where}.performer.unit_code",
                                       f"names unit {step.performer.unit_code!r}, which is not in the unit list"))
    if step.performer.role not in roles:
        problems.append(FieldViolation(f"{where}.performer.role",
                                       f"names role {step.performer.role!r}; roles are {', '.join(sorted(roles))}"))
    if working_minutes(step.budget) <= 0:
        problems.append(FieldViolation(f"{where}.budget", f"step {step.code!r} has no time budget"))
    return problems


def _transition_problems(template: ProcessTemplate) -> list[FieldViolation]:
    problems, codes = [], template.step_codes
    for i, t in enumerate(template.transitions):
        where = f"transitions[{i}]"
        if t.from_step not in codes:
            problems.append(FieldViolation(f"{where}.from_step", f"names no step of the template: {t.from_step!r}"))
        if t.action in TERMINAL_ACTIONS | PAUSE_ACTIONS:
            if t.to_step:
                what = "ends the case" if t.action in TERMINAL_ACTIONS else "keeps the case at its step"
                problems.append(FieldViolation(f"{where}.to_step", f"{t.action} {what}: it has no next step"))
        elif t.to_step not in codes:
            problems.append(FieldViolation(f"{where}.to_step", f"names no step of the template: {t.to_step!r}"))
    return problems


def _graph_problems(template: ProcessTemplate) -> list[FieldViolation]:
    index = {s.code: i for i, s in enumerate(template.steps)}
    edges = {s.code: [t.to_step for t in template.outgoing(s.code) if t.to_step] for s in template.steps}
    finishing = {t.from_step for t in template.transitions if t.action is Action.FINISH}
    problems = []
    if not finishing:
        problems.append(FieldViolation("transitions", "no transition finishes the case (action finish)"))
    reachable = _closure([template.start_step], edges)
    reverse: dict[str, list[str]] = {code: [] for code in edges}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].append(source)
    can_finish = _closure(finishing, reverse)
    for step in template.steps:
        where = f"steps[{index[step.code]}]"
        if step.code not in reachable:
            problems.append(FieldViolation(where, f"step {step.code!r} cannot be reached from the start step"))
        elif finishing and step.code not in can_finish:
            problems.append(FieldViolation(where, f"from step {step.code!r} the case can never finish"))
        forwards = [t for t in template.outgoing(step.code) if t.action in FORWARD_ACTIONS]
        if step.kind is StepKind.SPLIT and len(forwards) < 2:
            problems.append(FieldViolation(where, f"split {step.code!r} opens fewer than two branches"))
        if step.kind is StepKind.JOIN and sum(1 for t in template.transitions if t.to_step == step.code
                                              and t.action in FORWARD_ACTIONS and t.from_step in reachable) < 2:
            problems.append(FieldViolation(where, f"join {step.code!r} waits for fewer than two branches"))
    return problems


def _branch_problems(template: ProcessTemplate) -> list[FieldViolation]:
    """Each send_back from a step of a parallel branch (`_branch`) to a step outside that branch,
    naming the transition."""
    found: dict[int, FieldViolation] = {}
    for split in (s for s in template.steps if s.kind is StepKind.SPLIT):
        for start in [t.to_step for t in template.outgoing(split.code) if t.action in FORWARD_ACTIONS]:
            branch = _branch(template, start)
            for i, t in enumerate(template.transitions):
                if t.action is Action.SEND_BACK and t.from_step in branch and t.to_step not in branch:
                    found.setdefault(i, FieldViolation(
                        f"transitions[{i}].to_step",
                        f"send_back {t.from_step!r} → {t.to_step!r} leaves the parallel branch of split "
                        f"{split.code!r} that starts at {start!r}; the other branches would run on beside "
                        "it: send back within the branch"))
    return [found[i] for i in sorted(found)]


def _branch(template: ProcessTemplate, start: str) -> set[str]:
    """The steps of the parallel branch that starts at `start` (a split's next step): what forward
    actions reach from it up to the join that closes it. A split nested in the branch opens its
    own branches, and its join closes them only: their steps and the steps after that join, up to
    this branch's join, are this branch's too."""
    kinds = {s.code: s.kind for s in template.steps}
    nesting = sum(kind is StepKind.SPLIT for kind in kinds.values())  # bounds a forward loop's depth
    steps: set[str] = set()
    seen: set[tuple[str, int]] = set()
    todo = [(start, 0)]  # (step, splits opened inside the branch and not joined yet)
    while todo:
        code, depth = todo.pop()
        if (code, depth) in seen or depth > nesting:
            continue
        seen.add((code, depth))
        if kinds.get(code) is StepKind.JOIN:
            if depth == 0:
                continue  # the branch's own join: the branch ends here
            depth -= 1
        steps.add(code)
        depth += kinds.get(code) is StepKind.SPLIT
        todo.extend((t.to_step, depth) for t in template.outgoing(code) if t.action in FORWARD_ACTIONS)
    return steps


def _closure(starts: Iterable[str], edges: dict[str, list[str]]) -> set[str]:
    seen, todo = set(), list(starts)
    while todo:
        code = todo.pop()
        if code not in seen:
            seen.add(code)
            todo.extend(edges.get(code, ()))
    return seen


def critical_path_minutes(template: ProcessTemplate, minutes_per_day: int = MINUTES_PER_WORKING_DAY) -> int:
    """The longest chain of step budgets from the start through forward actions, in working
    minutes; ValueError when forward actions loop (a case could go forward for ever)."""
    forward = {s.code: [t.to_step for t in template.outgoing(s.code) if t.action in FORWARD_ACTIONS]
               for s in template.steps}
    budget = {s.code: working_minutes(s.budget, minutes_per_day) for s in template.steps}
    longest: dict[str, int] = {}
    visiting: set[str] = set()

    def walk(code: str) -> int:  # depth-first with memory; templates have tens of steps
        if code in longest:
            return longest[code]
        if code in visiting:
            raise ValueError(f"forward actions loop through step {code!r}")
        visiting.add(code)
        longest[code] = budget[code] + max((walk(n) for n in forward[code]), default=0)
        visiting.discard(code)
        return longest[code]

    return walk(template.start_step)


def _budget_problems(template: ProcessTemplate, minutes_per_day: int) -> list[FieldViolation]:
    try:
        total = critical_path_minutes(template, minutes_per_day)
    except ValueError as exc:
        return [FieldViolation("transitions", f"{exc}; going back is action send_back")]
    limit = working_minutes(template.legal_limit, minutes_per_day)
    if total > limit:
        return [FieldViolation("steps", f"the step budgets add up to {_as_days(total, minutes_per_day)} on the "
                                        f"longest path, past the legal limit of {_as_days(limit, minutes_per_day)}")]
    return []


def _as_days(minutes: int, minutes_per_day: int) -> str:
    days, rest = divmod(minutes, minutes_per_day)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} working day(s)"] if days else []
    if hours or mins or not parts:
        parts.append(f"{hours} h {mins:02d} min" if mins else f"{hours} h")
    return " ".join(parts)
