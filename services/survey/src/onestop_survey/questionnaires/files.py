"""Questionnaire files (YAML or JSON): the built-in `builtin.yaml`, and what an agency puts with
PutQuestionnaire. Read with the chassis' `datafiles`, so every problem names its line
("line 14: questions[2].options"); a file is taken whole or not at all.

Shape: a list of questionnaires, or a mapping with the list under `questionnaires`; each has
code, name, scoring (none|points|kiosk|sipas), source, bands (points: `{from, grade, label}`),
questions (`{id, kind: choice|rating|scale|text, text, required, options: [{value, label,
points}], factor, aspect, max_length}`) and, in the built-in file only, version.
"""

from __future__ import annotations

import importlib.resources
import re
from typing import Any

from onestop_chassis import datafiles
from onestop_chassis.datafiles import Path, Reader, label, line_of, refuse_at_line
from onestop_chassis.errors import FieldViolation, InvalidArgument

from . import domain

MAX_FILE_BYTES = 512 * 1024
MAX_PER_FILE = 50
KEYS = ("code", "version", "name", "source", "scoring", "bands", "questions")
QUESTION_KEYS = ("id", "kind", "text", "required", "options", "factor", "aspect", "max_length")
SCORINGS = {s.value: s for s in domain.Scoring}
KINDS = {k.value: k for k in domain.Kind}
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _options(r: Reader, q: dict, at: Path) -> tuple[domain.Option, ...]:
    out = []
    for i, item in enumerate(r.items(q, at, "options")):
        m = r.mapping(item, (*at, "options", i), ("value", "label", "points"))
        out.append(domain.Option(r.whole(m, (*at, "options", i), "value"), r.text(m, (*at, "options", i), "label"),
                                 r.whole(m, (*at, "options", i), "points")))
    return tuple(out)


def _question(r: Reader, item, at: Path) -> domain.Question:
    q = r.mapping(item, at, QUESTION_KEYS)
    return domain.Question(
        id=r.text(q, at, "id"), kind=r.choice(q, at, "kind", KINDS, domain.Kind.CHOICE), text=r.text(q, at, "text"),
        required=r.flag(q, at, "required", True), options=_options(r, q, at), factor=r.text(q, at, "factor"),
        aspect=r.text(q, at, "aspect"), max_length=r.whole(q, at, "max_length"))


def entry_to_questionnaire(entry, at: Path, *, agency_code: str, with_version: bool
                           ) -> tuple[domain.Questionnaire, list[tuple[Path, str]]]:
    """One entry as a questionnaire (version 0 unless `with_version`: the store numbers it) and the
    problems of its shape, types and rules, each with its path."""
    r = Reader()
    m = r.mapping(entry, at, KEYS)
    if "version" in m and not with_version:
        r.bad((*at, "version"), "is given by the service (each change becomes the next version): leave it out")
    bands = []
    for i, item in enumerate(r.items(m, at, "bands")):
        b = r.mapping(item, (*at, "bands", i), ("from", "grade", "label"))
        bands.append(domain.Band(r.whole(b, (*at, "bands", i), "from"), r.text(b, (*at, "bands", i), "grade"),
                                 r.text(b, (*at, "bands", i), "label")))
    questions = tuple(_question(r, item, (*at, "questions", i)) for i, item in enumerate(r.items(m, at, "questions")))
    q = domain.Questionnaire(
        code=r.text(m, at, "code"), version=r.whole(m, at, "version") if with_version else 0,
        name=r.text(m, at, "name"), scoring=r.choice(m, at, "scoring", SCORINGS, domain.Scoring.NONE),
        questions=questions, bands=tuple(bands), source=r.text(m, at, "source"), agency_code=agency_code)
    found = r.problems
    if not found:  # the rules, once the shape is right
        found = [((*at, *_path_of(f)), p) for f, p in domain.problems(q)]
    return q, found


def _path_of(field: str) -> Path:
    """"questions[2].options" → ("questions", 2, "options")."""
    return tuple(int(index) if index else name for name, index in _PART.findall(field))


def read_file(content: bytes, fmt: str, *, agency_code: str = "", with_version: bool = False
              ) -> list[domain.Questionnaire]:
    """Every questionnaire of the file; raises InvalidArgument naming the line of every problem
    ("line N: questions[2].options"), a code given twice, or a file that holds none or more than
    MAX_PER_FILE."""
    data, lines = datafiles.parse_file(content, fmt, max_bytes=MAX_FILE_BYTES)
    base: Path = ("questionnaires",) if isinstance(data, dict) and set(data) == {"questionnaires"} else ()
    items: Any = data["questionnaires"] if base else data
    if not isinstance(items, list) or not items:
        raise refuse_at_line(1, "content", "must be a non-empty list of questionnaires, "
                             "or a mapping with the list under 'questionnaires'")
    if len(items) > MAX_PER_FILE:
        raise refuse_at_line(1, "content", f"holds more than {MAX_PER_FILE} questionnaires: split the file")
    read: list[domain.Questionnaire] = []
    violations: list[FieldViolation] = []
    for i, item in enumerate(items):
        at = (*base, i)
        q, found = entry_to_questionnaire(item, at, agency_code=agency_code, with_version=with_version)
        if any(q.code == other.code for other in read):
            found.append(((*at, "code"), f"repeats the code {q.code}"))
        violations += [FieldViolation(f"line {line_of(lines, path)}: {label(path[len(at):]) or 'entry'}", problem)
                       for path, problem in found]
        read.append(q)
    if violations:
        raise InvalidArgument.from_violations(violations)
    return read


def builtin() -> dict[str, domain.Questionnaire]:
    """The built-in questionnaires by code (builtin.yaml, shipped with the package)."""
    content = importlib.resources.files(__package__).joinpath("builtin.yaml").read_bytes()
    return {q.code: q for q in read_file(content, "yaml", with_version=True)}
