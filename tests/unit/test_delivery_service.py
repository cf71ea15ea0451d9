"""Delivery: its use cases over in-memory fakes (store, intake, carrier), the order timer's retries,
the webhook, the fee tables, and the RPCs through the chassis' real gRPC server wired by its
composition root."""

from __future__ import annotations

import datetime as dt
import json
import socket

import grpc
import pytest

from onestop.delivery.v1 import delivery_pb2, delivery_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.config import load_settings
from onestop_chassis.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from onestop_chassis.grpc_server import GrpcServer
from onestop_delivery import api, domain, fees
from onestop_delivery.bootstrap import bootstrap
from onestop_delivery.carrier import CarrierStatus, Direction, Party, TrackingEvent
from onestop_delivery.config import PACKAGED_TABLES, DeliverySettings
from onestop_delivery.domain import Source, State
from onestop_delivery.ordering import OrderPass
from onestop_delivery.service import DossierFacts, NewShipment

from fakes import Clock, FakeCarrier, FakeIntakeFacts, FakeShipmentStore

UNIT, OTHER_UNIT = "000.00.21.H17", "000.40.21.H17"
CODE, NOT_CHOSEN, NO_POSTAL = f"{UNIT}-261117-0001", f"{UNIT}-261117-0002", f"{UNIT}-261117-0003"
NOW = dt.datetime(2026, 11, 17, 0, 31, tzinfo=dt.UTC)
OFFICER = auth.Principal(subject="officer", roles=frozenset({auth.DESK_OFFICER}), agency=UNIT)
CARRIER = auth.Principal(subject="vnpost", roles=frozenset({auth.SERVICE}))
CITIZEN = Party("Nguyễn Văn An", "0912345678", "12 Lê Lợi", "20200", "48")
TABLES = fees.read_tables(PACKAGED_TABLES)


class World:
    def __init__(self):
        self.store, self.carrier, self.clock = FakeShipmentStore(), FakeCarrier(), Clock(NOW)
        self.intake = FakeIntakeFacts(
            [DossierFacts(CODE, UNIT, "1.000001", True, True), DossierFacts(NOT_CHOSEN, UNIT, "1.000001", False, True),
             DossierFacts(NO_POSTAL, UNIT, "2.000002", True, False)],
            {"1.000001": True, "2.000002": False})
        self.delivery = bootstrap(DeliverySettings(max_delivery_attempts=2), shipments=self.store,
                                  intake=self.intake, tables=TABLES, carrier=self.carrier, clock=self.clock)
        self.service, self.ordering = self.delivery.service, self.delivery.ordering

    def book(self, code=CODE, **kw):
        return self.service.create_shipment(NewShipment(Direction.OUTBOUND, dossier_code=code, applicant=CITIZEN,
                                                        cod_vnd=50000, **kw), OFFICER)

    def report(self, waybill, status, event_id, minutes):
        event = TrackingEvent(event_id, waybill, "", status, NOW + dt.timedelta(minutes=minutes))
        return self.service.record_report(waybill, event, Source.CARRIER_POLL, CARRIER)

    def ordered(self):
        shipment = self.book()
        assert self.ordering.place_due().placed == 1
        return self.service.get(shipment.id, "", OFFICER).shipment


@pytest.fixture
def world():
    return World()


def test_the_desk_books_the_result_of_a_dossier_that_chose_postal_return(world):
    s = world.book()
    assert (s.id, s.state, s.header.receiver, s.header.sender.province_code) == (f"{CODE}-R1", State.CREATED,
                                                                                CITIZEN, "48")
    assert (s.header.fees.postal_charge, s.header.fees.cod) == (16500, 50000)  # nội tỉnh, 250 g
    assert [type(e).__name__ for e in world.store.events] == ["ShipmentCreated"]
    assert world.service.get("", CODE, OFFICER).shipment.id == s.id
    # nothing is charged or collected at booking: postage when the post takes the parcel, COD on delivery
    assert world.service.fee_totals(UNIT, "2026-11") == {"shipments": 0, "postal_charge_vnd": 0, "delivered": 0,
                                                         "cod_vnd": 0, "pickup_fees_vnd": 0}


