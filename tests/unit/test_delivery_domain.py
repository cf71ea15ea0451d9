"""Delivery's shipment state machine (onestop_delivery.domain): examples and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop_delivery import domain
from onestop_delivery.carrier import CarrierStatus, Direction, Party
from onestop_delivery.domain import Source, State

T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
AGENCY = Party("Trung tâm Phục vụ hành chính công", "02363822000", "24 Trần Phú", "20194", "48")
CITIZEN = Party("Nguyễn Văn An", "0912345678", "12 Lê Lợi", "20200", "48")


def header(max_attempts: int = 3) -> domain.ShipmentHeader:
    return domain.ShipmentHeader(
        id="000.00.21.H17-261130-0001-R1", agency_code="000.00.21.H17", ref="000.00.21.H17-261130-0001",
        direction=Direction.OUTBOUND, booking=1, sender=AGENCY, receiver=CITIZEN, weight_grams=200,
        content="Kết quả", fees=domain.Fees(postal_charge=22000, cod=50000), procedure_code="1.000001",
        created_at=T0, max_attempts=max_attempts)


def report(s, status, event_id, minutes, note=""):
    """Applies one carrier report; returns (shipment, entry or None)."""
    entry = domain.report_entry(s, status, event_id, T0 + dt.timedelta(minutes=minutes),
                                Source.CARRIER_WEBHOOK, T0 + dt.timedelta(hours=5), note)
    return (s if entry is None else domain.apply(s, entry)), entry


def test_a_parcel_delivered_at_the_second_attempt():
    s, _ = domain.start(header(), "desk-1", Source.DESK)
    for i, status in enumerate([CarrierStatus.PICKED_UP, CarrierStatus.IN_TRANSIT, CarrierStatus.OUT_FOR_DELIVERY,
                                CarrierStatus.FAILED_ATTEMPT, CarrierStatus.OUT_FOR_DELIVERY,
                                CarrierStatus.DELIVERED]):
        s, entry = report(s, status, f"e{i}", i)
        assert entry is not None and entry.applied
    assert (s.state, s.attempts, s.seq) == (State.DELIVERED, 1, 7)


def test_the_last_allowed_failed_attempt_returns_the_parcel():
    s, _ = domain.start(header(max_attempts=2), "desk-1", Source.DESK)
    for i, status in enumerate([CarrierStatus.OUT_FOR_DELIVERY, CarrierStatus.FAILED_ATTEMPT,
                                CarrierStatus.OUT_FOR_DELIVERY, CarrierStatus.FAILED_ATTEMPT]):
        s, entry = report(s, status, f"e{i}", i)
    assert (s.state, s.attempts) == (State.RETURNED_TO_SENDER, 2)
    assert "tối đa 2" in entry.note


def test_a_repeated_report_is_not_logged_and_an_older_one_is_logged_but_not_applied():
    s, _ = domain.start(header(), "desk-1", Source.DESK)
    s, _ = report(s, CarrierStatus.IN_TRANSIT, "e2", 20)
    same, again = report(s, CarrierStatus.IN_TRANSIT, "e2", 20)
    assert again is None and same == s
    later, late = report(s, CarrierStatus.PICKED_UP, "e1", 10)  # arrives after in transit
    assert late is not None and not late.applied and "out of order" in late.note
    assert (later.state, later.seq) == (State.IN_TRANSIT, 3)


def test_a_rebooking_after_return_is_refused_and_after_a_failed_attempt_gets_the_next_order_number():
    s, _ = domain.start(header(max_attempts=1), "desk-1", Source.DESK)
    failed, _ = report(s, CarrierStatus.FAILED_ATTEMPT, "e1", 1)
    assert failed.state is State.RETURNED_TO_SENDER
    with pytest.raises(domain.Refused) as refused:
        domain.check_rebooking(failed)
    assert refused.value.reason == "RETURNED_TO_SENDER"
    s2, _ = domain.start(header(max_attempts=3), "desk-1", Source.DESK)
    s2, _ = report(s2, CarrierStatus.FAILED_ATTEMPT, "e1", 1)
    domain.check_rebooking(s2)
    assert domain.rebooked(s2, None, T0).id == "000.00.21.H17-261130-0001-R2"


def test_cancel_only_before_pickup():
    s, _ = domain.start(header(), "desk-1", Source.DESK)
    picked, _ = report(s, CarrierStatus.PICKED_UP, "e1", 1)
    with pytest.raises(domain.Refused) as refused:
        domain.cancel_entry(picked, Source.DESK, "desk-1", T0, "")
    assert refused.value.reason == "ALREADY_PICKED_UP"
    cancelled = domain.apply(s, domain.cancel_entry(s, Source.CITIZEN, "citizen", T0, "đổi ý"))
    assert cancelled.state is State.CANCELLED and cancelled.final


REPORTS = st.lists(st.tuples(st.sampled_from(list(CarrierStatus)), st.integers(0, 12), st.integers(0, 600)),
                   max_size=25)


@settings(max_examples=300, deadline=None)
@given(REPORTS, st.integers(1, 4))
def test_properties_of_any_sequence_of_reports(reports, max_attempts):
    """Whatever the carrier reports, in whatever order and however often: the state never goes back
    down the chain, a final state never changes, the attempts never pass the limit, a repeated
    event_id adds nothing, and folding the log gives the state built step by step."""
    s, first = domain.start(header(max_attempts), "desk-1", Source.DESK)
    log = [first]
    for status, event, minute in reports:
        before = s
        s, entry = report(s, status, f"e{event}", minute)
        if entry is None:
            assert f"e{event}" in before.event_ids and s == before
            continue
        log.append(entry)
        assert entry.seq == len(log)
        assert domain.RANK[s.state] >= domain.RANK[before.state]
        if before.final:
            assert s.state is before.state and not entry.applied
        assert s.attempts <= max_attempts
    assert domain.fold(header(max_attempts), log) == s
