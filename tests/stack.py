"""The local stack's addresses, and a launcher that runs services as real processes on it.

Shared by the end-to-end tests and the benchmarks (`make bench`).
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

from onestop_chassis.services import BY_NAME

ROOT = pathlib.Path(__file__).resolve().parent.parent
MONGODB_URI = "mongodb://127.0.0.1:27017/"
# The tests' own vhost; ONESTOP_TEST_VHOST gives a second checkout running tests at the same time its
# own set (it must exist with its -documents and -forms siblings, as stack.sh makes onestop-test's).
TEST_VHOST = os.environ.get("ONESTOP_TEST_VHOST", "onestop-test")
AMQP_TEST_URI = f"amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}"
# Platforms that run beside the shared e2e platform get their own vhosts (deploy/local/stack.sh makes
# them), so their workers never consume the shared platform's events.
AMQP_DOCUMENTS_TEST_URI = f"{AMQP_TEST_URI}-documents"
AMQP_FORMS_TEST_URI = f"{AMQP_TEST_URI}-forms"
# The relay test freezes its intake worker: events it leaves behind must never reach another platform.
AMQP_RELAY_TEST_URI = f"{AMQP_TEST_URI}-relay"
SERVERS = {"FerretDB (MongoDB wire protocol)": 27017, "RabbitMQ": 5672, "MinIO": 9000}


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


VENV_BIN = pathlib.Path(sys.executable).parent


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: pathlib.Path

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


@dataclass
class LocalPlatform:
    """Services (api + worker each, and a relay where the service has one) as processes on free ports,
    each with its own new database."""

    log_dir: pathlib.Path
    services: tuple[str, ...] = ("intake", "routing")
    amqp_uri: str = AMQP_TEST_URI
    prefix: str = "e2e"
    extra_env: dict[str, str] = field(default_factory=dict)
    grpc_ports: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, int] = field(default_factory=dict)
    web_ports: dict[str, int] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    # With delivery: its carrier, a CARRIER SANDBOX process (`onestop-carrier-sandbox`) on a free port,
    # POSTing to this platform's delivery webhook, with a token and a secret of its own (files in log_dir).
    carrier_sandbox: bool = True
    sandbox_port: int = 0
    # The REST gateway (`onestop-gateway`) in front of this platform's services, on a free port.
    gateway: bool = False
    gateway_port: int = 0

    def __post_init__(self):
        run_id = uuid.uuid4().hex[:8]
        self.grpc_ports = {s: free_port() for s in self.services}
        self.metrics = {f"{s}-{k}": free_port() for s in self.services for k in ("api", "worker")}
        self.metrics.update({f"{s}-relay": free_port() for s in self.relays})
        self.web_ports = {s: free_port() for s in self.services}
        self.databases = {s: f"{self.prefix}_{s}_{run_id}" for s in self.services}
        if self.with_sandbox:
            self.sandbox_port = free_port()
        if self.gateway:
            self.gateway_port, self.metrics["gateway"] = free_port(), free_port()

    @property
    def gateway_url(self) -> str:
        """The REST gateway's base URL, e.g. http://127.0.0.1:41234."""
        return f"http://127.0.0.1:{self.gateway_port}"

    def start_gateway(self) -> None:
        """Starts onestop-gateway, each service's address this platform's (<NAME>_ADDRESS)."""
        env = {**os.environ, "ONESTOP_ENV": "local", "GATEWAY_PORT": str(self.gateway_port),
               "GATEWAY_METRICS_PORT": str(self.metrics["gateway"]), "PYTHONUNBUFFERED": "1",
               "GATEWAY_OPENAPI_FILE": str(ROOT / "docs/openapi/onestop.swagger.json"),
               **{f"{s.upper()}_ADDRESS": f"127.0.0.1:{p}" for s, p in self.grpc_ports.items()}}
        log = self.log_dir / "gateway.log"
        with open(log, "w", encoding="utf-8") as out:
            popen = subprocess.Popen([VENV_BIN / "onestop-gateway"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                     cwd=ROOT)
        self.processes["gateway"] = proc = Process("gateway", popen, log)
        self._wait_port(proc, self.gateway_port)

    @property
    def with_sandbox(self) -> bool:
        return self.carrier_sandbox and "delivery" in self.services

    @property
    def sandbox_url(self) -> str:
        """The carrier sandbox's base URL (its control routes: /sandbox/...)."""
        return f"http://127.0.0.1:{self.sandbox_port}"

    def _carrier_env(self) -> dict[str, str]:
        if not self.with_sandbox:
            return {}
        secrets_dir = self.log_dir / "carrier-secrets"
        return {"CARRIER_BASE_URL": self.sandbox_url,
                "CARRIER_API_TOKEN_FILE": str(secrets_dir / "carrier-api-token"),
                "CARRIER_WEBHOOK_SECRET_FILE": str(secrets_dir / "carrier-webhook-secret")}

    @property
    def relays(self) -> list[str]:
        """Services whose outbox relay runs as a process of its own (`onestop-<svc>-relay`): those that
        have one, unless OUTBOX_RELAY_IN_WORKER puts it back in the worker (the old shape)."""
        if {**os.environ, **self.extra_env}.get("OUTBOX_RELAY_IN_WORKER", "").lower() in ("1", "true", "yes"):
            return []
        return [s for s in self.services if "relay" in BY_NAME[s].processes]

    def env(self, service: str) -> dict[str, str]:
        return {**os.environ, "ONESTOP_ENV": "local", "LOG_LEVEL": "INFO", "AMQP_URI": self.amqp_uri,
                "MONGODB_URI": MONGODB_URI, "MONGODB_DATABASE": self.databases[service],
                "GRPC_PORT": str(self.grpc_ports[service]),
                "API_METRICS_PORT": str(self.metrics[f"{service}-api"]),
                "WORKER_METRICS_PORT": str(self.metrics[f"{service}-worker"]),
                "WEB_PORT": str(self.web_ports[service]),
                # intake files forms with, and links results from, this platform's documents service
                "DOCUMENTS_ADDRESS": (f"127.0.0.1:{self.grpc_ports['documents']}"
                                      if "documents" in self.grpc_ports else ""),
                # routing checks process templates' units against this platform's intake
                "INTAKE_ADDRESS": (f"127.0.0.1:{self.grpc_ports['intake']}" if "intake" in self.grpc_ports else ""),
                "PYTHONUNBUFFERED": "1",
                **({"RELAY_METRICS_PORT": str(self.metrics[f"{service}-relay"])} if service in self.relays else {}),
                **(self._carrier_env() if service == "delivery" else {}),
                **self.extra_env}

    def start(self) -> LocalPlatform:
        if "intake" in self.services:
            subprocess.run([VENV_BIN / "onestop-intake-seed"], env=self.env("intake"), check=True,
                           capture_output=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.with_sandbox:
            self.start_sandbox()
        for service in self.services:
            # every process the one list declares (the relay only where it runs on its own), the api last
            kinds = [k for k in BY_NAME[service].processes if k != "relay" or service in self.relays]
            for kind in sorted(kinds, key=lambda k: k == "api"):
                log = self.log_dir / f"{service}-{kind}.log"
                with open(log, "w", encoding="utf-8") as out:  # the child keeps its own descriptor
                    popen = subprocess.Popen([VENV_BIN / f"onestop-{service}-{kind}"], env=self.env(service),
                                             stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
                self.processes[f"{service}-{kind}"] = Process(f"{service}-{kind}", popen, log)
        for name, port in [*((f"{s}-api", p) for s, p in self.grpc_ports.items()),
                           *((n, p) for n, p in self.metrics.items() if n.endswith(("worker", "relay")))]:
            self._wait_port(self.processes[name], port)
        if {"intake", "routing"} <= set(self.services):  # as `make run`: the shipped process templates,
            subprocess.run([VENV_BIN / "onestop-routing-seed"], env=self.env("routing"), check=True,  # units
                           capture_output=True, timeout=120)  # checked by this platform's running intake
        if self.gateway:
            self.start_gateway()
        return self

    def start_sandbox(self) -> None:
        """Starts the carrier sandbox (again, after `stop_sandbox`: same port, same credentials, and
        none of the parcels it had: they lived in its memory)."""
        import secrets
        env = self._carrier_env()
        token, secret = pathlib.Path(env["CARRIER_API_TOKEN_FILE"]), pathlib.Path(env["CARRIER_WEBHOOK_SECRET_FILE"])
        if not token.exists():
            token.parent.mkdir(parents=True, exist_ok=True)
            token.write_text(secrets.token_urlsafe(24))
            secret.write_text(secrets.token_urlsafe(24))
        log = self.log_dir / "carrier-sandbox.log"
        webhook = f"http://127.0.0.1:{self.web_ports['delivery']}/carrier/webhook"
        with open(log, "a", encoding="utf-8") as out:
            popen = subprocess.Popen([VENV_BIN / "onestop-carrier-sandbox", "--port", str(self.sandbox_port),
                                      "--webhook-url", webhook, "--secret-file", str(secret),
                                      "--token-file", str(token), "--late-seconds", "1"],
                                     stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        self.processes["carrier-sandbox"] = proc = Process("carrier-sandbox", popen, log)
        self._wait_port(proc, self.sandbox_port)

    def stop_sandbox(self) -> None:
        """Stops the carrier sandbox's process (as a carrier that is gone: connections refused)."""
        popen = self.processes["carrier-sandbox"].popen
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(5)

    def _wait_port(self, proc: Process, port: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not port_open(port):
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited:\n" + "\n".join(proc.lines()[-20:]))
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not open port {port}; see {proc.log}")
            time.sleep(0.2)

    def stop(self, drop_databases: bool = True) -> None:
        for proc in self.processes.values():
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.popen.wait(15)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
        if drop_databases:
            import pymongo
            client = pymongo.MongoClient(MONGODB_URI)
            for name in self.databases.values():
                client.drop_database(name)
            client.close()


class PrivateStack:
    """RabbitMQ, FerretDB and MinIO of a test's own, on free ports with their data in `data_dir`
    (deploy/local/stack.sh with ONESTOP_DATA and the ports in its environment, and a RabbitMQ node
    name of its own): a test may stop and start them without touching the shared stack."""

    def __init__(self, data_dir: pathlib.Path, name: str = "private"):
        self.data_dir = data_dir
        self.ports = {"rabbitmq": free_port(), "rabbitmq_dist": free_port(), "ferretdb": free_port(),
                      "minio": free_port(), "minio_console": free_port()}
        self.env = {**os.environ, "ONESTOP_DATA": str(data_dir), "RABBITMQ_PORT": str(self.ports["rabbitmq"]),
                    "RABBITMQ_DIST_PORT": str(self.ports["rabbitmq_dist"]),
                    "RABBITMQ_NODENAME": f"onestop-{name}-{uuid.uuid4().hex[:6]}@localhost",
                    "FERRETDB_PORT": str(self.ports["ferretdb"]), "MINIO_PORT": str(self.ports["minio"]),
                    "MINIO_CONSOLE_PORT": str(self.ports["minio_console"])}
        self.mongodb_uri = f"mongodb://127.0.0.1:{self.ports['ferretdb']}/"
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{self.ports['rabbitmq']}/"
        self.minio_endpoint = f"127.0.0.1:{self.ports['minio']}"

    def service_env(self) -> dict[str, str]:
        """What LocalPlatform's extra_env needs to run services on this stack."""
        return {"MONGODB_URI": self.mongodb_uri, "AMQP_URI": self.amqp_uri, "MINIO_ENDPOINT": self.minio_endpoint}

    def run(self, *args: str, timeout: float = 180) -> None:
        done = subprocess.run(["bash", str(ROOT / "deploy/local/stack.sh"), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"stack.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def up(self) -> PrivateStack:
        self.run("up")
        return self

    def down(self) -> None:
        self.run("down")

    def stop(self, server: str) -> None:
        self.run("stop", server)

    def start(self, server: str) -> None:
        self.run("start", server)

    def kill(self, server: str) -> None:
        """SIGKILL, as a crash: FerretDB or MinIO (their pid files are in the data dir)."""
        pid = int((self.data_dir / f"{server}.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while port_open(self.ports[server]) and time.monotonic() < deadline:
            time.sleep(0.05)
