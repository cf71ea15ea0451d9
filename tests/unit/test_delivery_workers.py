"""Delivery's worker (intake's DossierFinished books the outbound shipment; the order timer) and
intake's side of it (delivery's ShipmentDelivered → status 10 by post; ShipmentReturnedToSender → the
result back at the desk and the lookup says so), each through nameko's entrypoint_hook with the
shared fakes. See test_workers.py for why the waiter is green."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import eventlet
import nameko.testing.waiting
import pytest
from nameko import config as nameko_config
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook, replace_dependencies
from test_intake_units_results import _dossier

from onestop.events.v1 import delivery_events_pb2 as dev
from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events
from onestop_chassis.errors import PermanentError
from onestop_chassis.worker import Observability, nameko_config_for
from onestop_delivery import fees
from onestop_delivery.booking import ShipmentBooking
from onestop_delivery.bootstrap import bootstrap
from onestop_delivery.config import PACKAGED_TABLES, DeliverySettings
from onestop_delivery.fee_lines import FeeLines
from onestop_intake.config import IntakeSettings
from onestop_intake.reception import desk_actions
from onestop_intake.reception import domain as intake_domain
from onestop_intake.reception.postal import RETURNED_NOTICE_VI, PostalReturns, transit_vi
from onestop_intake.reception.postal_worker import PostalFollowing
from onestop_intake.shared import proto as intake_proto

from fakes import Clock, FakeCarrier, FakeDossiers, FakeIntakeFacts, FakeShipmentStore

UNIT = "000.00.21.H17"
CODE = f"{UNIT}-261130-0001"
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _green_waiter(monkeypatch):
    monkeypatch.setattr(nameko.testing.waiting, "Semaphore", eventlet.semaphore.Semaphore)


@contextlib.contextmanager
def hosted(service_cls, settings, **replacements):
    with nameko_config.patch(nameko_config_for(settings)):
        container = ServiceContainer(service_cls)
        mocked = [d.attr_name for d in container.dependencies
                  if d.attr_name not in replacements and not isinstance(d, Observability)]
        replace_dependencies(container, *mocked, **replacements)
        for provider in container.dependencies:
            if isinstance(provider, Observability):
                provider.setup()
        yield container


class BookingWorker(ShipmentBooking):
    """DeliveryWorker's handler and timer with its observability, without its webhook (nameko's web
    server, imported, would change the threads of the tests after these)."""
    name = "delivery"
    observability = Observability()


@pytest.fixture
def delivery():
    store, carrier = FakeShipmentStore(), FakeCarrier()
    built = bootstrap(DeliverySettings(), shipments=store, intake=FakeIntakeFacts(), carrier=carrier,
                      tables=fees.read_tables(PACKAGED_TABLES), clock=Clock(NOW))
    with hosted(BookingWorker, DeliverySettings(), delivery=built.service, ordering=built.ordering) as container:
        yield container, store, carrier


def _finished(province_code: str = "48", by_post: bool = True) -> dict:
    message = ev.DossierFinished(header=events.new_header("intake"), dossier_code=CODE, procedure_code="1.000001",
                                 timeliness=2, return_by_post=by_post)
    message.finished_at.FromDatetime(NOW)
    if by_post:
        message.applicant.full_name, message.applicant.phone = "Nguyễn Văn An", "0912345678"
        message.applicant.address.line, message.applicant.address.commune_code = "12 Lê Lợi", "20200"
        message.applicant.address.province_code = province_code
    return events.to_payload(message)


def test_a_finished_dossier_that_chose_postal_return_is_booked_once_and_ordered(delivery):
    container, store, carrier = delivery
    payload = _finished()
    with entrypoint_hook(container, "on_dossier_finished") as handle:
        assert handle(payload) is True
        assert handle(payload) is False  # redelivered: the booking exists
        assert handle(_finished(by_post=False)) is True
    assert list(store.logs) == [f"{CODE}-R1"] and store.views[f"{CODE}-R1"].header.receiver.province_code == "48"
    carrier.down = True
    with entrypoint_hook(container, "place_orders") as tick:
        tick()
        assert carrier.orders == {} and store.due == {f"{CODE}-R1"}
        carrier.down = False
        tick()
    assert list(carrier.orders) == [f"{CODE}-R1"] and store.due == set()


def test_a_postal_return_without_unit_codes_is_dead_lettered(delivery):
    container, store, _ = delivery
    with entrypoint_hook(container, "on_dossier_finished") as handle, pytest.raises(PermanentError):
        handle(_finished(province_code=""))
    assert store.logs == {}


def _shipment_event(cls, event_id: str = "", **times):
    message = cls(header=events.new_header("delivery"),
                  shipment=dev.ShipmentRef(shipment_id=f"{CODE}-R1", ref=CODE, agency_code=UNIT, direction=1,
                                           waybill="EB000000001VN"))
    if event_id:
        message.header.event_id = event_id
    for name, at in times.items():
        getattr(message, name).FromDatetime(at)
    return events.to_payload(message)


class PostalWorker(PostalFollowing):
    """IntakeWorker's handlers of delivery's events with its observability, without its web pages."""
    name = "intake"
    observability = Observability()


@pytest.fixture
def intake():
    dossiers = FakeDossiers()
    d = _dossier(intake_domain.DossierStatus.FINISHED, postal_return_allowed=True, return_by_post=True)
    dossiers.items[d.code] = d
    with hosted(PostalWorker, IntakeSettings(), postal=PostalReturns(dossiers)) as container:
        yield container, dossiers, d.code


def test_intake_marks_a_delivered_result_returned_by_post_once(intake):
    container, dossiers, code = intake
    assert code == CODE
    delivered = _shipment_event(dev.ShipmentDelivered, "d-1", delivered_at=NOW + dt.timedelta(days=1, hours=4),
                                picked_up_at=NOW)
    with entrypoint_hook(container, "on_shipment_delivered") as handle:
        assert handle(delivered) is True
        assert handle(delivered) is False
    d = dossiers.items[CODE]
    assert d.status is intake_domain.DossierStatus.RESULT_RETURNED
    assert d.result_return.method is intake_domain.ReturnMethod.BY_POST
    assert d.result_return.postal_tracking_number == "EB000000001VN"
    assert "1 ngày 4 giờ (không tính vào thời hạn giải quyết)" in d.postal_notice
    assert [type(e).__name__ for e in dossiers.events] == ["DossierResultReturned"]
    assert intake_proto.public_dossier(d).postal_notice == d.postal_notice


def test_intake_puts_a_returned_result_back_at_the_desk_and_the_lookup_says_so(intake):
    container, dossiers, _ = intake
    returned = _shipment_event(dev.ShipmentReturnedToSender, "r-1", returned_at=NOW + dt.timedelta(days=5))
    with entrypoint_hook(container, "on_shipment_returned") as handle:
        assert handle(returned) is True
        assert handle(returned) is False
    d = dossiers.items[CODE]
    assert d.status is intake_domain.DossierStatus.FINISHED and d.postal_notice == RETURNED_NOTICE_VI
    assert intake_proto.public_dossier(d).postal_notice == "Bưu điện đã hoàn trả kết quả; mời nhận tại bộ phận một cửa"


def test_intake_dead_letters_a_delivery_for_a_dossier_not_at_nine(intake):
    container, dossiers, _ = intake
    dossiers.items[CODE] = dataclasses.replace(dossiers.items[CODE], status=intake_domain.DossierStatus.PROCESSING)
    with entrypoint_hook(container, "on_shipment_delivered") as handle, pytest.raises(PermanentError):
        handle(_shipment_event(dev.ShipmentDelivered, "d-2", delivered_at=NOW))
    assert dossiers.items[CODE].status is intake_domain.DossierStatus.PROCESSING and dossiers.events == []


class FeeWorker(FeeLines):
    """DeliveryWorker's handler of its own PostalFeeRecorded, with its observability, without its webhook."""
    name = "delivery"
    observability = Observability()


