"""Mixed into delivery's worker: the fee line of every PostalFeeRecorded delivery publishes, written
again by unique insert (totals.py). The process that logged the entry wrote its lines right after
it; a crash in between would lose them, while the events, in the entry's outbox, are published
anyway: receiving them back restores the line, so the totals are as durable as the outbox. A line
written before is left as it is. No web import here: tests host this part alone."""

from __future__ import annotations

from onestop.events.v1 import delivery_events_pb2 as dev
from onestop_chassis import events
from onestop_chassis.worker import Bootstrapped, event_handler

from .bootstrap import bootstrap


class FeeLines:
    shipments = Bootstrapped(bootstrap, "shipments")  # service.ShipmentStore

    @event_handler("delivery", "PostalFeeRecorded", message=dev.PostalFeeRecorded)
    def on_fee_recorded(self, event: dev.PostalFeeRecorded) -> bool:
        """Writes the event's line unless it exists; True either way (the line written by the
        entry's own process is the normal case, not a redelivery). An event whose fee_id is not
        `<agency>|<day>|<shipment>|<kind>` of its own shipment is dead-lettered (InvalidEvent)."""
        parts = event.fee_id.split("|")
        if (len(parts) != 4 or parts[0] != event.shipment.agency_code or parts[2] != event.shipment.shipment_id
                or parts[3] != event.kind or parts[1] != event.day):
            raise events.InvalidEvent(f"PostalFeeRecorded with a malformed fee_id {event.fee_id[:120]!r}")
        self.shipments.record_fees([event])
        return True
