"""Generates the Python modules for every .proto under protos/ into src/ (git-ignored).

Called by `make protos` and by the service Dockerfiles, so stubs are always built from the
contracts and never edited by hand. grpc_tools' file names (*_pb2.py, *_pb2_grpc.py) are kept:
nameko-grpc finds modules by those suffixes.
"""

import pathlib
import shutil
import sys

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
PROTOS = HERE.parent.parent / "protos"
# google/api/*.proto (the REST routes' option): imported, never generated here; their Python modules
# come from the pinned googleapis-common-protos wheel.
THIRD_PARTY = HERE.parent.parent / "third_party"
OUT = HERE / "src"


def main() -> int:
    protos_dir = pathlib.Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else PROTOS
    files = sorted(str(p.relative_to(protos_dir)) for p in protos_dir.rglob("*.proto"))
    if not files:
        print(f"no .proto files under {protos_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(OUT / "onestop", ignore_errors=True)
    OUT.mkdir(exist_ok=True)
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{protos_dir}", f"-I{THIRD_PARTY}", f"-I{well_known}", f"--python_out={OUT}",
            f"--pyi_out={OUT}", f"--grpc_python_out={OUT}", *files]
    if protoc.main(args) != 0:
        print("protoc failed", file=sys.stderr)
        return 1
    for package_dir in (OUT / "onestop").rglob("*"):
        if package_dir.is_dir():
            (package_dir / "__init__.py").touch()
    (OUT / "onestop" / "__init__.py").touch()
    print(f"generated {len(files)} proto files into {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