@pytest.mark.parametrize("code, reason", [(NOT_CHOSEN, "POSTAL_RETURN_NOT_CHOSEN"), (NO_POSTAL, "POSTAL_NOT_ALLOWED")])
def test_a_dossier_without_postal_return_is_refused_and_nothing_is_stored(world, code, reason):
    with pytest.raises(FailedPrecondition) as refused:
        world.book(code)
    assert refused.value.reason == reason
    assert world.store.logs == {} and world.store.events == [] and world.store.due == set()


def test_an_address_missing_its_unit_codes_names_the_fields(world):
    bad = Party(CITIZEN.name, CITIZEN.phone, CITIZEN.address_line, "", "")
    with pytest.raises(InvalidArgument) as refused:
        world.service.create_shipment(NewShipment(Direction.OUTBOUND, dossier_code=CODE, applicant=bad), OFFICER)
    assert [v.field for v in refused.value.violations] == ["applicant.commune_code", "applicant.province_code"]
    assert world.store.logs == {}


def test_another_agency_and_a_second_booking_are_refused(world):
    stranger = auth.Principal("other", frozenset({auth.DESK_OFFICER}), OTHER_UNIT)
    with pytest.raises(PermissionDenied):
        world.service.create_shipment(NewShipment(Direction.OUTBOUND, dossier_code=CODE, applicant=CITIZEN), stranger)
    world.book()
    with pytest.raises(FailedPrecondition) as again:
        world.book()
    assert again.value.reason == "SHIPMENT_EXISTS" and len(world.store.logs) == 1


def test_a_postal_intake_pickup_goes_to_the_desk_and_needs_a_postal_procedure(world):
    with pytest.raises(FailedPrecondition) as refused:
        world.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="2.000002", applicant=CITIZEN),
                                      OFFICER, "pickup-0")
    assert refused.value.reason == "POSTAL_NOT_ALLOWED" and world.store.logs == {}
    s = world.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001", applicant=CITIZEN),
                                      OFFICER, "pickup-1")
    assert domain.SHIPMENT_ID.fullmatch(s.id) and s.id.endswith("-N1") and s.header.sender == CITIZEN
    assert s.header.receiver == TABLES[UNIT].sender


def test_a_carrier_that_is_down_or_times_out_is_asked_again_and_orders_once(world):
    s = world.book()
    world.carrier.down = True
    assert world.ordering.place_due().unavailable == 1
    assert world.carrier.orders == {} and world.store.due == {s.id}
    world.carrier.down, world.carrier.lost_answer = False, True  # the order goes through, the answer is lost
    assert world.ordering.place_due().unavailable == 1
    assert world.ordering.place_due() == OrderPass() and len(world.carrier.calls) == 2  # twice: it waits a period
    world.clock.now += dt.timedelta(seconds=world.ordering.backoff(2))
    assert world.ordering.place_due().placed == 1
    assert world.carrier.calls == [s.id] * 3 and list(world.carrier.orders) == [s.id]
    ordered = world.service.get(s.id, "", OFFICER).shipment
    assert ordered.waybill == "EB000000001VN" and ordered.postal_charge == 23100 and world.store.due == set()
    assert world.ordering.place_due().placed == 0 and len(world.carrier.calls) == 3


