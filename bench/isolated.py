"""A benchmark's own servers, so the shared stack is neither loaded nor filled: a FerretDB of its
own (a data folder and port of its own) and a RabbitMQ vhost of its own on the stack's node, and
their removal however the run ended."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time

from stack import ROOT, free_port, port_open

FERRETDB = pathlib.Path.home() / ".cache/onestop/bin/ferretdb"
RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"


def own_ferretdb(workdir: pathlib.Path) -> tuple[subprocess.Popen, str]:
    """FerretDB as deploy/local/stack.sh runs it, with its own data folder and a free port."""
    data = workdir / "ferretdb"
    data.mkdir()
    port = free_port()
    with open(workdir / "ferretdb.log", "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([str(FERRETDB), "--handler=sqlite", f"--sqlite-url=file:{data}/",
                                 f"--listen-addr=127.0.0.1:{port}", "--debug-addr=-", "--telemetry=disable",
                                 "--log-level=warn", f"--state-dir={data}"],
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the bench's FerretDB did not start: " + (workdir / "ferretdb.log").read_text())
        time.sleep(0.2)
    return proc, f"mongodb://127.0.0.1:{port}/"


def rabbitmqctl(*args: str) -> None:
    """On the stack's own node (deploy/local/stack.sh keeps its Erlang cookie under .local/rabbitmq)."""
    data = pathlib.Path(os.environ.get("ONESTOP_DATA", ROOT / ".local"))
    env = {**os.environ, "HOME": str(data / "rabbitmq"), "RABBITMQ_NODENAME": "onestop@localhost",
           "ERL_EPMD_ADDRESS": "127.0.0.1"}
    subprocess.run([RABBITMQCTL, "-q", *args], env=env, check=True, capture_output=True, timeout=120)


def tear_down(client, platform, ferretdb: subprocess.Popen | None, vhost: str, workdir: pathlib.Path) -> None:
    """After a run, whatever it reached: the pymongo client, the platform's processes (its database
    goes with the bench's FerretDB), that FerretDB, the vhost and the working folder."""
    if client is not None:
        client.close()
    if platform is not None:
        platform.stop(drop_databases=False)
    if ferretdb is not None:
        ferretdb.terminate()
        try:
            ferretdb.wait(30)
        except subprocess.TimeoutExpired:
            ferretdb.kill()
    rabbitmqctl("delete_vhost", vhost)
    shutil.rmtree(workdir, ignore_errors=True)
