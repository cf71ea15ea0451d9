"""Delivery's `worker` process: books the outbound shipment of every finished dossier whose applicant
chose postal return and places the carrier orders still due (`booking.ShipmentBooking`), and
receives the carrier's tracking webhook (POST /carrier/webhook on the worker's web port, 8055
locally). Without a carrier adapter in the composition (bootstrap's `carrier`), the order timer
does nothing and the webhook answers 503."""

from __future__ import annotations

import json

from prometheus_client import Counter

from onestop_chassis.web import page
from onestop_chassis.worker import MongoConnection, Observability, OutboxRelayRunner

from .adapters.mongo import outbox_collections
from .booking import ShipmentBooking
from .fee_lines import FeeLines

WEBHOOKS = Counter("onestop_delivery_webhooks", "Carrier webhook calls by HTTP status", ["status"])


class DeliveryWorker(ShipmentBooking, FeeLines):
    name = "delivery"
    observability = Observability()
    mongo = MongoConnection()
    outbox = OutboxRelayRunner(*outbox_collections())  # only with OUTBOX_RELAY_IN_WORKER

    @page("POST", "/carrier/webhook")
    def carrier_webhook(self, request):
        """The carrier's tracking webhook: 200 applied (repeats and out-of-order reports are logged,
        not applied), 400 a signed body not in the carrier's shape, 401 bad signature (nothing
        applied), 404 unknown waybill, 503 no carrier or a report to resend (ordering.webhook)."""
        if self.ordering is None:
            status, body = 503, {"error": "no carrier configured"}
        else:
            result = self.ordering.webhook(request.get_data(), dict(request.headers))
            status, body = result.status, {"applied": result.applied, "ignored": result.ignored}
            if result.error:
                body["error"] = result.error
        WEBHOOKS.labels(str(status)).inc()
        return status, {"Content-Type": "application/json"}, json.dumps(body)
