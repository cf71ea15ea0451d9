"""Data files (YAML or JSON) that admins import: read with the line of every key and list item, so
each problem names its line ("line 14: steps[2].budget"); a key repeated within a mapping and
nesting deeper than `max_depth` are refused before the (recursive) parsers run.

`parse_file` is the entry point; `Reader` reads typed values out of the parsed data collecting
every problem with its path, `line_of` and `label` turn a path into "line N: field". Used by
intake's procedure catalogue and routing's process templates. Plain Python (PyYAML)."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import json.decoder
import json.scanner
from typing import Any

import yaml

from .errors import FieldViolation, InvalidArgument
from .text import nfc

FORMATS = ("yaml", "json")
DEFAULT_MAX_DEPTH = 10

Path = tuple  # of str keys and int indexes, e.g. ("required_documents", 0, "name")


def label(path: Path) -> str:
    """("required_documents", 0, "name") → "required_documents[0].name"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(lines: dict[Path, int], path: Path) -> int:
    """The line of `path`, else of its nearest ancestor that has one, else 1."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 1


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


class TooDeep(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def json_located(text: str, max_depth: int = DEFAULT_MAX_DEPTH):
    """json.loads, but every object and array remembers the line each of its values starts on,
    every object the keys it repeats, and nesting deeper than `max_depth` raises TooDeep."""
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
        if depth > max_depth:
            raise TooDeep(lines.at(s_and_end[1]))
        pairs, end = json.decoder.JSONObject(  # type: ignore[attr-defined]  # json's private parser hook
            s_and_end, strict, recording, None, list, memo)
        depth -= 1
        obj = _Obj(pairs)
        obj.lines, obj.repeated = {}, []
        for (key, _), start in zip(pairs, starts, strict=True):  # one start recorded per value read
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
        if depth > max_depth:
            raise TooDeep(lines.at(s_and_end[1]))
        values, end = json.decoder.JSONArray(s_and_end, recording)  # type: ignore[attr-defined]  # as above
        depth -= 1
        arr = _Arr(values)
        arr.lines = [lines.at(start) for start in starts[:len(values)]]
        return arr, end

    # The decoder's hooks are not in json's stubs: set them so the pure-Python scanner calls ours.
    decoder.parse_object = parse_object  # type: ignore[attr-defined]  # see above
    decoder.parse_array = parse_array  # type: ignore[attr-defined]  # see above
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]  # see above
    return decoder.decode(text)


def _repeated_key(path: Path, key, first: int, again: int) -> FieldViolation:
    return FieldViolation(f"line {again}: {label((*path, key))}",
                          f"repeats the key '{key}' of line {first}: a file may give each key once")


def plain(value, path: Path, out: dict[Path, int], repeated: list[FieldViolation]):
    if isinstance(value, _Obj):
        for key, line in value.lines.items():
            out.setdefault((*path, key), line)
        repeated += [_repeated_key(path, key, first, again) for key, first, again in value.repeated]
        return {k: plain(v, (*path, k), out, repeated) for k, v in value.items()}
    if isinstance(value, _Arr):
        for i, line in enumerate(value.lines):
            out.setdefault((*path, i), line)
        return [plain(v, (*path, i), out, repeated) for i, v in enumerate(value)]
    return value


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses nesting deeper than `max_depth` while composing (its
    composer is recursive: 1,000 levels ran out of stack, an INTERNAL error)."""

    _depth = 0
    max_depth = DEFAULT_MAX_DEPTH

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _timestamp_or_text(loader, node):
    """A YAML timestamp; its text when it only looks like one (2026-13-01 matches YAML's pattern
    but is no date: PyYAML raises a bare ValueError with no line), so the Reader refuses it naming
    its line."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


# libyaml's parser and composer when PyYAML has them (4 times faster: a 4.6 MB file of 3,700
# procedures took 3.2 s of CPU against 13 s); they cannot count depth while composing, so a pass
# over the parser's events checks it first.
FAST_LOADER: Any = None
if hasattr(yaml, "CSafeLoader"):  # only where PyYAML was built with libyaml
    class FastLoader(yaml.CSafeLoader):
        pass

    FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
    FAST_LOADER = FastLoader


def yaml_depth(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=FAST_LOADER or yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > max_depth:
                raise TooDeep(event.start_mark.line + 1 if event.start_mark else 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def yaml_repeated(node, path: Path, out: list[FieldViolation], seen: set[int]) -> None:
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
                yaml_repeated(value, (*path, key.value), out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yaml_repeated(item, (*path, i), out, seen)


def yaml_lines(node, path: Path, out: dict[Path, int], seen: set[int]) -> None:
    if id(node) in seen:  # an alias: its lines are those of the anchor
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out.setdefault((*path, key.value), key.start_mark.line + 1)
                yaml_lines(value, (*path, key.value), out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.setdefault((*path, i), item.start_mark.line + 1)
            yaml_lines(item, (*path, i), out, seen)


def refuse_at_line(line: int, field: str, problem: str, reason: str = "") -> InvalidArgument:
    error = InvalidArgument.from_violations([FieldViolation(f"line {line}: {field}", problem)])
    error.reason = reason or error.reason
    return error


def parse_file(content: bytes, fmt: str, *, max_bytes: int,
               max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[Any, dict[Path, int]]:
    """The file's data and the line (1-based) of every key and list item, by path.

    Raises InvalidArgument, naming the line, for a format other than "yaml" or "json", a file that
    is not UTF-8 YAML or JSON, is larger than `max_bytes` (reason FILE_TOO_LARGE), nests deeper
    than `max_depth` (NESTED_TOO_DEEP), or repeats a key within a mapping at any depth
    (REPEATED_KEY, both lines named: YAML and JSON parsers would otherwise silently keep the last
    value)."""
    if fmt not in FORMATS:
        raise InvalidArgument.from_violations([FieldViolation("format", "must be YAML or JSON")])
    if len(content) > max_bytes:
        raise refuse_at_line(1, "content", f"is larger than {max_bytes} bytes ({len(content)}): split the file",
                             "FILE_TOO_LARGE")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse_at_line(content[:exc.start].count(b"\n") + 1, "content", "is not UTF-8 text") from None
    lines: dict[Path, int] = {}
    repeated: list[FieldViolation] = []
    try:
        data = (_json(text, lines, repeated, max_depth) if fmt == "json"
                else _yaml(text, lines, repeated, max_depth))
    except TooDeep as exc:
        raise refuse_at_line(exc.line, "content", f"nests more than {max_depth} levels of lists and mappings",
                             "NESTED_TOO_DEEP") from None
    if repeated:
        error = InvalidArgument.from_violations(repeated)
        error.reason = "REPEATED_KEY"
        raise error
    return data, lines


def _json(text: str, lines: dict[Path, int], repeated: list[FieldViolation], max_depth: int) -> Any:
    try:
        return plain(json_located(text, max_depth), (), lines, repeated)
    except json.JSONDecodeError as exc:
        raise refuse_at_line(exc.lineno, "content", f"is not valid JSON: {exc.msg} (column {exc.colno})") from None


def _yaml(text: str, lines: dict[Path, int], repeated: list[FieldViolation], max_depth: int) -> Any:
    """None when a key is repeated: the file is refused without building it."""
    loader = None
    try:
        yaml_depth(text, max_depth)
        loader = (FAST_LOADER or Loader)(text)  # a module global: tests switch the fast one off
        loader.max_depth = max_depth
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


class Reader:
    """Reads typed values out of one parsed entry, collecting (path, problem) for everything wrong
    instead of stopping at the first, so an import names every problem of a file at once."""

    def __init__(self):
        self.problems: list[tuple[Path, str]] = []

    def bad(self, path: Path, problem: str) -> None:
        self.problems.append((path, problem))

    def mapping(self, value, path: Path, keys: tuple[str, ...]) -> dict:
        """`value` when it is a mapping (each key not in `keys` reported), else {} (reported)."""
        if not isinstance(value, dict):
            self.bad(path, "must be a mapping of fields")
            return {}
        for key in value:
            if key not in keys:
                self.bad((*path, key) if isinstance(key, str) else path,
                         f"is not a known field (known: {', '.join(keys)})")
        return value

    def text(self, m: dict, path: Path, key: str, default: str = "") -> str:
        """Stripped NFC text; numbers are refused (YAML reads 1.001193 as a float)."""
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

    def choice(self, m: dict, path: Path, key: str, options: dict, default=0):
        """options[value], the value matched case-insensitively; `default` when absent."""
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
