"""Delivery end to end with the carrier sandbox (issue 13): intake, delivery and documents as real
processes, delivery's carrier the CARRIER SANDBOX process LocalPlatform starts beside it (not a
carrier; its control routes move the parcels and command the faults), its webhooks POSTed to
delivery's worker. A result goes out by post, fails once, is delivered: status 10 at intake and the
citizen's lookup says so; a parcel returned after its last failed attempt; webhooks with a bad
signature, repeated or out of order; the sandbox down while orders are made.

On the forms vhost, its consumers' queues emptied before and after (`on_forms_vhost`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import pathlib
import time

import grpc
import pytest
import requests
from conftest import UNIT, bearer, on_forms_vhost, stub

from onestop.common.v1 import common_pb2
from onestop.delivery.v1 import delivery_pb2 as dpb
from onestop.documents.v1 import documents_pb2 as docpb
from onestop.intake.v1 import intake_pb2 as pb
from onestop_chassis.worktime import VIETNAM

from support import error_info, submit_request

POSTAL = "2.001610"  # a demo procedure that allows postal return
RESULT = "Giấy chứng nhận đăng ký doanh nghiệp"
TO_POST = "Biên bản bàn giao kết quả giải quyết TTHC cho doanh nghiệp bưu chính"
TO_APPLICANT = "Biên bản bàn giao kết quả giải quyết TTHC cho tổ chức, cá nhân"
TO_DESK = "Biên bản bàn giao hồ sơ TTHC tiếp nhận qua bưu chính cho bộ phận một cửa"
AT_PICKUP = "Biên bản giao nhận hồ sơ TTHC giữa tổ chức, cá nhân và doanh nghiệp bưu chính"
RECEIPT = "Biên lai thu tiền (thu hộ phí, lệ phí thủ tục hành chính và cước bưu chính)"


@pytest.fixture(scope="module")
def platform(local_stack, tmp_path_factory):
    # the order timer every half second, so a test waits for its order, not for the default 30 s
    with on_forms_vhost(tmp_path_factory, "deljourney", ("intake", "documents", "delivery"),
                        {"ORDER_RETRY_SECONDS": "0.5", "CARRIER_BACKOFF_MAX_SECONDS": "0.2"}) as p:
        yield p


@pytest.fixture()
def stubs(platform):
    with stub(platform, "intake") as i, stub(platform, "delivery") as d, stub(platform, "documents") as c:
        yield i, d, c


def _wait(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _sandbox(platform, path: str, body: dict | None = None) -> dict:
    answer = requests.post(platform.sandbox_url + path, json=body or {}, timeout=10)
    answer.raise_for_status()
    return answer.json()


def _sandbox_orders(platform, order_number: str | None = None) -> dict:
    params = {"orderNumber": order_number} if order_number else {}
    return requests.get(platform.sandbox_url + "/sandbox/orders", params=params, timeout=10).json()


def _submitted(intake, **overrides) -> pb.SubmitDossierResponse:
    procedure = intake.GetProcedure(pb.GetProcedureRequest(code=POSTAL)).procedure
    request = submit_request(procedure_code=POSTAL, documents=[
        pb.SubmittedDocument(name=d.name, copy_kind=d.copy_kind, count=1)
        for d in procedure.required_documents if d.required], **overrides)
    request.applicant.address.commune_code, request.applicant.address.province_code = "26734", "79"
    return intake.SubmitDossier(request, metadata=bearer())


def _finished_by_post(intake) -> tuple[str, str]:
    """A dossier that chose postal return, its result recorded (intake's DossierFinished books the
    outbound shipment at delivery); its code and lookup secret."""
    submitted = _submitted(intake, return_by_post=True)
    code = submitted.dossier.code
    intake.RecordResult(pb.RecordResultRequest(code=code, summary=RESULT), metadata=bearer())
    return code, submitted.lookup_secret


def _shipment(delivery, shipment_id: str) -> dpb.GetShipmentResponse:
    return delivery.GetShipment(dpb.GetShipmentRequest(id=shipment_id), metadata=bearer(), timeout=10)


def _ordered(platform, delivery, code: str, shipment_id: str = "") -> str:
    """Waits until the worker has ordered the result's parcel (or `shipment_id`): its `ordered` entry
    and the sandbox's first report (accepted, `<waybill>-1`) are in the log, in either order (the
    report may beat the carrier's answer); the waybill."""
    shipment_id = shipment_id or f"{code}-R1"

    def accepted():
        try:
            got = _shipment(delivery, shipment_id)
        except Exception:  # not booked yet
            return None
        w = got.shipment.waybill
        ordered = any(e.kind == "ordered" for e in got.log)
        return w if w and ordered and any(e.event_id == f"{w}-1" for e in got.log) else None
    return _wait(accepted, f"the order of {shipment_id} and the carrier's first report")


