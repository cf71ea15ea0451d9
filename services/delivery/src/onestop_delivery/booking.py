"""Mixed into delivery's worker: intake's `DossierFinished` books the result's outbound shipment when
the applicant chose postal return, and a timer places the carrier orders still due (so a carrier
that is down is asked again on the next pass; the order number keeps it from ordering twice).
No web import here: tests host this part alone (nameko's web server changes a test process's threads)."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.events.v1 import intake_events_pb2 as iev
from onestop_chassis import events
from onestop_chassis.errors import FailedPrecondition, InvalidArgument, PermanentError
from onestop_chassis.worker import Bootstrapped, event_handler, periodic

from .bootstrap import bootstrap
from .carrier import Party

ORDERS = Counter("onestop_delivery_orders", "Carrier orders by outcome", ["outcome"])


class ShipmentBooking:
    ordering = Bootstrapped(bootstrap, "ordering")  # ordering.Ordering, None without a carrier
    delivery = Bootstrapped(bootstrap, "service")

    @event_handler("intake", "DossierFinished", message=iev.DossierFinished)
    def on_dossier_finished(self, event: iev.DossierFinished) -> bool:
        """Books the result's outbound shipment when the applicant chose postal return; False when
        it was booked before (the chassis counts the repeat). An address without its unit codes is
        dead-lettered (PermanentError: the desk books it by CreateShipment with the codes)."""
        if not event.return_by_post:
            return True
        a = event.applicant
        if not a.full_name:
            raise events.InvalidEvent(f"DossierFinished {event.dossier_code} chose postal return without applicant")
        receiver = Party(a.full_name, a.phone, a.address.line, a.address.commune_code, a.address.province_code)
        try:
            return self.delivery.book_result(event.dossier_code, event.procedure_code, receiver,
                                             event.header.event_id)
        except (InvalidArgument, FailedPrecondition) as exc:
            raise PermanentError(f"{exc.reason}: {exc.message}") from exc

    @periodic("order_retry_seconds")
    def place_orders(self) -> None:
        """One pass over the orders still to place (ordering.Ordering.place_due)."""
        if self.ordering is None:
            return
        done = self.ordering.place_due()
        for outcome in ("placed", "unavailable", "refused"):
            if getattr(done, outcome):
                ORDERS.labels(outcome).inc(getattr(done, outcome))
