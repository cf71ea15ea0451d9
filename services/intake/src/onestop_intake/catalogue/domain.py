"""The published procedure catalogue (danh mục thủ tục hành chính): rules, files and search.

Plain Python (no grpc, nameko or mongoengine):
- `validate` checks a procedure and returns every problem with its field path;
- `parse_file` reads a YAML or JSON catalogue file and remembers the line of every value, so an
  import names the line of each problem ("line 12: required_documents[0].name");
- `entries_to_procedures` turns the file's entries into procedures, all-or-nothing;
- `dump_file` writes procedures back in the same shape (export → import is a no-op);
- `fold` and `matches_text` give case- and diacritic-insensitive search.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import yaml

from onestop_chassis import codes
from onestop_chassis.errors import FieldViolation, InvalidArgument, ServiceError
from onestop_chassis.text import name_key, nfc, search_key

from ..reception.domain import CopyKind, Fee, OnlineLevel, Procedure, RequiredDocument, WorkingDuration

# -- the fixed list of fields (lĩnh vực) -----------------------------------------------------------
FIELDS: dict[str, str] = {
    "dat_dai": "Đất đai",
    "dang_ky_kinh_doanh": "Thành lập và hoạt động của doanh nghiệp",
    "ho_kinh_doanh": "Thành lập và hoạt động của hộ kinh doanh",
    "xay_dung": "Hoạt động xây dựng",
    "ho_tich": "Hộ tịch",
    "ly_lich_tu_phap": "Lý lịch tư pháp",
    "chung_thuc": "Chứng thực",
    "giao_thong": "Đường bộ",
    "dang_ky_xe": "Đăng ký, quản lý phương tiện giao thông cơ giới đường bộ",
    "lao_dong": "Lao động",
    "viec_lam": "Việc làm",
    "bao_tro_xa_hoi": "Bảo trợ xã hội",
}

# Codes are matched with re.fullmatch: a trailing newline is not part of a code.
NATIONAL_CODE = re.compile(r"[0-9]\.[0-9]{6}(\.[0-9A-Z]+)?")  # 1.001193, 1.001193.H38
LOCAL_CODE = re.compile(r"DP\.[A-Z0-9.]+")                     # DP.HT.0001: national code not recorded
PROCESS_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_NAME = 500
MAX_TEXT = 1000
MAX_ENTRIES = 5000
MAX_DOCUMENT_COUNT = 20
# A file is at most MAX_FILE_BYTES (as ImportProceduresRequest.content declares) and nests at most
# MAX_DEPTH collections: a catalogue needs 6 (procedures → entry → fees → fee → exemptions), and
# deeper files are refused before the (recursive) parsers could run out of stack.
MAX_FILE_BYTES = 6 * 1024 * 1024
MAX_DEPTH = 10

ONLINE_LEVELS = {"none": OnlineLevel.NONE, "partial": OnlineLevel.PARTIAL, "full": OnlineLevel.FULL}
COPY_KINDS = {"original": CopyKind.ORIGINAL, "certified_copy": CopyKind.CERTIFIED_COPY, "copy": CopyKind.COPY,
              "original_or_certified_copy": CopyKind.ORIGINAL_OR_CERTIFIED_COPY}
FORMATS = ("yaml", "json")

Path = tuple  # of str keys and int indexes, e.g. ("required_documents", 0, "name")


class VersionMismatch(ServiceError):
    code = "ABORTED"

    def __init__(self, code: str, sent: int, current: int):
        super().__init__("VERSION_MISMATCH",
                         f"procedure {code} is at version {current}, not {sent}: reload it and apply the change again",
                         metadata={"code": code, "version": str(current)})


def field_name(field_code: str) -> str:
    return FIELDS.get(field_code, "")


def is_local(code: str) -> bool:
    return bool(LOCAL_CODE.fullmatch(code))


def label(path: Path) -> str:
    """("required_documents", 0, "name") → "required_documents[0].name"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# -- rules ---------------------------------------------------------------------------------------
