"""Public endpoints that strangers can call (issue 9, kind 8), on the running platform: security
headers on every page response, the lookup budgets per client, TakeTicket's budgets per kiosk and
client. The platform trusts 127.0.0.1 as its proxy and as a queue kiosk (conftest.PUBLIC_ENV), so a
test names the stranger it plays in X-Forwarded-For."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import grpc
import pytest
from conftest import bearer, stub_fixtures

from onestop.intake.v1 import queue_pb2, queue_pb2_grpc

from support import error_info, retry_delay, submit_request

UNIT = "000.00.21.H17"
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def _fetch(url: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


@pytest.fixture()
def web(platform):
    return f"http://127.0.0.1:{platform.web_ports['intake']}"


def test_every_page_response_carries_the_security_headers(intake, web):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    form = urllib.parse.urlencode({"ma": submitted.dossier.code, "ma_tra_cuu": submitted.lookup_secret}).encode()
    wrong = urllib.parse.urlencode({"ma": submitted.dossier.code, "ma_tra_cuu": "SAIMA999"}).encode()
    pages = [("GET", "/tra-cuu", None, 200), ("POST", "/tra-cuu", form, 200), ("POST", "/tra-cuu", wrong, 404),
             ("GET", "/thu-tuc", None, 200), ("GET", "/thu-tuc/2.001610", None, 200),
             ("GET", "/thu-tuc/9.999999", None, 404), ("GET", "/thu-tuc?linh_vuc=khong-co", None, 400),
             ("GET", "/khong-co-trang-nay", None, 404), ("DELETE", "/tra-cuu", None, 405)]
    for method, path, data, status in pages:
        got, headers, body = _fetch(web + path, method, data)
        assert got == status, (method, path, got)
        for name, value in HEADERS.items():
            assert headers[name] == value, (method, path, name)
        policy = headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, (method, path)
        assert "script-src" not in policy and "unsafe-inline" not in policy, (method, path)
        if "<style>" in body:
            assert "style-src 'sha256-" in policy, (method, path)


def test_a_guesser_on_the_page_is_stopped_and_the_owner_is_not(intake, web):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code, secret = submitted.dossier.code, submitted.lookup_secret
    stranger = {"X-Forwarded-For": "198.51.100.91"}
    statuses = [_fetch(web + "/tra-cuu", "POST", urllib.parse.urlencode({"ma": code, "ma_tra_cuu": f"DOAN{n:04d}"})
                       .encode(), stranger)[0] for n in range(11)]
    assert statuses == [404] * 10 + [429]
    status, headers, body = _fetch(web + "/tra-cuu", "POST", urllib.parse.urlencode(
        {"ma": code, "ma_tra_cuu": secret}).encode(), stranger)
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 3600 and "Vui lòng thử lại sau" in body
    status, _, body = _fetch(web + "/tra-cuu", "POST", urllib.parse.urlencode(
        {"ma": code, "ma_tra_cuu": secret}).encode(), {"X-Forwarded-For": "203.0.113.91"})
    assert status == 200 and "Được tiếp nhận" in body


(queue,) = stub_fixtures("platform", queue=("intake", queue_pb2_grpc.QueueServiceStub))


def test_an_anonymous_client_cannot_empty_the_queue_and_the_kiosk_goes_on(queue):
    """The issue's example: one anonymous client took 300 tickets in 11 s."""
    stranger = (("x-forwarded-for", "198.51.100.92"),)
    request = queue_pb2.TakeTicketRequest(unit_code=UNIT, queue="mot-cua-e2e")
    taken = [queue.TakeTicket(request, metadata=stranger).ticket.number for _ in range(3)]
    with pytest.raises(grpc.RpcError) as limited:
        queue.TakeTicket(request, metadata=stranger)
    reason, metadata, _ = error_info(limited.value)
    assert (limited.value.code(), reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TICKET_RATE_LIMITED")
    assert "Vui lòng thử lại sau" in metadata["message_vi"] and 1 <= retry_delay(limited.value) <= 3600
    kiosk = [queue.TakeTicket(request).ticket.number for _ in range(5)]  # 127.0.0.1 is the unit's kiosk
    assert kiosk == list(range(taken[-1] + 1, taken[-1] + 6))
