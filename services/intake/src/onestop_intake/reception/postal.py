"""Intake follows delivery's parcel of a result (Decision 45/2016/QĐ-TTg): the use case behind the
worker's handlers of delivery's events.

- `ShipmentDelivered`: the result reached the applicant: status 9 → 10 (returned, by post, with the
  waybill as the postal tracking number), at the delivery time.
- `ShipmentReturnedToSender`: the post brought the result back after its last failed attempt: the
  dossier stays at (or is) 9, the result at the desk, and the lookup tells the applicant so.
- `ShipmentRebooked`: the result goes out by post again (the desk rebooked a returned parcel): the
  lookup's notice says so instead of "come and collect". A result handed over (status 10, at the desk
  or by post) keeps no "collect" notice: `desk_actions.return_result` clears it.

Transit time is shown apart and never counted in the processing limit: processing ends when the
result reaches the desk (status 9, `RecordResult` judges early/on time/late then); the days the
parcel travels are the postal service's, the applicant's choice (Decision 45/2016/QĐ-TTg art. 5,
and the one-stop rules of Decree 61/2018 art. 18, counting the limit to the result at the desk).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from onestop_chassis.errors import NotFound

from . import desk_actions
from .domain import Dossier, DossierStatus, ReturnMethod
from .service import DossierRepository

ACTOR = "delivery"
RETURNED_NOTICE_VI = "Bưu điện đã hoàn trả kết quả; mời nhận tại bộ phận một cửa"
REBOOKED_NOTICE_VI = "Kết quả được gửi lại qua bưu chính (đơn {order})"


def transit_vi(picked_up_at: dt.datetime | None, delivered_at: dt.datetime) -> str:
    """'thời gian chuyển phát 1 ngày 4 giờ (không tính vào thời hạn giải quyết)', or "" unknown."""
    if picked_up_at is None or picked_up_at >= delivered_at:  # unknown, never "0 giờ"
        return ""
    hours = int((delivered_at - picked_up_at).total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    span = (f"{days} ngày " if days else "") + f"{hours} giờ"
    return f"thời gian chuyển phát {span} (không tính vào thời hạn giải quyết)"


class PostalReturns:
    def __init__(self, dossiers: DossierRepository):
        self._dossiers = dossiers

    def _dossier(self, code: str) -> Dossier:
        dossier = self._dossiers.by_code(code)
        if dossier is None:
            raise NotFound("DOSSIER_NOT_FOUND", f"no dossier has code {code}", metadata={"code": code})
        return dossier

    def delivered(self, code: str, event_id: str, waybill: str, delivered_at: dt.datetime,
                  picked_up_at: dt.datetime | None) -> bool:
        """Status 10 by post. False when this event was applied before or the result was handed
        over already. Raises NotFound DOSSIER_NOT_FOUND, FailedPrecondition (the dossier is not at 9,
        or its procedure excludes postal return), ConcurrentChange (a desk action meanwhile)."""
        d = self._dossier(code)
        if any(t.event_id == event_id for t in d.history) or d.status is DossierStatus.RESULT_RETURNED:
            return False
        transit = transit_vi(picked_up_at, delivered_at)
        new, events = desk_actions.return_result(d, at=delivered_at, method=ReturnMethod.BY_POST, actor=ACTOR,
                                                 postal_tracking_number=waybill, note=transit)
        new = replace(new, history=[*new.history[:-1], replace(new.history[-1], event_id=event_id)],
                      postal_notice=f"Đã phát kết quả qua bưu chính, số hiệu bưu gửi {waybill}"
                                    + (f"; {transit}" if transit else ""))
        self._dossiers.update(new, events, actor=ACTOR, action="delivery.ShipmentDelivered")
        return True

    def returned_to_sender(self, code: str, event_id: str, at: dt.datetime) -> bool:
        """The result is back at the desk: a history entry at status 9 and the lookup's notice. False
        when applied before, or when the result was handed over already (a later booking delivered)."""
        d = self._dossier(code)
        if any(t.event_id == event_id for t in d.history) or d.status is not DossierStatus.FINISHED:
            return False
        history = [*d.history, replace(d.history[-1], at=at, status=DossierStatus.FINISHED, actor=ACTOR,
                                       note=RETURNED_NOTICE_VI, event_id=event_id)]
        new = replace(d, history=history, version=d.version + 1, postal_notice=RETURNED_NOTICE_VI)
        self._dossiers.update(new, [], actor=ACTOR, action="delivery.ShipmentReturnedToSender")
        return True

    def rebooked(self, code: str, next_shipment_id: str) -> bool:
        """The result's parcel goes out again as order `next_shipment_id`: the lookup's notice says so
        while the result is at the desk (status 9). False when nothing changes (the result was handed
        over already, or the notice says so already). Raises NotFound DOSSIER_NOT_FOUND."""
        d = self._dossier(code)
        notice = REBOOKED_NOTICE_VI.format(order=next_shipment_id)
        if d.status is not DossierStatus.FINISHED or d.postal_notice == notice:
            return False
        self._dossiers.update(replace(d, version=d.version + 1, postal_notice=notice), [], actor=ACTOR,
                              action="delivery.ShipmentRebooked")
        return True
