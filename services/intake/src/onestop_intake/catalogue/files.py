"""Catalogue files (YAML or JSON): `parse_file` reads one, naming the line of each problem;
`entries_to_procedures` turns its entries into procedures, all-or-nothing; `dump_file` writes
procedures back in the same shape (export → import is a no-op).

Plain Python (no grpc, nameko or mongoengine)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import yaml

from onestop_chassis import datafiles
from onestop_chassis.datafiles import Reader, line_of, refuse_at_line
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.worktime import WorkingDuration

from .domain import (
    COPY_KINDS,
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


def parse_file(content: bytes, fmt: str) -> tuple[Any, dict[Path, int]]:
    """The file's data and the line (1-based) of every key and list item, by path: chassis
    `datafiles.parse_file` with the catalogue's limits (MAX_FILE_BYTES, MAX_DEPTH). Raises
    InvalidArgument naming the line (see there)."""
    return datafiles.parse_file(content, fmt, max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH)


# -- files: entries ↔ procedures -----------------------------------------------------------------
ENTRY_KEYS = ("code", "is_local_code", "name", "field_code", "competent_agency_code", "level", "legal_duration",
              "result", "online_level", "postal_return_allowed", "process_code", "active", "effective_from",
              "effective_to", "legal_basis", "required_documents", "fees")
DOCUMENT_KEYS = ("name", "copy_kind", "count", "form_template", "required")
FEE_KEYS = ("name", "amount", "currency", "note", "exemptions")
DURATION_KEYS = ("days", "hours", "minutes")
REQUIRED_KEYS = ("code", "name", "field_code", "competent_agency_code", "level", "legal_duration", "result",
                 "online_level", "required_documents")


def entry_to_procedure(entry, path: Path = ()) -> tuple[Procedure | None, list[tuple[Path, str]]]:
    """One file entry as a procedure (version 1) and the problems of its shape and types (the
    procedure is None only when the entry is not a mapping)."""
    r = Reader()
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
        raise refuse_at_line(line_of(lines, base), "content", "holds no procedures")
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
            first_line.setdefault(procedure.code, line_of(lines, (*at, "code")))
            procedures.append(procedure)
        for path, problem in problems:
            name = label(path[len(at):]) or "entry"
            violations.append(FieldViolation(f"line {line_of(lines, path)}: {name}", problem))
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
