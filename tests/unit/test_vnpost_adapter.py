"""The VNPost adapter against a stub HTTP layer: the order it sends, the answers it maps, its retries
(counted, without waiting), the webhook's signature; and delivery's carrier settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
import requests

from onestop_delivery.adapters.vnpost import STATUS_CODES, VNPostCarrier
from onestop_delivery.carrier import (
    BadSignature,
    CarrierOrder,
    CarrierRefused,
    CarrierStatus,
    CarrierUnavailable,
    Direction,
    Party,
    UnknownParcel,
)

SECRET = "webhook-secret-for-tests"


def response(status: int, body) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    answer.encoding = "utf-8"
    return answer


class StubSession:
    """Answers the adapter's requests in turn (an exception is raised); remembers each request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[dict] = []

    def request(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def carrier(session: StubSession, attempts: int = 4) -> tuple[VNPostCarrier, list[float]]:
    waits: list[float] = []
    return VNPostCarrier("http://carrier.test/", "KH-0001", "token-1", SECRET, timeout_seconds=3.0,
                         attempts=attempts, session=session, sleep=waits.append), waits


ORDER = CarrierOrder(
    order_number="000.00.21.H17-261130-0001-R1", customer_code="KH-0001", direction=Direction.OUTBOUND,
    sender=Party("Trung tâm Phục vụ hành chính công tỉnh", "02383888888", "Số 1 Đường Trường Thi", "16681", "40"),
    receiver=Party("Nguyễn Văn An", "0912345678", "Xóm 3", "17920", "40"),
    weight_grams=350, cod_amount_vnd=50_000, content="Kết quả giải quyết TTHC hồ sơ 000.00.21.H17-261130-0001")
RECEIPT = {"orderNumber": ORDER.order_number, "itemCode": "EB000000019VN", "totalFee": 21_500, "statusCode": "100"}


def test_an_order_goes_as_vnpost_shaped_json_with_the_token_and_a_timeout():
    session = StubSession(response(201, RECEIPT))
    adapter, waits = carrier(session)
    receipt = adapter.create_order(ORDER)
    assert (receipt.order_number, receipt.waybill, receipt.postal_charge_vnd) == (ORDER.order_number, "EB000000019VN",
                                                                                  21_500)
    [call] = session.calls
    assert (call["method"], call["url"], call["timeout"]) == ("POST", "http://carrier.test/api/orders", 3.0)
    assert call["headers"]["Authorization"] == "Bearer token-1"
    body = call["json"]
    assert body["customerCode"] == "KH-0001" and body["orderNumber"] == ORDER.order_number
    assert (body["receiverProvinceCode"], body["receiverCommuneCode"]) == ("40", "17920")
    assert (body["senderProvinceCode"], body["senderCommuneCode"]) == ("40", "16681")
    assert (body["weight"], body["codAmount"], body["receiverFullname"]) == (350, 50_000, "Nguyễn Văn An")
    assert waits == []


def test_a_create_is_retried_on_5xx_timeouts_and_connect_errors_until_the_carrier_answers():
    session = StubSession(response(503, {"message": "down"}), requests.ConnectTimeout("slow"),
                          requests.ConnectionError("refused"), response(200, RECEIPT))
    adapter, waits = carrier(session)
    assert adapter.create_order(ORDER).waybill == "EB000000019VN"
    assert len(session.calls) == 4
    assert len(waits) == 3 and all(0 < w <= 2.1 for w in waits)  # bounded backoff between the tries
    assert {c["json"]["orderNumber"] for c in session.calls} == {ORDER.order_number}  # one idempotency key


def test_a_carrier_that_stays_unavailable_costs_the_configured_attempts_then_carrier_unavailable():
    session = StubSession(*[response(502, {"message": "Bad gateway"})] * 3)
    adapter, waits = carrier(session, attempts=3)
    with pytest.raises(CarrierUnavailable, match="502: Bad gateway"):
        adapter.create_order(ORDER)
    assert (len(session.calls), len(waits)) == (3, 2)


def test_a_read_timeout_is_unavailable_and_retried():
    session = StubSession(requests.ReadTimeout("read"), requests.ReadTimeout("read"))
    adapter, _ = carrier(session, attempts=2)
    with pytest.raises(CarrierUnavailable, match="did not answer .* within 3.0 s"):
        adapter.track("EB000000019VN")
    assert len(session.calls) == 2


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_a_4xx_is_refused_at_once_with_the_carriers_reason(status):
    session = StubSession(response(status, {"code": "INVALID_ORDER", "message": "receiverCommuneCode is required"}))
    adapter, waits = carrier(session)
    with pytest.raises(CarrierRefused) as refused:
        adapter.create_order(ORDER)
    assert refused.value.reason == "receiverCommuneCode is required"
    assert (len(session.calls), waits) == (1, [])


def test_a_429_is_retried_and_an_answer_that_is_not_json_is_unavailable():
    session = StubSession(response(429, {"message": "slow down"}), response(200, b"<html>proxy</html>"))
    adapter, _ = carrier(session, attempts=2)
    with pytest.raises(CarrierUnavailable, match="not JSON"):
        adapter.create_order(ORDER)
    assert len(session.calls) == 2


def test_an_answer_without_the_waybill_is_not_taken_for_a_receipt():
    adapter, _ = carrier(StubSession(response(200, {"orderNumber": ORDER.order_number})), attempts=1)
    with pytest.raises(CarrierUnavailable, match="itemCode"):
        adapter.create_order(ORDER)


def test_cancel_posts_to_the_waybill_and_a_picked_up_parcel_is_refused():
    session = StubSession(response(200, {"statusCode": "700"}),
                          response(409, {"message": "Bưu gửi EB000000019VN đã được thu gom, không thể hủy"}))
    adapter, _ = carrier(session)
    adapter.cancel_order("EB000000019VN")
    assert session.calls[0]["url"] == "http://carrier.test/api/orders/EB000000019VN/cancel"
    with pytest.raises(CarrierRefused, match="đã được thu gom") as refused:
        adapter.cancel_order("EB000000019VN")
    assert not isinstance(refused.value, UnknownParcel)


def test_a_waybill_the_carrier_does_not_know_is_an_unknown_parcel():
    adapter, _ = carrier(StubSession(response(404, {"code": "ITEM_NOT_FOUND", "message": "Không tìm thấy bưu gửi"})))
    with pytest.raises(UnknownParcel, match="Không tìm thấy"):
        adapter.cancel_order("EB000000019VN")


def _event(n: int, code: str, time: str = "2026-11-30T09:15:00+07:00", note: str = "") -> dict:
    return {"eventId": f"EB000000019VN-{n}", "itemCode": "EB000000019VN", "orderNumber": ORDER.order_number,
            "statusCode": code, "time": time, "note": note}


def test_track_maps_the_status_codes_and_gives_utc_times_oldest_first():
    history = [_event(1, "100"), _event(2, "200"), _event(3, "400"), _event(4, "550", note="Người nhận vắng nhà"),
               _event(5, "999"), _event(6, "600")]
    adapter, _ = carrier(StubSession(response(200, {"itemCode": "EB000000019VN", "events": history})))
    events = adapter.track("EB000000019VN")
    assert [e.status for e in events] == [CarrierStatus.ACCEPTED, CarrierStatus.PICKED_UP,
                                          CarrierStatus.OUT_FOR_DELIVERY, CarrierStatus.FAILED_ATTEMPT,
                                          CarrierStatus.RETURNED_TO_SENDER]  # the unknown 999 left out
    assert events[0].at == dt.datetime(2026, 11, 30, 2, 15, tzinfo=dt.UTC)
    assert events[3].note == "Người nhận vắng nhà" and events[3].event_id == "EB000000019VN-4"


def test_every_carrier_status_has_a_code():
    assert set(STATUS_CODES.values()) == set(CarrierStatus)


def _signed(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_webhook_signed_with_the_secret_is_read_whatever_the_headers_case():
    body = json.dumps({"events": [_event(2, "200"), _event(3, "300")]}).encode()
    adapter, _ = carrier(StubSession())
    events = adapter.read_webhook(body, {"x-signature": _signed(body)})
    assert [(e.event_id, e.status) for e in events] == [("EB000000019VN-2", CarrierStatus.PICKED_UP),
                                                        ("EB000000019VN-3", CarrierStatus.IN_TRANSIT)]
    assert events[0].waybill == "EB000000019VN" and events[0].order_number == ORDER.order_number


@pytest.mark.parametrize("headers", [{}, {"X-Signature": ""}, {"X-Signature": "00" * 32},
                                     {"X-Signature": "nothex-ặ"}], ids=["none", "empty", "wrong", "not-hex"])
def test_a_webhook_without_the_right_signature_raises_bad_signature(headers):
    body = json.dumps({"events": [_event(2, "200")]}).encode()
    adapter, _ = carrier(StubSession())
    with pytest.raises(BadSignature):
        adapter.read_webhook(body, headers)


def test_a_webhook_signed_with_another_key_or_changed_after_signing_raises_bad_signature():
    body = json.dumps({"events": [_event(5, "500")]}).encode()
    adapter, _ = carrier(StubSession())
    with pytest.raises(BadSignature):
        adapter.read_webhook(body, {"X-Signature": _signed(body, "another-secret")})
    with pytest.raises(BadSignature):
        adapter.read_webhook(body.replace(b'"500"', b'"550"'), {"X-Signature": _signed(body)})


NAIVE_TIME = b'{"events": [{"eventId": "e", "statusCode": "100", "time": "2026-11-30T09:00:00"}]}'


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"events": [{"statusCode": "100"}]}', NAIVE_TIME],
                         ids=["not-json", "not-object", "no-id", "naive-time"])