def _settled(delivery, shipment_id: str, event_ids: set[str]) -> dpb.GetShipmentResponse:
    def logged():
        got = _shipment(delivery, shipment_id)
        return got if event_ids <= {e.event_id for e in got.log} else None
    return _wait(logged, f"reports {sorted(event_ids)} in the log of {shipment_id}")


def _dossier(intake, code: str) -> pb.Dossier:
    return intake.GetDossier(pb.GetDossierRequest(code=code), metadata=bearer()).dossier


def test_a_result_fails_once_then_is_delivered_by_post(platform, stubs):
    intake, delivery, documents = stubs
    code, secret = _finished_by_post(intake)
    waybill = _ordered(platform, delivery, code)
    assert [o["orderNumber"] for o in _sandbox_orders(platform, f"{code}-R1")["orders"]] == [f"{code}-R1"]
    _sandbox(platform, "/sandbox/fail-next-attempt", {"itemCode": waybill, "count": 1,
                                                      "reason": "Người nhận vắng nhà"})
    # picked up, in transit, out for delivery, failed, out for delivery again, delivered
    _sandbox(platform, "/sandbox/advance", {"itemCode": waybill, "stages": 6})

    def returned():
        d = _dossier(intake, code)
        return d if d.status == common_pb2.DOSSIER_STATUS_RESULT_RETURNED else None
    dossier = _wait(returned, "status 10 at intake")
    assert dossier.result_return.method == pb.RETURN_METHOD_BY_POST
    assert dossier.result_return.postal_tracking_number == waybill
    lookup = intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=secret)).dossier
    assert lookup.status == common_pb2.DOSSIER_STATUS_RESULT_RETURNED
    assert lookup.postal_notice.startswith(f"Đã phát kết quả qua bưu chính, số hiệu bưu gửi {waybill}")

    got = _settled(delivery, f"{code}-R1", {f"{waybill}-{n}" for n in range(1, 8)})
    assert (got.shipment.state, got.shipment.failed_attempts) == (dpb.SHIPMENT_STATE_DELIVERED, 1)
    moves = [e.state for e in got.log if e.kind == "report" and e.applied]
    assert moves[-6:] == [dpb.SHIPMENT_STATE_PICKED_UP, dpb.SHIPMENT_STATE_IN_TRANSIT,
                          dpb.SHIPMENT_STATE_OUT_FOR_DELIVERY, dpb.SHIPMENT_STATE_FAILED_ATTEMPT,
                          dpb.SHIPMENT_STATE_OUT_FOR_DELIVERY, dpb.SHIPMENT_STATE_DELIVERED]
    assert all(e.source == "carrier_webhook" for e in got.log if e.kind == "report")

    # the postage the applicant paid on delivery: a numbered receipt, recorded on the delivery's entry
    assert [e.receipt_number for e in got.log if e.receipt_number] == [f"BL-{code}-R1"]
    assert next(e for e in got.log if e.receipt_number).state == dpb.SHIPMENT_STATE_DELIVERED

    # both handover records (agency → post at pickup, post → applicant at delivery) and the receipt
    # filed as PDFs
    def filed():
        listed = documents.ListDocuments(docpb.ListDocumentsRequest(dossier_code=code, agency_code=UNIT),
                                         metadata=bearer()).documents
        forms = {d.component: d for d in listed if d.kind == docpb.DOCUMENT_KIND_FORM}
        return forms if {TO_POST, TO_APPLICANT, RECEIPT} <= set(forms) else None
    forms = _wait(filed, "the two handover records and the receipt at documents")
    assert all(forms[t].content_type == "application/pdf" and forms[t].size_bytes > 0
               for t in (TO_POST, TO_APPLICANT, RECEIPT))


