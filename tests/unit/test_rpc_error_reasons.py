"""Every RPC's comment in the protos names the error reasons its implementation can raise.

Partners read the reasons of an RPC in its comment (and in docs/reference/, generated from it). This
test finds, for each RPC, the reasons its servicer method can raise, by a best-effort static scan:
the reasons written in the method (found as tests/unit/test_error_reasons.py finds them) and in
every function it calls, within the service's package and the chassis. A call is followed by the
receiver's type where the code tells it (reason_types.py: `self._x.m()` through the annotated type
of `_x`, a port's method to its adapters', `module.f()` and `f()` through the import), else by name
(a name defined by one class only). The scan may find a reason the RPC cannot really raise: name it
anyway, narrow the call, or list it in NOT_RAISED with why. The reasons any RPC can get from the server
itself (a token refused, a field beyond its bound, a dependency down, an undecodable message: the
chassis's interceptors, listed in errors.proto) are not repeated per RPC.

An RPC's comment is its own leading comment and the section comment above it (a comment block
followed by a blank line, inside the service: it speaks for the RPCs after it).
"""

from __future__ import annotations

import ast
import functools
import pathlib
import re

import pytest
from reason_types import Function, Types
from test_error_reasons import (
    ROOT,
    _assigned_reasons,
    _class_init_reasons,
    _literals,
    _name,
    _reason_classes,
    _reason_helpers,
    _sources,
)

# Raised by the chassis's gRPC server for any RPC, before or around the servicer: the token and
# role checks (auth), the contracts' bounds (bounds), a dependency down (dependencies), a message
# that does not decode (grpc_server). errors.proto and docs/operations.md describe them once.
EVERY_RPC = frozenset({
    "TOKEN_MISSING", "TOKEN_MALFORMED", "TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_NOT_YET_VALID",
    "TOKEN_TOO_LONG_LIVED", "TOKEN_CLAIM_MISSING", "UNKNOWN_KEY", "WRONG_AUDIENCE", "WRONG_ISSUER",
    "JWKS_UNAVAILABLE", "ROLE_REQUIRED",
    "FIELD_TOO_LONG", "TOO_MANY_ITEMS", "INVALID_FIELDS",
    "DATABASE_UNAVAILABLE", "BROKER_UNAVAILABLE", "OBJECT_STORE_UNAVAILABLE",
    "MALFORMED_REQUEST",
})
# What the scan finds but the RPC cannot raise, and why (keep it short: narrow the call instead).
NOT_RAISED = {
    # FeedbackService._load raises NO_MATCH only when a citizen's call (code and secret) asks it to;
    # the officers' actions load through _acting, which does not; the citizen's rating (lookup) asks
    # for NO_MATCH, never FEEDBACK_NOT_FOUND.
    ("survey", "AssignFeedback"): {"NO_MATCH"},
    ("survey", "AnswerFeedback"): {"NO_MATCH"},
    ("survey", "PublishFeedback"): {"NO_MATCH"},
    ("survey", "RateFeedbackAnswer"): {"FEEDBACK_NOT_FOUND"},
    ("survey", "ReopenFeedback"): {"FEEDBACK_NOT_FOUND"},
    # routing's decide raises NOT_PAUSED for a Resume only (ConfirmPayment, intake's events), never
    # for an officer's other commands.
    ("routing", "ActOnStep"): {"NOT_PAUSED"},
    ("routing", "ClaimStep"): {"NOT_PAUSED"},
    ("routing", "AssignSteps"): {"NOT_PAUSED"},
    ("routing", "ExtendCase"): {"NOT_PAUSED"},
}
PROTOS = sorted(p for p in (ROOT / "protos/onestop").glob("*/v1/*.proto")
                if p.parent.parent.name not in ("common", "events"))
# A method name defined in more classes than this (get, put, find ...) is not followed from a call
# on an object of no known type: which one runs is not known, and following all of them finds
# reasons of unrelated use cases.
MAX_NAMESAKES = 1
# Calls of these names on another object are a list's, dict's, set's or str's (not followed).
BUILTIN_METHODS = frozenset(dir(list) + dir(dict) + dir(set) + dir(str) + dir(bytes))
RPC = re.compile(r"^\s*rpc\s+(\w+)\s*\(")


def rpc_comments(proto: pathlib.Path) -> dict[str, str]:
    """RPC name → its leading comment and the section comment above it."""
    comments: dict[str, str] = {}
    block: list[str] = []
    section = ""
    for line in proto.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("service "):
            block, section = [], ""
        elif stripped.startswith("//"):
            block.append(stripped.removeprefix("//"))
        elif not stripped:
            if block:
                section = " ".join(block)
            block = []
        elif match := RPC.match(line):
            comments[match.group(1)] = section + " " + " ".join(block)
            block = []
        else:
            block = []
    return comments


