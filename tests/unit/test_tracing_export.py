"""Spans leave the process over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading

import pytest

SCRIPT = """
import sys
from opentelemetry import trace
from onestop_chassis.tracing import configure_tracing, tracer
configure_tracing("probe", sys.argv[1])
with tracer().start_as_current_span("probe-span"):
    pass
trace.get_tracer_provider().force_flush(5000)
"""


@pytest.fixture()
def collector():
    """A stand-in OTLP/HTTP collector on loopback that records what is posted to it."""
    posts: list[tuple[str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            posts.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", posts
    server.shutdown()


def test_spans_are_exported_when_an_endpoint_is_configured(collector):
    endpoint, posts = collector
    subprocess.run([sys.executable, "-c", SCRIPT, endpoint], check=True, timeout=60)
    assert [path for path, _ in posts] == ["/v1/traces"]
    assert b"probe-span" in posts[0][1] and b"onestop-probe" in posts[0][1]


def test_nothing_is_exported_without_an_endpoint(collector):
    _, posts = collector
    subprocess.run([sys.executable, "-c", SCRIPT, ""], check=True, timeout=60)
    assert posts == []
