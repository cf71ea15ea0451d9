"""The REST gateway's HTTP server (waitress, gateway/main.py `server`), run in this process on a
free port: connections that stall in the middle of a body hold no thread and are closed after
GATEWAY_IDLE_TIMEOUT_SECONDS (issue 14 item 8: werkzeug's development server held a thread per
connection, 300 half-sent bodies 302 threads and 229 MB; /tmp/review14/probe3.py)."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest

from onestop_chassis.gateway.app import Gateway, Upstreams
from onestop_chassis.gateway.main import GatewaySettings, server
from onestop_chassis.gateway.routes import contract_files, routes_of

STALLED = 40
THREADS = 2
HALF_SENT = (b"POST /v1/dossiers HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
             b"Content-Length: 3000\r\n\r\n{")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running():
    settings = GatewaySettings(gateway_port=_free_port(), gateway_threads=THREADS, gateway_idle_timeout_seconds=1,
                               gateway_max_body_bytes=4096)
    upstreams = Upstreams({"intake": "127.0.0.1:1"}, timeout=2)  # never reached: no body is complete
    threads_before = threading.active_count()
    http = server(settings, Gateway(routes_of(contract_files()), upstreams, max_body_bytes=4096, timeout=2,
                                    openapi=b'{"swagger": "2.0"}'))
    loop = threading.Thread(target=http.run, name="gateway-server-test", daemon=True)
    loop.start()
    yield settings.gateway_port, threads_before
    http.close()  # the listening socket and the task threads; the loop ends with its last channel
    http.task_dispatcher.shutdown()
    loop.join(timeout=30)
    upstreams.close()


def _answer(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(TimeoutError):
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection (EOF or reset) within a generous 60 s."""
    sock.settimeout(60)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_stalled_bodies_hold_no_thread_and_are_cut_after_the_idle_timeout(running):
    port, threads_before = running
    stalled = []
    for _ in range(STALLED):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(HALF_SENT)
        stalled.append(sock)
    try:
        # While every stalled connection is open, another caller is still served...
        with socket.create_connection(("127.0.0.1", port), timeout=30) as other:
            other.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
            assert _answer(other).startswith(b"HTTP/1.1 200")
        # ...by no more threads than the setting (and the server's own loop), however many connect.
        assert threading.active_count() <= threads_before + THREADS + 1
        assert all(_closed_by_server(sock) for sock in stalled), "a stalled body outlived the idle timeout"
    finally:
        for sock in stalled:
            sock.close()


def test_the_server_settings_are_bounded():
    assert GatewaySettings().gateway_threads == 8 and GatewaySettings().gateway_idle_timeout_seconds == 30
    with pytest.raises(ValueError):
        GatewaySettings(gateway_threads=0)
    with pytest.raises(ValueError):
        GatewaySettings(gateway_idle_timeout_seconds=0)
