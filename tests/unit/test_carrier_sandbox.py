"""The carrier sandbox's own rules, in memory and through its WSGI app (no process, no network):
orders idempotent by order number, the stages, failed attempts and the return to sender, the commanded
faults, and that it says everywhere that it is a sandbox."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from onestop_delivery.sandbox.model import (
    DELIVERED,
    FAILED_ATTEMPT,
    OUT_FOR_DELIVERY,
    RETURNED,
    CannotCancel,
    OrderInvalid,
    SandboxCarrier,
    s10_item_code,
    sandbox_fee,
)
from onestop_delivery.sandbox.server import SandboxApp
from onestop_delivery.sandbox.webhooks import WebhookSender


def order(number: str = "000.00.21.H17-261130-0001-R1", **changes) -> dict:
    party = {"Fullname": "Nguyễn Văn An", "Tel": "0912345678", "Address": "Xóm 3", "ProvinceCode": "40",
             "CommuneCode": "17920"}
    body = {"customerCode": "KH-0001", "orderNumber": number, "weight": 350, "codAmount": 0,
            **{f"sender{k}": v for k, v in party.items()}, **{f"receiver{k}": v for k, v in party.items()}}
    return {**body, **changes}


@pytest.fixture()
def reported() -> list[dict]:
    return []


@pytest.fixture()
def sandbox(reported) -> SandboxCarrier:
    return SandboxCarrier(reported.append, max_attempts=2)


def test_the_waybill_is_an_s10_item_code_with_its_check_digit():
    assert s10_item_code(47312482, "RR", "GB") == "RR473124829GB"  # the UPU's own example


def test_the_same_order_number_gives_the_same_waybill(sandbox, reported):
    first, created = sandbox.create(order())
    again, created_again = sandbox.create(order(weight=900))
    other, _ = sandbox.create(order("000.00.21.H17-261130-0002-R1"))
    assert (created, created_again) == (True, False)
    assert again.item_code == first.item_code != other.item_code
    assert len(sandbox.by_item) == 2 and sandbox.create_requests == 3
    assert [e["statusCode"] for e in reported] == ["100", "100"]


@pytest.mark.parametrize(("change", "named"), [
    ({"receiverCommuneCode": ""}, "receiverCommuneCode"), ({"senderProvinceCode": None}, "senderProvinceCode"),
    ({"weight": 0}, "weight"), ({"weight": "1kg"}, "weight"), ({"codAmount": -1}, "codAmount"),
    ({"orderNumber": "a b"}, "orderNumber"), ({"customerCode": ""}, "customerCode")])
def test_an_order_missing_what_a_carrier_needs_is_refused_naming_it(sandbox, change, named):
    with pytest.raises(OrderInvalid, match=named):
        sandbox.create(order(**change))
    assert sandbox.by_item == {}


def test_the_sandbox_tariff():
    assert sandbox_fee(order()) == 16_500
    assert sandbox_fee(order(weight=1_200, receiverProvinceCode="01", codAmount=1_000_000)) == 16_500 + 5_000 + \
        5_000 + 10_000


def test_a_parcel_moves_through_the_stages_to_delivered_and_stops_there(sandbox):
    parcel, _ = sandbox.create(order())
    events = sandbox.advance(parcel.item_code, stages=10)
    assert [e["statusCode"] for e in events] == ["200", "300", "400", "500"]
    assert parcel.status == DELIVERED and sandbox.advance(parcel.item_code) == []
    assert [e["eventId"] for e in parcel.events] == [f"{parcel.item_code}-{n}" for n in range(1, 6)]


def test_failed_attempts_are_tried_again_then_returned_to_sender(sandbox):
    parcel, _ = sandbox.create(order())
    sandbox.fail_next_attempt(parcel.item_code, 2, "Người nhận vắng nhà")
    codes = [e["statusCode"] for e in sandbox.advance(parcel.item_code, stages=10)]
    assert codes == ["200", "300", "400", "550", "400", "550", "600"]
    assert parcel.status == RETURNED and parcel.failed_attempts == 2
    assert parcel.events[4]["note"] == "Người nhận vắng nhà"  # [0] is the order accepted


def test_one_failed_attempt_then_delivered(sandbox):
    parcel, _ = sandbox.create(order())
    sandbox.fail_next_attempt(parcel.item_code, 1, "Không liên lạc được người nhận")
    sandbox.advance(parcel.item_code, stages=4)
    assert parcel.status == FAILED_ATTEMPT
    sandbox.advance(parcel.item_code)
    assert parcel.status == OUT_FOR_DELIVERY
    sandbox.advance(parcel.item_code)
    assert parcel.status == DELIVERED


def test_cancel_before_pickup_only(sandbox):
    waiting, _ = sandbox.create(order())
    moving, _ = sandbox.create(order("X-2"))
    sandbox.advance(moving.item_code)
    assert sandbox.cancel(waiting.item_code).status == sandbox.cancel(waiting.item_code).status == "700"
    with pytest.raises(CannotCancel):
        sandbox.cancel(moving.item_code)


@pytest.fixture()
def client(sandbox) -> Client:
    return Client(SandboxApp(sandbox, WebhookSender("", b"secret"), token="api-token"))


AUTH = {"Authorization": "Bearer api-token"}


def test_every_answer_says_sandbox_and_orders_need_the_token(client):
    banner = client.get("/")
    assert "CARRIER SANDBOX" in banner.get_data(as_text=True) and "Not a carrier" in banner.get_data(as_text=True)
    unauthorised = client.post("/api/orders", json=order())
    assert unauthorised.status_code == 401 and "X-Carrier-Sandbox" in unauthorised.headers
    created = client.post("/api/orders", json=order(), headers=AUTH)
    again = client.post("/api/orders", json=order(), headers=AUTH)
    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json["itemCode"] == again.json["itemCode"] and created.json["totalFee"] == 16_500
    assert "X-Carrier-Sandbox" in created.headers
    assert client.post("/api/orders", json=order(receiverCommuneCode=""), headers=AUTH).json == {
        "code": "INVALID_ORDER", "message": "receiverCommuneCode is required"}


def test_down_answers_503_for_the_commanded_requests_and_orders_nothing(client, sandbox):
    client.post("/sandbox/down", json={"requests": 2})
    answers = [client.post("/api/orders", json=order(), headers=AUTH).status_code for _ in range(3)]
    assert answers == [503, 503, 201] and len(sandbox.by_item) == 1


def test_the_control_routes_advance_fail_and_track(client):
    item = client.post("/api/orders", json=order(), headers=AUTH).json["itemCode"]
    client.post("/sandbox/fail-next-attempt", json={"itemCode": item, "reason": "Sai địa chỉ"})
    client.post("/sandbox/advance", json={"itemCode": item, "stages": 4})
    tracking = client.get(f"/api/orders/{item}/tracking", headers=AUTH).json
    assert [e["statusCode"] for e in tracking["events"]] == ["100", "200", "300", "400", "550"]
    assert tracking["events"][-1]["time"].endswith("+07:00")
    assert client.get("/api/orders/EB000000000VN/tracking", headers=AUTH).status_code == 404
    assert client.post("/sandbox/webhook", json={"mode": "sideways"}).status_code == 400
    assert client.post("/sandbox/advance", data="{", content_type="application/json").status_code == 400
    listed = json.loads(client.get(f"/sandbox/orders?orderNumber={order()['orderNumber']}").get_data())
    assert [o["itemCode"] for o in listed["orders"]] == [item]


def _chaos_run(seed: int) -> tuple[list[str], list[str]]:
    import random
    carrier = SandboxCarrier(lambda event: None, max_attempts=2)
    carrier.chaos, carrier.chaos_failure_rate = random.Random(seed), 0.5
    webhooks = WebhookSender("", b"secret")
    webhooks.chaos, webhooks.chaos_rate = random.Random(seed + 1), 0.5
    for n in range(8):
        carrier.create(order(f"CHAOS-{n}"))
    carrier.advance(stages=12)
    return [p.status for p in carrier.by_item.values()], [webhooks._mode() for _ in range(30)]


def test_chaos_with_a_seed_is_the_same_run_after_run():
    statuses, modes = _chaos_run(7)
    assert (statuses, modes) == _chaos_run(7)
    assert set(statuses) == {DELIVERED, RETURNED}, "every parcel ends; chaos failed some attempts to the end"
    assert set(modes) == {"normal", "duplicate", "late", "bad-signature"}
    assert _chaos_run(8) != (statuses, modes)
