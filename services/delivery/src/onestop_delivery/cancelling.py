"""Delivery's calls to cancel a carrier order, and the rule that a parcel goes out again only once
the post holds no live order for it (issue 13's review: never two live orders for one result)."""

from __future__ import annotations

from onestop_chassis.errors import FailedPrecondition, Unavailable

from .carrier import Carrier, CarrierRefused, CarrierUnavailable, Direction, UnknownParcel
from .domain import Shipment, State
from .ports import Intake


def cancel_at_carrier(carrier: Carrier | None, s: Shipment, refusal: str) -> str:
    """Cancels the order of `s` at the carrier (idempotent there). The carrier's refusal (it has
    the parcel) raises FailedPrecondition `refusal`, or with `refusal` "" is returned as the
    carrier's reason; a parcel the carrier does not know is not live there (""); a carrier down or
    timing out raises Unavailable CARRIER_UNAVAILABLE."""
    if carrier is None:
        raise Unavailable("CARRIER_UNAVAILABLE", "no carrier is configured: the order cannot be cancelled")
    try:
        carrier.cancel_order(s.waybill)
    except CarrierUnavailable as exc:
        raise Unavailable("CARRIER_UNAVAILABLE", f"the carrier could not cancel {s.waybill} ({exc}): nothing "
                          "changed, send the request again", metadata={"shipment_id": s.id}) from None
    except UnknownParcel:
        return ""
    except CarrierRefused as refused:
        if refusal:
            raise FailedPrecondition(refusal, f"the carrier refused to cancel {s.waybill}: {refused.reason}",
                                     metadata={"shipment_id": s.id, "waybill": s.waybill}) from None
        return refused.reason
    return ""


def check_parcel_free(carrier: Carrier | None, intake: Intake, s: Shipment) -> None:
    """Raises unless the parcel of `s` can go out again: a returned parcel (at the desk) unless intake
    handed the result over (ALREADY_HANDED_OVER); a live order once the carrier cancels it
    (ALREADY_PICKED_UP when it keeps the parcel: wait for the return, or ask it to redeliver)."""
    if s.state is State.RETURNED_TO_SENDER:  # the carrier closed the order: the parcel is at the desk
        facts = intake.dossier(s.header.ref) if s.header.direction is Direction.OUTBOUND else None
        if facts is not None and facts.handed_over:
            raise FailedPrecondition("ALREADY_HANDED_OVER", f"the result of {s.header.ref} was handed over "
                                     "at the desk: nothing to send", metadata={"shipment_id": s.id})
        return
    kept = cancel_at_carrier(carrier, s, refusal="") if s.waybill and s.state is not State.CANCELLED else ""
    if kept:
        raise FailedPrecondition(
            "ALREADY_PICKED_UP", f"the carrier keeps the parcel of {s.id} ({kept}): wait for its return to "
            "the desk and rebook it then, or ask the post to deliver it again (phát lại)",
            metadata={"shipment_id": s.id, "waybill": s.waybill})
