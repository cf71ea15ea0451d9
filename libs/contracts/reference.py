"""Writes the contracts' reference (Markdown) into docs/reference/, one page per proto package,
with protoc-gen-doc (pinned, built by `make tools` into ~/.cache/onestop/bin) run by grpcio-tools'
protoc. `make docs` calls it; tests/unit/test_reference_docs.py checks the committed pages.

    python libs/contracts/reference.py            # (re)write docs/reference/
    python libs/contracts/reference.py --check    # exit 1 when a committed page is stale
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROTOS = ROOT / "protos"
THIRD_PARTY = ROOT / "third_party"  # google/api/*.proto, imported only
OUTPUT = ROOT / "docs" / "reference"
CACHE = pathlib.Path(os.environ.get("ONESTOP_CACHE", pathlib.Path.home() / ".cache" / "onestop"))
PLUGIN = CACHE / "bin" / "protoc-gen-doc"
HEAD = "<!-- Generated from protos/ by `make docs` (libs/contracts/reference.py): do not edit. -->\n"


def packages() -> dict[str, list[str]]:
    """Page name ("intake.v1", "events.v1", ...) → its proto files (relative to protos/)."""
    pages: dict[str, list[str]] = {}
    for proto in sorted(PROTOS.rglob("*.proto")):
        rel = proto.relative_to(PROTOS)
        pages.setdefault(f"{rel.parts[1]}.{rel.parts[2]}", []).append(str(rel))
    return pages


def render() -> dict[str, str]:
    """Page file name → its Markdown."""
    if not PLUGIN.exists():
        raise SystemExit(f"{PLUGIN} is missing: run `make tools`")
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    pages = {}
    with tempfile.TemporaryDirectory() as tmp:
        for page, files in packages().items():
            args = ["protoc", f"-I{PROTOS}", f"-I{THIRD_PARTY}", f"-I{well_known}", f"--plugin=protoc-gen-doc={PLUGIN}",
                    f"--doc_out={tmp}", f"--doc_opt=markdown,{page}.md", *files]
            if protoc.main(args) != 0:
                raise SystemExit(f"protoc-gen-doc failed on {page}")
            text = (pathlib.Path(tmp) / f"{page}.md").read_text(encoding="utf-8")
            pages[f"{page}.md"] = HEAD + text
    index = ["# Contract reference", "", "Generated from `protos/` with protoc-gen-doc by `make docs`. Error "
             "reasons: `onestop.common.v1.ErrorReason` (common.v1); events on AMQP: docs/asyncapi.yaml; "
             "compatibility: docs/versioning.md.", ""]
    index += [f"- [{name.removesuffix('.md')}]({name})" for name in pages]
    pages["README.md"] = "\n".join(index) + "\n"
    return pages


def main(argv: list[str]) -> int:
    pages = render()
    if "--check" in argv:
        current = {p.name: p.read_text(encoding="utf-8") for p in OUTPUT.glob("*.md")} if OUTPUT.exists() else {}
        if current != pages:
            print(f"{OUTPUT} is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("*.md"):
        old.unlink()
    for name, text in pages.items():
        (OUTPUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages into {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
