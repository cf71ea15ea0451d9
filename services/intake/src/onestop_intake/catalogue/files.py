"""Catalogue files (YAML or JSON): `parse_file` reads one, naming the line of each problem;
`entries_to_procedures` turns its entries into procedures, all-or-nothing; `dump_file` writes
procedures back in the same shape (export → import is a no-op).

Plain Python (no grpc, nameko or mongoengine)."""

from __future__ import annotations

import datetime as dt
import json
import json.decoder
import json.scanner
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import yaml

from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.text import nfc
from onestop_chassis.worktime import WorkingDuration

from . import located
from .domain import (
    COPY_KINDS,
    FORMATS,
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    ONLINE_LEVELS,
    CopyKind,
    Fee,
    OnlineLevel,
    Path,
    Procedure,
    RequiredDocument,
    label,
    validate,
)
from .located import (
    Loader,
    TooDeep,
    json_located,
    plain,
    refuse_at_line,
    yaml_depth,
    yaml_lines,
    yaml_repeated,
)


def parse_file(content: bytes, fmt: str) -> tuple[Any, dict[Path, int]]:
    """The file's data and the line (1-based) of every key and list item, by path.

    Raises InvalidArgument, naming the line, for a file that is not UTF-8 YAML or JSON, is larger
    than MAX_FILE_BYTES, nests deeper than MAX_DEPTH, or repeats a key within a mapping at any depth
    (both lines named: YAML and JSON parsers would otherwise silently keep the last value)."""
    if fmt not in FORMATS:
        raise InvalidArgument.from_violations([FieldViolation("format", "must be YAML or JSON")])
    if len(content) > MAX_FILE_BYTES:
        raise refuse_at_line(1, "content", f"is larger than {MAX_FILE_BYTES} bytes ({len(content)}): split the file",
                             "FILE_TOO_LARGE")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse_at_line(content[:exc.start].count(b"\n") + 1, "content", "is not UTF-8 text") from None
    lines: dict[Path, int] = {}
    repeated: list[FieldViolation] = []
    try:
        data = _json(text, lines, repeated) if fmt == "json" else _yaml(text, lines, repeated)
    except TooDeep as exc:
        raise refuse_at_line(exc.line, "content", f"nests more than {MAX_DEPTH} levels of lists and mappings",
                             "NESTED_TOO_DEEP") from None
    if repeated:
        error = InvalidArgument.from_violations(repeated)
        error.reason = "REPEATED_KEY"
        raise error
    return data, lines


def _json(text: str, lines: dict[Path, int], repeated: list[FieldViolation]) -> Any:
    try:
        return plain(json_located(text), (), lines, repeated)
    except json.JSONDecodeError as exc:
        raise refuse_at_line(exc.lineno, "content", f"is not valid JSON: {exc.msg} (column {exc.colno})") from None