def test_the_order_is_logged_when_the_carriers_first_webhook_comes_before_its_answer(world):
    s = world.book()
    create = world.carrier.create_order

    def answered_after_the_webhook(order):  # the carrier's "accepted" report, by order number, wins the race
        receipt = create(order)
        event = TrackingEvent(f"{receipt.waybill}-1", receipt.waybill, order.order_number, CarrierStatus.ACCEPTED, NOW)
        world.service.record_report(receipt.waybill, event, Source.CARRIER_WEBHOOK, CARRIER)
        return receipt
    world.carrier.create_order = answered_after_the_webhook
    assert world.ordering.place_due().placed == 1
    loaded = world.service.get(s.id, "", OFFICER)
    assert [e.kind.value for e in loaded.log] == ["created", "report", "ordered"]
    assert (loaded.shipment.waybill, loaded.shipment.postal_charge) == ("EB000000001VN", 23100)
    assert world.store.due == set() and world.carrier.calls == [s.id]


def test_reports_unknown_repeated_and_out_of_order(world):
    s = world.ordered()
    with pytest.raises(NotFound) as unknown:
        world.report("EB999999999VN", CarrierStatus.PICKED_UP, "x1", 1)
    assert unknown.value.reason == "WAYBILL_NOT_FOUND"
    assert world.report(s.waybill, CarrierStatus.IN_TRANSIT, "e2", 20)[1] is True
    entries = len(world.store.logs[s.id])
    repeated, applied = world.report(s.waybill, CarrierStatus.IN_TRANSIT, "e2", 20)
    assert not applied and len(world.store.logs[s.id]) == entries
    late, applied = world.report(s.waybill, CarrierStatus.PICKED_UP, "e1", 10)
    assert not applied and late.state is State.IN_TRANSIT and len(world.store.logs[s.id]) == entries + 1
    assert "out of order" in world.service.get(s.id, "", OFFICER).log[-1].note


def test_after_a_failed_attempt_or_a_return_a_rebooking_is_the_next_order(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "e1", 1)
    second = world.service.rebook(s.id, None, OFFICER)
    assert second.id == f"{CODE}-R2" and world.service.get(s.id, "", OFFICER).shipment.rebooked_as == second.id
    assert world.service.get("", CODE, OFFICER).shipment.id == second.id
    world.ordering.place_due()
    waybill = world.service.get(second.id, "", OFFICER).shipment.waybill
    world.report(waybill, CarrierStatus.FAILED_ATTEMPT, "f1", 1)
    returned, _ = world.report(waybill, CarrierStatus.FAILED_ATTEMPT, "f2", 2)
    assert returned.state is State.RETURNED_TO_SENDER
    assert "ShipmentReturnedToSender" in [type(e).__name__ for e in world.store.events]
    cancelled = list(world.carrier.cancelled)
    third = world.service.rebook(second.id, None, OFFICER)  # the desk has the parcel back: it goes again
    assert third.id == f"{CODE}-R3" and third.state is State.CREATED
    assert world.carrier.cancelled == cancelled  # the carrier closed the returned order itself
    assert world.service.get("", CODE, OFFICER).shipment.id == third.id


def test_cancel_before_pickup_only(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.PICKED_UP, "e1", 1)
    with pytest.raises(FailedPrecondition) as refused:
        world.service.cancel(s.id, "", False, OFFICER)
    assert refused.value.reason == "ALREADY_PICKED_UP"
    other = world.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                      applicant=CITIZEN), OFFICER, "pickup-1")
    assert world.service.cancel(other.id, "đổi ý", True, OFFICER).state is State.CANCELLED
    assert world.store.due == set() and world.service.fee_totals(UNIT, "2026-11")["shipments"] == 1


def test_a_lost_race_is_retried(world):
    s = world.ordered()
    world.store.lose_next = 1
    assert world.report(s.waybill, CarrierStatus.PICKED_UP, "e1", 1)[1] is True


