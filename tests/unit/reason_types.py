"""The little typing tests/unit/test_rpc_error_reasons.py's scan needs to follow a call to the function
it runs: `self._service.upload()` to the `upload` of the class `_service` is annotated with (in the
class body, a dataclass's fields or the constructor's parameters), `domain.sniff()` to the module
`domain` is imported from, a port's (Protocol's) method to its adapters'. What it cannot type is
left to the scan's name rule."""

from __future__ import annotations

import ast
import pathlib

from test_error_reasons import ROOT, _name

Function = tuple[pathlib.Path, ast.AST]
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Types:
    """Just enough typing to follow `self._x.m()` and `module.f()`: the classes with their bases,
    methods and attributes' types (class-body annotations, dataclass fields, `self._x = param` of an
    annotated parameter, `self._x = Class(...)`), and each module's imports."""

    def __init__(self, trees: dict[pathlib.Path, ast.Module]):
        self.classes: dict[str, list[tuple[pathlib.Path, ast.ClassDef]]] = {}
        self.modules: dict[str, pathlib.Path] = {}
        self.imports: dict[pathlib.Path, dict[str, tuple[str, str]]] = {}  # name → (module, attribute or "")
        self.trees = trees
        for path, tree in trees.items():
            parts = path.relative_to(ROOT).parts
            dotted = list(parts[parts.index("src") + 1:])
            dotted[-1] = dotted[-1].removesuffix(".py")
            self.modules[".".join(dotted[:-1] if dotted[-1] == "__init__" else dotted)] = path
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    self.classes.setdefault(node.name, []).append((path, node))
        for path, tree in trees.items():
            self.imports[path] = self._imports(path, tree)
        self.children: dict[str, set[str]] = {}
        for name, defined in self.classes.items():
            for _, node in defined:
                for base in node.bases:
                    self.children.setdefault(_name(base) or "", set()).add(name)

    def _module_of(self, path: pathlib.Path) -> str:
        return next(m for m, p in self.modules.items() if p == path)

    def _imports(self, path: pathlib.Path, tree: ast.Module) -> dict[str, tuple[str, str]]:
        package = self._module_of(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        found: dict[str, tuple[str, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]) if node.level \
                    else node.module or ""
                base = base.strip(".")
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    found[alias.asname or alias.name] = (submodule, "") if submodule in self.modules \
                        else (base, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        found[alias.asname] = (alias.name, "")
        return found

    # -- classes ----------------------------------------------------------------------------------
    def mro(self, name: str) -> list[str]:
        order, todo = [], [name]
        while todo:
            current = todo.pop(0)
            if current not in order and current in self.classes:
                order.append(current)
                todo += [_name(b) or "" for _, node in self.classes[current] for b in node.bases]
        return order

    def descendants(self, name: str) -> list[str]:
        found, todo = [], list(self.children.get(name, ()))
        while todo:
            current = todo.pop(0)
            if current not in found:
                found.append(current)
                todo += self.children.get(current, ())
        return found

    def is_protocol(self, name: str) -> bool:
        return any(_name(b) == "Protocol" for _, node in self.classes.get(name, []) for b in node.bases)

    def own_methods(self, name: str, method: str) -> list[Function]:
        return [(p, item) for p, node in self.classes.get(name, []) for item in node.body
                if isinstance(item, FUNCTIONS) and item.name == method]

    def method_names(self, name: str) -> set[str]:
        return {item.name for c in self.mro(name) for _, node in self.classes[c] for item in node.body
                if isinstance(item, FUNCTIONS)}

    def methods(self, name: str, method: str) -> list[Function]:
        """What `x.method()` runs for an x of class `name`: the first definition along its bases; for a
        Protocol (a port), every class of the code that has all its methods (its adapters); else the
        subclasses' (a mixin's call of the composite's method, an abstract base's)."""
        if self.is_protocol(name):
            wanted = {m for m in self.method_names(name) if not m.startswith("__")}
            adapters = [c for c in self.classes if not self.is_protocol(c) and wanted <= self.method_names(c)]
            return [f for c in adapters for f in self.methods(c, method)]
        for current in self.mro(name):
            if found := self.own_methods(current, method):
                return found
        for child in self.descendants(name):
            for current in self.mro(child):
                if found := self.own_methods(current, method):
                    return found
        return []

    def attribute(self, name: str, attr: str, depth: int) -> set[str] | None:
        """The classes an attribute of class `name` (or of a class mixing it in) holds."""
        for current in self.mro(name) + [c for d in self.descendants(name) for c in self.mro(d)]:
            for path, node in self.classes[current]:
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and _name(item.target) == attr \
                            and isinstance(item.target, ast.Name):
                        return self.annotation(path, item.annotation)
                for function in (i for i in node.body if isinstance(i, FUNCTIONS)):
                    for stmt in ast.walk(function):
                        targets = stmt.targets if isinstance(stmt, ast.Assign) else \
                            [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
                        if any(isinstance(t, ast.Attribute) and _name(t.value) == "self" and t.attr == attr
                               for t in targets):
                            if isinstance(stmt, ast.AnnAssign):
                                return self.annotation(path, stmt.annotation)
                            return self.expression(path, function, current, stmt.value, depth + 1)
        return None

    # -- expressions ------------------------------------------------------------------------------
    def annotation(self, path: pathlib.Path, node: ast.expr | None) -> set[str] | None:
        """The classes of the code an annotation names (`X`, `X | None`, `"X"`); an empty set for a type
        of no class here (str, a grpc stub); None for Any or a callable."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node = ast.parse(node.value, mode="eval").body
        names = {_name(n) for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute))}
        if names & {"Any", "Callable", "object"}:
            return None
        return {n for n in names if n and n in self.classes}

    def expression(self, path: pathlib.Path, function: ast.AST, owner: str | None, node: ast.expr,
                   depth: int = 0) -> set[str] | None:
        """The classes an expression's value has, None when not known."""
        if depth > 6:
            return None
        if isinstance(node, ast.Name):
            if node.id in ("self", "cls") and owner:
                return {owner}
            return self.variable(path, function, owner, node.id, depth)
        if isinstance(node, ast.Attribute):
            holders = self.expression(path, function, owner, node.value, depth + 1)
            if not holders:
                return None
            found = [self.attribute(h, node.attr, depth) for h in holders]
            known = [f for f in found if f is not None]
            return set().union(*known) if known else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.classes:
            return {node.func.id}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):  # what the method returns
            called = self.callees(path, function, owner, node)
            returned = [self.annotation(p, f.returns) for p, f in called or [] if isinstance(f, FUNCTIONS)]
            known = [r for r in returned if r is not None]
            return set().union(*known) if known else None
        if isinstance(node, (ast.BoolOp, ast.IfExp)):
            values = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
            known = [t for v in values if (t := self.expression(path, function, owner, v, depth + 1)) is not None]
            return set().union(*known) if known else None
        return None

    def variable(self, path: pathlib.Path, function: ast.AST, owner: str | None, name: str,
                 depth: int) -> set[str] | None:
        """A parameter's annotation, or a local variable's annotation or assigned value."""
        if isinstance(function, FUNCTIONS):
            arguments = function.args
            for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs:
                if arg.arg == name:
                    return self.annotation(path, arg.annotation)
        for stmt in ast.walk(function):
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
                return self.annotation(path, stmt.annotation)
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _name(stmt.targets[0]) == name \
                    and isinstance(stmt.targets[0], ast.Name):
                return self.expression(path, function, owner, stmt.value, depth + 1)
        return None

    # -- calls ------------------------------------------------------------------------------------
    def callees(self, path: pathlib.Path, function: ast.AST, owner: str | None,
                node: ast.Call) -> list[Function] | None:
        """The functions a call runs, when the receiver's type or the import tells; else None."""
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.imports[path]:
            return self.imported(*self.imports[path][func.id])
        if not isinstance(func, ast.Attribute):
            return None
        if isinstance(func.value, ast.Name) and func.value.id in self.imports[path]:
            module, attr = self.imports[path][func.value.id]
            if not attr:  # module.f()
                return self.imported(module, func.attr)
            if attr in self.classes:  # Class.method()
                return self.methods(attr, func.attr)
        receivers = self.expression(path, function, owner, func.value)
        if receivers is None:
            return None
        return [f for r in receivers for f in self.methods(r, func.attr)] if receivers else []

    def imported(self, module: str, name: str, depth: int = 0) -> list[Function] | None:
        """A module's function or class (its constructor), following a package's re-export."""
        if module not in self.modules:
            return None if module.startswith("onestop_") else []  # a library's or the stubs': not followed
        path = self.modules[module]
        for node in self.trees[path].body:
            if isinstance(node, FUNCTIONS) and node.name == name:
                return [(path, node)]
            if isinstance(node, ast.ClassDef) and node.name == name:
                return self.methods(name, "__init__")
        if name in self.imports[path] and depth < 3:
            return self.imported(*self.imports[path][name], depth=depth + 1)
        return None
