"""Delivery's shipment store (adapters.mongo) against the real FerretDB: a booking, its order, the
carrier's reports (repeated and out of order), the log's unique seq, lists by `_id` range, the
month's fee totals and the events in the log's outbox; a crash after a booking's log entry repaired,
and the due list keyed by next try (one failing order blocks no other)."""

from __future__ import annotations

import datetime as dt

import pytest

from onestop_chassis import auth
from onestop_chassis.errors import AlreadyExists
from onestop_delivery import domain, fees, outgoing, totals
from onestop_delivery.adapters.mongo import BY_AGENCY, DUE, FEES, LOG, VIEWS, MongoShipments, ensure_indexes
from onestop_delivery.bootstrap import bootstrap
from onestop_delivery.carrier import CarrierStatus, CarrierUnavailable, Direction, Party, TrackingEvent
from onestop_delivery.config import PACKAGED_TABLES, DeliverySettings
from onestop_delivery.domain import Entry, Kind, Source, State
from onestop_delivery.service import DossierFacts, NewShipment

from fakes import Clock, FakeCarrier, FakeIntakeFacts

UNIT = "000.00.21.H17"
CODES = [f"{UNIT}-261130-{n:04d}" for n in (1, 2)]
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
DESK = auth.Principal("desk", frozenset({auth.DESK_OFFICER}), UNIT)
CARRIER = auth.Principal("carrier", frozenset({auth.SERVICE}))
CITIZEN = Party("Nguyễn Văn An", "0912345678", "12 Lê Lợi", "20200", "48")


def test_a_shipment_round_trips_through_ferretdb(mongo_db):
    store, clock = MongoShipments(lambda: mongo_db), Clock(NOW)
    delivery = bootstrap(DeliverySettings(), shipments=store, carrier=FakeCarrier(), clock=clock,
                         intake=FakeIntakeFacts([DossierFacts(c, UNIT, "1.000001", True, True) for c in CODES]),
                         tables=fees.read_tables(PACKAGED_TABLES))
    first = delivery.service.create_shipment(NewShipment(Direction.OUTBOUND, CODES[0], applicant=CITIZEN), DESK)
    clock.now = NOW + dt.timedelta(minutes=1)
    second = delivery.service.create_shipment(NewShipment(Direction.OUTBOUND, CODES[1], applicant=CITIZEN,
                                                          cod_vnd=30000), DESK)
    assert [d.shipment_id for d in store.orders_due(clock.now, 10)] == [first.id, second.id]
    assert delivery.ordering.place_due().placed == 2 and store.orders_due(clock.now, 10) == []
    loaded = store.load(first.id)
    waybill = loaded.shipment.waybill
    assert store.by_waybill(waybill) == first.id and loaded.shipment.header == first.header

    def report(status, event_id, minutes):
        event = TrackingEvent(event_id, waybill, "", status, NOW + dt.timedelta(minutes=minutes))
        return delivery.service.record_report(waybill, event, Source.CARRIER_WEBHOOK, CARRIER)
    assert report(CarrierStatus.IN_TRANSIT, "e2", 30)[1]
    assert not report(CarrierStatus.IN_TRANSIT, "e2", 30)[1]        # repeated: not logged
    assert not report(CarrierStatus.PICKED_UP, "e1", 20)[1]         # out of order: logged, not applied
    assert report(CarrierStatus.DELIVERED, "e3", 90)[0].state is State.DELIVERED
    log = store.load(first.id).log
    assert [(e.kind, e.applied) for e in log] == [(Kind.CREATED, True), (Kind.ORDERED, True), (Kind.REPORT, True),
                                                  (Kind.REPORT, False), (Kind.REPORT, True)]
    stale = Entry(3, Kind.REPORT, Source.CARRIER_POLL, NOW, NOW, State.CANCELLED)
    assert store.append(store.load(first.id).shipment, stale, []) is False  # seq 3 is taken
    assert [s.id for _, s in store.page(UNIT, "", 10)] == [second.id, first.id]  # newest first
    assert store.latest(CODES[0]).state is State.DELIVERED
    # the first parcel was taken by the post (its postage) and delivered (no COD); the second is only ordered
    assert totals.summed(store.fee_amounts(UNIT, *totals.period_range("2026-11"))) == {
        "shipments": 1, "postal_charge_vnd": 23100, "delivered": 1, "cod_vnd": 0, "pickup_fees_vnd": 0}
    kinds = [e["event_type"] for d in mongo_db[LOG].find({"_id": {"$gt": f"{first.id}|", "$lt": f"{first.id}|~"}})
             for e in d["outbox"]]
    # the handover records and the receipt (FormIssued) and the fee lines travel with the entry that makes them
    assert kinds == ["ShipmentCreated", "ShipmentOrdered", "ShipmentProgressed", "PostalFeeRecorded", "FormIssued",
                     "ShipmentDelivered", "PostalFeeRecorded", "FormIssued", "FormIssued"]