def validate(p: Procedure, unit_exists: Callable[[str], bool] | None = None) -> list[tuple[Path, str]]:
    """Every problem of the procedure, as (field path, problem)."""
    problems: list[tuple[Path, str]] = []

    def text(path: Path, value: str, limit: int, required: bool = False) -> None:
        if required and not value.strip():
            problems.append((path, "is required"))
        elif len(value) > limit:
            problems.append((path, f"is longer than {limit} characters"))
        elif CONTROL_CHARS.search(value):
            problems.append((path, "contains control characters"))

    if not p.code.strip():
        problems.append((("code",), "is required"))
    elif NATIONAL_CODE.fullmatch(p.code):
        if p.is_local_code:
            problems.append((("is_local_code",), f"must be false: {p.code} is a national code"))
    elif LOCAL_CODE.fullmatch(p.code):
        if not p.is_local_code:
            problems.append((("is_local_code",), f"must be true for the local code {p.code}"))
    else:
        problems.append((("code",), "must be a national code like 1.001193 (optionally with a local suffix, "
                                    "1.001193.H38) or a local code like DP.HT.0001"))
    text(("name",), p.name, MAX_NAME, required=True)
    if p.field_code not in FIELDS:
        problems.append((("field_code",), f"must be one of {', '.join(sorted(FIELDS))}"))
    if not codes.is_unit_code(p.competent_unit_code):
        problems.append((("competent_agency_code",), "is not a national unit code like 000.00.21.H17"))
    elif unit_exists is not None and not unit_exists(p.competent_unit_code):
        problems.append((("competent_agency_code",), f"no unit {p.competent_unit_code} is registered"))
    text(("level",), p.level, 100, required=True)
    d = p.legal_duration
    if min(d.days, d.hours, d.minutes) < 0:
        problems.append((("legal_duration",), "must not be negative"))
    elif d.days + d.hours + d.minutes == 0:
        problems.append((("legal_duration",), "is required: working days or working hours"))
    elif d.days > 365 or d.hours > 2000 or d.minutes > 60 * 2000:
        problems.append((("legal_duration",), "is longer than a year of working time"))
    text(("result",), p.result, MAX_NAME, required=True)
    if p.online_level not in OnlineLevel.__members__.values():
        problems.append((("online_level",), "must be none, partial (một phần) or full (toàn trình)"))
    if p.process_code and not PROCESS_CODE.fullmatch(p.process_code):
        problems.append((("process_code",), "may hold only letters, digits, '.', '_' and '-' (at most 64)"))
    if p.effective_from and p.effective_to and p.effective_from > p.effective_to:
        problems.append((("effective_to",), f"is before effective_from ({p.effective_from.isoformat()})"))
    if not p.required_documents:
        problems.append((("required_documents",), "list at least one document"))
    named: dict[str, int] = {}  # dossiers match documents by name_key, so two must not share one
    for i, doc in enumerate(p.required_documents):
        text(("required_documents", i, "name"), doc.name, MAX_NAME, required=True)
        if doc.name.strip() and named.setdefault(name_key(doc.name), i) != i:
            problems.append((("required_documents", i, "name"),
                             f"names the same document as required_documents[{named[name_key(doc.name)]}]"))
        if doc.copy_kind not in CopyKind.__members__.values():
            problems.append((("required_documents", i, "copy_kind"), f"must be one of {', '.join(COPY_KINDS)}"))
        if not 1 <= doc.count <= MAX_DOCUMENT_COUNT:
            problems.append((("required_documents", i, "count"), f"must be between 1 and {MAX_DOCUMENT_COUNT}"))
        text(("required_documents", i, "form_template"), doc.form_template, MAX_NAME)
    for i, fee in enumerate(p.fees):
        text(("fees", i, "name"), fee.name, MAX_NAME, required=True)
        if fee.amount < 0:
            problems.append((("fees", i, "amount"), "must be 0 or more đồng"))
        if fee.currency != "VND":
            problems.append((("fees", i, "currency"), "must be VND"))
        text(("fees", i, "note"), fee.note, MAX_TEXT)
        for j, exemption in enumerate(fee.exemptions):
            text(("fees", i, "exemptions", j), exemption, MAX_TEXT, required=True)
    for i, basis in enumerate(p.legal_basis):
        text(("legal_basis", i), basis, MAX_NAME, required=True)
    return problems


