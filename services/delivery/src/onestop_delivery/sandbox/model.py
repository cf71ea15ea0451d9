"""The CARRIER SANDBOX's parcels: an in-memory stand-in for a VNPost-shaped carrier. Not a carrier.

Orders, waybills, a sandbox tariff, parcels moving through the stages, failed attempts and returns,
and the faults tests command (down, slow, failing attempts). Nothing here is VNPost's own list or
tariff: the status codes below are the sandbox's VNPost-shaped codes, which the VNPost adapter maps
(`adapters/vnpost.py`). Weights are grams, amounts whole VND, times Vietnam time (UTC+07:00) as a
carrier in Vietnam reports them.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

VIETNAM = dt.timezone(dt.timedelta(hours=7))

# The sandbox's status codes (VNPost-shaped: numeric strings) and their Vietnamese labels.
ACCEPTED, PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY = "100", "200", "300", "400"
DELIVERED, FAILED_ATTEMPT, RETURNED, CANCELLED = "500", "550", "600", "700"
STATUS_TEXT = {
    ACCEPTED: "Đã tiếp nhận đơn hàng", PICKED_UP: "Đã nhận bưu gửi", IN_TRANSIT: "Đang vận chuyển",
    OUT_FOR_DELIVERY: "Đang phát", DELIVERED: "Phát thành công", FAILED_ATTEMPT: "Phát không thành công",
    RETURNED: "Đã chuyển hoàn", CANCELLED: "Đã hủy",
}
FINAL = {DELIVERED, RETURNED, CANCELLED}
NEXT = {ACCEPTED: PICKED_UP, PICKED_UP: IN_TRANSIT, IN_TRANSIT: OUT_FOR_DELIVERY}

ORDER_NUMBER = re.compile(r"^[A-Za-z0-9._:|~+-]{1,50}$")
PARTY_FIELDS = ("Fullname", "Tel", "Address", "ProvinceCode", "CommuneCode")
MAX_WEIGHT_GRAMS = 30_000


class OrderInvalid(ValueError):
    """An order the sandbox refuses (HTTP 400): the message names the field."""


class NoSuchParcel(LookupError):
    """An item code the sandbox never issued (HTTP 404)."""


class CannotCancel(Exception):
    """A parcel already picked up (HTTP 409)."""


@dataclass
class Parcel:
    order: dict[str, Any]
    order_number: str
    item_code: str
    total_fee: int
    status: str = ACCEPTED
    events: list[dict[str, Any]] = field(default_factory=list)
    failed_attempts: int = 0
    fail_next: list[str] = field(default_factory=list)  # reasons of the next attempts that fail
    moved_at: float = field(default_factory=time.monotonic)

    def view(self) -> dict[str, Any]:
        return {"orderNumber": self.order_number, "itemCode": self.item_code, "totalFee": self.total_fee,
                "statusCode": self.status, "failedAttempts": self.failed_attempts, "events": list(self.events)}


def s10_item_code(serial: int, prefix: str = "EB", country: str = "VN") -> str:
    """A waybill in the UPU S10 shape VNPost's items carry: 2 letters, 8 digits, a check digit, `VN`."""
    digits = f"{serial % 100_000_000:08d}"
    check = 11 - sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    check = {10: 0, 11: 5}.get(check, check)
    return f"{prefix}{digits}{check}{country}"


