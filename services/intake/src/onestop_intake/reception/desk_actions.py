"""Desk actions on a received dossier (accept, supplement, refuse, withdrawal, result): each
returns the changed dossier (a new object, version + 1) and its events, or raises.

Plain Python: no grpc, nameko, mongoengine or minio here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from onestop_chassis import identity
from onestop_chassis.errors import FailedPrecondition, FieldViolation, InvalidArgument, Violations

from .domain import (
    STATUS_LABELS_VI,
    TIMELINESS_LABELS_VI,
    Dossier,
    DossierFinished,
    DossierReceived,
    DossierRefused,
    DossierResultReturned,
    DossierStatus,
    DossierSupplementReceived,
    DossierSupplementRequested,
    DossierWithdrawalRequested,
    ProcessingResult,
    ResultReturn,
    ReturnMethod,
    SupplementRequest,
    Timeliness,
    Transition,
    check_text,
)

# -- desk actions on an existing dossier -----------------------------------------------------------
# Each returns the changed dossier (a new object, version + 1) and its events, or raises.

S = DossierStatus
ALLOWED_FROM = {
    "accept": {S.NEW},
    "request_supplement": {S.RECEIVED, S.PROCESSING},
    "receive_supplement": {S.SUPPLEMENT_REQUESTED},
    "refuse": {S.NEW, S.RECEIVED},
    "request_withdrawal": {S.NEW, S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.PAYMENT_REQUESTED},
    "record_result": {S.RECEIVED, S.PROCESSING, S.PAYMENT_REQUESTED},
    "return_result": {S.FINISHED},
    # Routing's events (see `routed`): the case runs from the desk's reception to its result.
    "routing_opened": {S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.PAYMENT_REQUESTED,
                       S.WITHDRAWAL_REQUESTED, S.STOPPED, S.FINISHED, S.RESULT_RETURNED},
    "progress": {S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.PAYMENT_REQUESTED},
    "request_payment": {S.RECEIVED, S.PROCESSING},
    "resume": {S.RECEIVED, S.PROCESSING, S.PAYMENT_REQUESTED},
    "extend": {S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.PAYMENT_REQUESTED},
    "stop": {S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.PAYMENT_REQUESTED, S.WITHDRAWAL_REQUESTED},
    "finish": {S.RECEIVED, S.PROCESSING, S.PAYMENT_REQUESTED},
}
ACTION_LABELS_VI = {
    "accept": "Tiếp nhận hồ sơ trực tuyến", "request_supplement": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "receive_supplement": "Tiếp nhận hồ sơ bổ sung", "refuse": "Từ chối tiếp nhận hồ sơ",
    "request_withdrawal": "Công dân yêu cầu rút hồ sơ",
    "record_result": "Nhận kết quả giải quyết", "return_result": "Trả kết quả",
    "routing_opened": "Chuyển xử lý theo quy trình nội bộ", "progress": "Đang xử lý",
    "request_payment": "Yêu cầu thực hiện nghĩa vụ tài chính", "resume": "Tiếp tục xử lý",
    "extend": "Gia hạn thời gian giải quyết", "stop": "Dừng xử lý", "finish": "Đã xử lý xong",
}
RETURN_METHOD_LABELS_VI = {ReturnMethod.AT_DESK: "tại Bộ phận Một cửa",
                           ReturnMethod.BY_POST: "qua dịch vụ bưu chính công ích",
                           ReturnMethod.ONLINE: "trực tuyến"}


def _check(d: Dossier, action: str) -> None:
    if d.status not in ALLOWED_FROM[action]:
        allowed = ", ".join(f"{int(s)} {STATUS_LABELS_VI[s]}" for s in sorted(ALLOWED_FROM[action]))
        raise FailedPrecondition(
            "ACTION_NOT_ALLOWED_IN_STATUS",
            f"dossier {d.code} is {int(d.status)} ({STATUS_LABELS_VI[d.status]}); "
            f"'{ACTION_LABELS_VI[action]}' is allowed only from: {allowed}",
            metadata={"status": str(int(d.status)), "action": action})


def _moved(d: Dossier, status: DossierStatus, at: dt.datetime, actor: str, note: str, *, event_id: str = "",
           **changes) -> Dossier:
    history = [*d.history, Transition(at=at, status=status, actor=actor, note=note, event_id=event_id)]
    return replace(d, status=status, history=history, version=d.version + 1, **changes)


def _required(text: str, field_name: str) -> str:
    v = Violations()
    check_text(v, field_name, text, "request_content", required=True)
    v.raise_if_any()
    return text.strip()


def accept(d: Dossier, *, at: dt.datetime, appointment_at: dt.datetime, actor: str):
    _check(d, "accept")
    new = _moved(d, S.RECEIVED, at, actor, ACTION_LABELS_VI["accept"], received_at=at, appointment_at=appointment_at)
    return new, [DossierReceived(new)]


def request_supplement(d: Dossier, *, at: dt.datetime, reason: str, documents_to_add: list[str], actor: str):
    _check(d, "request_supplement")
    if d.supplement_requested:
        raise FailedPrecondition("SUPPLEMENT_ALREADY_REQUESTED",
                                 f"a supplement was already requested for dossier {d.code}: it may be requested "
                                 "only once (Quyết định 09/2015, Nghị định 118/2025)", metadata={"code": d.code})
    reason = _required(reason, "reason")
    documents = tuple(_required(doc, "documents_to_add") for doc in documents_to_add)
    new = _moved(d, S.SUPPLEMENT_REQUESTED, at, actor, f"{ACTION_LABELS_VI['request_supplement']}: {reason}",
                 supplement_requested=True, paused_at=at, status_before_pause=d.status,
                 supplement_request=SupplementRequest(at, reason, documents, actor))
    return new, [DossierSupplementRequested(new, reason, documents)]


def receive_supplement(d: Dossier, *, at: dt.datetime, appointment_at: dt.datetime | None, actor: str, note: str = ""):
    """`appointment_at` is the old appointment moved by the working time the dossier waited."""
    _check(d, "receive_supplement")
    back = d.status_before_pause or S.RECEIVED
    label = ACTION_LABELS_VI["receive_supplement"] + (f": {note.strip()}" if note.strip() else "")
    new = _moved(d, back, at, actor, label, paused_at=None, status_before_pause=None, appointment_at=appointment_at)
    return new, [DossierSupplementReceived(new)]


def refuse(d: Dossier, *, at: dt.datetime, reasons: list[str], actor: str):
    _check(d, "refuse")
    if not [r for r in reasons if r.strip()]:
        raise InvalidArgument.from_violations([FieldViolation("reasons", "give at least one specific reason")])
    given = tuple(_required(r, "reasons") for r in reasons if r.strip())
    new = _moved(d, S.REFUSED, at, actor, f"{ACTION_LABELS_VI['refuse']}: {'; '.join(given)}",
                 refusal_reasons=given)
    return new, [DossierRefused(new, given)]


def request_withdrawal(d: Dossier, *, at: dt.datetime, reason: str, actor: str):
    _check(d, "request_withdrawal")
    reason = _required(reason, "reason")
    new = _moved(d, S.WITHDRAWAL_REQUESTED, at, actor, f"{ACTION_LABELS_VI['request_withdrawal']}: {reason}")
    return new, [DossierWithdrawalRequested(new, reason)]


def timeliness(finished_at: dt.datetime, appointment_at: dt.datetime | None, zone: dt.tzinfo) -> Timeliness:
    """Late after the appointment; early when finished on a day before the appointment's day."""
    if appointment_at is None or finished_at <= appointment_at:
        if appointment_at is not None and finished_at.astimezone(zone).date() < appointment_at.astimezone(zone).date():
            return Timeliness.EARLY
        return Timeliness.ON_TIME
    return Timeliness.LATE


