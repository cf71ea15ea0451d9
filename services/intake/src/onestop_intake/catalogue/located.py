"""Reading a YAML or JSON catalogue file with the line of every key and list item, refusing a
repeated key or nesting deeper than MAX_DEPTH before the (recursive) parsers run.

Plain Python; `files.parse_file` is the entry point."""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner

import yaml

from onestop_chassis.errors import FieldViolation, InvalidArgument

from .domain import MAX_DEPTH, Path, label


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


def json_located(text: str):
    """json.loads, but every object and array remembers the line each of its values starts on,
    every object the keys it repeats, and nesting deeper than MAX_DEPTH raises TooDeep."""
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
        if depth > MAX_DEPTH:
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
    """PyYAML's safe loader that refuses nesting deeper than MAX_DEPTH while composing (its
    composer is recursive: 1,000 levels ran out of stack, an INTERNAL error)."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# libyaml's parser and composer when PyYAML has them (4 times faster: a 4.6 MB file of 3,700
# procedures took 3.2 s of CPU against 13 s); they cannot count depth while composing, so a pass
# over the parser's events checks it first.
FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def yaml_depth(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=FAST_LOADER or yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep(event.start_mark.line + 1)
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