def test_a_parcel_returned_after_its_last_failed_attempt_is_back_at_the_desk(platform, stubs):
    intake, delivery, _ = stubs
    code, secret = _finished_by_post(intake)
    waybill = _ordered(platform, delivery, code)
    _sandbox(platform, "/sandbox/fail-next-attempt", {"itemCode": waybill, "count": 3})
    # picked up, in transit, then three times out for delivery and failed, then returned (9 stages)
    events = _sandbox(platform, "/sandbox/advance", {"itemCode": waybill, "stages": 9})["events"]
    assert events[-1]["statusCode"] == "600"
    got = _settled(delivery, f"{code}-R1", {f"{waybill}-{n}" for n in range(1, 11)})
    assert (got.shipment.state, got.shipment.failed_attempts) == (dpb.SHIPMENT_STATE_RETURNED_TO_SENDER, 3)

    def notice():
        found = intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=secret)).dossier
        return found if found.postal_notice else None
    lookup = _wait(notice, "the lookup's notice of the returned parcel")
    assert lookup.postal_notice == "Bưu điện đã hoàn trả kết quả; mời nhận tại bộ phận một cửa"
    assert lookup.status == common_pb2.DOSSIER_STATUS_FINISHED
    assert _dossier(intake, code).status == common_pb2.DOSSIER_STATUS_FINISHED


def _secret(platform) -> bytes:
    return pathlib.Path(platform.env("delivery")["CARRIER_WEBHOOK_SECRET_FILE"]).read_text().strip().encode()


def _post_webhook(platform, body: bytes, signature: str) -> requests.Response:
    return requests.post(f"http://127.0.0.1:{platform.web_ports['delivery']}/carrier/webhook", data=body,
                         headers={"Content-Type": "application/json", "X-Signature": signature}, timeout=10)


def test_a_webhook_with_a_bad_signature_changes_nothing(platform, stubs):
    intake, delivery, _ = stubs
    code, _ = _finished_by_post(intake)
    waybill = _ordered(platform, delivery, code)
    before = _shipment(delivery, f"{code}-R1")
    forged = json.dumps({"events": [{"eventId": "forged-1", "itemCode": waybill, "orderNumber": f"{code}-R1",
                                     "statusCode": "500", "statusText": "Phát thành công",
                                     "time": "2026-11-30T10:00:00+07:00", "note": ""}]}).encode()
    assert _post_webhook(platform, forged, hmac.new(b"not-the-secret", forged, hashlib.sha256).hexdigest()
                         ).status_code == 401
    assert _post_webhook(platform, forged, "").status_code == 401
    # the sandbox itself, told to sign its next report with a wrong key: the worker refuses it too
    sent = _sandbox_orders(platform)["webhooksSent"]
    _sandbox(platform, "/sandbox/webhook", {"mode": "bad-signature"})
    _sandbox(platform, "/sandbox/advance", {"itemCode": waybill, "stages": 1})
    _wait(lambda: _sandbox_orders(platform)["webhooksSent"] > sent, "the sandbox's badly signed webhook")
    after = _shipment(delivery, f"{code}-R1")
    assert after.shipment == before.shipment and list(after.log) == list(before.log)
    # a well signed report of a waybill nobody has: 404, nothing stored
    unknown = forged.replace(waybill.encode(), b"EB000000000VN").replace(f"{code}-R1".encode(), b"X-R1")
    assert _post_webhook(platform, unknown, hmac.new(_secret(platform), unknown, hashlib.sha256).hexdigest()
                         ).status_code == 404
    assert list(_shipment(delivery, f"{code}-R1").log) == list(before.log)


def test_webhooks_repeated_and_out_of_order_leave_the_log_right(platform, stubs):
    intake, delivery, _ = stubs
    code, _ = _finished_by_post(intake)
    waybill = _ordered(platform, delivery, code)
    # picked up: sent twice; in transit: held back and sent after out for delivery
    _sandbox(platform, "/sandbox/webhook", {"mode": "duplicate"})
    _sandbox(platform, "/sandbox/webhook", {"mode": "late"})
    _sandbox(platform, "/sandbox/advance", {"itemCode": waybill, "stages": 3})
    got = _settled(delivery, f"{code}-R1", {f"{waybill}-{n}" for n in range(1, 5)})
    reports = [e for e in got.log if e.kind == "report"]
    ids = [e.event_id for e in reports]
    assert len(ids) == len(set(ids)) == 4  # the repeat is not logged again
    assert got.shipment.state == dpb.SHIPMENT_STATE_OUT_FOR_DELIVERY  # the late report did not move it back
    in_transit = next(e for e in reports if e.event_id == f"{waybill}-3")
    assert not in_transit.applied and in_transit.note.startswith("out of order")
    assert ids.index(f"{waybill}-3") > ids.index(f"{waybill}-4")  # it arrived after the next one
    assert [e.seq for e in got.log] == list(range(1, len(got.log) + 1))


