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


def test_a_rebooking_after_return_or_after_a_failed_attempt_gets_the_next_order_number():
    s, _ = domain.start(header(max_attempts=1), "desk-1", Source.DESK)
    failed, _ = report(s, CarrierStatus.FAILED_ATTEMPT, "e1", 1)
    assert failed.state is State.RETURNED_TO_SENDER
    domain.check_rebooking(failed)  # the parcel is back at the desk: it may go again
    assert domain.rebooked(failed, None, T0).id == "000.00.21.H17-261130-0001-R2"
    on_its_way, _ = report(s, CarrierStatus.PICKED_UP, "e1", 1)
    with pytest.raises(domain.Refused) as refused:
        domain.check_rebooking(on_its_way)
    assert refused.value.reason == "NOT_REBOOKABLE"
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


def test_failed_attempts_reported_out_of_order_are_all_counted_and_a_second_round_is_not_a_repeat():
    s, _ = domain.start(header(max_attempts=3), "desk-1", Source.DESK)
    s, _ = report(s, CarrierStatus.OUT_FOR_DELIVERY, "e1", 10)
    # the second round out for delivery arrives before the report of the failed first attempt
    s, second = report(s, CarrierStatus.OUT_FOR_DELIVERY, "e3", 30, "Phát lại lần 2")
    assert second.applied and (s.state, s.state_at) == (State.OUT_FOR_DELIVERY, T0 + dt.timedelta(minutes=30))
    s, late = report(s, CarrierStatus.FAILED_ATTEMPT, "e2", 20, "Người nhận vắng nhà")
    assert not late.applied and "counted as failed attempt 1" in late.note
    assert (s.state, s.attempts) == (State.OUT_FOR_DELIVERY, 1)  # counted, the newer state stays
    s, _ = report(s, CarrierStatus.OUT_FOR_DELIVERY, "e5", 50)
    s, also_late = report(s, CarrierStatus.FAILED_ATTEMPT, "e4", 40)
    assert (s.state, s.attempts) == (State.OUT_FOR_DELIVERY, 2)
    same, again = report(s, CarrierStatus.FAILED_ATTEMPT, "e4", 40)  # the same report: a repeat
    assert again is None and same.attempts == 2
    # the third (last allowed) failed attempt returns the parcel, even when it arrives late
    s, _ = report(s, CarrierStatus.OUT_FOR_DELIVERY, "e7", 70)
    s, last = report(s, CarrierStatus.FAILED_ATTEMPT, "e6", 60)
    assert last.applied and (s.state, s.attempts) == (State.RETURNED_TO_SENDER, 3)


def test_a_failed_attempt_reported_after_delivery_is_counted_and_the_state_stays():
    s, _ = domain.start(header(max_attempts=3), "desk-1", Source.DESK)
    for i, status in enumerate([CarrierStatus.OUT_FOR_DELIVERY, CarrierStatus.DELIVERED]):
        s, _ = report(s, status, f"e{i}", 10 * (i + 1))
    s, late = report(s, CarrierStatus.FAILED_ATTEMPT, "e9", 15)
    assert not late.applied and (s.state, s.attempts) == (State.DELIVERED, 1)


def test_the_reports_of_a_rebooked_shipment_are_logged_and_never_applied():
    s, _ = domain.start(header(max_attempts=2), "desk-1", Source.DESK)
    s, _ = report(s, CarrierStatus.FAILED_ATTEMPT, "e1", 10)
    s = domain.apply(s, domain.Entry(s.seq + 1, domain.Kind.REBOOKED, Source.CITIZEN, T0, T0,
                                     note="000.00.21.H17-261130-0001-R2"))
    for event_id, status in (("e2", CarrierStatus.FAILED_ATTEMPT), ("e3", CarrierStatus.RETURNED_TO_SENDER),
                             ("e4", CarrierStatus.DELIVERED)):
        before = s
        s, entry = report(s, status, event_id, 30)
        assert entry is not None and not entry.applied and entry.note.startswith("superseded: rebooked as")
        assert (s.state, s.attempts, s.state_at) == (before.state, before.attempts, before.state_at)
    assert (s.state, s.attempts) == (State.FAILED_ATTEMPT, 1)


REPORTS = st.lists(st.tuples(st.sampled_from(list(CarrierStatus)), st.integers(0, 12), st.integers(0, 600)),
                   max_size=25)


@settings(max_examples=300, deadline=None)
@given(REPORTS, st.integers(1, 4))
def test_properties_of_any_sequence_of_reports(reports, max_attempts):
    """Whatever the carrier reports, in whatever order and however often: the state never goes back
    down the chain, a final state never changes, every distinct failed attempt counts up to the
    limit, a repeated event_id adds nothing, and folding the log gives the state built step by step."""
    s, first = domain.start(header(max_attempts), "desk-1", Source.DESK)
    log = [first]
    failed = 0  # distinct failed-attempt reports of the live shipment
    for status, event, minute in reports:
        before = s
        s, entry = report(s, status, f"e{event}", minute)
        if entry is None:
            assert f"e{event}" in before.event_ids and s == before
            continue
        log.append(entry)
        failed += status is CarrierStatus.FAILED_ATTEMPT and before.state is not State.CANCELLED
        assert s.attempts == min(failed, max_attempts)  # whatever the order they came in
        assert entry.seq == len(log)
        assert domain.RANK[s.state] >= domain.RANK[before.state]
        if before.final:
            assert s.state is before.state and not entry.applied
        assert s.attempts <= max_attempts
    assert domain.fold(header(max_attempts), log) == s
