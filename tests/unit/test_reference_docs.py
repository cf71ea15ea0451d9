"""docs/reference/ is what `make docs` (protoc-gen-doc) makes of the protos today."""

from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _reference():
    spec = importlib.util.spec_from_file_location("reference_gen", ROOT / "libs/contracts/reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_reference_pages_are_current():
    pages = _reference().render()
    committed = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs/reference").glob("*.md")}
    assert sorted(committed) == sorted(pages), "run `make docs`: pages were added or removed"
    stale = [name for name, text in pages.items() if committed[name] != text]
    assert not stale, f"run `make docs`: {stale} differ from the protos"


def test_the_reference_documents_rpcs_and_error_reasons_from_the_proto_comments():
    pages = _reference().render()
    assert "LookupDossier" in pages["intake.v1.md"] and "no oracle" in pages["intake.v1.md"]
    assert "ERROR_REASON_DOSSIER_NOT_FOUND" in pages["common.v1.md"]
    assert "DossierReceived" in pages["events.v1.md"]
