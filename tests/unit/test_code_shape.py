"""The shape every service keeps (issue 10), checked over all of them and the chassis, so a new
service is held to it from its first commit:
- only `bootstrap.py` (the composition root) constructs adapters: the classes its `adapters/`
  modules define, and the chassis' MinIO clients;
- no module over 400 lines, no function over 50 unless a `# long:` comment on or above its `def`
  says why."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = sorted(p for p in ROOT.glob("services/*/src/onestop_*") if p.is_dir() and not p.name.endswith("-info"))
CHASSIS = ROOT / "libs/chassis/src/onestop_chassis"
CHASSIS_CLIENTS = {"minio_client", "prober"}  # onestop_chassis.storage: a MinIO client, a health probe


def _sources(package: pathlib.Path) -> list[pathlib.Path]:
    return sorted(package.rglob("*.py"))


def _adapter_classes(package: pathlib.Path) -> set[str]:
    return {node.name for path in package.rglob("adapters/**/*.py") if path.is_file()
            for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)}


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "from_settings" and isinstance(func.value, ast.Name):
        return func.value.id  # MinioStore.from_settings(settings)
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def test_there_are_services_to_check():
    assert {p.name for p in PACKAGES} >= {"onestop_intake", "onestop_routing", "onestop_documents"}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_only_the_composition_root_constructs_an_adapter(package):
    adapters = _adapter_classes(package) | CHASSIS_CLIENTS
    offenders = []
    for path in _sources(package):
        relative = path.relative_to(package)
        if relative.name == "bootstrap.py" or "adapters" in relative.parts:
            continue
        offenders += [f"{relative}:{node.lineno} {_called(node)}()" for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.Call) and _called(node) in adapters]
    assert offenders == [], "construct adapters in bootstrap.py only"


@pytest.mark.parametrize("package", [*PACKAGES, CHASSIS], ids=lambda p: p.name)
def test_modules_and_functions_stay_small(package):
    too_long = []
    for path in _sources(package):
        lines = path.read_text().splitlines()
        if len(lines) > 400:
            too_long.append(f"{path.relative_to(package)}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 50:
                around = " ".join(lines[max(0, node.lineno - 2):node.lineno])
                if "# long:" not in around:
                    too_long.append(f"{path.relative_to(package)}:{node.lineno} {node.name}")
    assert too_long == []
