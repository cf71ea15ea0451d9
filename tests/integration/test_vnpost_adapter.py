"""The VNPost adapter against the real carrier sandbox process, over the network: one waybill per order
number, whatever the retries (503s, timeouts); refusals with the carrier's reason; tracking after the
parcel moved, up to the return to sender; webhooks as the sandbox sends them, twice, late, or badly
signed. The sandbox is a stand-in (tests/carrier_sandbox.py); the adapter is what is under test."""

from __future__ import annotations

import dataclasses
import json

import pytest
from carrier_sandbox import sandbox_process, webhook_inbox

from onestop_delivery.adapters.vnpost import VNPostCarrier
from onestop_delivery.carrier import (
    BadSignature,
    CarrierOrder,
    CarrierRefused,
    CarrierStatus,
    CarrierUnavailable,
    Direction,
    Party,
)

S = CarrierStatus
ORDER = CarrierOrder(
    order_number="000.00.21.H17-261130-0007-R1", customer_code="KH-0001", direction=Direction.OUTBOUND,
    sender=Party("Trung tâm Phục vụ hành chính công tỉnh Nghệ An", "02383888888", "Số 1 Trường Thi", "16681", "40"),
    receiver=Party("Trần Thị Bích", "0912345678", "Xóm 3, xã Nghi Phong", "17920", "40"),
    weight_grams=350, cod_amount_vnd=50_000, content="Kết quả giải quyết TTHC hồ sơ 000.00.21.H17-261130-0007")


@pytest.fixture(scope="module")
def inbox():
    with webhook_inbox() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, inbox):
    with sandbox_process(tmp_path_factory.mktemp("carrier-sandbox"), inbox.url, "--max-attempts", "2") as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def fresh(sandbox):
    sandbox.control("/sandbox/reset")


def adapter(sandbox, **options) -> VNPostCarrier:
    settings = {"timeout_seconds": 2.0, "attempts": 4, "backoff_max_seconds": 0.3, **options}
    return VNPostCarrier(sandbox.url, "KH-0001", sandbox.token, sandbox.secret, **settings)


def test_the_same_order_number_twice_gives_one_waybill(sandbox):
    carrier = adapter(sandbox)
    first, again = carrier.create_order(ORDER), carrier.create_order(ORDER)
    other = carrier.create_order(dataclasses.replace(ORDER, order_number=ORDER.order_number[:-1] + "2"))
    assert first == again and first.waybill != other.waybill
    assert first.waybill.startswith("EB") and first.waybill.endswith("VN") and first.postal_charge_vnd > 0
    assert len(sandbox.orders(ORDER.order_number)["orders"]) == 1


def test_the_sandbox_down_while_creating_is_retried_and_orders_once(sandbox):
    sandbox.control("/sandbox/down", {"requests": 2})
    receipt = adapter(sandbox).create_order(ORDER)
    state = sandbox.orders(ORDER.order_number)
    assert [o["itemCode"] for o in state["orders"]] == [receipt.waybill]
    assert state["createRequests"] == 1  # the two 503s reached nothing


def test_down_longer_than_the_retries_raises_unavailable_then_once_back_one_order(sandbox):
    sandbox.control("/sandbox/down", {"requests": 3})
    with pytest.raises(CarrierUnavailable, match="503"):
        adapter(sandbox, attempts=3).create_order(ORDER)
    assert sandbox.orders()["orders"] == []
    receipt = adapter(sandbox).create_order(ORDER)
    assert receipt == adapter(sandbox).create_order(ORDER)
    assert [o["itemCode"] for o in sandbox.orders()["orders"]] == [receipt.waybill]


def test_a_create_that_times_out_after_the_carrier_took_it_is_retried_to_the_same_waybill(sandbox):
    sandbox.control("/sandbox/slow", {"seconds": 2.5, "requests": 1})  # took the order, answers too late
    receipt = adapter(sandbox, timeout_seconds=0.5).create_order(ORDER)
    state = sandbox.orders(ORDER.order_number)
    assert [o["itemCode"] for o in state["orders"]] == [receipt.waybill]
    assert state["createRequests"] == 2  # the timed-out call and its retry, one parcel


def test_a_carrier_that_keeps_timing_out_raises_unavailable(sandbox):
    sandbox.control("/sandbox/slow", {"seconds": 1.5, "requests": 2})
    with pytest.raises(CarrierUnavailable, match="did not answer"):
        adapter(sandbox, timeout_seconds=0.3, attempts=2).track("EB000000000VN")


def test_refusals_carry_the_carriers_reason_and_store_nothing(sandbox):
    no_commune = dataclasses.replace(ORDER, receiver=dataclasses.replace(ORDER.receiver, commune_code=""))
    with pytest.raises(CarrierRefused) as refused:
        adapter(sandbox).create_order(no_commune)
    assert refused.value.reason == "receiverCommuneCode is required"
    with pytest.raises(CarrierRefused, match="token"):
        VNPostCarrier(sandbox.url, "KH-0001", "wrong-token", sandbox.secret).create_order(ORDER)
    with pytest.raises(CarrierRefused, match="Không tìm thấy"):
        adapter(sandbox).track("EB000000000VN")
    assert sandbox.orders()["orders"] == []


