"""End-to-end: intake and routing run as real processes (api + worker each) on the real stack, and
the tests call them with a plain grpcio client, as an integration partner would."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

import grpc
import pymongo
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onestop.intake.v1 import intake_pb2_grpc
from onestop.routing.v1 import routing_pb2_grpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from stack import AMQP_TEST_URI, MONGODB_URI, ROOT, free_port, port_open  # noqa: E402

from onestop_chassis.auth import mint_token  # noqa: E402
from onestop_chassis.config import LOCAL_JWT_SECRET  # noqa: E402

VENV_BIN = pathlib.Path(sys.executable).parent
UNIT = "000.00.21.H17"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: pathlib.Path

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


@dataclass
class Platform:
    intake_port: int
    routing_port: int
    metrics: dict[str, int]
    databases: dict[str, str]
    processes: dict[str, Process] = field(default_factory=dict)

    def channel(self, service: str) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.intake_port if service == 'intake' else self.routing_port}")

    def db(self, service: str):
        return pymongo.MongoClient(MONGODB_URI, tz_aware=True)[self.databases[service]]


def token(roles=("desk_officer",), agency=UNIT, subject="e2e-officer", ttl=3600) -> str:
    return mint_token(LOCAL_JWT_SECRET, subject=subject, roles=roles, agency=agency, ttl_seconds=ttl)


def bearer(tok: str | None = None) -> tuple:
    return (("authorization", f"Bearer {tok or token()}"),)


def _wait_serving(port: int, proc: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited:\n" + "\n".join(proc.lines()[-20:]))
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not answer health checks on {port}")


def _wait_port(port: int, proc: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n" + "\n".join(proc.lines()[-20:]))
        if port_open(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not open port {port}")


@pytest.fixture(scope="session")
def platform(local_stack, tmp_path_factory):
    run_id = uuid.uuid4().hex[:8]
    logs = tmp_path_factory.mktemp("e2e-logs")
    p = Platform(intake_port=free_port(), routing_port=free_port(),
                 metrics={f"{s}-{k}": free_port() for s in ("intake", "routing") for k in ("api", "worker")},
                 databases={"intake": f"e2e_intake_{run_id}", "routing": f"e2e_routing_{run_id}"})
    client = pymongo.MongoClient(MONGODB_URI)

    def env(service: str) -> dict:
        return {**os.environ, "ONESTOP_ENV": "local", "LOG_LEVEL": "INFO", "AMQP_URI": AMQP_TEST_URI,
                "MONGODB_URI": MONGODB_URI, "MONGODB_DATABASE": p.databases[service],
                "GRPC_PORT": str(p.intake_port if service == "intake" else p.routing_port),
                "API_METRICS_PORT": str(p.metrics[f"{service}-api"]),
                "WORKER_METRICS_PORT": str(p.metrics[f"{service}-worker"]),
                "OUTBOX_POLL_SECONDS": "0.1", "PYTHONUNBUFFERED": "1"}

    subprocess.run([VENV_BIN / "onestop-intake-seed"], env=env("intake"), check=True, capture_output=True)
    try:
        for service in ("intake", "routing"):
            for kind in ("worker", "api"):
                log = logs / f"{service}-{kind}.log"
                handle = open(log, "w", encoding="utf-8")
                popen = subprocess.Popen([VENV_BIN / f"onestop-{service}-{kind}"], env=env(service),
                                         stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
                p.processes[f"{service}-{kind}"] = Process(f"{service}-{kind}", popen, log)
        _wait_serving(p.intake_port, p.processes["intake-api"])
        _wait_serving(p.routing_port, p.processes["routing-api"])
        for service in ("intake", "routing"):
            _wait_port(p.metrics[f"{service}-worker"], p.processes[f"{service}-worker"])
        yield p
    finally:
        for proc in p.processes.values():
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in p.processes.values():
            try:
                proc.popen.wait(15)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
        for name in p.databases.values():
            client.drop_database(name)


@pytest.fixture()
def intake(platform):
    with platform.channel("intake") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)


@pytest.fixture()
def routing(platform):
    with platform.channel("routing") as channel:
        yield routing_pb2_grpc.RoutingServiceStub(channel)
