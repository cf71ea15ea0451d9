"""Mixed into the intake worker: delivery's events of a result's parcel (see `postal`): delivered,
returned to sender, rebooked.

A redelivery returns False (the chassis counts it); an unknown dossier or one whose status the event
cannot move is dead-lettered (PermanentError with the reason); a dossier changed meanwhile by the
desk (ABORTED) is retried."""

from __future__ import annotations

import datetime as dt

from onestop.events.v1 import delivery_events_pb2 as dev
from onestop_chassis.errors import FailedPrecondition, InvalidArgument, NotFound, PermanentError
from onestop_chassis.worker import Bootstrapped, event_handler

from ..bootstrap import bootstrap

OUTBOUND = 1  # ShipmentRef.direction: the result to the applicant


class PostalFollowing:
    postal = Bootstrapped(bootstrap, "postal")  # postal.PostalReturns, from intake's composition root

    @event_handler("delivery", "ShipmentDelivered", message=dev.ShipmentDelivered)
    def on_shipment_delivered(self, event) -> bool:
        if event.shipment.direction != OUTBOUND:
            return True  # a postal intake reached the desk: the desk receives the dossier (channel 3)
        picked = event.picked_up_at.ToDatetime(dt.UTC) if event.HasField("picked_up_at") else None
        return self._apply(lambda: self.postal.delivered(
            event.shipment.ref, event.header.event_id, event.shipment.waybill,
            event.delivered_at.ToDatetime(dt.UTC), picked))

    @event_handler("delivery", "ShipmentReturnedToSender", message=dev.ShipmentReturnedToSender)
    def on_shipment_returned(self, event) -> bool:
        if event.shipment.direction != OUTBOUND:
            return True
        return self._apply(lambda: self.postal.returned_to_sender(
            event.shipment.ref, event.header.event_id, event.returned_at.ToDatetime(dt.UTC)))

    @event_handler("delivery", "ShipmentRebooked", message=dev.ShipmentRebooked)
    def on_shipment_rebooked(self, event) -> bool:
        if event.shipment.direction != OUTBOUND:
            return True
        return self._apply(lambda: self.postal.rebooked(event.shipment.ref, event.next_shipment_id))

    @staticmethod
    def _apply(change) -> bool:
        try:
            return change()
        except (NotFound, FailedPrecondition, InvalidArgument) as exc:
            raise PermanentError(f"{exc.reason}: {exc.message}") from exc