def sandbox_fee(order: dict[str, Any]) -> int:
    """The SANDBOX's tariff (VND), not a real one: 16,500 up to 500 g, 2,500 per further 500 g started,
    5,000 more between provinces, 1% of the COD amount (at least 5,000) when there is one."""
    extra_steps = max(0, -(-(int(order["weight"]) - 500) // 500))
    fee = 16_500 + 2_500 * extra_steps
    if order["senderProvinceCode"] != order["receiverProvinceCode"]:
        fee += 5_000
    if int(order["codAmount"]) > 0:
        fee += max(5_000, int(order["codAmount"]) // 100)
    return fee


def validate_order(order: Any) -> dict[str, Any]:
    """The order as the sandbox keeps it; OrderInvalid naming the first bad field."""
    if not isinstance(order, dict):
        raise OrderInvalid("the body must be a JSON object")
    for name in ("customerCode", "orderNumber"):
        if not isinstance(order.get(name), str) or not order[name].strip():
            raise OrderInvalid(f"{name} is required")
    if not ORDER_NUMBER.match(order["orderNumber"]):
        raise OrderInvalid("orderNumber: at most 50 letters, digits or . _ : | ~ + -")
    for party in ("sender", "receiver"):
        for suffix in PARTY_FIELDS:
            value = order.get(party + suffix)
            if not isinstance(value, str) or not value.strip():
                raise OrderInvalid(f"{party}{suffix} is required")
    weight, cod = order.get("weight"), order.get("codAmount", 0)
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 < weight <= MAX_WEIGHT_GRAMS:
        raise OrderInvalid(f"weight: a whole number of grams from 1 to {MAX_WEIGHT_GRAMS}")
    if not isinstance(cod, int) or isinstance(cod, bool) or cod < 0:
        raise OrderInvalid("codAmount: a whole number of VND, 0 or more")
    return {**order, "codAmount": cod}


@dataclass
class Faults:
    """What the sandbox was told to get wrong on its carrier API (never on /sandbox/ control routes)."""
    down_until: float = 0.0      # monotonic time until which every API call answers 503
    down_requests: int = 0       # the next N API calls answer 503
    slow_seconds: float = 0.0    # the next `slow_requests` API calls are done, then answered this late
    slow_requests: int = 0

    def take_down(self) -> bool:
        if self.down_requests > 0:
            self.down_requests -= 1
            return True
        return time.monotonic() < self.down_until

    def take_slow(self) -> float:
        if self.slow_requests > 0:
            self.slow_requests -= 1
            return self.slow_seconds
        return 0.0


class SandboxCarrier:
    """The sandbox carrier's state, safe across the server's threads. `report` is called with each
    new tracking event (the webhook sender). `max_attempts` failed attempts return a parcel to its sender."""

    def __init__(self, report: Callable[[dict[str, Any]], None], *, max_attempts: int = 3,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(VIETNAM)):
        self.lock = threading.RLock()
        self.report, self.max_attempts, self.now = report, max_attempts, now
        self.by_number: dict[str, Parcel] = {}
        self.by_item: dict[str, Parcel] = {}
        self.create_requests = 0
        # waybills differ from one sandbox process to the next (a database may keep the last run's)
        self.serial = random.SystemRandom().randrange(10_000_000, 90_000_000)
        self.faults = Faults()
        self.chaos: random.Random | None = None
        self.chaos_failure_rate = 0.0

    def create(self, body: Any) -> tuple[Parcel, bool]:
        """The parcel of this order number, and whether this call created it (the order number is the
        idempotency key: a second create with it returns the first parcel, whatever else it says)."""
        order = validate_order(body)
        with self.lock:
            self.create_requests += 1
            existing = self.by_number.get(order["orderNumber"])
            if existing:
                return existing, False
            self.serial += 1  # never reset: a waybill is never issued twice by one sandbox
            item = s10_item_code(self.serial)
            parcel = Parcel(order, order["orderNumber"], item, sandbox_fee(order))
            self.by_number[parcel.order_number] = self.by_item[item] = parcel
            self._record(parcel, ACCEPTED, "")
            return parcel, True

    def parcel(self, item_code: str) -> Parcel:
        with self.lock:
            if item_code not in self.by_item:
                raise NoSuchParcel(item_code)
            return self.by_item[item_code]

    def cancel(self, item_code: str) -> Parcel:
        """Cancels a parcel not yet picked up; cancelling a cancelled one again changes nothing."""
        with self.lock:
            parcel = self.parcel(item_code)
            if parcel.status == CANCELLED:
                return parcel
            if parcel.status != ACCEPTED:
                raise CannotCancel(f"Bưu gửi {item_code} đã được thu gom ({STATUS_TEXT[parcel.status]}), không thể hủy")
            self._record(parcel, CANCELLED, "Khách hàng hủy đơn")
            return parcel

    def fail_next_attempt(self, item_code: str, count: int, reason: str) -> Parcel:
        with self.lock:
            parcel = self.parcel(item_code)
            parcel.fail_next.extend([reason] * count)
            return parcel

    def advance(self, item_code: str | None = None, stages: int = 1,
                older_than: float | None = None) -> list[dict[str, Any]]:
        """Moves one parcel (or every parcel not final; with `older_than`, only those that have not
        moved for that many seconds) `stages` stages on; the new events."""
        with self.lock:
            parcels = [self.parcel(item_code)] if item_code else list(self.by_item.values())
            if older_than is not None:
                parcels = [p for p in parcels if time.monotonic() - p.moved_at >= older_than]
            events = []
            for parcel in parcels:
                for _ in range(stages):
                    if parcel.status in FINAL:
                        break
                    events.append(self._step(parcel))
            return events

    def _step(self, parcel: Parcel) -> dict[str, Any]:
        if parcel.status in NEXT:
            return self._record(parcel, NEXT[parcel.status], "")
        if parcel.status == FAILED_ATTEMPT:
            if parcel.failed_attempts >= self.max_attempts:
                note = f"Chuyển hoàn sau {parcel.failed_attempts} lần phát không thành công"
                return self._record(parcel, RETURNED, note)
            return self._record(parcel, OUT_FOR_DELIVERY, f"Phát lại lần {parcel.failed_attempts + 1}")
        reason = parcel.fail_next.pop(0) if parcel.fail_next else None
        if reason is None and self.chaos and self.chaos.random() < self.chaos_failure_rate:
            reason = "Người nhận vắng nhà (chaos)"
        if reason is not None:
            parcel.failed_attempts += 1
            return self._record(parcel, FAILED_ATTEMPT, reason)
        return self._record(parcel, DELIVERED, "Người nhận đã ký nhận")

    def _record(self, parcel: Parcel, status: str, note: str) -> dict[str, Any]:
        parcel.status, parcel.moved_at = status, time.monotonic()
        event = {"eventId": f"{parcel.item_code}-{len(parcel.events) + 1}", "itemCode": parcel.item_code,
                 "orderNumber": parcel.order_number, "statusCode": status, "statusText": STATUS_TEXT[status],
                 "time": self.now().isoformat(timespec="seconds"), "note": note}
        parcel.events.append(event)
        self.report(event)
        return event

    def reset(self) -> None:
        with self.lock:
            self.by_number.clear()
            self.by_item.clear()
            self.create_requests = 0
            self.faults = Faults()
            self.chaos = None