def _unavailable(platform, error: str) -> bool:
    """Whether delivery's worker logged the carrier as unavailable with `error` (its log lines)."""
    lines = platform.processes["delivery-worker"].lines()
    return any("carrier unavailable" in line and error in line for line in lines)


def _booked(platform, code: str) -> None:
    _wait(lambda: platform.db("delivery")["shipment_log"].find_one({"_id": f"{code}-R1|000001"}),
          f"the booking of {code}")


def test_orders_made_while_the_sandbox_is_down_are_placed_once_it_is_back(platform, stubs):
    intake, delivery, _ = stubs
    # down in the carrier's own way first (every API call answered 503), then gone (connections refused)
    _sandbox(platform, "/sandbox/down", {"requests": 100000})
    codes = [_finished_by_post(intake)[0]]
    _booked(platform, codes[0])
    _wait(lambda: _unavailable(platform, "answered 503"), "the order timer meeting the carrier's 503")
    platform.stop_sandbox()
    try:
        codes.append(_finished_by_post(intake)[0])
        _booked(platform, codes[1])
        _wait(lambda: _unavailable(platform, "cannot be reached"), "the order timer finding the carrier gone")
        assert all(not _shipment(delivery, f"{code}-R1").shipment.waybill for code in codes)
    finally:
        platform.start_sandbox()  # a new process: up, and it knows no order
    waybills = [_ordered(platform, delivery, code) for code in codes]
    time.sleep(2)  # more passes of the order timer: none may order again
    seen = _sandbox_orders(platform)
    for code, waybill in zip(codes, waybills, strict=True):
        assert [o["itemCode"] for o in seen["orders"] if o["orderNumber"] == f"{code}-R1"] == [waybill]
        log = _shipment(delivery, f"{code}-R1").log
        assert [e.kind for e in log].count("ordered") == 1


def _totals(delivery) -> dpb.GetPostalTotalsResponse:
    year = str(dt.datetime.now(VIETNAM).year)
    return delivery.GetPostalTotals(dpb.GetPostalTotalsRequest(period=year), metadata=bearer(), timeout=10)


