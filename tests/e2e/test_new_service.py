"""A throw-away service born from the template is registered everywhere a service must be.

In a temporary directory: a copy of this checkout's files (`git ls-files`, untracked files not
ignored included, so uncommitted work is what is tested), `templates/scaffold.py zzprobe` (what
`make service NAME=zzprobe` runs before installing) and the contract stubs generated there. Then:
the services list, the Makefile, kustomize, buf and the copy's own registry and manifest tests all
know the new service, and its processes, started by deploy/local/services.sh as `make run` starts
services, answer gRPC health, reflection, auth and metrics. Nothing is installed in this venv: the
copy gets a `.venv/bin` holding only the new package's console scripts (`pip install --no-deps
--target`, where services.sh looks for them), and PYTHONPATH puts the copy's chassis, stubs and
package in front of this venv's. Processes, the directory and the database go away even on failure.
Last, in a git copy, `copier update` brings a template change to a service made from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import grpc
import pymongo
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET

from stack import AMQP_TEST_URI, MONGODB_URI

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("ONESTOP_CACHE", pathlib.Path.home() / ".cache" / "onestop")) / "bin"
NAME, TITLE = "zzprobe", "Zzprobe"
SERVICE = f"onestop.{NAME}.v1.{TITLE}Service"


@dataclasses.dataclass
class Probe:
    root: pathlib.Path  # the copy of the checkout, with the new service scaffolded in it
    grpc_port: int
    env: dict[str, str]  # what its processes and tools run with
    # Bound to grpc_port until the api starts: the port is in the kernel's ephemeral range (as every
    # 500xx port is), and nothing else may take it meanwhile for a connection or a bind(0).
    reservation: socket.socket | None = None

    def release_port(self) -> None:
        if self.reservation is not None:
            self.reservation.close()
            self.reservation = None

    def run(self, *args, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(a) for a in args], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        assert not check or done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
        return done

    @property
    def metrics_ports(self) -> tuple[int, int]:
        return 9100 + self.grpc_port - 50000, 9200 + self.grpc_port - 50000


def _tool(name: str) -> pathlib.Path:
    path = BIN / name
    assert path.is_file(), f"{path} is missing: run `make tools`"
    return path


def _copy_checkout(dest: pathlib.Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a file deleted in the work tree but still in the index is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _bound(port: int) -> socket.socket | None:
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


def _reserve_grpc_port() -> tuple[int, socket.socket]:
    """A gRPC port, held by a bound socket, whose two metrics ports (9100 + n, 9200 + n) are free too,
    away from the real services' ports."""
    for port in range(50700, 50900):
        held = _bound(port)
        if held is None:
            continue
        metrics = [_bound(p) for p in (9100 + port - 50000, 9200 + port - 50000)]
        for sock in metrics:
            if sock is not None:
                sock.close()
        if None not in metrics:
            return port, held
        held.close()
    raise AssertionError("no free gRPC port with free metrics ports in 50700..50899")


@pytest.fixture(scope="module")
def probe(local_stack):
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="onestop-new-service-"))
    p = None
    try:
        root = workdir / "checkout"
        _copy_checkout(root)
        port, reservation = _reserve_grpc_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(root / p) for p in (
                   ".venv", "libs/chassis/src", "libs/contracts/src")),
               "ONESTOP_DATA": str(workdir / "data"), "ONESTOP_ENV": "local", "LOG_LEVEL": "INFO",
               "MONGODB_URI": MONGODB_URI, "MONGODB_DATABASE": f"e2e_{NAME}_{uuid.uuid4().hex[:8]}",
               "AMQP_URI": AMQP_TEST_URI, "PYTHONUNBUFFERED": "1"}
        p = Probe(root, port, env, reservation)
        p.run(sys.executable, "templates/scaffold.py", NAME, "--grpc-port", port)
        p.run(sys.executable, "libs/contracts/generate.py")
        p.run(sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
              "--no-build-isolation", "--target", root / ".venv", root / "services" / NAME)
        yield p
    finally:
        if p is not None:
            p.release_port()
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_scaffold_writes_the_service_and_registers_it_in_the_list_and_the_makefile(probe):
    for path in (f"services/{NAME}/src/onestop_{NAME}/bootstrap.py", f"protos/onestop/{NAME}/v1/{NAME}.proto",
                 f"deploy/k8s/base/{NAME}/api.yaml", f"tests/unit/test_{NAME}_service.py"):
        assert (probe.root / path).is_file(), f"the template did not render {path}"
    names = probe.run(sys.executable, "-m", "onestop_chassis.services", "names").stdout.split()
    assert names[-1] == NAME and {"intake", "routing", "documents"} <= set(names)
    ports = probe.run(sys.executable, "-m", "onestop_chassis.services", "ports", NAME).stdout.split()
    assert [int(p) for p in ports] == [probe.grpc_port, *probe.metrics_ports]
    made = probe.run("make", "-s", "--no-print-directory", "--eval",
                     "print-lists: ; @echo $(SERVICES); echo $(PACKAGES)", "print-lists").stdout.splitlines()
    assert NAME in made[0].split() and f"services/{NAME}" in made[1].split()
    # a second scaffold of the same name is refused, naming why
    again = probe.run(sys.executable, "templates/scaffold.py", NAME, check=False)
    assert again.returncode == 2 and "exists already" in again.stderr


