"""The carrier sandbox (`onestop-carrier-sandbox`, not a carrier) as a real process for tests and
benchmarks, on a free port with a secret and a token of its own; and a webhook inbox that records what
the sandbox POSTs. `with sandbox_process(tmp_path) as sandbox:` starts it and always stops it."""

from __future__ import annotations

import contextlib
import pathlib
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from stack import VENV_BIN, free_port, port_open


@dataclass
class RunningSandbox:
    url: str
    secret: str
    token: str
    popen: subprocess.Popen
    log: pathlib.Path

    def control(self, path: str, body: dict | None = None) -> Any:
        """POST to a control route (`/sandbox/advance`, ...); its JSON answer."""
        answer = requests.post(self.url + path, json=body or {}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def orders(self, order_number: str | None = None) -> dict:
        """`/sandbox/orders`: the parcels (of one order number) and the counts of create requests and webhooks."""
        params = {"orderNumber": order_number} if order_number else {}
        return requests.get(self.url + "/sandbox/orders", params=params, timeout=10).json()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


@contextlib.contextmanager
def sandbox_process(directory: pathlib.Path, webhook_url: str = "", *options: str) -> Iterator[RunningSandbox]:
    """The sandbox on a free port; `options` are more command-line options (`--max-attempts`, `2`)."""
    directory.mkdir(parents=True, exist_ok=True)
    secret, token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    (directory / "webhook-secret").write_text(secret)
    (directory / "api-token").write_text(token)
    port, log = free_port(), directory / "carrier-sandbox.log"
    with open(log, "w", encoding="utf-8") as out:
        popen = subprocess.Popen([VENV_BIN / "onestop-carrier-sandbox", "--port", str(port), "--webhook-url",
                                  webhook_url, "--secret-file", str(directory / "webhook-secret"), "--token-file",
                                  str(directory / "api-token"), *options], stdout=out, stderr=subprocess.STDOUT)
    sandbox = RunningSandbox(f"http://127.0.0.1:{port}", secret, token, popen, log)
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            if popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the carrier sandbox did not start:\n" + log.read_text(encoding="utf-8")[-2000:])
            time.sleep(0.1)
        yield sandbox
    finally:
        sandbox.stop()


@dataclass
class WebhookInbox:
    """An HTTP server in this process that answers 200 to every POST and keeps (body, headers)."""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def wait_for(self, count: int, waybill: str, timeout: float = 15) -> list[tuple[bytes, dict[str, str]]]:
        """The first `count` deliveries about `waybill` (an earlier test's may still be on the way), once
        they have arrived (AssertionError naming what did)."""
        deadline = time.monotonic() + timeout
        while len(mine := self.about(waybill)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(mine) >= count, f"{len(mine)} webhooks of {count} about {waybill}: {mine}"
        return mine[:count]

    def about(self, waybill: str) -> list[tuple[bytes, dict[str, str]]]:
        return [(body, headers) for body, headers in list(self.received) if f'"{waybill}"'.encode() in body]


@contextlib.contextmanager
def webhook_inbox() -> Iterator[WebhookInbox]:
    inbox = WebhookInbox()

    def app(environ, start_response):
        request = Request(environ)
        inbox.received.append((request.get_data(), dict(request.headers)))
        return Response("ok")(environ, start_response)

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    inbox.url = f"http://127.0.0.1:{port}/carrier/webhook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        thread.join(5)
