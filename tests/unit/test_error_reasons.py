"""The error reasons the services raise are the ones onestop.common.v1.ErrorReason lists.

Partners switch on google.rpc.ErrorInfo.reason; the enum (protos/onestop/common/v1/errors.proto)
is their list of every reason. This test reads the code (libs/ and services/, not tests) for
reason literals and fails when one is missing from the enum, or when the enum keeps one that no
code raises any more, so the list stays true.
"""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFIX = "ERROR_REASON_"
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# The chassis' error classes (onestop_chassis.errors); subclasses found in the code join them.
ERROR_CLASSES = {"ServiceError", "InvalidArgument", "NotFound", "AlreadyExists", "FailedPrecondition",
                 "Aborted", "PermissionDenied", "Unauthenticated", "Unavailable", "ResourceExhausted",
                 "Cancelled"}
# The carrier sandbox stands in for VNPost's HTTP API: its codes are the carrier's, not ours.
NOT_OURS = ("sandbox",)


def _sources() -> dict[pathlib.Path, ast.Module]:
    files = [p for top in ("libs", "services") for p in (ROOT / top).rglob("*.py")
             if "tests" not in p.relative_to(ROOT).parts and not p.name.endswith(("_pb2.py", "_pb2_grpc.py"))
             and not {"contracts", *NOT_OURS} & set(p.relative_to(ROOT).parts)]
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in files}


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _reason_classes(trees: dict[pathlib.Path, ast.Module]) -> set[str]:
    """The error classes and their subclasses, and exceptions whose __init__ takes `reason` first."""
    classes = set(ERROR_CLASSES)
    grown = True
    while grown:
        grown = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if not isinstance(node, ast.ClassDef) or node.name in classes:
                    continue
                inherits = any(_name(base) in classes for base in node.bases)
                init = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
                takes_reason = init is not None and [a.arg for a in init.args.args[1:2]] == ["reason"]
                if inherits or takes_reason:
                    classes.add(node.name)
                    grown = True
    return classes


def _reason_helpers(trees: dict[pathlib.Path, ast.Module]) -> dict[str, int]:
    """Functions with a `reason` parameter → its position (after self), e.g. ServiceClient.unavailable,
    datafiles.refuse_at_line."""
    helpers: dict[str, int] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name != "__init__":
                names = [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
                if "reason" in names:
                    helpers[node.name] = names.index("reason")
    return helpers


def _literals(node: ast.AST) -> set[str]:
    return {c.value for c in ast.walk(node)
            if isinstance(c, ast.Constant) and isinstance(c.value, str) and UPPER_SNAKE.match(c.value)}


def _class_init_reasons(node: ast.ClassDef) -> set[str]:
    """super().__init__("REASON", ...) inside an error class."""
    found: set[str] = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__" \
                and isinstance(call.func.value, ast.Call) and _name(call.func.value.func) == "super" and call.args:
            found |= _literals(call.args[0])
    return found


def _assigned_reasons(node: ast.Assign | ast.AnnAssign) -> set[str]:
    """reason = "X" / REASONS = {...: "X"} / error.reason = "X"."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if node.value is not None and any("reason" in (_name(t) or "").lower() for t in targets):
        return _literals(node.value)
    return set()


def raised_reasons() -> dict[str, set[str]]:
    """Every reason literal in the code → the files that raise it."""
    trees = _sources()
    classes = _reason_classes(trees)
    helpers = _reason_helpers(trees)
    found: dict[str, set[str]] = {}
    for path, tree in trees.items():
        here: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = _name(node.func)
                if called in classes and node.args:
                    here |= _literals(node.args[0])
                elif called in helpers and len(node.args) > helpers[called]:
                    here |= _literals(node.args[helpers[called]])
                for keyword in node.keywords:
                    if keyword.arg == "reason":
                        here |= _literals(keyword.value)
            elif isinstance(node, ast.ClassDef) and node.name in classes:
                here |= _class_init_reasons(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                here |= _assigned_reasons(node)
        for reason in here:
            found.setdefault(reason, set()).add(str(path.relative_to(ROOT)))
    return found


def enum_reasons() -> set[str]:
    from onestop.common.v1 import errors_pb2

    names = set(errors_pb2.ErrorReason.keys())
    assert all(n.startswith(PREFIX) for n in names)
    return {n.removeprefix(PREFIX) for n in names} - {"UNSPECIFIED"}


def test_the_scan_finds_reasons_of_every_shape():
    raised = raised_reasons()
    # One of each way a reason is written: an error class, a subclass's super().__init__, a domain
    # exception carrying a reason, a client helper, a dict of reasons, a conditional expression.
    for reason in ("DOSSIER_NOT_FOUND", "CONCURRENT_CHANGE", "SHIPMENT_FINAL", "DOCUMENTS_UNAVAILABLE",
                   "DATABASE_UNAVAILABLE", "TOO_MANY_ITEMS", "WAYBILL_NOT_FOUND", "NESTED_TOO_DEEP"):
        assert reason in raised, reason


def test_every_raised_reason_is_in_the_enum():
    missing = {r: sorted(files) for r, files in raised_reasons().items() if r not in enum_reasons()}
    assert not missing, ("add these reasons to ErrorReason in protos/onestop/common/v1/errors.proto "
                         f"(with a comment), then `make protos`: {missing}")


def test_the_enum_lists_no_reason_the_code_no_longer_raises():
    stale = enum_reasons() - set(raised_reasons())
    assert not stale, f"no code raises these any more: reserve them in errors.proto: {sorted(stale)}"


def test_every_enum_value_has_a_comment():
    text = (ROOT / "protos/onestop/common/v1/errors.proto").read_text(encoding="utf-8")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"\s+{PREFIX}[A-Z0-9_]+ = [1-9]", line):
            assert lines[i - 1].strip().startswith("//"), f"no comment above: {line.strip()}"
