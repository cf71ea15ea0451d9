"""The VNPost adapter: the Carrier port over the shape of VNPost's order API that the peers use.

Orders go as JSON (customerCode, orderNumber = the idempotency key, sender*/receiver* with province
and commune codes, weight in grams, codAmount in VND); the answer's itemCode is the waybill. Calls have
a timeout; the idempotent ones (create, by its order number; cancel; track) are retried with tenacity
on what may pass (connect error, timeout, 5xx, 429) with a bounded exponential backoff, then raise
CarrierUnavailable; 404 raises UnknownParcel, any other 4xx CarrierRefused with the carrier's message.
A tracking webhook is `{"events": [...]}` signed with HMAC-SHA256 over the body in the `X-Signature` header (hex),
checked in constant time. The carrier reports Vietnam time; events come out in UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

import requests
import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from ..carrier import (
    BadSignature,
    CarrierOrder,
    CarrierReceipt,
    CarrierRefused,
    CarrierStatus,
    CarrierUnavailable,
    Party,
    TrackingEvent,
    UnknownParcel,
)

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Signature"
# VNPost-shaped status codes (those the carrier sandbox speaks) → the port's statuses.
STATUS_CODES = {
    "100": CarrierStatus.ACCEPTED, "200": CarrierStatus.PICKED_UP, "300": CarrierStatus.IN_TRANSIT,
    "400": CarrierStatus.OUT_FOR_DELIVERY, "500": CarrierStatus.DELIVERED, "550": CarrierStatus.FAILED_ATTEMPT,
    "600": CarrierStatus.RETURNED_TO_SENDER, "700": CarrierStatus.CANCELLED,
}
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class VNPostCarrier:
    """Carrier over HTTP. `attempts` tries in all for an idempotent call, waiting 0.2 s, 0.4 s, ... (with
    jitter, at most `backoff_max_seconds`) between them; `timeout_seconds` for connecting and for each
    answer. `session` and `sleep` are for tests (a stub HTTP layer, no waiting)."""

    name = "vnpost"

    def __init__(self, base_url: str, customer_code: str, api_token: str, webhook_secret: str, *,
                 timeout_seconds: float = 5.0, attempts: int = 4, backoff_max_seconds: float = 2.0,
                 session: Any = None, sleep: Callable[[float], None] | None = None):
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.customer_code, self._token = customer_code, api_token
        self._secret = webhook_secret.encode("utf-8")
        self.timeout_seconds = timeout_seconds
        self._session = session or requests.Session()
        retry = {"stop": stop_after_attempt(attempts), "reraise": True,
                 "wait": wait_exponential_jitter(initial=0.2, max=backoff_max_seconds, jitter=0.1),
                 "retry": retry_if_exception_type(CarrierUnavailable), "before_sleep": self._log_retry}
        self._retrying = Retrying(**retry, **({"sleep": sleep} if sleep else {}))

    @classmethod
    def from_settings(cls, settings: Any) -> VNPostCarrier:
        """Built from DeliverySettings (config.py): CARRIER_BASE_URL, the credentials, the timeouts."""
        return cls(settings.carrier_base_url, settings.carrier_customer_code, settings.carrier_api_token,
                   settings.carrier_webhook_secret, timeout_seconds=settings.carrier_timeout_seconds,
                   attempts=settings.carrier_attempts, backoff_max_seconds=settings.carrier_backoff_max_seconds)

    def create_order(self, order: CarrierOrder) -> CarrierReceipt:
        body = self._call("POST", "/api/orders", order_body(order))
        try:
            return CarrierReceipt(str(body["orderNumber"]), str(body["itemCode"]), int(body["totalFee"]))
        except (KeyError, TypeError, ValueError):
            raise CarrierUnavailable(f"the carrier's answer to order {order.order_number} lacks "
                                     "orderNumber, itemCode or totalFee") from None

    def cancel_order(self, waybill: str) -> None:
        self._call("POST", f"/api/orders/{_path(waybill)}/cancel", {})

    def track(self, waybill: str) -> list[TrackingEvent]:
        body = self._call("GET", f"/api/orders/{_path(waybill)}/tracking")
        return events_of(body.get("events"), body.get("itemCode", waybill), body.get("orderNumber", ""))

    def read_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]:
        """The events of a webhook; BadSignature unless `X-Signature` (any case) is the hex HMAC-SHA256
        of `body` with the webhook secret; CarrierRefused when a signed body is not the carrier's shape."""
        given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8", "replace")):
            raise BadSignature("the webhook's X-Signature does not match its body")
        try:
            payload = json.loads(body)
        except ValueError:
            raise CarrierRefused("the webhook's body is not JSON") from None
        if not isinstance(payload, dict):
            raise CarrierRefused("the webhook's body is not a JSON object")
        return events_of(payload.get("events"), "", "")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        """One idempotent call, retried while the carrier is unavailable."""
        for attempt in self._retrying:
            with attempt:
                return self._once(method, path, body)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def _once(self, method: str, path: str, body: dict | None) -> dict[str, Any]:
        try:
            answer = self._session.request(
                method, self.base_url + path, json=body, timeout=self.timeout_seconds,
                headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"})
        except requests.Timeout:
            raise CarrierUnavailable(f"the carrier did not answer {method} {path} within "
                                     f"{self.timeout_seconds} s") from None
        except requests.RequestException as exc:
            raise CarrierUnavailable(f"the carrier cannot be reached ({type(exc).__name__})") from None
        if answer.status_code in RETRYABLE_STATUS or answer.status_code >= 500:
            raise CarrierUnavailable(f"the carrier answered {answer.status_code}: {_message(answer)}")
        if answer.status_code == 404:
            raise UnknownParcel(_message(answer))
        if answer.status_code >= 400:
            raise CarrierRefused(_message(answer))
        try:
            payload = answer.json()
        except ValueError:
            raise CarrierUnavailable(f"the carrier's answer to {method} {path} is not JSON") from None
        return payload if isinstance(payload, dict) else {}

    def _log_retry(self, state) -> None:
        log.warning("carrier unavailable, retrying", carrier=self.name, attempt=state.attempt_number,
                    error=str(state.outcome.exception()) if state.outcome else "")


def order_body(order: CarrierOrder) -> dict[str, Any]:
    """The JSON order VNPost's API takes (field names as the peers' clients send them)."""
    return {"customerCode": order.customer_code, "orderNumber": order.order_number,
            **_party("sender", order.sender),
            **_party("receiver", order.receiver), "weight": order.weight_grams,
            "codAmount": order.cod_amount_vnd, "contentNote": order.content}


def _party(prefix: str, party: Party) -> dict[str, str]:
    return {f"{prefix}Fullname": party.name, f"{prefix}Tel": party.phone, f"{prefix}Address": party.address_line,
            f"{prefix}ProvinceCode": party.province_code, f"{prefix}CommuneCode": party.commune_code}


def events_of(raw: Any, waybill: str, order_number: str) -> list[TrackingEvent]:
    """TrackingEvents of the carrier's event list, in its order. An event whose status code this
    adapter does not know is left out and logged (it cannot be applied); a malformed one raises
    CarrierRefused."""
    if not isinstance(raw, list):
        raise CarrierRefused("the carrier's report has no list of events")
    events = []
    for item in raw:
        try:
            code = str(item["statusCode"])
            at = dt.datetime.fromisoformat(str(item["time"]))
            event = {"event_id": str(item["eventId"]), "waybill": str(item.get("itemCode") or waybill),
                     "order_number": str(item.get("orderNumber") or order_number), "note": str(item.get("note", ""))}
        except (KeyError, TypeError, ValueError):
            raise CarrierRefused(f"the carrier's report has a malformed event: {str(item)[:200]}") from None
        if code not in STATUS_CODES:
            log.warning("carrier status code unknown, event left out", status_code=code, event_id=event["event_id"])
            continue
        if at.tzinfo is None:
            raise CarrierRefused(f"the carrier's event {event['event_id']} has a time without its offset")
        events.append(TrackingEvent(status=STATUS_CODES[code], at=at.astimezone(dt.UTC), **event))
    return events


def _message(answer: Any) -> str:
    """The carrier's own reason, from its JSON `message` or the start of its body."""
    try:
        payload = answer.json()
        if isinstance(payload, dict) and payload.get("message"):
            return str(payload["message"])
    except ValueError:
        pass
    return (answer.text or "")[:200] or f"HTTP {answer.status_code}"


def _path(waybill: str) -> str:
    return requests.utils.quote(waybill, safe="")