def test_postal_totals_are_summed_from_lines_kept_once_on_ferretdb(mongo_db):
    """Each amount one line by unique insert (a repeated report, or the same events written again,
    adds nothing), summed over `_id` ranges of a month, a quarter and a year, other agencies apart."""
    store, clock = MongoShipments(lambda: mongo_db), Clock(NOW)
    codes = [f"{UNIT}-261130-{n:04d}" for n in (3, 4)]
    delivery = bootstrap(DeliverySettings(), shipments=store, carrier=FakeCarrier(), clock=clock,
                         intake=FakeIntakeFacts([DossierFacts(c, UNIT, "1.000001", True, True) for c in codes]),
                         tables=fees.read_tables(PACKAGED_TABLES))
    made = [delivery.service.create_shipment(NewShipment(Direction.OUTBOUND, c, applicant=CITIZEN, cod_vnd=40000),
                                             DESK) for c in codes]
    delivery.ordering.place_due()
    assert mongo_db[FEES].count_documents({}) == 0  # nothing at booking or ordering
    for n, s in enumerate(made):
        clock.now = NOW + dt.timedelta(days=31 * n)  # 30 November, then 31 December (Vietnam's days)
        waybill = store.load(s.id).shipment.waybill
        for status, event_id in ((CarrierStatus.PICKED_UP, "p"), (CarrierStatus.DELIVERED, "d"),
                                 (CarrierStatus.DELIVERED, "d"), (CarrierStatus.DELIVERED, "d2")):
            delivery.service.record_report(waybill, TrackingEvent(f"{event_id}-{n}", waybill, "", status, clock.now),
                                           Source.CARRIER_WEBHOOK, CARRIER)
    ids = sorted(d["_id"] for d in mongo_db[FEES].find())
    assert ids == [f"{UNIT}|2026-11-30|{made[0].id}|delivered", f"{UNIT}|2026-11-30|{made[0].id}|postage",
                   f"{UNIT}|2026-12-31|{made[1].id}|delivered", f"{UNIT}|2026-12-31|{made[1].id}|postage"]
    last = store.load(made[1].id)
    written = [e for d in mongo_db[LOG].find({"_id": {"$gt": f"{made[1].id}|", "$lt": f"{made[1].id}|~"}})
               for e in d["outbox"] if e["event_type"] == "PostalFeeRecorded"]
    assert len(written) == 2  # once each, in the outbox of the entries that made them
    before = domain.fold(last.shipment.header, list(last.log[:-2]))
    again = outgoing.after(before, domain.apply(before, last.log[-2]), last.log[-2])
    assert store.record_fees(again) == 0  # the same fee lines again (a replay): nothing changes
    assert mongo_db[FEES].count_documents({}) == 4

    def summed(period):
        return totals.summed(store.fee_amounts(UNIT, *totals.period_range(period)))
    one = {"shipments": 1, "postal_charge_vnd": 23100, "delivered": 1, "cod_vnd": 40000, "pickup_fees_vnd": 0}
    assert summed("2026-11") == summed("2026-12") == one
    assert summed("2026-Q4") == summed("2026") == {**one, "shipments": 2, "postal_charge_vnd": 46200, "delivered": 2,
                                                   "cod_vnd": 80000}
    assert summed("2026-10") == summed("2027") == {k: 0 for k in one}
    assert totals.summed(store.fee_amounts("000.40.21.H17", *totals.period_range("2026"))) == {k: 0 for k in one}


def test_request_ids_hold_in_ferretdb_a_retry_is_the_same_pickup_and_a_reused_id_is_refused(mongo_db):
    store, carrier = MongoShipments(lambda: mongo_db), FakeCarrier()
    delivery = bootstrap(DeliverySettings(), shipments=store, carrier=carrier, clock=Clock(NOW),
                         intake=FakeIntakeFacts([], {"1.000001": True}), tables=fees.read_tables(PACKAGED_TABLES))

    def pickup(request_id, weight=0):
        return delivery.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                            applicant=CITIZEN, weight_grams=weight), DESK, request_id)
    first = pickup("p-1")
    assert pickup("p-1") == first and store.load(first.id).log[0].request_id == "p-1"
    assert store.claim(f"{UNIT}|p-1", "something else") == f"create {first.id} desk"  # the first claim holds
    with pytest.raises(AlreadyExists):
        pickup("p-1", weight=900)
    delivery.ordering.place_due()
    assert delivery.service.cancel(first.id, "", False, DESK, "c-1").state is State.CANCELLED
    assert carrier.cancelled == [store.load(first.id).shipment.waybill]
    assert [e.request_id for e in store.load(first.id).log if e.kind is Kind.CANCELLED] == ["c-1"]


class CrashingAfterTheLog(MongoShipments):
    """The store of a process killed once after a booking's log entry, before its views and due key."""
    crash = 1

    def _c(self, name):
        if self.crash and name in (VIEWS, DUE):
            self.crash -= 1
            raise RuntimeError("process killed after the log entry")
        return super()._c(name)