def test_the_webhook_refuses_a_bad_signature_and_answers_404_for_an_unknown_waybill(world):
    s = world.ordered()
    body = json.dumps([{"event_id": "w1", "waybill": s.waybill, "status": "delivered",
                        "at": (NOW + dt.timedelta(hours=2)).isoformat()}]).encode()
    before = list(world.store.logs[s.id])
    assert world.ordering.webhook(body, {"X-Signature": "forged"}).status == 401
    assert world.store.logs[s.id] == before
    unknown = json.dumps([{"event_id": "w9", "waybill": "EB000000777VN", "status": "delivered",
                           "at": NOW.isoformat()}]).encode()
    assert world.ordering.webhook(unknown, {"X-Signature": "s3cret"}).status == 404
    done = world.ordering.webhook(body, {"X-Signature": "s3cret"})
    assert (done.status, done.applied) == (200, 1)
    assert world.ordering.webhook(body, {"X-Signature": "s3cret"}).applied == 0  # delivered twice
    delivered = [e for e in world.store.events if type(e).__name__ == "ShipmentDelivered"]
    assert len(delivered) == 1 and delivered[0].shipment.waybill == s.waybill


def test_a_charge_table_with_bad_lines_names_them():
    bad = b'agency_code: "000.00.21.H17"\nweight_classes: [500, 250]\nzones:\n  - {name: x, prices: [1]}\n'
    with pytest.raises(InvalidArgument) as refused:
        fees.read_table(bad)
    fields = [v.field for v in refused.value.violations]
    assert "line 2: weight_classes" in fields and "line 4: zones[0].prices" in fields
    table = TABLES[UNIT]
    assert (table.charge("48", "48", 600), table.charge("48", "49", 0), table.charge("48", "01", 5000)) == \
        (25300, 22000, 82500)
    with pytest.raises(InvalidArgument):
        table.charge("48", "48", 5001)


@pytest.fixture
def channel(world):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings(DeliverySettings, grpc_port=port)
    server = GrpcServer(settings)
    api.register(server, world.delivery)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield delivery_pb2_grpc.DeliveryServiceStub(ch), settings
    server.stop(grace=0)