def test_a_signed_webhook_the_adapter_cannot_read_is_refused(body):
    adapter, _ = carrier(StubSession())
    with pytest.raises(CarrierRefused):
        adapter.read_webhook(body, {"X-Signature": _signed(body)})


def test_attempts_below_one_are_refused():
    with pytest.raises(ValueError, match="attempts"):
        VNPostCarrier("http://x", "KH", "t", "s", attempts=0)


def test_the_settings_read_the_credentials_from_files(tmp_path, monkeypatch):
    from onestop_chassis.config import ConfigError, load_settings
    from onestop_delivery.config import LOCAL_CARRIER_WEBHOOK_SECRET, DeliverySettings
    (tmp_path / "token").write_text("file-token\n")
    (tmp_path / "secret").write_text("file-secret\n")
    settings = load_settings(DeliverySettings, carrier_api_token_file=str(tmp_path / "token"),
                             carrier_webhook_secret_file=str(tmp_path / "secret"))
    adapter = VNPostCarrier.from_settings(settings)
    assert (settings.carrier_api_token, settings.carrier_webhook_secret) == ("file-token", "file-secret")
    assert adapter.base_url == "http://127.0.0.1:8955" and adapter.customer_code == "ONESTOP-DEMO"
    assert load_settings(DeliverySettings).carrier_webhook_secret == LOCAL_CARRIER_WEBHOOK_SECRET
    with pytest.raises(ConfigError) as error:
        load_settings(DeliverySettings, carrier_webhook_secret_file=str(tmp_path / "missing"))
    assert "CARRIER_WEBHOOK_SECRET_FILE: cannot read" in error.value.message


