"""Delivery's postal totals, receipts and the pickup's handover record (issue 13 items 2, 4 and 5),
over the in-memory fakes: postage once per parcel the post took, COD once per delivered parcel (never
at booking, never again on a rebooking or a repeated report), the PostalFeeRecorded events written
once, the periods, the numbered receipts (biên lai) in the log and as PDFs, and the applicant → post
record of a postal intake."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata

import pytest
from test_delivery_service import CITIZEN, CODE, NOW, OFFICER, OTHER_UNIT, UNIT, World  # noqa: F401

from onestop_chassis.errors import InvalidArgument
from onestop_delivery import receipts, totals
from onestop_delivery.carrier import CarrierStatus, Direction
from onestop_delivery.domain import State
from onestop_delivery.service import DossierFacts, NewShipment

SECOND = f"{UNIT}-261117-0007"
NOTHING = {"shipments": 0, "postal_charge_vnd": 0, "delivered": 0, "cod_vnd": 0, "pickup_fees_vnd": 0}


@pytest.fixture
def world():
    w = World()
    w.intake.dossiers[SECOND] = DossierFacts(SECOND, UNIT, "1.000001", True, True)
    return w


def _fee_events(world):
    return [e for e in world.store.events if type(e).__name__ == "PostalFeeRecorded"]


def _forms(world, form):
    return [e for e in world.store.events if type(e).__name__ == "FormIssued" and e.form == form]


def _text(body: bytes) -> str:
    import pypdf
    reader = pypdf.PdfReader(io.BytesIO(body))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", " ".join(p.extract_text() for p in reader.pages)))


def test_postage_counts_when_the_post_takes_the_parcel_and_cod_once_on_delivery(world):
    s = world.ordered()  # booked with 50 000 đ COD, ordered: nothing charged or collected yet
    assert world.service.fee_totals(UNIT, "2026-11") == NOTHING
    world.report(s.waybill, CarrierStatus.PICKED_UP, "e1", 10)
    assert world.service.fee_totals(UNIT, "2026-11") == {**NOTHING, "shipments": 1, "postal_charge_vnd": 23100}
    world.report(s.waybill, CarrierStatus.IN_TRANSIT, "e2", 20)
    world.report(s.waybill, CarrierStatus.DELIVERED, "e3", 90)
    world.report(s.waybill, CarrierStatus.DELIVERED, "e3", 90)   # the same report again: not logged
    world.report(s.waybill, CarrierStatus.DELIVERED, "e4", 95)   # a second delivery report: not applied
    world.report(s.waybill, CarrierStatus.PICKED_UP, "e0", 5)    # an old report, late: not applied
    expected = {"shipments": 1, "postal_charge_vnd": 23100, "delivered": 1, "cod_vnd": 50000, "pickup_fees_vnd": 0}
    assert world.service.fee_totals(UNIT, "2026-11") == expected
    # the reports projection gets each amount once, under a stable id
    fees = _fee_events(world)
    assert [(e.kind, e.amount_vnd, e.fee_id) for e in fees] == [
        ("postage", 23100, f"{UNIT}|2026-11-17|{s.id}|postage"),
        ("delivered", 50000, f"{UNIT}|2026-11-17|{s.id}|delivered")]
    assert all(e.shipment.agency_code == UNIT and e.day == "2026-11-17" and e.payer == "receiver" for e in fees)
    for period in ("2026-Q4", "2026"):
        assert world.service.fee_totals("", period, OFFICER) == expected
    for period in ("2026-10", "2026-Q3", "2025"):
        assert world.service.fee_totals(UNIT, period) == NOTHING
    assert world.service.fee_totals(OTHER_UNIT, "2026") == NOTHING


def test_a_rebooked_result_pays_postage_per_parcel_and_its_cod_once(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.PICKED_UP, "a1", 10)
    world.report(s.waybill, CarrierStatus.OUT_FOR_DELIVERY, "a2", 20)
    world.report(s.waybill, CarrierStatus.FAILED_ATTEMPT, "a3", 30)
    second = world.service.rebook(s.id, None, OFFICER)
    world.ordering.place_due()
    waybill = world.service.get(second.id, "", OFFICER).shipment.waybill
    world.report(waybill, CarrierStatus.PICKED_UP, "b1", 60)
    world.report(waybill, CarrierStatus.DELIVERED, "b2", 120)
    world.report(waybill, CarrierStatus.DELIVERED, "b2", 120)
    # two trips of the post, one delivery: the procedure's fees once
    assert world.service.fee_totals(UNIT, "2026-11") == {"shipments": 2, "postal_charge_vnd": 2 * 23100,
                                                         "delivered": 1, "cod_vnd": 50000, "pickup_fees_vnd": 0}
    assert [e.kind for e in _fee_events(world)] == ["postage", "postage", "delivered"]


def test_a_cancelled_order_costs_nothing_and_a_returned_parcel_collects_no_cod(world):
    s = world.ordered()
    world.service.cancel(s.id, "đổi ý", True, OFFICER)
    assert world.service.fee_totals(UNIT, "2026-11") == NOTHING
    returned = world.book(SECOND)
    world.ordering.place_due()
    waybill = world.service.get(returned.id, "", OFFICER).shipment.waybill
    for n, status in enumerate((CarrierStatus.PICKED_UP, CarrierStatus.OUT_FOR_DELIVERY, CarrierStatus.FAILED_ATTEMPT,
                                CarrierStatus.OUT_FOR_DELIVERY, CarrierStatus.FAILED_ATTEMPT), start=1):
        world.report(waybill, status, f"r{n}", 10 * n)
    assert world.service.get(returned.id, "", OFFICER).shipment.state is State.RETURNED_TO_SENDER
    assert world.service.fee_totals(UNIT, "2026-11") == {**NOTHING, "shipments": 1, "postal_charge_vnd": 23100}
    assert _forms(world, receipts.FORM) == []  # nothing collected from the applicant: no receipt


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26", "", "2026-11-17", "Q4-2026"])
def test_a_period_that_is_not_a_month_quarter_or_year_is_refused(world, period):
    with pytest.raises(InvalidArgument) as refused:
        world.service.fee_totals(UNIT, period)
    assert refused.value.reason == "INVALID_FIELDS" and "period" in str(refused.value.violations)
    with pytest.raises(InvalidArgument):
        world.service.fee_totals("not a unit", "2026")


def test_the_period_ranges_cover_their_days_only():
    assert totals.period_range("2026-11") == ("2026-11-", "2026-11-~")
    assert totals.period_range("2026-Q1") == ("2026-01-", "2026-03-~")
    assert totals.period_range(" 2026-Q4 ") == ("2026-10-", "2026-12-~")
    assert totals.period_range("2026") == ("2026-", "2026-~")
    first, last = totals.period_range("2026-Q4")
    assert first < "2026-10-01" < "2026-12-31" < last
    assert first > "2026-09-30" and last < "2027-01-01"


def test_the_day_of_a_fee_is_vietnams(world):
    world.clock.now = dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)  # 00:30 on 1 December in Vietnam
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.PICKED_UP, "d1", 1)
    assert world.service.fee_totals(UNIT, "2026-11") == NOTHING
    assert world.service.fee_totals(UNIT, "2026-12")["postal_charge_vnd"] == 23100


def test_a_cod_delivery_gets_a_numbered_receipt_in_the_log_and_filed_as_a_pdf(world):
    s = world.ordered()
    world.report(s.waybill, CarrierStatus.PICKED_UP, "e1", 10)
    world.report(s.waybill, CarrierStatus.DELIVERED, "e2", 90)
    world.report(s.waybill, CarrierStatus.DELIVERED, "e3", 95)  # not applied: no second receipt
    log = world.service.get(s.id, "", OFFICER).log
    assert [e.receipt for e in log] == ["", "", "", f"BL-{s.id}", ""]
    (receipt,) = _forms(world, receipts.FORM)
    assert (receipt.dossier_code, receipt.agency_code, receipt.file_name) == (CODE, UNIT, f"bien-lai-{s.id}.pdf")
    text = _text(receipt.pdf)
    for shown in ("BIÊN LAI THU TIỀN", f"BL-{s.id}", "Nguyễn Văn An", CODE, s.waybill, "50.000", "23.100", "73.100",
                  "Bảy mươi ba nghìn một trăm đồng", "thu hộ", "NGƯỜI NỘP TIỀN", "NGƯỜI THU TIỀN"):
        assert shown in text, shown
    assert [e.receipt_number for e in _fee_events(world)] == ["", f"BL-{s.id}"]


def test_nothing_collected_from_the_applicant_gives_no_receipt(world):
    s = world.service.create_shipment(NewShipment(Direction.OUTBOUND, dossier_code=CODE, applicant=CITIZEN,
                                                  agency_pays=True), OFFICER)
    world.ordering.place_due()
    waybill = world.service.get(s.id, "", OFFICER).shipment.waybill
    world.report(waybill, CarrierStatus.DELIVERED, "e1", 90)
    assert [e.receipt for e in world.service.get(s.id, "", OFFICER).log] == ["", "", ""]
    assert _forms(world, receipts.FORM) == []
    assert world.service.fee_totals(UNIT, "2026-11")["delivered"] == 1


def test_postal_intake_fees_get_a_receipt_at_pickup_and_the_pickup_record_is_filed_at_the_desk(world):
    by_post = f"{UNIT}-261117-0008"
    world.intake.dossiers[by_post] = DossierFacts(by_post, UNIT, "1.000001", False, True, 3)
    pickup = world.service.create_shipment(NewShipment(Direction.INBOUND, procedure_code="1.000001",
                                                       applicant=CITIZEN, pickup_fees_vnd=30000), OFFICER,
                                           "pickup-1")
    assert pickup.header.fees.pickup_fees == 30000
    world.ordering.place_due()
    waybill = world.service.get(pickup.id, "", OFFICER).shipment.waybill
    world.report(waybill, CarrierStatus.PICKED_UP, "p1", 10)
    assert world.service.get(pickup.id, "", OFFICER).log[-1].receipt == f"BL-{pickup.id}"
    assert _forms(world, receipts.FORM) == []  # no dossier code yet: filed at the desk's handover
    world.report(waybill, CarrierStatus.DELIVERED, "p2", 120)
    assert world.service.fee_totals(UNIT, "2026-11") == {"shipments": 1, "postal_charge_vnd": 23100, "delivered": 1,
                                                         "cod_vnd": 0, "pickup_fees_vnd": 30000}
    world.service.hand_over_pickup(pickup.id, by_post, OFFICER)
    record, receipt = _forms(world, 14), _forms(world, receipts.FORM)
    assert [(f.dossier_code, f.agency_code) for f in record + receipt] == [(by_post, UNIT)] * 2
    handed = _text(record[0].pdf)
    for shown in ("BIÊN BẢN GIAO NHẬN HỒ SƠ TTHC GIỮA TỔ CHỨC, CÁ NHÂN VÀ DOANH NGHIỆP BƯU CHÍNH", "Nguyễn Văn An",
                  waybill, pickup.id, "niêm phong", "1.000001", "BÊN GIAO", "BÊN NHẬN"):
        assert shown in handed, shown
    assert "17/11/2026" in handed  # dated at the pickup
    paid = _text(receipt[0].pdf)
    assert "30.000" in paid and "53.100" in paid and "Năm mươi ba nghìn một trăm đồng" in paid and by_post in paid
    world.service.hand_over_pickup(pickup.id, by_post, OFFICER)  # again: nothing filed again
    assert len(_forms(world, 14)) == len(_forms(world, receipts.FORM)) == 1


def test_fees_at_pickup_are_for_postal_intake_only(world):
    with pytest.raises(InvalidArgument) as refused:
        world.service.create_shipment(NewShipment(Direction.OUTBOUND, dossier_code=CODE, applicant=CITIZEN,
                                                  pickup_fees_vnd=30000), OFFICER)
    assert "pickup_fees_vnd" in str(refused.value.violations)
    assert world.store.logs == {} and world.store.events == []  # nothing stored