def test_a_dossier_picked_up_by_post_reaches_the_desk_on_channel_3_with_its_handover_record(platform, stubs):
    intake, delivery, documents = stubs
    before = _totals(delivery)
    book = dpb.CreateShipmentRequest(
        direction=dpb.DIRECTION_INBOUND, procedure_code=POSTAL, pickup_fees_vnd=30000, applicant=dpb.PostalParty(
            name="Nguyễn Thị Hồng Nhung", phone="0912345678", address_line="12 Lê Lợi", commune_code="26734",
            province_code="79"), request_id=f"pickup-{time.time_ns()}")
    pickup = delivery.CreateShipment(book, metadata=bearer(), timeout=10).shipment
    assert pickup.id.endswith("-N1") and pickup.receiver.name  # to the agency's desk
    waybill = _ordered(platform, delivery, "", pickup.id)
    # the desk's retry (its answer lost): the same pickup, one order at the carrier; other content: refused
    assert delivery.CreateShipment(book, metadata=bearer(), timeout=10).shipment.id == pickup.id
    book.weight_grams = 900
    assert _refused_call(delivery.CreateShipment, book) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    assert [o["itemCode"] for o in _sandbox_orders(platform, pickup.id)["orders"]] == [waybill]
    by_post = _submitted(intake, channel=common_pb2.CHANNEL_POSTAL).dossier.code
    at_desk = _submitted(intake).dossier.code

    def refused(code: str) -> tuple[grpc.StatusCode, str]:
        logged = len(_shipment(delivery, pickup.id).log)
        with pytest.raises(grpc.RpcError) as err:
            delivery.HandOverPickup(dpb.HandOverPickupRequest(shipment_id=pickup.id, dossier_code=code),
                                    metadata=bearer(), timeout=10)
        assert len(_shipment(delivery, pickup.id).log) == logged  # nothing stored
        return err.value.code(), error_info(err.value)[0]
    assert refused(by_post) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_DELIVERED")
    # picked up at the applicant's, in transit, out for delivery, delivered to the desk
    _sandbox(platform, "/sandbox/advance", {"itemCode": waybill, "stages": 4})
    picked = _settled(delivery, pickup.id, {f"{waybill}-{n}" for n in range(1, 6)})
    # the fees and the postage the postal worker collected at the pickup: a numbered receipt there
    assert [(e.state, e.receipt_number) for e in picked.log if e.receipt_number] == [
        (dpb.SHIPMENT_STATE_PICKED_UP, f"BL-{pickup.id}")]
    after = _totals(delivery)
    assert (after.shipments - before.shipments, after.postal_charge_vnd - before.postal_charge_vnd,
            after.delivered - before.delivered, after.pickup_fees_vnd - before.pickup_fees_vnd,
            after.cod_vnd - before.cod_vnd) == (1, picked.shipment.postal_charge_vnd, 1, 30000, 0)
    assert refused(at_desk) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_POSTAL_CHANNEL")
    handed = delivery.HandOverPickup(dpb.HandOverPickupRequest(shipment_id=pickup.id, dossier_code=by_post),
                                     metadata=bearer(), timeout=10).shipment
    assert (handed.state, handed.dossier_code) == (dpb.SHIPMENT_STATE_DELIVERED, by_post)
    assert _dossier(intake, by_post).channel == common_pb2.CHANNEL_POSTAL
    assert _shipment(delivery, pickup.id).log[-1].kind == "handed_over"

    # filed under the new dossier: the pickup's record applicant → post, its receipt, the record post → desk
    def filed():
        listed = documents.ListDocuments(docpb.ListDocumentsRequest(dossier_code=by_post, agency_code=UNIT),
                                         metadata=bearer()).documents
        forms = [d for d in listed if d.kind == docpb.DOCUMENT_KIND_FORM]
        return forms if {TO_DESK, AT_PICKUP, RECEIPT} <= {d.component for d in forms} else None
    forms = _wait(filed, "the handover records and the receipt of the pickup at documents")
    records = [d for d in forms if d.component in (TO_DESK, AT_PICKUP, RECEIPT)]
    assert sorted(d.component for d in records) == sorted([TO_DESK, AT_PICKUP, RECEIPT])  # each once
    assert all(d.content_type == "application/pdf" and d.size_bytes > 0 for d in records)