def test_the_copy_s_registry_manifest_and_own_unit_tests_pass(probe):
    done = probe.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                     "tests/unit/test_service_registry.py", "tests/unit/test_k8s_manifests.py",
                     f"tests/unit/test_{NAME}_service.py", timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"test_{NAME}_service.py" in probe.run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                                                   "--collect-only", "-q", f"tests/unit/test_{NAME}_service.py").stdout


def test_kustomize_deploys_it_with_the_pod_defaults(probe):
    built = probe.run(_tool("kustomize"), "build", "deploy/k8s/overlays/local").stdout
    docs = [d for d in yaml.safe_load_all(built) if d]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for component in ("api", "worker"):
        d = deployments[f"{NAME}-{component}"]
        pod = d["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert d["spec"]["replicas"] == 1, "the local overlay's replicas"
        assert container["image"] == f"ghcr.io/onestop-vn/onestop-{NAME}:0.1.0", "the base's image tag"
        # what only the pod-defaults component adds
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]
        assert "JWT_SECRET" in [e["name"] for e in container["env"]]
    assert {NAME, f"{NAME}-worker-metrics"} <= {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}


def test_the_born_service_passes_the_lint_and_type_gate(probe):
    """What `make lint` checks, on the rendered service with the copy's own configuration."""
    bin_dir = pathlib.Path(sys.executable).parent
    linted = probe.run(bin_dir / "ruff", "check", f"services/{NAME}", check=False)
    assert linted.returncode == 0, linted.stdout[-3000:]
    typed = probe.run(bin_dir / "mypy", timeout=300, check=False)  # mypy.ini's files: chassis, domains, services
    assert typed.returncode == 0 and f"services/{NAME}/" not in typed.stdout, typed.stdout[-3000:]


def test_buf_lint_passes_with_its_contract(probe):
    probe.run(_tool("buf"), "lint")
    assert (probe.root / f"libs/contracts/src/onestop/{NAME}/v1/{NAME}_pb2_grpc.py").is_file(), \
        "generate.py did not pick the new contract up"


def _health(port: int) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status