def check(p: Procedure, unit_exists: Callable[[str], bool] | None = None, prefix: str = "procedure") -> None:
    """Raises InvalidArgument naming every problem (fields as in the API: procedure.fees[0].amount)."""
    problems = validate(p, unit_exists)
    if problems:
        raise InvalidArgument.from_violations([FieldViolation(label((prefix, *path)), problem)
                                               for path, problem in problems])


# -- search --------------------------------------------------------------------------------------
def fold(value: str) -> str:
    """Lower case without diacritics: "Đăng ký khai sinh" → "dang ky khai sinh" (`text.search_key`:
    look-alikes of Đ, tone-mark placement, NFD input and PDF ligatures fold too)."""
    return search_key(value)


def matches_text(p: Procedure, query: str) -> bool:
    """Every word of the query appears in the name or code, ignoring case and diacritics."""
    haystack = f"{fold(p.name)} {p.code.casefold()}"
    return all(word in haystack for word in fold(query).split())


# -- files: parsing with line numbers ----------------------------------------------------------------
class _Lines:
    def __init__(self, text: str):
        self._starts = [i for i, c in enumerate(text) if c == "\n"]

    def at(self, index: int) -> int:
        return bisect.bisect_left(self._starts, index) + 1


class _Obj(dict):
    lines: dict
    repeated: list  # (key, line of its first value, line of the repeated one)


class _Arr(list):
    lines: list