def _delivery(mongo_db, store, carrier=None, clock=None):
    return bootstrap(DeliverySettings(), shipments=store, carrier=carrier or FakeCarrier(), clock=clock or Clock(NOW),
                     intake=FakeIntakeFacts([DossierFacts(c, UNIT, "1.000001", True, True) for c in CODES],
                                            {"1.000001": True}),
                     tables=fees.read_tables(PACKAGED_TABLES))


def test_a_crash_after_the_log_entry_is_repaired_by_the_retry_on_ferretdb(mongo_db):
    store = CrashingAfterTheLog(lambda: mongo_db)
    delivery = _delivery(mongo_db, store)
    booking = NewShipment(Direction.OUTBOUND, CODES[0], applicant=CITIZEN)
    with pytest.raises(RuntimeError):
        delivery.service.create_shipment(booking, DESK, "req-1")
    assert mongo_db[LOG].count_documents({}) == 1 and mongo_db[VIEWS].count_documents({}) == 0
    assert mongo_db[DUE].count_documents({}) == 0
    again = delivery.service.create_shipment(booking, DESK, "req-1")  # the desk retries
    assert [d.shipment_id for d in store.orders_due(NOW, 10)] == [again.id]
    assert [s.id for _, s in store.page(UNIT, "", 10)] == [again.id]
    assert delivery.ordering.place_due().placed == 1 and store.orders_due(NOW, 10) == []
    assert delivery.service.get("", CODES[0], DESK).shipment.waybill == "EB000000001VN"


def test_a_read_by_dossier_finds_and_repairs_a_booking_whose_view_was_lost_on_ferretdb(mongo_db):
    store = CrashingAfterTheLog(lambda: mongo_db)
    delivery = _delivery(mongo_db, store)
    with pytest.raises(RuntimeError):
        delivery.service.create_shipment(NewShipment(Direction.OUTBOUND, CODES[1], applicant=CITIZEN), DESK, "r")
    found = delivery.service.get("", CODES[1], DESK).shipment
    assert found.id == f"{CODES[1]}-R1" and mongo_db[VIEWS].find_one({"_id": found.id})["seq"] == 1
    assert mongo_db[BY_AGENCY].count_documents({}) == 1
    assert [d.shipment_id for d in store.orders_due(NOW, 10)] == [found.id]
    assert store.latest(CODES[1]).id == found.id and delivery.ordering.place_due().placed == 1


class LaneRefusingCarrier(FakeCarrier):
    def create_order(self, order):
        if order.sender.address_line.startswith("Hẻm"):
            self.calls.append(order.order_number)
            raise CarrierUnavailable("the carrier answered 500")
        return super().create_order(order)


def test_one_order_failing_blocks_no_other_and_its_next_try_moves_later_on_ferretdb(mongo_db):
    store, clock, carrier = MongoShipments(lambda: mongo_db), Clock(NOW), LaneRefusingCarrier()
    delivery = _delivery(mongo_db, store, carrier, clock)
    lane = Party("Trần Thị Bình", "0912345679", "Hẻm 5/7 Lê Lợi", "20200", "48")
    poison = delivery.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                          applicant=lane), DESK, "p-0")
    good = []
    for n in range(1, 6):
        clock.now = NOW + dt.timedelta(minutes=n)
        good.append(delivery.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                                 applicant=CITIZEN), DESK, f"p-{n}").id)
    assert [d.shipment_id for d in store.orders_due(clock.now, 10)] == [poison.id, *good]  # oldest first
    assert [d.shipment_id for d in store.orders_due(NOW + dt.timedelta(minutes=2), 10)] == [poison.id, *good[:2]]
    done = delivery.ordering.place_due()
    assert (done.placed, done.unavailable) == (5, 1) and sorted(carrier.orders) == sorted(good)
    assert delivery.ordering.place_due().unavailable == 1  # asked again on the next pass: its second failure
    [due] = list(mongo_db[DUE].find())
    wait = delivery.ordering.backoff(2)
    assert (due["shipment_id"], due["failures"]) == (poison.id, 2) and wait > 0
    assert store.orders_due(clock.now + dt.timedelta(seconds=wait - 1), 10) == []
    assert [d.key for d in store.orders_due(clock.now + dt.timedelta(seconds=wait), 10)] == [due["_id"]]


def test_orders_due_keyed_by_shipment_id_before_are_migrated_due_at_once(mongo_db):
    store, carrier = MongoShipments(lambda: mongo_db), FakeCarrier()
    delivery = _delivery(mongo_db, store, carrier)
    s = delivery.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                     applicant=CITIZEN), DESK, "p-1")
    mongo_db[DUE].delete_many({})
    mongo_db[DUE].insert_one({"_id": s.id})  # as the store wrote it before
    ensure_indexes(lambda: mongo_db)
    ensure_indexes(lambda: mongo_db)  # again at the next start: nothing changes
    assert [(d.shipment_id, d.failures) for d in store.orders_due(NOW, 10)] == [(s.id, 0)]
    assert delivery.ordering.place_due().placed == 1 and carrier.calls == [s.id]