def test_the_rpcs_answer_through_the_chassis(channel, world):
    stub, settings = channel

    def bearer(role: str, agency: str = UNIT) -> tuple:
        token = auth.mint_token(settings.jwt_secret, subject="someone", roles=[role], agency=agency)
        return (("authorization", f"Bearer {token}"),)

    applicant = delivery_pb2.PostalParty(name=CITIZEN.name, phone=CITIZEN.phone, address_line=CITIZEN.address_line,
                                         commune_code=CITIZEN.commune_code, province_code="")
    request = delivery_pb2.CreateShipmentRequest(direction=delivery_pb2.DIRECTION_OUTBOUND, dossier_code=CODE,
                                                 applicant=applicant)
    with pytest.raises(grpc.RpcError) as refused:
        stub.CreateShipment(request, metadata=bearer(auth.DESK_OFFICER), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "applicant.province_code" in refused.value.details()
    request.applicant.province_code = "48"
    made = stub.CreateShipment(request, metadata=bearer(auth.DESK_OFFICER), timeout=10).shipment
    assert (made.id, made.state, made.postal_charge_vnd) == (f"{CODE}-R1", delivery_pb2.SHIPMENT_STATE_CREATED, 16500)
    world.ordering.place_due()
    waybill = stub.GetShipment(delivery_pb2.GetShipmentRequest(dossier_code=CODE), metadata=bearer(auth.DESK_OFFICER),
                               timeout=10).shipment.waybill
    report = delivery_pb2.RecordCarrierReportRequest(waybill=waybill, event_id="r1",
                                                     state=delivery_pb2.SHIPMENT_STATE_DELIVERED)
    report.happened_at.FromDatetime(NOW + dt.timedelta(hours=3))
    answer = stub.RecordCarrierReport(report, metadata=bearer(auth.SERVICE, ""), timeout=10)
    assert answer.applied and answer.shipment.state == delivery_pb2.SHIPMENT_STATE_DELIVERED
    got = stub.GetShipment(delivery_pb2.GetShipmentRequest(id=made.id), metadata=bearer(auth.DESK_OFFICER), timeout=10)
    assert [e.kind for e in got.log] == ["created", "ordered", "report"]
    assert [e.receipt_number for e in got.log] == ["", "", f"BL-{made.id}"]  # the postage paid on delivery
    listed = stub.ListShipments(delivery_pb2.ListShipmentsRequest(), metadata=bearer(auth.DESK_OFFICER), timeout=10)
    assert [s.id for s in listed.shipments] == [made.id]
    totals = stub.GetPostalTotals(delivery_pb2.GetPostalTotalsRequest(month="2026-11"),
                                  metadata=bearer(auth.DESK_OFFICER), timeout=10)
    assert (totals.agency_code, totals.shipments, totals.postal_charge_vnd) == (UNIT, 1, 23100)
    with pytest.raises(grpc.RpcError) as bad_month:
        stub.GetPostalTotals(delivery_pb2.GetPostalTotalsRequest(month="11/2026"), metadata=bearer(auth.DESK_OFFICER),
                             timeout=10)
    assert bad_month.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    quarter = stub.GetPostalTotals(delivery_pb2.GetPostalTotalsRequest(period="2026-Q4"),
                                   metadata=bearer(auth.UNIT_LEADER), timeout=10)
    assert (quarter.period, quarter.shipments, quarter.postal_charge_vnd, quarter.delivered) == ("2026-Q4", 1, 23100, 1)
    for bad in (delivery_pb2.GetPostalTotalsRequest(period="2026-Q4", month="2026-11"),
                delivery_pb2.GetPostalTotalsRequest(), delivery_pb2.GetPostalTotalsRequest(month="2026-Q4"),
                delivery_pb2.GetPostalTotalsRequest(period="2026-Q9")):
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetPostalTotals(bad, metadata=bearer(auth.DESK_OFFICER), timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as other:
        stub.GetShipment(delivery_pb2.GetShipmentRequest(id=made.id), metadata=bearer(auth.DESK_OFFICER, OTHER_UNIT),
                         timeout=10)
    assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_report_may_name_the_order_number_when_it_has_no_waybill(world):
    s = world.book()
    event = TrackingEvent("o1", "", s.id, CarrierStatus.PICKED_UP, NOW + dt.timedelta(minutes=5))
    moved, applied = world.service.record_report("", event, Source.CARRIER_POLL, CARRIER)
    assert applied and moved.state is State.PICKED_UP and moved.waybill == ""
    taught = TrackingEvent("o3", "EB000000555VN", s.id, CarrierStatus.IN_TRANSIT, NOW + dt.timedelta(minutes=9))
    moved, _ = world.service.record_report("EB000000555VN", taught, Source.CARRIER_POLL, CARRIER)
    assert moved.waybill == "EB000000555VN" and world.store.by_waybill("EB000000555VN") == s.id
    with pytest.raises(NotFound) as unknown:
        world.service.record_report("", TrackingEvent("o2", "", f"{NOT_CHOSEN}-R1", CarrierStatus.PICKED_UP, NOW),
                                    Source.CARRIER_POLL, CARRIER)
    assert unknown.value.reason == "WAYBILL_NOT_FOUND" and f"{NOT_CHOSEN}-R1" not in world.store.logs


def _pdf_text(body: bytes) -> str:
    import io
    import re
    import unicodedata

    import pypdf
    reader = pypdf.PdfReader(io.BytesIO(body))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", " ".join(p.extract_text() for p in reader.pages)))


def test_handover_records_are_issued_when_the_parcel_leaves_the_desk_and_reaches_the_applicant(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.PICKED_UP, "e1", 10)
    world.report(s.waybill, CarrierStatus.OUT_FOR_DELIVERY, "e2", 60)
    world.report(s.waybill, CarrierStatus.DELIVERED, "e3", 120)
    world.report(s.waybill, CarrierStatus.DELIVERED, "e4", 130)  # already delivered: no second record
    forms = [e for e in world.store.events if type(e).__name__ == "FormIssued"]
    assert [(f.form, f.dossier_code, f.agency_code) for f in forms] == [(11, CODE, UNIT), (12, CODE, UNIT),
                                                                        (15, CODE, UNIT)]  # and the COD's receipt
    first, second = (_pdf_text(f.pdf) for f in forms[:2])
    for text in (first, second):
        assert "EB000000001VN" in text and f"{CODE}-R1" in text and "BÊN GIAO" in text and "BÊN NHẬN" in text
    assert "BIÊN BẢN BÀN GIAO KẾT QUẢ GIẢI QUYẾT TTHC CHO DOANH NGHIỆP BƯU CHÍNH" in first
    assert "Trung tâm Phục vụ hành chính công" in first and "Nguyễn Văn An" in second
    assert "50.000" in second  # the fees collected on delivery
    import hashlib
    assert all(hashlib.sha256(f.pdf).hexdigest() == f.sha256 for f in forms)
    assert [f.request_id.split("-")[0] for f in forms] == ["handover", "handover", "receipt"]


def test_a_delivered_pickup_is_handed_over_to_the_dossier_the_desk_received_by_post(world):
    by_post, at_desk, other = f"{UNIT}-261117-0004", f"{UNIT}-261117-0005", f"{UNIT}-261117-0006"
    for code, channel, procedure in ((by_post, 3, "1.000001"), (at_desk, 1, "1.000001"), (other, 3, "2.000002")):
        world.intake.dossiers[code] = DossierFacts(code, UNIT, procedure, False, True, channel)
    outbound = world.ordered()
    pickup = world.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                       applicant=CITIZEN), OFFICER, "pickup-1")

    def refused(shipment_id, code):
        logged = len(world.store.logs[pickup.id])
        with pytest.raises((FailedPrecondition, NotFound, InvalidArgument)) as err:
            world.service.hand_over_pickup(shipment_id, code, OFFICER)
        assert len(world.store.logs[pickup.id]) == logged  # nothing stored
        return err.value.reason
    assert refused(pickup.id, "not a code") == "INVALID_FIELDS"
    assert refused(outbound.id, by_post) == "NOT_INBOUND"
    assert refused(pickup.id, by_post) == "NOT_DELIVERED"
    world.ordering.place_due()
    waybill = world.service.get(pickup.id, "", OFFICER).shipment.waybill
    world.report(waybill, CarrierStatus.DELIVERED, "p-1", 5)
    assert refused(pickup.id, f"{UNIT}-261117-0099") == "DOSSIER_NOT_FOUND"
    assert refused(pickup.id, at_desk) == "NOT_POSTAL_CHANNEL"
    assert refused(pickup.id, other) == "PROCEDURE_MISMATCH"
    events_before = len(world.store.events)
    s = world.service.hand_over_pickup(pickup.id, by_post, OFFICER)
    assert s.dossier_code == by_post and world.service.get(pickup.id, "", OFFICER).log[-1].kind.value == "handed_over"
    record = world.store.events[events_before:]
    # the pickup's record applicant → post and its receipt (the applicant paid the postage), then post → desk
    assert [(type(e).__name__, e.dossier_code, e.form) for e in record] == [
        ("FormIssued", by_post, 14), ("FormIssued", by_post, 15), ("FormIssued", by_post, 13)]
    assert record[2].pdf.startswith(b"%PDF") and record[2].title.startswith("Biên bản bàn giao hồ sơ")
    assert world.service.hand_over_pickup(pickup.id, by_post, OFFICER).seq == s.seq  # again: nothing changes
    world.intake.dossiers[other] = DossierFacts(other, UNIT, "1.000001", False, True, 3)
    assert refused(pickup.id, other) == "ALREADY_HANDED_OVER"
