"""Delivery's `worker` process: places the carrier orders still due (a timer, so a carrier that is
down is asked again on the next pass, the order number keeping it from ordering twice) and receives
the carrier's tracking webhook (POST /carrier/webhook on the worker's web port, 8055 locally).

Without a carrier adapter in the composition (bootstrap's `carrier`), the timer does nothing and the
webhook answers 503."""

from __future__ import annotations

import json

from prometheus_client import Counter

from onestop_chassis.logs import get_logger
from onestop_chassis.web import page
from onestop_chassis.worker import Bootstrapped, MongoConnection, Observability, OutboxRelayRunner, periodic

from .adapters.mongo import outbox_collections
from .bootstrap import bootstrap

log = get_logger("onestop.delivery")
ORDERS = Counter("onestop_delivery_orders", "Carrier orders by outcome", ["outcome"])
WEBHOOKS = Counter("onestop_delivery_webhooks", "Carrier webhook calls by HTTP status", ["status"])


class DeliveryWorker:
    name = "delivery"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*outbox_collections())  # only with OUTBOX_RELAY_IN_WORKER
    ordering = Bootstrapped(bootstrap, "ordering")

    @periodic("order_retry_seconds")
    def place_orders(self) -> None:
        """One pass over the orders still to place (ordering.Ordering.place_due)."""
        if self.ordering is None:
            return
        done = self.ordering.place_due()
        for outcome in ("placed", "unavailable", "refused"):
            if getattr(done, outcome):
                ORDERS.labels(outcome).inc(getattr(done, outcome))

    @page("POST", "/carrier/webhook")
    def carrier_webhook(self, request):
        """The carrier's tracking webhook: 200 applied (repeats and out-of-order reports are logged,
        not applied), 401 bad signature (nothing applied), 404 unknown waybill, 503 no carrier."""
        if self.ordering is None:
            status, body = 503, {"error": "no carrier configured"}
        else:
            result = self.ordering.webhook(request.get_data(), dict(request.headers))
            status, body = result.status, {"applied": result.applied, "ignored": result.ignored}
        WEBHOOKS.labels(str(status)).inc()
        return status, {"Content-Type": "application/json"}, json.dumps(body)
