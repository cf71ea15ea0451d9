"""Placing carrier orders and reading the carrier's reports: what delivery's worker does with the
Carrier port. An order is placed by a timer (`order_retry_seconds`) for every shipment due, the
oldest booking first. A carrier that fails an order (CarrierUnavailable: timeout, 5xx) is asked
again on the next pass, then after 1, 3, 7, 15 periods of the timer, at most BACKOFF_CAP_FACTOR
(the order's due key moves, ports.due_key), and the pass goes on with the next order: one order the
carrier keeps failing blocks no other; CONSECUTIVE_UNAVAILABLE failures in a row end the pass (the
carrier is down as a whole). The shipment id is the order number, the carrier's idempotency key,
so a retry after a timeout whose order did go through finds that order instead of making a second."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from onestop_chassis import auth
from onestop_chassis.errors import Aborted, NotFound, ServiceError
from onestop_chassis.logs import get_logger

from . import domain, outgoing
from .carrier import BadSignature, Carrier, CarrierOrder, CarrierRefused, CarrierUnavailable
from .domain import Entry, Kind, Shipment, Source
from .fees import ChargeTable
from .ports import Due
from .service import MAX_RETRIES, DeliveryService, ShipmentStore

log = get_logger("onestop.delivery")
WORKER = auth.Principal("delivery-worker", frozenset({auth.SERVICE}))
CONSECUTIVE_UNAVAILABLE = 3  # failures in a row that end a pass: the carrier is down, not one order
BACKOFF_CAP_FACTOR = 16      # the longest wait of one order: 16 × order_retry_seconds (8 min at 30 s)


@dataclass(frozen=True)
class OrderPass:
    placed: int = 0
    unavailable: int = 0
    refused: int = 0


@dataclass(frozen=True)
class WebhookResult:
    """What a webhook call did: `status` is the HTTP status to answer (200; 400 a signed body that is
    not the carrier's shape, `error` says why; 401 bad signature; 404 an unknown waybill; 503 a report
    lost a race with another writer, or the reports could not be read: the carrier sends them again)."""
    status: int
    applied: int = 0
    ignored: int = 0
    error: str = ""


def order_of(s: Shipment, table: ChargeTable) -> CarrierOrder:
    h = s.header
    return CarrierOrder(order_number=h.id, customer_code=table.customer_code, direction=h.direction,
                        sender=h.sender, receiver=h.receiver, weight_grams=h.weight_grams,
                        cod_amount_vnd=h.fees.cod, content=h.content)


class Ordering:
    def __init__(self, service: DeliveryService, store: ShipmentStore, carrier: Carrier,
                 tables: Mapping[str, ChargeTable], clock: Callable, retry_seconds: float = 30.0):
        self._service, self._store, self._carrier, self._tables, self._clock = service, store, carrier, tables, clock
        self._retry_seconds = retry_seconds

    def place_due(self, limit: int = 100) -> OrderPass:
        """One pass over the orders due now (their next try reached; the oldest booking first). An
        order the carrier is unavailable for waits longer (`backoff`) and the pass goes on; after
        CONSECUTIVE_UNAVAILABLE such failures in a row it ends (the next pass retries). A refused
        order is logged on the shipment and leaves the due list."""
        placed = refused = unavailable = in_a_row = 0
        for due in self._store.orders_due(self._clock(), limit):
            try:
                outcome = self._place(due)
            except CarrierUnavailable as exc:
                unavailable, in_a_row = unavailable + 1, in_a_row + 1
                wait = self.backoff(due.failures + 1)
                log.warning("carrier unavailable: the order waits", shipment_id=due.shipment_id, error=str(exc)[:200],
                            failures=due.failures + 1, wait_seconds=wait)
                self._store.order_later(due, self._clock() + dt.timedelta(seconds=wait))
                if in_a_row >= CONSECUTIVE_UNAVAILABLE:
                    break
                continue
            in_a_row = 0
            placed += outcome == "placed"
            refused += outcome == "refused"
        return OrderPass(placed, unavailable, refused)

    def backoff(self, failures: int) -> float:
        """Seconds an order waits after its `failures`-th CarrierUnavailable, beyond the timer's own
        period (`order_retry_seconds`): 0 after the first (the next pass asks again), then 1, 3, 7,
        15 periods, at most BACKOFF_CAP_FACTOR periods."""
        return self._retry_seconds * min(2 ** max(failures - 1, 0) - 1, BACKOFF_CAP_FACTOR)

    def _place(self, due: Due) -> str:
        shipment_id = due.shipment_id
        loaded = self._store.load(shipment_id)
        if loaded is None:
            self._store.order_done(due.key)
            return "gone"
        s = loaded.shipment
        if s.waybill or s.state is not domain.State.CREATED:
            self._store.order_done(due.key)  # ordered or cancelled already: only clears it from the due list
            return "done"
        try:
            receipt = self._carrier.create_order(order_of(s, self._tables[s.agency_code]))
        except CarrierRefused as refused:
            self._append(due, s, Entry(s.seq + 1, Kind.ORDER_REFUSED, Source.SYSTEM, self._clock(), self._clock(),
                                       applied=False, note=refused.reason))
            return "refused"
        # The carrier's first webhook ("accepted", naming the order number) may be logged between its
        # answer and this entry (seen end to end with the sandbox): the ORDERED entry, with the
        # carrier's charge, then goes after it instead of being lost to the next pass (which would
        # find the waybill already known and log no order).
        for _ in range(MAX_RETRIES):
            now = self._clock()
            entry = Entry(s.seq + 1, Kind.ORDERED, Source.SYSTEM, now, now, waybill=receipt.waybill,
                          postal_charge=receipt.postal_charge_vnd, note=self._carrier.name)
            after = domain.apply(s, entry)
            if self._store.append(after, entry, outgoing.after(s, after, entry)):
                self._store.order_done(due.key)
                if after.state is domain.State.CANCELLED:
                    self._cancel_late(after)
                return "placed"
            reloaded = self._store.load(shipment_id)
            if reloaded is None:
                return "gone"
            s = reloaded.shipment
        return "placed"  # still due: the next pass clears it (the order number keeps it from a second order)

    def _cancel_late(self, s: Shipment) -> None:
        """The desk cancelled while this order was on its way to the carrier: the order is cancelled
        there too (just accepted, never picked up), so no live order outlives its shipment."""
        try:
            self._carrier.cancel_order(s.waybill)
        except (CarrierUnavailable, CarrierRefused) as exc:
            log.error("a cancelled shipment's order could not be cancelled at the carrier: cancel it there",
                      shipment_id=s.id, waybill=s.waybill, error=str(exc)[:200])

    def _append(self, due: Due, s: Shipment, entry: Entry) -> None:
        after = domain.apply(s, entry)
        if self._store.append(after, entry, outgoing.after(s, after, entry)):
            self._store.order_done(due.key)
        # else another writer changed it: the next pass sees it again (the order number is the key)

    def webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """Reads and applies a tracking webhook's reports. A bad signature applies nothing (401), nor
        does a signed body that is not the carrier's shape (400: sending it again will not help); an
        unknown waybill is logged and answered 404 (the others of the same call are applied); a report
        that lost its race with another writer (CONCURRENT_CHANGE) answers 503, so the carrier sends
        the call again (the reports applied meanwhile are then repeats: not logged twice)."""
        try:
            reports = self._carrier.read_webhook(body, headers)
        except BadSignature:
            log.warning("webhook with a bad signature ignored", carrier=self._carrier.name)
            return WebhookResult(401)
        except CarrierRefused as bad:
            log.warning("signed webhook with a malformed body", carrier=self._carrier.name, reason=bad.reason[:200])
            return WebhookResult(400, error=bad.reason)
        except CarrierUnavailable:
            return WebhookResult(503)
        applied = ignored = unknown = retry = 0
        for report in reports:
            try:
                _, moved = self._service.record_report(report.waybill, report, Source.CARRIER_WEBHOOK, WORKER)
            except NotFound:
                log.warning("webhook for an unknown waybill", waybill=report.waybill[:64])
                unknown += 1
                continue
            except Aborted as exc:
                log.warning("webhook report lost a race: the carrier is asked to resend", waybill=report.waybill[:64],
                            reason=exc.reason)
                retry += 1
                continue
            except ServiceError as exc:
                log.warning("webhook report not applied", waybill=report.waybill[:64], reason=exc.reason)
                ignored += 1
                continue
            applied += moved
            ignored += not moved
        status = 503 if retry else 404 if unknown and not (applied or ignored) else 200
        return WebhookResult(status, applied, ignored)