def record_result(d: Dossier, *, at: dt.datetime, summary: str, actor: str, zone: dt.tzinfo):
    """Processing finished and the result reached the desk (→ 9). Only for a dossier whose
    procedure routing runs no process for: a routed case's result comes from routing's
    CaseFinished (FAILED_PRECONDITION ROUTED_CASE)."""
    if d.process_version > 0:
        raise FailedPrecondition(
            "ROUTED_CASE", f"dossier {d.code} is processed by the units of its procedure's internal process "
            f"(version {d.process_version}); its result is recorded when their last step finishes, not at the desk",
            metadata={"code": d.code, "process_version": str(d.process_version)})
    _check(d, "record_result")
    return finish(d, at=at, summary=summary, actor=actor, graded=timeliness(at, d.appointment_at, zone),
                  action="record_result")


def finish(d: Dossier, *, at: dt.datetime, summary: str, actor: str, graded: Timeliness, action: str = "finish",
           event_id: str = "", **changes):
    """The end of processing (→ 9, DossierFinished), graded `graded`: the desk's RecordResult or
    routing's CaseFinished."""
    _check(d, action)
    summary = _required(summary, "summary")
    result = ProcessingResult(at, summary, graded, actor)
    new = _moved(d, S.FINISHED, at, actor,
                 f"{ACTION_LABELS_VI['record_result']}: {summary} ({TIMELINESS_LABELS_VI[result.timeliness]})",
                 event_id=event_id, result=result, **changes)
    return new, [DossierFinished(new)]