def _fee(**overrides) -> dict:
    message = dev.PostalFeeRecorded(
        header=events.new_header("delivery"), fee_id=f"{UNIT}|2026-11-30|{CODE}-R1|delivered", kind="delivered",
        amount_vnd=50000, day="2026-11-30", payer="receiver", receipt_number=f"BL-{CODE}-R1",
        shipment=dev.ShipmentRef(shipment_id=f"{CODE}-R1", ref=CODE, agency_code=UNIT, direction=1))
    for name, value in overrides.items():
        setattr(message, name, value)
    return events.to_payload(message)


def test_a_fee_line_lost_after_its_entry_is_restored_once_from_its_event():
    store = FakeShipmentStore()
    with hosted(FeeWorker, DeliverySettings(), shipments=store) as container, \
            entrypoint_hook(container, "on_fee_recorded") as handle:
        assert handle(_fee()) is True
        assert handle(_fee()) is True  # redelivered, or the line was written by the entry's process
        assert store.fee_amounts(UNIT, "2026-11-", "2026-11-~") == [("delivered", 50000)]
        for bad in (_fee(fee_id="garbage"), _fee(kind="postage"), _fee(fee_id=f"{UNIT}|2026-11-30|other-R1|delivered")):
            with pytest.raises(PermanentError):
                handle(bad)
    assert list(store.fees) == [f"{UNIT}|2026-11-30|{CODE}-R1|delivered"]