def _refused_call(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call(request, metadata=bearer(), timeout=30)
    return err.value.code(), error_info(err.value)[0]


def _live_orders(platform, code: str) -> list[str]:
    orders = _sandbox_orders(platform)["orders"]
    return sorted(o["orderNumber"] for o in orders if o["orderNumber"].startswith(f"{code}-R")
                  and o["statusCode"] != "700")


def test_cancelled_at_the_carrier_then_rebooked_one_live_order_and_a_refusal_changes_nothing(platform, stubs):
    intake, delivery, _ = stubs
    code, _ = _finished_by_post(intake)
    waybill = _ordered(platform, delivery, code)
    cancel = dpb.CancelShipmentRequest(id=f"{code}-R1", reason="Công dân đổi địa chỉ", by_citizen=True,
                                       request_id=f"cancel-{code}")
    cancelled = delivery.CancelShipment(cancel, metadata=bearer(), timeout=30).shipment
    assert cancelled.state == dpb.SHIPMENT_STATE_CANCELLED
    assert delivery.CancelShipment(cancel, metadata=bearer(), timeout=30).shipment.state == cancelled.state
    assert [o["statusCode"] for o in _sandbox_orders(platform, f"{code}-R1")["orders"]] == ["700"]
    rebooked = delivery.RebookShipment(dpb.RebookShipmentRequest(id=f"{code}-R1", request_id=f"rebook-{code}"),
                                       metadata=bearer(), timeout=30).shipment
    assert rebooked.id == f"{code}-R2"
    _ordered(platform, delivery, code, rebooked.id)
    assert _live_orders(platform, code) == [f"{code}-R2"]  # the post holds one live order, the new one

    # the carrier has the parcel, its report not in yet (held back): the carrier's refusal is the answer
    second, _ = _finished_by_post(intake)
    held = _ordered(platform, delivery, second)
    _sandbox(platform, "/sandbox/webhook", {"mode": "late"})
    _sandbox(platform, "/sandbox/advance", {"itemCode": held, "stages": 1})
    with pytest.raises(grpc.RpcError) as err:
        delivery.CancelShipment(dpb.CancelShipmentRequest(id=f"{second}-R1"), metadata=bearer(), timeout=30)
    assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_PICKED_UP")
    assert "cancelled" not in [e.kind for e in _shipment(delivery, f"{second}-R1").log]
    got = _settled(delivery, f"{second}-R1", {f"{held}-2"})  # the held report, sent late
    assert got.shipment.state == dpb.SHIPMENT_STATE_PICKED_UP and waybill != held


def test_a_parcel_the_post_keeps_is_not_rebooked_once_returned_it_is_and_the_lookup_follows(platform, stubs):
    intake, delivery, _ = stubs
    code, secret = _finished_by_post(intake)
    old = _ordered(platform, delivery, code)
    _sandbox(platform, "/sandbox/fail-next-attempt", {"itemCode": old, "count": 3})
    _sandbox(platform, "/sandbox/advance", {"itemCode": old, "stages": 4})  # picked up … first attempt failed
    _settled(delivery, f"{code}-R1", {f"{old}-{n}" for n in range(1, 6)})
    rebook = dpb.RebookShipmentRequest(id=f"{code}-R1", request_id=f"rebook-{code}")
    # the post keeps the parcel (it refuses the cancellation): no second order for one result
    assert _refused_call(delivery.RebookShipment, rebook) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                              "ALREADY_PICKED_UP")
    assert _refused_call(delivery.GetShipment, dpb.GetShipmentRequest(id=f"{code}-R2"))[0] == grpc.StatusCode.NOT_FOUND
    assert _live_orders(platform, code) == [f"{code}-R1"]
    # two more failures: the post returns it to the desk, which sends it again
    events = _sandbox(platform, "/sandbox/advance", {"itemCode": old, "stages": 5})["events"]
    assert events[-1]["statusCode"] == "600"
    got = _settled(delivery, f"{code}-R1", {f"{old}-{n}" for n in range(1, 11)})
    assert got.shipment.state == dpb.SHIPMENT_STATE_RETURNED_TO_SENDER

    def lookup_says(text):
        def check():
            found = intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=secret)).dossier
            return found if found.postal_notice.startswith(text) else None
        return _wait(check, f"the lookup's notice {text!r}")
    lookup_says("Bưu điện đã hoàn trả kết quả; mời nhận tại bộ phận một cửa")
    new = delivery.RebookShipment(rebook, metadata=bearer(), timeout=30).shipment
    assert new.id == f"{code}-R2"
    assert lookup_says(f"Kết quả được gửi lại qua bưu chính (đơn {code}-R2)").status == \
        common_pb2.DOSSIER_STATUS_FINISHED
    waybill = _ordered(platform, delivery, code, new.id)
    _sandbox(platform, "/sandbox/advance", {"itemCode": waybill, "stages": 4})  # the new parcel: delivered

    def returned():
        d = _dossier(intake, code)
        return d if d.status == common_pb2.DOSSIER_STATUS_RESULT_RETURNED else None
    assert _wait(returned, "status 10 at intake").result_return.postal_tracking_number == waybill
    lookup_says(f"Đã phát kết quả qua bưu chính, số hiệu bưu gửi {waybill}")


def test_a_signed_webhook_that_is_not_the_carriers_shape_answers_400(platform, stubs):
    intake, delivery, _ = stubs
    code, _ = _finished_by_post(intake)
    waybill = _ordered(platform, delivery, code)
    before = list(_shipment(delivery, f"{code}-R1").log)
    no_time = json.dumps({"events": [{"eventId": "m-1", "itemCode": waybill, "statusCode": "500"}]}).encode()
    for body in (b"{not json", json.dumps({"events": "none"}).encode(), no_time):
        answer = _post_webhook(platform, body, hmac.new(_secret(platform), body, hashlib.sha256).hexdigest())
        assert answer.status_code == 400 and answer.json()["error"]
    assert _post_webhook(platform, no_time, "0" * 64).status_code == 401
    assert list(_shipment(delivery, f"{code}-R1").log) == before