def _wait_serving(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _health(port) == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        assert time.monotonic() < deadline, f"{NAME} api never reported SERVING on {port}"
        time.sleep(0.2)


def _metrics(port: int, timeout: float = 30) -> str:
    """The process's /metrics, waiting for it to listen: the worker starts after the api answers
    SERVING, and on a loaded machine its server came up later than the api's (refused once)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                return answer.read().decode()
        except urllib.error.URLError:
            assert time.monotonic() < deadline, f"nothing answers /metrics on port {port}"
            time.sleep(0.2)


@contextlib.contextmanager
def _started(probe: Probe):
    services_sh = probe.root / "deploy/local/services.sh"
    try:
        probe.release_port()
        probe.run("bash", services_sh, "up", NAME, timeout=120)
        yield
    finally:
        probe.run("bash", services_sh, "down", NAME, timeout=60, check=False)
        for pidfile in (pathlib.Path(probe.env["ONESTOP_DATA"]) / "run").glob("*.pid"):  # should be none left
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), 9)
        with pymongo.MongoClient(MONGODB_URI) as client:
            client.drop_database(probe.env["MONGODB_DATABASE"])


def test_its_processes_start_like_make_run_s_and_answer_health_reflection_auth_and_metrics(probe):
    grpcurl = _tool("grpcurl")
    address = f"127.0.0.1:{probe.grpc_port}"
    # not conftest.token(): that one's session check scans the session's temporary logs, and these
    # logs go away with the copy (this test scans them itself, below)
    officer = mint_token(LOCAL_JWT_SECRET, subject="e2e-officer", roles=["desk_officer"], agency="000.00.21.H17")
    with _started(probe):
        _wait_serving(probe.grpc_port)
        status = probe.run("bash", "deploy/local/services.sh", "status", NAME).stdout.splitlines()
        assert [line.split()[:2] for line in status] == [[f"{NAME}-api", "running"], [f"{NAME}-worker", "running"]]
        listed = probe.run(grpcurl, "-plaintext", address, "list").stdout.split()
        assert SERVICE in listed and "grpc.health.v1.Health" in listed
        described = probe.run(grpcurl, "-plaintext", address, "describe", SERVICE).stdout
        assert f"rpc Get{TITLE}" in described
        method = f"{SERVICE}/Get{TITLE}"
        body = json.dumps({"id": "0" * 32})
        anonymous = probe.run(grpcurl, "-plaintext", "-d", body, address, method, check=False)
        assert anonymous.returncode != 0 and "Unauthenticated" in anonymous.stderr
        unknown = probe.run(grpcurl, "-plaintext", "-H", f"authorization: Bearer {officer}", "-d", body, address,
                            method, check=False)
        assert unknown.returncode != 0 and "NotFound" in unknown.stderr and f"no {NAME} has the id" in unknown.stderr
        api_metrics, worker_metrics = (_metrics(p) for p in probe.metrics_ports)
        assert any(line.startswith("onestop_grpc_requests_total{") and f"Get{TITLE}" in line and "NOT_FOUND" in line
                   for line in api_metrics.splitlines()), "the api's metrics do not count the call"
        assert "process_cpu_seconds_total" in worker_metrics
        logs = sorted((pathlib.Path(probe.env["ONESTOP_DATA"]) / "logs").glob(f"{NAME}-*.log"))
        assert [p.name for p in logs] == [f"{NAME}-api.log", f"{NAME}-worker.log"]
        assert not [p.name for p in logs if officer in p.read_text()], "a bearer token reached the logs"
    after = probe.run("bash", "deploy/local/services.sh", "status", NAME).stdout.splitlines()
    assert [line.split()[:2] for line in after] == [[f"{NAME}-api", "stopped"], [f"{NAME}-worker", "stopped"]]
    with pytest.raises(grpc.RpcError):
        _health(probe.grpc_port)


def test_copier_update_brings_a_template_change_to_the_service_and_keeps_its_own():
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="onestop-template-update-"))
    try:
        root = workdir / "checkout"
        _copy_checkout(root)
        p = Probe(root, 0, {**os.environ, "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
                            "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid"})

        def commit(message: str) -> None:
            p.run("git", "add", "-A")
            p.run("git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", message)
        p.run("git", "init", "-q")
        commit("the checkout")
        p.run(sys.executable, "templates/scaffold.py", NAME)
        commit(f"{NAME} from the template")
        domain = root / f"services/{NAME}/src/onestop_{NAME}/domain.py"
        domain.write_text(domain.read_text() + "\n# the service's own line\n")
        commit(f"{NAME}'s own change")
        template = root / "templates/service/services/{{name}}/src/onestop_{{name}}/bootstrap.py.jinja"
        before = "built once per process."
        assert before in template.read_text()
        template.write_text(template.read_text().replace(before, "built once per process (template v2)."))
        commit("the template changes")
        head = p.run("git", "rev-parse", "--short", "HEAD").stdout.strip()
        p.run(sys.executable, "-m", "copier", "update", "--vcs-ref", "HEAD", "--answers-file",
              f"services/{NAME}/.copier-answers.yml", "--skip-answered", "--defaults", ".")
        bootstrap = (root / f"services/{NAME}/src/onestop_{NAME}/bootstrap.py").read_text()
        assert "built once per process (template v2)." in bootstrap
        assert domain.read_text().endswith("# the service's own line\n")
        answers = yaml.safe_load((root / f"services/{NAME}/.copier-answers.yml").read_text())
        assert answers["_commit"] == head and answers["_src_path"] == "."
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
