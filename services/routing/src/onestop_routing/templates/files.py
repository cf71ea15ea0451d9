"""Process template files (YAML or JSON): `read_file` turns one into templates, naming the line of
every problem ("line 14: steps[2].budget", the field relative to its template); `dump_file` writes
templates back in the same shape. The line-numbered parsing is the chassis' `datafiles`, shared
with intake's catalogue import. Plain Python.

The file's shape (process_templates.yaml is the example)::

    templates:
    - process_code: QT.DD.02
      name: Đăng ký biến động đất đai
      agency_code: ""            # optional: empty for every agency without its own
      legal_limit: {days: 7}
      start_step: tiep_nhan
      steps:
      - {code: tiep_nhan, name: Tiếp nhận hồ sơ, kind: desk,
         performer: {unit_code: "000.00.21.H17", role: desk_officer}, budget: {hours: 4}}
      transitions:
      - {from_step: tiep_nhan, action: forward, to_step: tham_dinh, guards: [paid]}
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from onestop_chassis import datafiles
from onestop_chassis.datafiles import Path, Reader, label, line_of, refuse_at_line
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.worktime import WorkingDuration

from ..domain.process import Action, Guard, Performer, ProcessTemplate, Step, StepKind, Transition

MAX_FILE_BYTES = 2 * 1024 * 1024  # ImportProcessTemplatesRequest.content's bound
MAX_DEPTH = 8                     # templates → template → transitions → transition → guards is 5
MAX_TEMPLATES = 500

TEMPLATE_KEYS = ("process_code", "name", "agency_code", "legal_limit", "start_step", "steps", "transitions")
STEP_KEYS = ("code", "name", "kind", "performer", "budget", "national_status")
PERFORMER_KEYS = ("unit_code", "role")
TRANSITION_KEYS = ("from_step", "action", "to_step", "guards")
DURATION_KEYS = ("days", "hours", "minutes")
REQUIRED_KEYS = ("process_code", "name", "legal_limit", "start_step", "steps", "transitions")

KINDS = {k.value: k for k in StepKind}
ACTIONS = {a.value: a for a in Action}
GUARDS = {g.value: g for g in Guard}


def parse_file(content: bytes, fmt: str) -> tuple[Any, dict[Path, int]]:
    """The file's data and the line of every key and list item (chassis `datafiles.parse_file`
    with this file's limits); InvalidArgument naming the line."""
    return datafiles.parse_file(content, fmt, max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH)


def _duration(r: Reader, m: dict, path: Path, key: str) -> WorkingDuration:
    d = r.mapping(m.get(key) or {}, (*path, key), DURATION_KEYS)
    values = [r.whole(d, (*path, key), k) for k in DURATION_KEYS]
    for k, v in zip(DURATION_KEYS, values, strict=True):
        if v < 0:
            r.bad((*path, key, k), "must not be negative")
    return WorkingDuration(*(max(v, 0) for v in values))


def entry_to_template(entry, path: Path = ()) -> tuple[ProcessTemplate | None, list[tuple[Path, str]]]:
    """One file entry as a template (version 0: the store numbers it) and the problems of its
    shape and types; None only when the entry is not a mapping."""
    r = Reader()
    m = r.mapping(entry, path, TEMPLATE_KEYS)
    if not isinstance(entry, dict):
        return None, r.problems
    for key in REQUIRED_KEYS:
        if m.get(key) in (None, "", [], {}):
            r.bad((*path, key), "is required")
    steps = []
    for i, item in enumerate(r.items(m, path, "steps")):
        spath = (*path, "steps", i)
        s = r.mapping(item, spath, STEP_KEYS)
        performer = None
        if s.get("performer") is not None:
            p = r.mapping(s["performer"], (*spath, "performer"), PERFORMER_KEYS)
            performer = Performer(r.text(p, (*spath, "performer"), "unit_code"),
                                  r.text(p, (*spath, "performer"), "role"))
        steps.append(Step(code=r.text(s, spath, "code"), name=r.text(s, spath, "name"),
                          kind=r.choice(s, spath, "kind", KINDS, StepKind.TASK), performer=performer,
                          budget=_duration(r, s, spath, "budget"),
                          national_status=r.whole(s, spath, "national_status", 4)))
    transitions = []
    for i, item in enumerate(r.items(m, path, "transitions")):
        tpath = (*path, "transitions", i)
        t = r.mapping(item, tpath, TRANSITION_KEYS)
        if t.get("action") in (None, ""):
            r.bad((*tpath, "action"), "is required")
        guards = []
        for j, guard in enumerate(r.items(t, tpath, "guards")):
            if not isinstance(guard, str) or guard.strip().lower() not in GUARDS:
                r.bad((*tpath, "guards", j), f"must be one of {', '.join(GUARDS)}")
            else:
                guards.append(GUARDS[guard.strip().lower()])
        transitions.append(Transition(from_step=r.text(t, tpath, "from_step"),
                                      action=r.choice(t, tpath, "action", ACTIONS, Action.FORWARD),
                                      to_step=r.text(t, tpath, "to_step"), guards=tuple(guards)))
    template = ProcessTemplate(
        process_code=r.text(m, path, "process_code"), version=0, name=r.text(m, path, "name"),
        legal_limit=_duration(r, m, path, "legal_limit"), start_step=r.text(m, path, "start_step"),
        steps=tuple(steps), transitions=tuple(transitions), agency_code=r.text(m, path, "agency_code"))
    return template, r.problems


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_of(field: str) -> Path:
    """"steps[2].performer.unit_code" → ("steps", 2, "performer", "unit_code") (the inverse of label)."""
    return tuple(int(index) if index else name for name, index in _PART.findall(field))


