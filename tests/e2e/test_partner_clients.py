"""End-to-end: the partner kit's stubs work against a running platform. `make stubs` (buf generate
with buf.gen.yaml's local plugins) writes Go, Java, Python and TypeScript stubs; a small Go client
(tests/e2e/partner_go) is built from the generated Go package, its gRPC and protobuf dependencies
pinned in its go.mod and fetched from the Go module proxy, and calls intake's ListProcedures and
LookupDossier. Its answers are the ones a Python client gets."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from conftest import Platform, bearer, running

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2, intake_pb2_grpc

from stack import AMQP_RELAY_TEST_URI, ROOT
from support import submit_request

CACHE = pathlib.Path(os.environ.get("ONESTOP_CACHE", pathlib.Path.home() / ".cache" / "onestop"))


@pytest.fixture(scope="module")
def go_client(tmp_path_factory) -> pathlib.Path:
    """The Go client built from freshly generated stubs (in a temporary directory, not gen/)."""
    out = tmp_path_factory.mktemp("partner-stubs")
    subprocess.run(["make", "-s", "stubs", f"STUBS_OUT={out}"], cwd=ROOT, check=True, timeout=900)
    # Every language of buf.gen.yaml was generated.
    assert (out / "gen/go/onestop/intake/v1/intake_grpc.pb.go").is_file()
    assert (out / "gen/java/vn/onestop/intake/v1/LookupDossierRequest.java").is_file()
    assert (out / "gen/java/vn/onestop/intake/v1/IntakeServiceGrpc.java").is_file()
    assert (out / "gen/python/onestop/intake/v1/intake_pb2.py").is_file()
    assert "IntakeServiceClient" in (out / "gen/ts/onestop/intake/v1/intake.ts").read_text(encoding="utf-8")
    module = out / "client"
    shutil.copytree(ROOT / "tests/e2e/partner_go", module)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "PATH": f"{CACHE / 'bin'}:{os.environ['PATH']}"}
    subprocess.run(["go", "mod", "edit", f"-replace=onestop.local/contracts={out / 'gen/go'}"], cwd=module,
                   check=True, env=env)
    subprocess.run(["go", "build", "-o", str(out / "partner-client"), "."], cwd=module, check=True, env=env,
                   timeout=900)
    return out / "partner-client"


@pytest.fixture(scope="module")
def intake_only(local_stack, tmp_path_factory):
    platform = Platform(log_dir=tmp_path_factory.mktemp("e2e-partner-clients"), services=("intake",),
                        prefix="e2epartnerclients", amqp_uri=AMQP_RELAY_TEST_URI)
    with running(platform) as p:
        yield p


def test_a_go_client_from_the_generated_stubs_lists_procedures_and_looks_a_dossier_up(go_client, intake_only):
    address = f"127.0.0.1:{intake_only.grpc_ports['intake']}"
    with intake_only.channel("intake") as channel:
        intake = intake_pb2_grpc.IntakeServiceStub(channel)
        submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
        python_lookup = intake.LookupDossier(intake_pb2.LookupDossierRequest(
            code=submitted.dossier.code, secret=submitted.lookup_secret)).dossier
        python_page = intake.ListProcedures(intake_pb2.ListProceduresRequest(page_size=5))

    ran = subprocess.run([str(go_client), address, submitted.dossier.code, submitted.lookup_secret],
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    procedures, lookup = (json.loads(line) for line in ran.stdout.splitlines())
    assert [p["code"] for p in procedures["procedures"]] == [p.code for p in python_page.procedures]
    assert procedures["totalSize"] == python_page.total_size > 0
    assert lookup["dossier"]["code"] == python_lookup.code == submitted.dossier.code
    assert lookup["dossier"]["status"] == common_pb2.DossierStatus.Name(python_lookup.status)
    assert lookup["dossier"]["statusLabel"] == python_lookup.status_label

    # A wrong secret: the Go client sees the same NOT_FOUND as any gRPC client.
    wrong = subprocess.run([str(go_client), address, submitted.dossier.code, "WRONGSEC"],
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 1 and wrong.stderr.startswith("NotFound"), wrong.stderr


def test_the_contracts_wheel_installs_into_a_fresh_venv_and_its_stubs_import(tmp_path):
    """`make dist`'s wheel, installed with --no-deps beside the pinned grpcio and protobuf (the same
    constraints.txt), gives a partner the Python stubs without this repository."""
    subprocess.run(["make", "-s", "dist", f"DIST_DIR={tmp_path / 'dist'}"], cwd=ROOT, check=True, timeout=600)
    wheel, = (tmp_path / "dist").glob("onestop_contracts-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, timeout=300)
    subprocess.run([*pip, "-c", str(ROOT / "constraints.txt"), "grpcio", "protobuf", "googleapis-common-protos"],
                   check=True, timeout=600)
    probe = ("import onestop.intake.v1.intake_pb2_grpc as g, onestop.common.v1.errors_pb2 as e, "
             "onestop.intake.v1.intake_pb2 as m, onestop, pathlib;"
             "print(pathlib.Path(onestop.__file__).parent.parent.name, hasattr(g, 'IntakeServiceStub'),"
             " e.ErrorReason.Value('ERROR_REASON_DOSSIER_NOT_FOUND') > 0,"
             " m.LookupDossierRequest(code='X').code)")
    ran = subprocess.run([str(venv / "bin/python"), "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["site-packages", "True", "True", "X"]