class _TooDeep(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _json_located(text: str):
    """json.loads, but every object and array remembers the line each of its values starts on,
    every object the keys it repeats, and nesting deeper than MAX_DEPTH raises _TooDeep."""
    lines = _Lines(text)
    decoder = json.JSONDecoder()
    depth = 0

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        nonlocal depth
        starts: list[int] = []

        def recording(string, idx):
            starts.append(idx)
            return scan_once(string, idx)
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep(lines.at(s_and_end[1]))
        pairs, end = json.decoder.JSONObject(s_and_end, strict, recording, None, list, memo)
        depth -= 1
        obj = _Obj(pairs)
        obj.lines, obj.repeated = {}, []
        for (key, _), start in zip(pairs, starts):
            if key in obj.lines:
                obj.repeated.append((key, obj.lines[key], lines.at(start)))
            else:
                obj.lines[key] = lines.at(start)
        return obj, end

    def parse_array(s_and_end, scan_once):
        nonlocal depth
        starts: list[int] = []

        def recording(string, idx):
            starts.append(idx)
            return scan_once(string, idx)
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep(lines.at(s_and_end[1]))
        values, end = json.decoder.JSONArray(s_and_end, recording)
        depth -= 1
        arr = _Arr(values)
        arr.lines = [lines.at(start) for start in starts[:len(values)]]
        return arr, end

    decoder.parse_object = parse_object
    decoder.parse_array = parse_array
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the pure-Python scanner uses the hooks
    return decoder.decode(text)


def _repeated_key(path: Path, key, first: int, again: int) -> FieldViolation:
    return FieldViolation(f"line {again}: {label((*path, key))}",
                          f"repeats the key '{key}' of line {first}: a file may give each key once")


def _plain(value, path: Path, out: dict[Path, int], repeated: list[FieldViolation]):
    if isinstance(value, _Obj):
        for key, line in value.lines.items():
            out.setdefault((*path, key), line)
        repeated += [_repeated_key(path, key, first, again) for key, first, again in value.repeated]
        return {k: _plain(v, (*path, k), out, repeated) for k, v in value.items()}
    if isinstance(value, _Arr):
        for i, line in enumerate(value.lines):
            out.setdefault((*path, i), line)
        return [_plain(v, (*path, i), out, repeated) for i, v in enumerate(value)]
    return value


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses nesting deeper than MAX_DEPTH while composing (its
    composer is recursive: 1,000 levels ran out of stack, an INTERNAL error)."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# libyaml's parser and composer when PyYAML has them (4 times faster: a 4.6 MB file of 3,700
# procedures took 3.2 s of CPU against 13 s); they cannot count depth while composing, so a pass
# over the parser's events checks it first.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _yaml_depth(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=_FAST_LOADER or yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark.line + 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _yaml_repeated(node, path: Path, out: list[FieldViolation], seen: set[int]) -> None:
    """Every mapping key repeated within its mapping, at any depth (PyYAML keeps the last one)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in first:
                    out.append(_repeated_key(path, key.value, first[key.value], line))
                else:
                    first[key.value] = line
                _yaml_repeated(value, (*path, key.value), out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml_repeated(item, (*path, i), out, seen)


def _yaml_lines(node, path: Path, out: dict[Path, int], seen: set[int]) -> None:
    if id(node) in seen:  # an alias: its lines are those of the anchor
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out.setdefault((*path, key.value), key.start_mark.line + 1)
                _yaml_lines(value, (*path, key.value), out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.setdefault((*path, i), item.start_mark.line + 1)
            _yaml_lines(item, (*path, i), out, seen)


def _refuse(line: int, field: str, problem: str, reason: str = "") -> InvalidArgument:
    error = InvalidArgument.from_violations([FieldViolation(f"line {line}: {field}", problem)])
    error.reason = reason or error.reason
    return error


def parse_file(content: bytes, fmt: str) -> tuple[Any, dict[Path, int]]:
    """The file's data and the line (1-based) of every key and list item, by path.

    Raises InvalidArgument, naming the line, for a file that is not UTF-8 YAML or JSON, is larger
    than MAX_FILE_BYTES, nests deeper than MAX_DEPTH, or repeats a key within a mapping at any depth
    (both lines named: YAML and JSON parsers would otherwise silently keep the last value)."""
    if fmt not in FORMATS:
        raise InvalidArgument.from_violations([FieldViolation("format", "must be YAML or JSON")])
    if len(content) > MAX_FILE_BYTES:
        raise _refuse(1, "content", f"is larger than {MAX_FILE_BYTES} bytes ({len(content)}): split the file",
                      "FILE_TOO_LARGE")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(content[:exc.start].count(b"\n") + 1, "content", "is not UTF-8 text") from None
    lines: dict[Path, int] = {}
    repeated: list[FieldViolation] = []
    try:
        if fmt == "json":
            try:
                data = _plain(_json_located(text), (), lines, repeated)
            except json.JSONDecodeError as exc:
                raise _refuse(exc.lineno, "content", f"is not valid JSON: {exc.msg} (column {exc.colno})") from None
        else:
            loader = None
            try:
                _yaml_depth(text)
                loader = (_FAST_LOADER or _Loader)(text)
                node = loader.get_single_node()
                if node is not None:
                    _yaml_repeated(node, (), repeated, set())
                    _yaml_lines(node, (), lines, set())
                data = loader.construct_document(node) if node is not None and not repeated else None
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                raise _refuse(mark.line + 1 if mark else 1, "content",
                              f"is not valid YAML: {exc.problem or exc.context}") from None
            except yaml.YAMLError as exc:
                raise _refuse(1, "content", f"is not valid YAML: {exc}") from None
            finally:
                if loader is not None:
                    loader.dispose()
    except _TooDeep as exc:
        raise _refuse(exc.line, "content", f"nests more than {MAX_DEPTH} levels of lists and mappings",
                      "NESTED_TOO_DEEP") from None
    if repeated:
        error = InvalidArgument.from_violations(repeated)
        error.reason = "REPEATED_KEY"
        raise error
    return data, lines


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
    if isinstance(data, dict) and set(data) == {"procedures"}:
        entries, base = data["procedures"], ("procedures",)
    else:
        entries, base = data, ()
    if not isinstance(entries, list):
        raise _refuse(1, "content", "must be a list of procedures, or a mapping with the list under 'procedures'")
    if not entries:
        raise _refuse(_line_of(lines, base), "content", "holds no procedures")
    if len(entries) > MAX_ENTRIES:
        raise _refuse(1, "content", f"holds more than {MAX_ENTRIES} procedures: split the file")
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
