"""Addresses of the local stack and small socket helpers, shared by the test tiers."""

from __future__ import annotations

import pathlib
import socket

ROOT = pathlib.Path(__file__).resolve().parent.parent
MONGODB_URI = "mongodb://127.0.0.1:27017/"
AMQP_TEST_URI = "amqp://guest:guest@127.0.0.1:5672/onestop-test"  # the tests' own vhost
SERVERS = {"FerretDB (MongoDB wire protocol)": 27017, "RabbitMQ": 5672, "MinIO": 9000}


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
