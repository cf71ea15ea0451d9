"""The headers the REST gateway forwards as gRPC metadata (Authorization, X-Forwarded-For,
traceparent, tracestate): what gRPC cannot carry is refused with a reason (Authorization) or dropped
(the others), never a 500 or a 429 (issue 14 item 8, the reviewer's probe /tmp/review14/probe.py)."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2
from test_gateway_transcoding import _refusal, client, upstream  # noqa: F401 - fixtures


@pytest.fixture
def gateway(client):  # noqa: F811 - the imported fixture
    return client


TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize("authorization, named", [
    ("Bearer \xe9t\xe9", "printable ASCII"),        # werkzeug gives header bytes as latin-1
    ("Bearer " + "a" * 20_000, "at most 4096"),    # gRPC's 8 KiB header list: RESOURCE_EXHAUSTED
    ("Bearer a\x7fb", "printable ASCII"),
])
def test_an_authorization_header_grpc_cannot_carry_is_401_token_malformed(gateway, authorization, named):
    http, fake = gateway
    response = http.post("/v1/dossiers/X-1:lookup", json={"secret": "S"}, headers={"Authorization": authorization})
    body = _refusal(response, 401, "TOKEN_MALFORMED")
    assert body["code"] == code_pb2.UNAUTHENTICATED and named in body["message"]
    assert fake.calls == []


def test_a_token_of_the_largest_size_still_reaches_the_service(gateway):
    http, fake = gateway
    token = "Bearer " + "a" * (4096 - 7)
    assert http.post("/v1/dossiers/X-1:lookup", json={"secret": "S"},
                     headers={"Authorization": token}).status_code == 200
    assert fake.calls[-1][2]["authorization"] == token


@pytest.mark.parametrize("sent, forwarded", [
    ("not-an-address", "198.51.100.7"),                        # garbled: dropped, never "the gateway"
    ("203.0.113.9, n\xe9ant, [2001:db8::1]", "203.0.113.9, 2001:db8::1, 198.51.100.7"),
    (", ".join(f"10.0.{i // 250}.{i % 250}" for i in range(2000)),  # 30 kB: only the nearest 8 hops go on
     ", ".join(f"10.0.7.{i}" for i in range(242, 250)) + ", 198.51.100.7"),
])
def test_x_forwarded_for_keeps_only_addresses_and_appends_the_peer(gateway, sent, forwarded):
    http, fake = gateway
    assert http.post("/v1/dossiers/X-1:lookup", json={"secret": "S"}, headers={"X-Forwarded-For": sent},
                     environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    assert fake.calls[-1][2]["x-forwarded-for"] == forwarded


def test_several_x_forwarded_for_headers_are_one_list(gateway):
    http, fake = gateway
    http.post("/v1/dossiers/X-1:lookup", json={"secret": "S"}, environ_base={"REMOTE_ADDR": "198.51.100.7"},
              headers=[("X-Forwarded-For", "203.0.113.1"), ("X-Forwarded-For", "203.0.113.2")])
    assert fake.calls[-1][2]["x-forwarded-for"] == "203.0.113.1, 203.0.113.2, 198.51.100.7"


@pytest.mark.parametrize("traceparent, tracestate, kept", [
    (TRACE, "vendor=abc", True),
    ("00-n\xe9ant-00f067aa0ba902b7-01", "vendor=\xe9", False),
    (TRACE + "x" * 20_000, "v=" + "x" * 20_000, False),
])
def test_a_malformed_trace_header_is_dropped_and_the_call_goes_on(gateway, traceparent, tracestate, kept):
    http, fake = gateway
    response = http.post("/v1/dossiers/X-1:lookup", json={"secret": "S"},
                         headers={"traceparent": traceparent, "tracestate": tracestate})
    assert response.status_code == 200
    metadata = fake.calls[-1][2]
    assert ("traceparent" in metadata, "tracestate" in metadata) == (kept, kept)
