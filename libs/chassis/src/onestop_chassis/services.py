"""The one list of the platform's services: names, ports and processes.

Everything that needs to know which services exist reads this list: the chassis' default ports
(config.py), the Makefile (packages to install), deploy/local/services.sh (processes to start),
deploy/local/endpoints.sh, the Dockerfile's build arguments (`make image`), the kustomize base
(a unit test checks it names every service here) and the test launcher (tests/stack.py).

It has no imports beyond the standard library, so the Makefile and the shell scripts can run it
with the system Python before any virtualenv exists:

    python3 libs/chassis/src/onestop_chassis/services.py names      # intake routing documents
    python3 libs/chassis/src/onestop_chassis/services.py ports intake   # 50051 9151 9251 9351
    python3 libs/chassis/src/onestop_chassis/services.py processes intake   # api worker relay
    python3 libs/chassis/src/onestop_chassis/services.py table      # one line per service

Adding a service: see CONTRIBUTING.md ("Add a service").
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """One service. Ports are TCP ports on the pod (and on 127.0.0.1 locally).

    `built` is False for a service whose contract is reserved but whose package does not exist yet:
    it keeps its ports, nothing starts or deploys it.
    """

    name: str
    grpc_port: int
    web_port: int = 0  # public HTML pages served by the worker (nameko @http); 0: none
    built: bool = True
    # api: the gRPC server; worker: the nameko service; relay: the transactional outbox's relay, a
    # process of its own (onestop_chassis.relay) for a service that writes events.
    processes: tuple[str, ...] = ("api", "worker")

    @property
    def api_metrics_port(self) -> int:
        return 9100 + self.grpc_port - 50000  # 50051 -> 9151

    @property
    def worker_metrics_port(self) -> int:
        return 9200 + self.grpc_port - 50000  # 50051 -> 9251

    @property
    def relay_metrics_port(self) -> int:
        return 9300 + self.grpc_port - 50000  # 50051 -> 9351

    @property
    def ports(self) -> tuple[int, ...]:
        """Every port the service's processes listen on (the image EXPOSEs them)."""
        metrics = {"api": self.api_metrics_port, "worker": self.worker_metrics_port, "relay": self.relay_metrics_port}
        return (self.grpc_port, *(metrics[p] for p in self.processes))

    @property
    def package(self) -> str:
        return f"services/{self.name}"


SERVICES: tuple[Service, ...] = (
    Service("intake", 50051, web_port=8051, processes=("api", "worker", "relay")),
    Service("routing", 50052, processes=("api", "worker", "relay")),
    Service("documents", 50053, processes=("api", "worker", "relay")),
    Service("survey", 50054, web_port=8054, processes=("api", "worker", "relay")),
    Service("delivery", 50055, web_port=8055, processes=("api", "worker", "relay")),
)

BY_NAME = {s.name: s for s in SERVICES}


def built() -> tuple[Service, ...]:
    """The services whose packages exist and which run, in start order."""
    return tuple(s for s in SERVICES if s.built)


def _main(argv: list[str]) -> int:
    command, *rest = argv or ["table"]
    if command == "names":
        print(" ".join(s.name for s in built()))
    elif command == "ports" and len(rest) == 1 and rest[0] in BY_NAME:
        s = BY_NAME[rest[0]]
        print(*s.ports)
    elif command == "processes" and len(rest) == 1 and rest[0] in BY_NAME:
        print(" ".join(BY_NAME[rest[0]].processes))
    elif command == "table":
        for s in built():
            print(s.name, s.grpc_port, s.api_metrics_port, s.worker_metrics_port, s.web_port)
    else:
        print("usage: services.py names | ports <service> | processes <service> | table", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