def _yaml(text: str, lines: dict[Path, int], repeated: list[FieldViolation]) -> Any:
    """None when a key is repeated: the file is refused without building it."""
    loader = None
    try:
        yaml_depth(text)
        loader = (located.FAST_LOADER or Loader)(text)  # located.: tests switch it off
        node = loader.get_single_node()
        if node is not None:
            yaml_repeated(node, (), repeated, set())
            yaml_lines(node, (), lines, set())
        return loader.construct_document(node) if node is not None and not repeated else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise refuse_at_line(mark.line + 1 if mark else 1, "content",
                             f"is not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise refuse_at_line(1, "content", f"is not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


# -- files: entries ↔ procedures -----------------------------------------------------------------
ENTRY_KEYS = ("code", "is_local_code", "name", "field_code", "competent_agency_code", "level", "legal_duration",
              "result", "online_level", "postal_return_allowed", "process_code", "active", "effective_from",
              "effective_to", "legal_basis", "required_documents", "fees")
DOCUMENT_KEYS = ("name", "copy_kind", "count", "form_template", "required")
FEE_KEYS = ("name", "amount", "currency", "note", "exemptions")
DURATION_KEYS = ("days", "hours", "minutes")
REQUIRED_KEYS = ("code", "name", "field_code", "competent_agency_code", "level", "legal_duration", "result",
                 "online_level", "required_documents")


class _Reader:
    """Reads typed values out of one entry, collecting (path, problem) for everything wrong."""

    def __init__(self):
        self.problems: list[tuple[Path, str]] = []

    def bad(self, path: Path, problem: str) -> None:
        self.problems.append((path, problem))

    def mapping(self, value, path: Path, keys: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            self.bad(path, "must be a mapping of fields")
            return {}
        for key in value:
            if key not in keys:
                self.bad((*path, key) if isinstance(key, str) else path,
                         f"is not a known field (known: {', '.join(keys)})")
        return value

    def text(self, m: dict, path: Path, key: str, default: str = "") -> str:
        value = m.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.bad((*path, key), "must be text (put quotes around codes such as '1.001193')")
            return default
        return nfc(value.strip())  # one form of Vietnamese text, however the file was written

    def flag(self, m: dict, path: Path, key: str, default: bool) -> bool:
        value = m.get(key, default)
        if not isinstance(value, bool):
            self.bad((*path, key), "must be true or false")
            return default
        return value

    def whole(self, m: dict, path: Path, key: str, default: int = 0) -> int:
        value = m.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad((*path, key), "must be a whole number")
            return default
        return value

    def choice(self, m: dict, path: Path, key: str, options: dict, default: int = 0) -> int:
        value = m.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or value.strip().lower() not in options:
            self.bad((*path, key), f"must be one of {', '.join(options)}")
            return default
        return options[value.strip().lower()]

    def date(self, m: dict, path: Path, key: str) -> dt.date | None:
        value = m.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.bad((*path, key), "must be a date YYYY-MM-DD")
        return None

    def texts(self, m: dict, path: Path, key: str) -> tuple[str, ...]:
        value = m.get(key) or []
        if not isinstance(value, list):
            self.bad((*path, key), "must be a list of texts")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.bad((*path, key, i), "must be text")
            else:
                out.append(nfc(item.strip()))
        return tuple(out)

    def items(self, m: dict, path: Path, key: str) -> list:
        value = m.get(key) or []
        if not isinstance(value, list):
            self.bad((*path, key), "must be a list")
            return []
        return value


def entry_to_procedure(entry, path: Path = ()) -> tuple[Procedure | None, list[tuple[Path, str]]]:
    """One file entry as a procedure (version 1) and the problems of its shape and types (the
    procedure is None only when the entry is not a mapping)."""
    r = _Reader()
    m = r.mapping(entry, path, ENTRY_KEYS)
    if not isinstance(entry, dict):
        return None, r.problems
    for key in REQUIRED_KEYS:
        if m.get(key) in (None, "", []):
            r.bad((*path, key), "is required")
    duration = r.mapping(m.get("legal_duration") or {}, (*path, "legal_duration"), DURATION_KEYS)
    documents = []
    for i, item in enumerate(r.items(m, path, "required_documents")):
        dpath = (*path, "required_documents", i)
        d = r.mapping(item, dpath, DOCUMENT_KEYS)
        documents.append(RequiredDocument(
            name=r.text(d, dpath, "name"), copy_kind=r.choice(d, dpath, "copy_kind", COPY_KINDS, CopyKind.ORIGINAL),
            count=r.whole(d, dpath, "count", 1), form_template=r.text(d, dpath, "form_template"),
            required=r.flag(d, dpath, "required", True)))
    fees = []
    for i, item in enumerate(r.items(m, path, "fees")):
        fpath = (*path, "fees", i)
        f = r.mapping(item, fpath, FEE_KEYS)
        fees.append(Fee(name=r.text(f, fpath, "name"), amount=r.whole(f, fpath, "amount"),
                        currency=r.text(f, fpath, "currency", "VND") or "VND", note=r.text(f, fpath, "note"),
                        exemptions=r.texts(f, fpath, "exemptions")))
    code = r.text(m, path, "code")
    procedure = Procedure(
        code=code, is_local_code=r.flag(m, path, "is_local_code", False), name=r.text(m, path, "name"),
        field_code=r.text(m, path, "field_code"), competent_unit_code=r.text(m, path, "competent_agency_code"),
        level=r.text(m, path, "level"),
        legal_duration=WorkingDuration(*(r.whole(duration, (*path, "legal_duration"), k) for k in DURATION_KEYS)),
        result=r.text(m, path, "result"),
        online_level=r.choice(m, path, "online_level", ONLINE_LEVELS, OnlineLevel.NONE),
        postal_return_allowed=r.flag(m, path, "postal_return_allowed", False),
        process_code=r.text(m, path, "process_code"), active=r.flag(m, path, "active", True),
        effective_from=r.date(m, path, "effective_from"), effective_to=r.date(m, path, "effective_to"),
        legal_basis=r.texts(m, path, "legal_basis"), required_documents=tuple(documents), fees=tuple(fees))
    return procedure, r.problems


def _line_of(lines: dict[Path, int], path: Path) -> int:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 1


def entries_to_procedures(data, lines: dict[Path, int],
                          unit_exists: Callable[[str], bool] | None = None) -> list[Procedure]:
    """Every entry of the file as a procedure; raises InvalidArgument listing every problem of every
    entry as "line N: <field>" (field relative to its entry) when any is wrong."""
    base: Path
    if isinstance(data, dict) and set(data) == {"procedures"}:
        entries, base = data["procedures"], ("procedures",)
    else:
        entries, base = data, ()
    if not isinstance(entries, list):
        raise refuse_at_line(1, "content",
                             "must be a list of procedures, or a mapping with the list under 'procedures'")
    if not entries:
        raise refuse_at_line(_line_of(lines, base), "content", "holds no procedures")
    if len(entries) > MAX_ENTRIES:
        raise refuse_at_line(1, "content", f"holds more than {MAX_ENTRIES} procedures: split the file")
    violations: list[FieldViolation] = []
    procedures: list[Procedure] = []
    first_line: dict[str, int] = {}
    for i, entry in enumerate(entries):
        at = (*base, i)
        procedure, problems = entry_to_procedure(entry, at)
        if procedure is not None:
            reported = {path for path, _ in problems}
            problems += [((*at, *path), problem) for path, problem in validate(procedure, unit_exists)
                         if (*at, *path) not in reported]
            if procedure.code and procedure.code in first_line:
                problems.append(((*at, "code"), f"repeats {procedure.code} of line {first_line[procedure.code]}"))
            first_line.setdefault(procedure.code, _line_of(lines, (*at, "code")))
            procedures.append(procedure)
        for path, problem in problems:
            name = label(path[len(at):]) or "entry"
            violations.append(FieldViolation(f"line {_line_of(lines, path)}: {name}", problem))
    if violations:
        raise InvalidArgument.from_violations(violations)
    return procedures


def procedure_to_entry(p: Procedure) -> dict:
    """The file form of a procedure (what entry_to_procedure reads back); the version is not part of it."""
    entry: dict[str, Any] = {
        "code": p.code, "is_local_code": p.is_local_code, "name": p.name, "field_code": p.field_code,
        "competent_agency_code": p.competent_unit_code, "level": p.level,
        "legal_duration": {k: getattr(p.legal_duration, k) for k in DURATION_KEYS if getattr(p.legal_duration, k)},
        "result": p.result,
        "online_level": OnlineLevel(p.online_level).name.lower(),
        "postal_return_allowed": p.postal_return_allowed,
    }
    if p.process_code:
        entry["process_code"] = p.process_code
    entry["active"] = p.active
    if p.effective_from:
        entry["effective_from"] = p.effective_from.isoformat()
    if p.effective_to:
        entry["effective_to"] = p.effective_to.isoformat()
    if p.legal_basis:
        entry["legal_basis"] = list(p.legal_basis)
    entry["required_documents"] = [
        {"name": d.name, "copy_kind": CopyKind(d.copy_kind).name.lower(), "count": d.count,
         **({"form_template": d.form_template} if d.form_template else {}), "required": d.required}
        for d in p.required_documents]
    if p.fees:
        entry["fees"] = [{"name": f.name, "amount": f.amount, **({"note": f.note} if f.note else {}),
                          **({"exemptions": list(f.exemptions)} if f.exemptions else {})} for f in p.fees]
    return entry


def dump_file(procedures: list[Procedure], fmt: str) -> bytes:
    data = {"procedures": [procedure_to_entry(p) for p in procedures]}
    if fmt == "json":
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "yaml":
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120).encode()
    raise InvalidArgument.from_violations([FieldViolation("format", "must be YAML or JSON")])


def same_content(a: Procedure, b: Procedure) -> bool:
    """Equal apart from the version."""
    return replace(a, version=0) == replace(b, version=0)
