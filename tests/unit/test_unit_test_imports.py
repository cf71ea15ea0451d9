"""The unit tier's hang, caught before it happens: a unit test module that imports, at its top, a
worker serving pages (IntakeWorker, SurveyWorker, DeliveryWorker: any class with nameko `http`
entrypoints, through onestop_chassis.web) pulls in nameko's web server, whose eventlet set-up
changes the threads of the whole pytest process, and later tests hang. Found statically: every
module of the services, the chassis and the unit tier's own helpers that imports nameko.web when it
is imported (directly, or through a module that does), and every unit test file that imports one of
them outside a function."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNIT = ROOT / "tests" / "unit"
WEB_SERVER = "nameko.web"
ADVICE = ("import it inside the test that needs it, or better host the mixin or handler you test "
          "in a small nameko service of the test's own (see tests/unit/test_survey_feedback_worker.py), "
          "or run the check in a subprocess (see CHECK_WORKERS in tests/unit/test_dead_letter_policy.py)")


def _module_name(path: pathlib.Path) -> str:
    """`onestop_intake.worker` for services/intake/src/onestop_intake/worker.py; a test helper by its
    file name (`fakes`, `test_workers`), as the unit tests import them."""
    parts = path.with_suffix("").parts
    for i, part in enumerate(parts):
        if part.startswith("onestop_") and parts[i - 1] == "src":
            names = list(parts[i:])
            return ".".join(names[:-1] if names[-1] == "__init__" else names)
    return path.stem


def _import_time_imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, module) of every import run when the module is imported: its top level, and the
    bodies of its top-level if/try/with blocks and classes, never a function's. `from a import b`
    gives `a` and `a.b` (b may be a module); a relative import is resolved from the module's name."""
    found: list[tuple[int, str]] = []
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend((node.lineno, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                found.append((node.lineno, module))
                found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            else:
                visit(ast.iter_child_nodes(node))
    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def _sources() -> dict[str, pathlib.Path]:
    paths = [*ROOT.glob("services/*/src/onestop_*/**/*.py"), *ROOT.glob("libs/*/src/onestop_*/**/*.py"),
             ROOT / "tests" / "fakes.py", *UNIT.glob("*.py")]
    return {_module_name(p): p for p in paths if p.is_file()}


def modules_importing_the_web_server() -> dict[str, str]:
    """Module → the chain of imports by which importing it imports nameko.web."""
    sources = _sources()
    imports = {name: [m for _, m in _import_time_imports(path)] for name, path in sources.items()}
    chain: dict[str, str] = {}
    changed = True
    while changed:  # a fixed point over the import graph (packages are few: a handful of passes)
        changed = False
        for name, targets in imports.items():
            if name in chain:
                continue
            for target in targets:
                parents = [target.rsplit(".", n)[0] for n in range(target.count(".") + 1)]
                if target == WEB_SERVER or target.startswith(WEB_SERVER + "."):
                    chain[name] = f"{name} → {target}"
                elif target in chain and target != name:
                    chain[name] = f"{name} → {chain[target]}"
                elif any(p in chain and p != name and sources[p].name == "__init__.py" for p in parents[1:]):
                    package = next(p for p in parents[1:] if p in chain)
                    chain[name] = f"{name} → {chain[package]}"
                else:
                    continue
                changed = True
                break
    return chain


def test_the_workers_that_serve_pages_are_found():
    chain = modules_importing_the_web_server()
    for worker in ("onestop_intake.worker", "onestop_survey.worker", "onestop_chassis.web"):
        assert worker in chain, f"{worker} serves pages: the scan no longer sees it import {WEB_SERVER}"
    assert "onestop_routing.worker" not in chain and "onestop_documents.worker" not in chain


def offenders(paths, chain: dict[str, str]) -> list[str]:
    return [f"{path.name}:{line} imports {module} ({chain[module]})"
            for path in sorted(paths) for line, module in _import_time_imports(path) if module in chain]


def test_no_unit_test_imports_the_web_server_at_its_top():
    found = offenders(UNIT.glob("*.py"), modules_importing_the_web_server())
    assert found == [], ("importing nameko's web server at a unit test's top hangs later tests; "
                         + ADVICE + ":\n" + "\n".join(found))


def test_the_check_sees_an_import_at_the_top_and_not_one_in_a_test(tmp_path):
    chain = modules_importing_the_web_server()
    top = tmp_path / "test_top.py"
    top.write_text("import pytest\nfrom onestop_survey.worker import SurveyWorker\n"
                   "if True:\n    from onestop_intake import worker\n")
    inside = tmp_path / "test_inside.py"
    inside.write_text("def test_x():\n    from onestop_delivery.worker import DeliveryWorker\n")
    found = offenders([top, inside], chain)
    assert [f.split(" (")[0] for f in found] == [
        "test_top.py:2 imports onestop_survey.worker", "test_top.py:4 imports onestop_intake.worker"]