class Scan:
    """The functions of the services and the chassis, each with the reasons written in it and the
    calls it makes; the classes with their bases, methods and the types of their attributes; the
    modules with what they import."""

    def __init__(self):
        trees = _sources()
        self.classes = _reason_classes(trees)
        self.helpers = _reason_helpers(trees)
        self.functions: dict[str, list[tuple[pathlib.Path, ast.AST]]] = {}
        self.constructors: dict[str, list[tuple[pathlib.Path, ast.AST]]] = {}
        self.class_reasons: dict[str, set[str]] = {}
        self.module_reasons: dict[pathlib.Path, dict[str, set[str]]] = {}
        self.owner: dict[int, str] = {}  # a method's class
        self.top_level: dict[pathlib.Path, set[str]] = {}  # functions and classes a module defines
        self.imported: dict[pathlib.Path, dict[str, str]] = {}  # name in the module → name imported
        self.types = Types(trees)
        for path, tree in trees.items():
            self._index_module(path, tree)
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions.setdefault(node.name, []).append((path, node))
                elif isinstance(node, ast.ClassDef):
                    self._index_class(path, node)

    def _index_module(self, path: pathlib.Path, tree: ast.Module) -> None:
        names: dict[str, set[str]] = {}
        for node in tree.body:  # REASONS = {...}: a function that reads the name may raise them
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and (found := _assigned_reasons(node)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    names.setdefault(_name(target) or "", set()).update(found)
        self.module_reasons[path] = names
        self.top_level[path] = {n.name for n in tree.body
                                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        self.imported[path] = {a.asname or a.name: a.name for n in ast.walk(tree)
                               if isinstance(n, ast.ImportFrom) for a in n.names}

    def _index_class(self, path: pathlib.Path, node: ast.ClassDef) -> None:
        self.class_reasons.setdefault(node.name, set()).update(_class_init_reasons(node))
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.owner[id(item)] = node.name
                if item.name == "__init__":
                    self.constructors.setdefault(node.name, []).append((path, item))

    def _call(self, path: pathlib.Path, node: ast.Call) -> tuple[str, str] | None:
        """(name, how) of a call to follow by name: how "self" (self.m()), "name" (m() defined in the
        module), "imported" (m() imported into it) or "other" (x.m()); None for a builtin's or a list's."""
        name = _name(node.func) or ""
        if isinstance(node.func, ast.Name):
            if name in self.top_level[path]:
                return name, "name"
            return (self.imported[path][name], "imported") if name in self.imported[path] else None
        if not isinstance(node.func, ast.Attribute):
            return None  # (a or b)(...), f()(...)
        if _name(node.func.value) in ("self", "cls"):
            return name, "self"
        return None if name in BUILTIN_METHODS else (name, "other")

    def _call_reasons(self, node: ast.Call) -> set[str]:
        """The reasons a call writes: an error class's, a helper's `reason` argument, `reason=`."""
        name = _name(node.func) or ""
        reasons: set[str] = set()
        if name in self.classes:
            reasons |= self.class_reasons.get(name, set())
            if node.args:
                reasons |= _literals(node.args[0])
        elif name in self.helpers and len(node.args) > self.helpers[name]:
            reasons |= _literals(node.args[self.helpers[name]])
        for keyword in node.keywords:
            if keyword.arg == "reason":
                reasons |= _literals(keyword.value)
        return reasons

    def direct(self, path: pathlib.Path, function: ast.AST) -> tuple[set[str], list[ast.Call]]:
        """The reasons written in the function, and the calls it makes."""
        reasons: set[str] = set()
        calls: list[ast.Call] = []
        module = self.module_reasons[path]
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                reasons |= self._call_reasons(node)
                calls.append(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                reasons |= _assigned_reasons(node)
            elif isinstance(node, ast.Name) and node.id in module:
                reasons |= module[node.id]
        return reasons, calls

    def by_name(self, ours, path: pathlib.Path, function: ast.AST, name: str, how: str) -> list[Function]:
        """The name rule, for a call whose target the types do not tell."""
        candidates = [(p, f) for p, f in self.functions.get(name, []) + self.constructors.get(name, []) if ours(p)]
        if how == "name":  # the module's own function (or class)
            return [(p, f) for p, f in candidates if p == path and id(f) not in self.owner
                    or self.constructors.get(name) and (p, f) in self.constructors[name]]
        if how == "self":  # the same class's method, else a mixin's or base's of the package
            same = [(p, f) for p, f in candidates if self.owner.get(id(f)) == self.owner.get(id(function))]
            return same or [(p, f) for p, f in candidates if id(f) in self.owner]
        if how == "other" and len({self.owner.get(id(f)) for _, f in candidates}) > MAX_NAMESAKES:
            return []
        return candidates

    def targets(self, ours, path: pathlib.Path, function: ast.AST, node: ast.Call) -> list[Function]:
        """The functions a call can run: by the receiver's type or the import when known, else by name."""
        typed = self.types.callees(path, function, self.owner.get(id(function)), node)
        if typed is not None:
            return typed
        call = self._call(path, node)
        return [] if call is None else self.by_name(ours, path, function, *call)

    def reachable(self, package: str, start: list[Function]) -> set[str]:
        """The reasons of the start functions and of every function they call, within the service's
        package (services/<package>) and the chassis."""
        def ours(path: pathlib.Path) -> bool:
            parts = path.relative_to(ROOT).parts
            return parts[0] == "libs" or parts[:2] == ("services", package)
        seen: set[int] = set()
        todo = list(start)
        reasons: set[str] = set()
        while todo:
            path, function = todo.pop()
            if id(function) in seen:
                continue
            seen.add(id(function))
            found, calls = self.direct(path, function)
            reasons |= found
            for node in calls:
                todo += [(p, f) for p, f in self.targets(ours, path, function, node) if ours(p)]
        return reasons


@functools.cache
def scan() -> Scan:
    return Scan()


def implementation(package: str, rpc: str) -> list[tuple[pathlib.Path, ast.AST]]:
    """The servicer methods named after the RPC in the service's api modules."""
    return [(p, f) for p, f in scan().functions.get(rpc, [])
            if p.relative_to(ROOT).parts[:2] == ("services", package) and p.name == "api.py"]


def rpcs() -> list[tuple[str, str, str]]:
    return [(proto.parent.parent.name, proto.name, rpc) for proto in PROTOS for rpc in rpc_comments(proto)]


def undocumented(package: str, proto_name: str, rpc: str) -> list[str]:
    comment = rpc_comments(ROOT / "protos/onestop" / package / "v1" / proto_name)[rpc]
    reasons = scan().reachable(package, implementation(package, rpc)) - EVERY_RPC
    reasons -= NOT_RAISED.get((package, rpc), set())
    return sorted(r for r in reasons if not re.search(rf"\b{r}\b", comment))


def test_every_rpc_has_an_implementation_the_scan_finds():
    missing = [f"{package}/{proto}: {rpc}" for package, proto, rpc in rpcs() if not implementation(package, rpc)]
    assert len(rpcs()) > 60 and missing == []


def test_the_scan_follows_calls_into_the_service_and_the_chassis():
    submit = scan().reachable("intake", implementation("intake", "SubmitDossier"))
    assert {"PROCEDURE_NOT_FOUND", "REQUEST_ID_REUSED"} <= submit, "a domain reason and a chassis helper's"
    assert "CASE_NOT_FOUND" not in submit, "never another service's"


@pytest.mark.parametrize("package, rpc, reasons", [
    # A reviewer found these by hand while the scan followed calls by name only: the calls on a typed
    # attribute (self._reception: IntakeService, self._service = service: DocumentsService), through a
    # port to its adapter (Peers → GrpcPeers) and into a module function (desk_actions.record_result).
    ("intake", "GetDossier", {"DOSSIER_NOT_FOUND", "OTHER_AGENCY"}),
    ("documents", "UploadDocument", {"CONTENT_TYPE_MISMATCH", "VERSION_ALLOCATION_BUSY", "CLIENT_CANCELLED"}),
    ("documents", "TransferDocuments", {"PEER_FAILED"}),
    ("intake", "RecordResult", {"ROUTED_CASE"}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_scan_follows_calls_by_the_receivers_type(package, rpc, reasons):
    assert reasons <= scan().reachable(package, implementation(package, rpc))


def test_the_scan_does_not_follow_a_grpc_stub_into_our_servicer():
    # GrpcPeers.upload calls a peer's UploadDocument through a stub: the peer's errors arrive as
    # PEER_FAILED, never as our own servicer's METADATA_FIRST.
    assert "METADATA_FIRST" not in scan().reachable("documents", implementation("documents", "TransferDocuments"))


def test_every_not_raised_entry_is_still_found():
    stale = {key: sorted(reasons - scan().reachable(key[0], implementation(*key)))
             for key, reasons in NOT_RAISED.items()}
    assert all(not r for r in stale.values()), f"the scan no longer finds these: drop them from NOT_RAISED: {stale}"


def test_a_section_comment_speaks_for_the_rpcs_after_it():
    comments = rpc_comments(ROOT / "protos/onestop/intake/v1/intake.proto")
    assert "ACTION_NOT_ALLOWED_IN_STATUS" in comments["AcceptDossier"]
    assert "ACTION_NOT_ALLOWED_IN_STATUS" not in comments["SubmitDossier"]


@pytest.mark.parametrize("package, proto, rpc", rpcs(), ids=lambda v: v)
def test_the_rpc_comment_names_every_reason_it_can_raise(package, proto, rpc):
    missing = undocumented(package, proto, rpc)
    assert missing == [], (f"name these reasons in the comment of rpc {rpc} in protos/onestop/{package}/v1/{proto} "
                           "(then `make protos` and `make docs`)")