def test_production_refuses_missing_or_local_carrier_credentials():
    from onestop_chassis.auth import mint_token
    from onestop_chassis.config import ConfigError, load_settings
    from onestop_delivery.config import LOCAL_CARRIER_API_TOKEN, DeliverySettings
    # Tokens from the identity provider (no JWT_SECRET in production) and a RabbitMQ user of its own.
    common = {"onestop_env": "production", "jwt_jwks_url": "https://sso.example/certs",
              "jwt_issuer": "https://sso.example", "jwt_audience": "onestop", "intake_address": "intake:50051",
              "service_token": mint_token("the-identity-provider-s-own-signing-key", subject="delivery",
                                          roles=["service"]),
              "mongodb_uri": "mongodb://db/", "amqp_uri": "amqp://delivery:Pw7-q@mq/",
              "carrier_base_url": "https://carrier.example/", "carrier_customer_code": "KH-1"}
    secret, token = "Hj6-Kl9z_Xc2vB5nM8qW1eR4tY7uI0oP", "Vb3-Nm8q_Wx1cZ6rT9yU4iO7pA2sD5fG"
    for given, why in (({}, "must be set"), ({"carrier_api_token": LOCAL_CARRIER_API_TOKEN}, "published"),
                       ({"carrier_api_token": "t" * 32}, "weak")):
        with pytest.raises(ConfigError) as error:
            load_settings(DeliverySettings, **common, **given, carrier_webhook_secret=secret)
        assert "CARRIER_API_TOKEN (or CARRIER_API_TOKEN_FILE)" in error.value.message and why in error.value.message
    settings = load_settings(DeliverySettings, **common, carrier_api_token=token, carrier_webhook_secret=secret)
    assert settings.carrier_api_token == token