def at_lines(problems: list[tuple[Path, str]], lines: dict[Path, int], at: Path) -> list[FieldViolation]:
    """Problems of the entry at `at` as "line N: <field relative to the entry>"."""
    return [FieldViolation(f"line {line_of(lines, path)}: {label(path[len(at):]) or 'entry'}", problem)
            for path, problem in problems]


def entries(data, lines: dict[Path, int]) -> list[tuple[Any, Path]]:
    """The file's entries with their paths: a list of templates, or a mapping with the list under
    'templates'. InvalidArgument naming the line when it is neither, is empty or too long."""
    base: Path
    if isinstance(data, dict) and set(data) == {"templates"}:
        items, base = data["templates"], ("templates",)
    else:
        items, base = data, ()
    if not isinstance(items, list):
        raise refuse_at_line(1, "content", "must be a list of templates, or a mapping with the list under 'templates'")
    if not items:
        raise refuse_at_line(line_of(lines, base), "content", "holds no templates")
    if len(items) > MAX_TEMPLATES:
        raise refuse_at_line(1, "content", f"holds more than {MAX_TEMPLATES} templates: split the file")
    return [(item, (*base, i)) for i, item in enumerate(items)]


def read_file(content: bytes, fmt: str) -> tuple[list[tuple[ProcessTemplate, Path]], dict[Path, int]]:
    """Every template of the file with its path, and the lines; raises InvalidArgument listing
    every problem of shape and type of every template ("line N: <field>") when any is wrong, and a
    process code given twice for one agency. (`service.TemplateService.import_file` then checks
    what can run, against the unit list.)"""
    data, lines = parse_file(content, fmt)
    read: list[tuple[ProcessTemplate, Path]] = []
    violations: list[FieldViolation] = []
    first: dict[tuple[str, str], int] = {}
    for entry, at in entries(data, lines):
        template, problems = entry_to_template(entry, at)
        if template is not None:
            key = (template.process_code, template.agency_code)
            if template.process_code and key in first:
                problems.append(((*at, "process_code"), f"repeats {template.process_code} "
                                 f"(agency {template.agency_code or 'every'}) of line {first[key]}"))
            first.setdefault(key, line_of(lines, (*at, "process_code")))
            read.append((template, at))
        violations += at_lines(problems, lines, at)
    if violations:
        raise InvalidArgument.from_violations(violations)
    return read, lines


def _duration_entry(d: WorkingDuration) -> dict:
    return {k: getattr(d, k) for k in DURATION_KEYS if getattr(d, k)}


def template_to_entry(t: ProcessTemplate) -> dict:
    """The file form of a template (what entry_to_template reads back); the version is not part of it."""
    entry: dict[str, Any] = {"process_code": t.process_code, "name": t.name}
    if t.agency_code:
        entry["agency_code"] = t.agency_code
    entry.update(legal_limit=_duration_entry(t.legal_limit), start_step=t.start_step, steps=[], transitions=[])
    for s in t.steps:
        step: dict[str, Any] = {"code": s.code, "name": s.name, "kind": s.kind.value}
        if s.performer is not None:
            step["performer"] = {"unit_code": s.performer.unit_code, "role": s.performer.role}
        if s.budget != WorkingDuration():
            step["budget"] = _duration_entry(s.budget)
        step["national_status"] = s.national_status
        entry["steps"].append(step)
    for tr in t.transitions:
        transition: dict[str, Any] = {"from_step": tr.from_step, "action": tr.action.value}
        if tr.to_step:
            transition["to_step"] = tr.to_step
        if tr.guards:
            transition["guards"] = [g.value for g in tr.guards]
        entry["transitions"].append(transition)
    return entry


def dump_file(templates: list[ProcessTemplate], fmt: str) -> bytes:
    data = {"templates": [template_to_entry(t) for t in templates]}
    if fmt == "json":
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "yaml":
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120, default_flow_style=None).encode()
    raise InvalidArgument.from_violations([FieldViolation("format", "must be YAML or JSON")])