def return_result(d: Dossier, *, at: dt.datetime, method: int, actor: str, receiver_name: str = "",
                  receiver_id_number: str = "", postal_tracking_number: str = "", note: str = "",
                  receiver_identity: identity.IdentityDocument | None = None):
    """The result was handed over (→ 10): at the desk to a named person with the identity paper
    they show (`receiver_identity`, or the deprecated 12-digit `receiver_id_number`), by post with a
    tracking number (only where the procedure allows it), or online."""
    _check(d, "return_result")
    v = Violations()
    if method not in ReturnMethod.__members__.values():
        v.add("method", "must be 1 (at the desk), 2 (by post) or 3 (online)")
    check_text(v, "note", note, "request_content")
    collector = None
    if method == ReturnMethod.AT_DESK:
        check_text(v, "receiver_name", receiver_name, "full_name", required=True)
        collector = identity.resolve(
            receiver_identity, receiver_id_number.strip(), field="receiver_identity_document",
            legacy_field="receiver_id_number", violations=v,
            required="is required at the desk: the identity paper the collector shows (type and number)")
    if method == ReturnMethod.BY_POST and not re.fullmatch(r"[0-9A-Za-z-]{6,40}", postal_tracking_number.strip()):
        v.add("postal_tracking_number", "is required for a postal return: 6 to 40 letters, digits or '-'")
    v.raise_if_any()
    method = ReturnMethod(method)
    if method == ReturnMethod.BY_POST and not d.postal_return_allowed:
        raise FailedPrecondition("POSTAL_RETURN_NOT_ALLOWED",
                                 f"procedure {d.procedure_code} does not allow returning the result by post; "
                                 "return it at the desk", metadata={"procedure_code": d.procedure_code})
    handed = ResultReturn(at, method, actor, receiver_name.strip(), collector,
                          postal_tracking_number.strip(), note.strip())
    detail = {ReturnMethod.AT_DESK: f" cho {handed.receiver_name}"
                                    + (f", {identity.label_vi(collector)}" if collector else ""),
              ReturnMethod.BY_POST: f", số hiệu bưu gửi {handed.postal_tracking_number}"}.get(method, "")
    new = _moved(d, S.RESULT_RETURNED, at, actor,
                 f"{ACTION_LABELS_VI['return_result']} {RETURN_METHOD_LABELS_VI[method]}{detail}"
                 + (f": {handed.note}" if handed.note else ""), result_return=handed,
                 postal_notice="")  # handed over: no parcel notice ("mời nhận" would mislead); by post sets its own
    return new, [DossierResultReturned(new)]
