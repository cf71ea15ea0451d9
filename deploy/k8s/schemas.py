"""Kubernetes JSON schemas for kubeconform, made from a package of a registry, never downloaded at run time.

The schemas come from the PyPI package `kubernetes-validate` (pinned below), which ships each
Kubernetes version's OpenAPI schemas with their definitions in one shared `_definitions.json`,
referenced by an absolute path kubeconform cannot follow. This script writes each resource's
schema standalone (the definitions it reaches copied in under `$defs`; its `$id`, a kubernetes.io
address, dropped so nothing is fetched) into the layout kubeconform reads with
`-schema-location <dir>/{{ .ResourceKind }}{{ .KindSuffix }}.json`.

    python3 deploy/k8s/schemas.py <kubernetes_validate wheel> <output dir>
    python3 deploy/k8s/schemas.py --crd <CustomResourceDefinition as JSON> <output dir>

The custom resources the manifests use (the Prometheus Operator's PodMonitor) get theirs from the
CRD the operator publishes, in its Go module (the Go module proxy is the registry; pinned below).

Standard library only: `make tools` (deploy/local/build-tools.sh) runs it before any virtualenv exists.
"""

from __future__ import annotations

import json
import pathlib
import sys
import zipfile

KUBERNETES_VERSION = "v1.37.0"  # the newest the pinned package ships; clusters a version or two older validate alike
PACKAGE = "kubernetes-validate==1.37.0"
# Go module → its CRDs (as JSON) whose schemas kubeconform needs.
CRD_MODULES = {"github.com/prometheus-operator/prometheus-operator@v0.85.0":
               ("jsonnet/prometheus-operator/podmonitors-crd.json",)}
_REF_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")  # from a resource's schema; between definitions


def _target(ref: object) -> str | None:
    """The definition a `$ref` names, or None for any other reference."""
    for prefix in _REF_PREFIXES:
        if isinstance(ref, str) and ref.startswith(prefix):
            return ref[len(prefix):]
    return None


def _refs(node, found: set[str]) -> None:
    if isinstance(node, dict):
        target = _target(node.get("$ref"))
        if target is not None:
            found.add(target)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _relocated(node):
    """The same schema with the shared file's references pointed at the schema's own `$defs`."""
    if isinstance(node, dict):
        return {k: (f"#/$defs/{_target(v)}" if k == "$ref" and _target(v) is not None else _relocated(v))
                for k, v in node.items() if k != "$id"}
    if isinstance(node, list):
        return [_relocated(v) for v in node]
    return node


def standalone(schema: dict, definitions: dict) -> dict:
    """`schema` with every definition it reaches (transitively) copied into its `$defs`."""
    wanted: set[str] = set()
    _refs(schema, wanted)
    done: set[str] = set()
    while wanted - done:
        name = (wanted - done).pop()
        done.add(name)
        _refs(definitions[name], wanted)
    out = _relocated(schema)
    out["$defs"] = {name: _relocated(definitions[name]) for name in sorted(done)}
    return out


def write(wheel: pathlib.Path, out: pathlib.Path) -> int:
    """Writes the resource schemas of KUBERNETES_VERSION (strict: no unknown fields) into `out`;
    returns how many. Only schemas of resources (those with `apiVersion` and `kind`) are written."""
    folder = f"kubernetes_validate/kubernetes-json-schema/{KUBERNETES_VERSION}-local-strict/"
    with zipfile.ZipFile(wheel) as archive:
        definitions = json.loads(archive.read(folder + "_definitions.json"))["$defs"]
        out.mkdir(parents=True, exist_ok=True)
        count = 0
        for name in archive.namelist():
            if not name.startswith(folder) or name.endswith(("/_definitions.json", "/all.json")):
                continue
            schema = json.loads(archive.read(name))
            if {"apiVersion", "kind"} <= set(schema.get("properties", {})):
                (out / name[len(folder):]).write_text(json.dumps(standalone(schema, definitions)))
                count += 1
    return count


def _strict(node):
    """What kubeconform's -strict means for a CRD's schema (as openapi2jsonschema --strict does):
    an object that lists its properties accepts no other; int-or-string fields take either."""
    if isinstance(node, list):
        return [_strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    return out


def write_crd(crd: pathlib.Path, out: pathlib.Path) -> int:
    """Writes `<kind>-<group's first label>-<version>.json` for every served version of the
    CustomResourceDefinition `crd` (JSON) into `out`; returns how many."""
    definition = json.loads(crd.read_text())
    kind, group = definition["spec"]["names"]["kind"].lower(), definition["spec"]["group"].split(".")[0]
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for version in definition["spec"]["versions"]:
        if version.get("served"):
            schema = _strict(version["schema"]["openAPIV3Schema"])
            (out / f"{kind}-{group}-{version['name']}.json").write_text(json.dumps(schema))
            count += 1
    return count


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--crd":
        print(f"{write_crd(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]))} schemas written to {sys.argv[3]}")
    elif len(sys.argv) == 3:
        print(f"{write(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))} schemas written to {sys.argv[2]}")
    else:
        sys.exit(__doc__)
