"""Writes the REST gateway's OpenAPI (Swagger 2.0) document, docs/openapi/onestop.swagger.json, from
the `google.api.http` options in protos/ with grpc-gateway's protoc-gen-openapiv2 (pinned, built by
`make tools` into ~/.cache/onestop/bin) run by grpcio-tools' protoc. `make openapi` calls it;
tests/unit/test_gateway_openapi.py checks the committed document is current and valid. Only the
annotated RPCs are in it (the routes onestop-gateway serves); field names are lowerCamelCase, as
the gateway writes them.

    python libs/contracts/openapi.py            # (re)write the document
    python libs/contracts/openapi.py --check    # exit 1 when the committed document is stale
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import sys
import tempfile

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROTOS = ROOT / "protos"
THIRD_PARTY = ROOT / "third_party"
OUTPUT = ROOT / "docs" / "openapi" / "onestop.swagger.json"
CACHE = pathlib.Path(os.environ.get("ONESTOP_CACHE", pathlib.Path.home() / ".cache" / "onestop"))
PLUGIN = CACHE / "bin" / "protoc-gen-openapiv2"
# One merged document (every service), JSON.
OPTIONS = "allow_merge=true,merge_file_name=onestop,output_format=json"

INFO = {
    "title": "onestop REST gateway",
    "version": "v1",
    "description": (
        "The platform's partner-facing RPCs as JSON over HTTP (onestop-gateway), generated from the "
        "google.api.http options in protos/. Bodies and answers use the proto3 JSON mapping. Errors are a "
        "google.rpc.Status (code, message, details with an ErrorInfo reason) with the HTTP status of its "
        "code, exactly as the gRPC API returns them; reasons: onestop.common.v1.ErrorReason (docs/reference)."),
}


def public_operations() -> set[str]:
    """The operationIds ("IntakeService_LookupDossier") of the RPCs anyone may call: those whose
    servicer method is `@auth.public`, read from each built service's `api` module (its servicers,
    and the ones it imports, e.g. intake's QueueServicer), so the document cannot drift from them."""
    from onestop_chassis.auth import policy_of
    from onestop_chassis.services import built

    found = set()
    for service in built():
        for cls in vars(importlib.import_module(f"onestop_{service.name}.api")).values():
            bases = [b for b in getattr(cls, "__mro__", ())[1:]
                     if b.__module__.endswith("_pb2_grpc") and b.__name__.endswith("Servicer")]
            for base in bases:
                found |= {f"{base.__name__.removesuffix('Servicer')}_{rpc}" for rpc in vars(base)
                          if not rpc.startswith("_") and policy_of(getattr(cls, rpc)).public}
    return found


def _secure(document: dict) -> None:
    """A bearer token for every operation (top-level `security`), none (`security: []`) for the public ones."""
    document["securityDefinitions"] = {"bearer": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "`Bearer <JWT>`, as gRPC's `authorization` metadata; public RPCs need none."}}
    document["security"] = [{"bearer": []}]
    public = public_operations()
    for item in document["paths"].values():
        for operation in item.values():
            if operation["operationId"] in public:
                operation["security"] = []


def render() -> str:
    """The document's text."""
    if not PLUGIN.exists():
        raise SystemExit(f"{PLUGIN} is missing: run `make tools`")
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        # The plugin is a Go program and asks every file's Go package (the partner kit's, buf.gen.yaml).
        packages = ",".join(f"M{f}=onestop.local/contracts/{pathlib.PurePath(f).parent}" for f in files)
        args = ["protoc", f"-I{PROTOS}", f"-I{THIRD_PARTY}", f"-I{well_known}",
                f"--plugin=protoc-gen-openapiv2={PLUGIN}", f"--openapiv2_out={tmp}",
                f"--openapiv2_opt={OPTIONS},{packages}", *files]
        if protoc.main(args) != 0:
            raise SystemExit("protoc-gen-openapiv2 failed")
        document = json.loads((pathlib.Path(tmp) / "onestop.swagger.json").read_text(encoding="utf-8"))
    # The merged document takes its title from the first file; say what it is instead.
    document["info"] = INFO
    _secure(document)
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