def test_cancel_before_pickup_and_a_refusal_after(sandbox):
    carrier = adapter(sandbox)
    waiting, moving = carrier.create_order(ORDER), carrier.create_order(dataclasses.replace(ORDER, order_number="X-2"))
    carrier.cancel_order(waiting.waybill)
    carrier.cancel_order(waiting.waybill)  # again: the same answer
    assert carrier.track(waiting.waybill)[-1].status == S.CANCELLED
    sandbox.control("/sandbox/advance", {"itemCode": moving.waybill})
    with pytest.raises(CarrierRefused, match="đã được thu gom"):
        carrier.cancel_order(moving.waybill)


def test_track_returns_the_history_after_advancing(sandbox):
    carrier = adapter(sandbox)
    receipt = carrier.create_order(ORDER)
    sandbox.control("/sandbox/advance", {"itemCode": receipt.waybill, "stages": 3})
    history = carrier.track(receipt.waybill)
    assert [e.status for e in history] == [S.ACCEPTED, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY]
    assert {(e.waybill, e.order_number) for e in history} == {(receipt.waybill, ORDER.order_number)}
    assert len({e.event_id for e in history}) == 4
    assert all(e.at.utcoffset().total_seconds() == 0 for e in history)
    assert [e.at for e in history] == sorted(e.at for e in history)


def test_a_parcel_is_returned_to_sender_after_the_last_failed_attempt(sandbox):
    carrier = adapter(sandbox)
    receipt = carrier.create_order(ORDER)
    sandbox.control("/sandbox/fail-next-attempt",
                    {"itemCode": receipt.waybill, "count": 2, "reason": "Người nhận vắng nhà"})
    sandbox.control("/sandbox/advance", {"itemCode": receipt.waybill, "stages": 10})
    history = carrier.track(receipt.waybill)
    assert [e.status for e in history][3:] == [S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT, S.OUT_FOR_DELIVERY,
                                               S.FAILED_ATTEMPT, S.RETURNED_TO_SENDER]
    assert history[4].note == "Người nhận vắng nhà"


def test_webhooks_read_and_a_badly_signed_one_raises_bad_signature(sandbox, inbox):
    carrier = adapter(sandbox)
    sandbox.control("/sandbox/webhook", {"mode": "bad-signature"})
    receipt = carrier.create_order(ORDER)  # reports ACCEPTED, signed with a wrong key
    sandbox.control("/sandbox/advance", {"itemCode": receipt.waybill})  # PICKED_UP, signed right
    (bad_body, bad_headers), (body, headers) = inbox.wait_for(2, receipt.waybill)
    with pytest.raises(BadSignature):
        carrier.read_webhook(bad_body, bad_headers)
    [event] = carrier.read_webhook(body, headers)
    assert (event.waybill, event.order_number, event.status) == (receipt.waybill, ORDER.order_number, S.PICKED_UP)
    with pytest.raises(BadSignature):  # a body changed on the way
        carrier.read_webhook(body.replace(b'"200"', b'"500"'), headers)


def test_webhooks_twice_and_late_arrive_as_commanded_and_read_alike(sandbox, inbox):
    carrier = adapter(sandbox)
    sandbox.control("/sandbox/webhook", {"mode": "duplicate"})
    receipt = carrier.create_order(ORDER)  # ACCEPTED, twice
    sandbox.control("/sandbox/webhook", {"mode": "late"})
    sandbox.control("/sandbox/advance", {"itemCode": receipt.waybill})  # PICKED_UP, held back
    sandbox.control("/sandbox/advance", {"itemCode": receipt.waybill})  # IN_TRANSIT, then the held one
    events = [e for body, headers in inbox.wait_for(4, receipt.waybill) for e in carrier.read_webhook(body, headers)]
    assert [e.status for e in events] == [S.ACCEPTED, S.ACCEPTED, S.IN_TRANSIT, S.PICKED_UP]
    assert events[0].event_id == events[1].event_id and events[3].at <= events[2].at
    assert json.loads(inbox.about(receipt.waybill)[0][0])["events"][0]["statusText"] == "Đã tiếp nhận đơn hàng"


def test_the_sandbox_down_for_a_while_is_waited_out_and_orders_once(sandbox):
    sandbox.control("/sandbox/down", {"seconds": 0.8})
    receipt = adapter(sandbox, attempts=8, backoff_max_seconds=0.4).create_order(ORDER)
    state = sandbox.orders()
    assert [o["itemCode"] for o in state["orders"]] == [receipt.waybill] and state["createRequests"] == 1


def test_parcels_move_on_by_themselves_on_the_schedule(tmp_path, inbox):
    with sandbox_process(tmp_path, inbox.url, "--seconds-per-stage", "0.2") as scheduled:
        carrier = adapter(scheduled)
        receipt = carrier.create_order(ORDER)
        reports = inbox.wait_for(5, receipt.waybill)  # accepted, then four stages on the schedule
        events = [e for body, headers in reports for e in carrier.read_webhook(body, headers)]
        assert [e.status for e in events] == [S.ACCEPTED, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]
        assert carrier.track(receipt.waybill) == events
