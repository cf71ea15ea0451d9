"""`make service NAME=<name>`: a new service from the template, registered everywhere it must be.

Renders the copier template (copier.yml at the root, files under templates/service) into the
repository: services/<name>/ (package: config, domain, service, adapters/mongo.py, bootstrap.py,
api.py, worker.py, worker_main.py), protos/onestop/<name>/v1/<name>.proto (one Get RPC),
deploy/k8s/base/<name>/ and tests/unit/test_<name>_service.py. Then it does the mechanical
registrations: the entry in libs/chassis/src/onestop_chassis/services.py (the next free gRPC port,
or the reserved entry of a service whose contract was reserved, such as survey, made `built`), the
folder and image in deploy/k8s/base/kustomization.yaml and the replicas of the local overlay.
The Makefile, the local scripts, the test launcher and the chassis read the services list.

    python templates/scaffold.py <name> [--grpc-port N] [--aggregate Word] [--description "..."]

Exit status 2, with a message and nothing written, for a bad name or a service that exists.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import pathlib
import re
import subprocess
import sys
import warnings

import yaml
from copier import run_copy
from copier.errors import DirtyLocalWarning

ROOT = pathlib.Path(__file__).resolve().parent.parent
SERVICES_PY = ROOT / "libs/chassis/src/onestop_chassis/services.py"
BASE = ROOT / "deploy/k8s/base/kustomization.yaml"
LOCAL = ROOT / "deploy/k8s/overlays/local/kustomization.yaml"
# Short enough for the rendered lines to stay within 120 columns.
NAME = re.compile(r"[a-z][a-z0-9]{2,11}")
AGGREGATE = re.compile(r"[A-Z][a-z0-9]{2,11}")
IMAGE_TAG = "0.1.0"


class ScaffoldError(Exception):
    pass


def _services_table() -> dict[str, tuple[int, bool]]:
    """name -> (gRPC port, built), from this checkout's services.py as it is on disk now."""
    spec = importlib.util.spec_from_file_location("_scaffold_services", SERVICES_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return {s.name: (s.grpc_port, s.built) for s in module.SERVICES}


def _check(name: str, grpc_port: int | None, aggregate: str) -> None:
    if not NAME.fullmatch(name):
        raise ScaffoldError(f"{name!r}: a service name is 3 to 12 lowercase letters and digits, starting with a letter")
    if not AGGREGATE.fullmatch(aggregate):
        raise ScaffoldError(f"{aggregate!r}: an aggregate is one capitalised word of 3 to 12 letters and digits")
    table = _services_table()
    if (ROOT / "services" / name).exists() or table.get(name, (0, False))[1]:
        raise ScaffoldError(f"{name} exists already (services/{name} or a built entry in services.py)")
    for path in (ROOT / "deploy/k8s/base" / name, ROOT / "tests/unit" / f"test_{name}_service.py"):
        if path.exists():
            raise ScaffoldError(f"{path.relative_to(ROOT)} exists already: remove it or finish that service by hand")
    proto = ROOT / "protos/onestop" / name / "v1" / f"{name}.proto"
    # A reserved contract (a name and no RPC) is replaced by the template's; one with RPCs is someone's work.
    if proto.exists() and re.search(r"^\s*rpc\s", proto.read_text(), re.M):
        raise ScaffoldError(f"{proto.relative_to(ROOT)} already declares RPCs: the template would overwrite them")
    if grpc_port is not None:
        taken = {port: other for other, (port, _) in table.items() if other != name}
        if not 50001 <= grpc_port <= 50899 or grpc_port in taken:
            raise ScaffoldError(f"gRPC port {grpc_port} is outside 50001..50899 or taken by {taken.get(grpc_port)}")


def _register_in_services_py(name: str, grpc_port: int | None) -> int:
    """Adds `Service(name, port)` to SERVICES (or makes a reserved entry built); returns its port."""
    text = SERVICES_PY.read_text()
    table = _services_table()
    if name in table:  # reserved: keep its entry and port, drop built=False (and any other port asked)
        line = re.compile(rf'^(\s*Service\("{name}", )(\d+)(.*?), built=False(.*)$', re.M)
        if not line.search(text):
            raise ScaffoldError(f"cannot find the reserved entry of {name} in {SERVICES_PY.relative_to(ROOT)}")
        port = grpc_port or table[name][0]
        text = line.sub(lambda m: f"{m[1]}{port}{m[3]}{m[4]}", text, count=1)
    else:
        port = grpc_port or max(p for p, _ in table.values()) + 1
        block = re.compile(r"(^SERVICES: tuple\[Service, \.\.\.\] = \(\n.*?)(^\)\n)", re.M | re.S)
        if not block.search(text):
            raise ScaffoldError(f"cannot find the SERVICES tuple in {SERVICES_PY.relative_to(ROOT)}")
        text = block.sub(lambda m: f'{m[1]}    Service("{name}", {port}),\n{m[2]}', text, count=1)
    SERVICES_PY.write_text(text)
    if _services_table().get(name) != (port, True):
        raise ScaffoldError(f"{SERVICES_PY.relative_to(ROOT)} does not read back {name} on {port}")
    return port


def _append_to_list(path: pathlib.Path, key: str, entry: list[str]) -> None:
    """Appends `entry` (lines, already indented) after the last item of the top-level list `key:`,
    keeping the file's comments and order; nothing when the first line is there already."""
    lines = path.read_text().splitlines()
    if entry[0] in lines:
        return
    start = lines.index(f"{key}:")
    end = start + 1
    while end < len(lines) and lines[end].startswith(("  ", "- ")):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    lines[end:end] = entry
    path.write_text("\n".join(lines) + "\n")
    yaml.safe_load(path.read_text())  # still YAML


def _register_in_kustomize(name: str, processes: tuple[str, ...]) -> None:
    _append_to_list(BASE, "resources", [f"  - {name}"])
    _append_to_list(BASE, "images", [f"  - name: ghcr.io/onestop-vn/onestop-{name}", f'    newTag: "{IMAGE_TAG}"'])
    for process in processes:
        _append_to_list(LOCAL, "replicas", [f"  - name: {name}-{process}", "    count: 1"])


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def _record_template_commit(name: str) -> None:
    """Makes the answers file name HEAD as the template's version, so `copier update` can diff from it.

    copier renders from a temporary clone; with any uncommitted change in the checkout (this
    scaffold's own edits of the registries included) it commits them there first and records that
    commit, which exists nowhere else. The rendering is HEAD's whenever the template itself has no
    uncommitted change; otherwise the answers keep copier's draft commit and a warning says so."""
    head = _git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return  # not a git checkout: copier recorded no commit
    answers = ROOT / "services" / name / ".copier-answers.yml"
    if _git("status", "--porcelain", "--", "copier.yml", "templates/service").stdout.strip():
        print(f"WARNING: rendered from uncommitted template changes: {answers.relative_to(ROOT)} names a "
              "commit that only existed in copier's temporary clone; `copier update` will need it fixed",
              file=sys.stderr)
        return
    text = re.sub(r"^_commit: .*$", f"_commit: {head.stdout.strip()}", answers.read_text(), count=1, flags=re.M)
    answers.write_text(text)


def scaffold(name: str, *, grpc_port: int | None = None, aggregate: str | None = None,
             description: str | None = None) -> int:
    """Renders and registers service `name`; returns its gRPC port. Raises ScaffoldError."""
    aggregate = aggregate or name.capitalize()
    _check(name, grpc_port, aggregate)
    proto = ROOT / "protos/onestop" / name / "v1" / f"{name}.proto"
    if description is None and proto.exists():  # a reserved contract says what the service owns
        said = re.search(r"^// (.+)$", proto.read_text(), re.M)
        description = said[1] if said else None
    registries = {path: path.read_text() for path in (SERVICES_PY, BASE, LOCAL)}
    try:
        port = _register_in_services_py(name, grpc_port)
        data = {"name": name, "grpc_port": port, "aggregate": aggregate,
                "description": description or f"The {name} service."}
        # vcs_ref HEAD: the template as committed plus local changes, never an older release tag.
        # "." for both (from the root): the answers file records a path that works in every clone.
        with contextlib.chdir(ROOT), warnings.catch_warnings():
            # copier warns that it renders uncommitted changes: this scaffold's own, expected
            warnings.simplefilter("ignore", DirtyLocalWarning)
            run_copy(".", ".", data=data, defaults=True, overwrite=True, quiet=True, vcs_ref="HEAD",
                     answers_file=f"services/{name}/.copier-answers.yml", unsafe=False)
        _record_template_commit(name)
        _register_in_kustomize(name, ("api", "worker"))
    except BaseException:
        for path, text in registries.items():  # the lists as they were; rendered files stay for a look
            path.write_text(text)
        raise
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name")
    parser.add_argument("--grpc-port", type=int, help="default: the next after the highest in services.py")
    parser.add_argument("--aggregate", help="its first aggregate, one capitalised word (default: Name)")
    parser.add_argument("--description", help="one sentence: what the service owns")
    args = parser.parse_args(argv)
    try:
        port = scaffold(args.name, grpc_port=args.grpc_port, aggregate=args.aggregate, description=args.description)
    except ScaffoldError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    done = subprocess.run([sys.executable, str(SERVICES_PY), "ports", args.name], capture_output=True, text=True)
    print(f"{args.name}: gRPC and metrics ports {done.stdout.strip() or port}. Next: CONTRIBUTING.md, 'Add a service'.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