def test_a_result_collected_at_the_desk_after_its_return_no_longer_asks_to_collect(intake):
    """Issue 13 review: status 10 at the desk cleared no "mời nhận" notice."""
    container, dossiers, _ = intake
    with entrypoint_hook(container, "on_shipment_returned") as handle:
        assert handle(_shipment_event(dev.ShipmentReturnedToSender, "r-1", returned_at=NOW)) is True
    collected, _ = desk_actions.return_result(dossiers.items[CODE], at=NOW + dt.timedelta(days=1),
                                              method=intake_domain.ReturnMethod.AT_DESK, actor="officer",
                                              receiver_name="Nguyễn Văn An", receiver_id_number="001099012345")
    assert collected.status is intake_domain.DossierStatus.RESULT_RETURNED
    assert collected.postal_notice == "" and intake_proto.public_dossier(collected).postal_notice == ""


def test_a_returned_result_booked_again_tells_the_lookup_then_its_delivery(intake):
    container, dossiers, _ = intake
    with entrypoint_hook(container, "on_shipment_returned") as returned, \
            entrypoint_hook(container, "on_shipment_rebooked") as rebook, \
            entrypoint_hook(container, "on_shipment_delivered") as delivered:
        assert returned(_shipment_event(dev.ShipmentReturnedToSender, "r-1", returned_at=NOW)) is True
        again = _rebooked(f"{CODE}-R2")
        assert rebook(again) is True and rebook(again) is False  # redelivered: nothing changes
        d = dossiers.items[CODE]
        assert d.status is intake_domain.DossierStatus.FINISHED
        assert intake_proto.public_dossier(d).postal_notice == f"Kết quả được gửi lại qua bưu chính (đơn {CODE}-R2)"
        assert delivered(_shipment_event(dev.ShipmentDelivered, "d-1", delivered_at=NOW + dt.timedelta(days=2),
                                         picked_up_at=NOW + dt.timedelta(days=1))) is True
        assert rebook(_rebooked(f"{CODE}-R3")) is False  # handed over: a late notice changes nothing
    d = dossiers.items[CODE]
    assert d.status is intake_domain.DossierStatus.RESULT_RETURNED
    assert d.postal_notice.startswith("Đã phát kết quả qua bưu chính, số hiệu bưu gửi EB000000001VN; "
                                      "thời gian chuyển phát 1 ngày 0 giờ")


def _rebooked(next_id: str) -> dict:
    message = dev.ShipmentRebooked(header=events.new_header("delivery"), next_shipment_id=next_id,
                                   shipment=dev.ShipmentRef(shipment_id=f"{CODE}-R1", ref=CODE, agency_code=UNIT,
                                                            direction=1, waybill="EB000000001VN"))
    return events.to_payload(message)


def test_a_pickup_time_equal_to_the_delivery_shows_no_transit_time():
    assert transit_vi(NOW, NOW) == "" and transit_vi(None, NOW) == ""
    assert transit_vi(NOW, NOW + dt.timedelta(hours=5)).startswith("thời gian chuyển phát 5 giờ")
