"""Routing's events applied to the dossier: the national status the desk and the citizen see follows
the case routing runs (onestop.events.v1 CaseOpened … CaseFinished).

Each event goes through the desk's own status rules (`desk_actions.ALLOWED_FROM`, the supplement
rule, the end of processing), so a status change is written once. `verdict` says first whether the
event applies at all:
- DUPLICATE: its event id is in the dossier's history already (a redelivery; nothing changes);
- STALE: it happened at routing before the last change of what it sets (delivered out of order:
  each event type has its own queue, so a CaseProgressed may overtake the CaseResumed before it);
  ignored, never a status going back. What it sets: the steps for CaseProgressed (`steps_at`), the
  status or appointment for the others (`routing_at`); CaseOpened is never stale (the template
  version it brings is set whenever it comes, its steps only when newer);
- ENDED: processing ended at the desk or by an earlier event (withdrawal requested, stopped,
  finished, returned) and the event cannot follow that; ignored.
Anything else is applied, or refused with FAILED_PRECONDITION (e.g. ACTION_NOT_ALLOWED_IN_STATUS
for a dossier the desk never received or refused, SUPPLEMENT_ALREADY_REQUESTED for a second
supplement request): the worker dead-letters those with the reason.

Plain Python: no grpc, nameko, mongoengine or minio here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum

from onestop_chassis.worktime import VIETNAM, WorkingDuration

from . import desk_actions
from .desk_actions import ACTION_LABELS_VI, S, _check, _moved
from .domain import CurrentStep, Dossier, Timeliness

# The service's subject in the history when routing's event names no officer.
ROUTING_ACTOR = "routing"
# Statuses after which processing no longer moves (only a stop may follow a withdrawal request).
ENDED = {S.WITHDRAWAL_REQUESTED, S.STOPPED, S.FINISHED, S.RESULT_RETURNED}


@dataclass(frozen=True)
class RoutingEvent:
    """One of routing's events, as intake uses it. `kind` is a key of ACTIONS; `at` is when it
    happened at routing (the header's occurred_at; finished_at / stopped_at for those two)."""
    kind: str
    dossier_code: str
    event_id: str
    at: dt.datetime
    steps: tuple[CurrentStep, ...] = ()
    process_code: str = ""
    process_version: int = 0
    reason: str = ""
    documents_to_add: tuple[str, ...] = ()
    actor: str = ""  # the officer who asked (supplement) or the leader who approved (extension)
    unit_code: str = ""  # the unit that asked, or the agency at fault (extension)
    unit_name: str = ""
    due_at: dt.datetime | None = None  # the case's new due time (resumed, extended)
    paused_minutes: int = 0  # working minutes the pause credited (resumed)
    extra: WorkingDuration | None = None  # the extension's working time
    timeliness: int = 0  # onestop.common.v1.Timeliness, 0 when routing did not grade it
    summary: str = ""
    refused: bool = False


# Routing's event kind → the desk action whose allowed statuses it follows.
ACTIONS = {"opened": "routing_opened", "progressed": "progress", "supplement_requested": "request_supplement",
           "payment_requested": "request_payment", "resumed": "resume", "extended": "extend",
           "stopped": "stop", "finished": "finish"}


class Verdict(Enum):
    APPLY = "applied"
    DUPLICATE = "duplicate"
    STALE = "out of order"
    ENDED = "processing ended"


def _newer(e: RoutingEvent, than: dt.datetime | None) -> bool:
    return than is None or e.at >= than


def verdict(d: Dossier, e: RoutingEvent) -> Verdict:
    if e.event_id and any(t.event_id == e.event_id for t in d.history):
        return Verdict.DUPLICATE
    if e.kind != "opened" and not _newer(e, d.steps_at if e.kind == "progressed" else d.routing_at):
        return Verdict.STALE
    if d.status in ENDED and d.status not in desk_actions.ALLOWED_FROM[ACTIONS[e.kind]]:
        return Verdict.ENDED
    return Verdict.APPLY


def step_vi(step: CurrentStep) -> str:
    """The step in short, in Vietnamese: 'Thẩm định hồ sơ — Văn phòng Đăng ký đất đai tỉnh'."""
    return f"{step.step_name} — {step.unit_name}" if step.unit_name else step.step_name


def status_changes(d: Dossier) -> list:
    """The history as the citizen reads it: a line per change of status (routing's steps within
    status 4, an extension, are lines of the history that keep the status: shown once)."""
    shown: list = []
    for t in d.history:
        if not shown or shown[-1].status != t.status:
            shown.append(t)
    return shown


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y") if moment else "chưa xác định"


def apply(d: Dossier, e: RoutingEvent):
    """The dossier after `e` (version + 1, its history line carrying the event id) and the desk's
    events it emits (DossierSupplementRequested → form 02, DossierFinished), or FailedPrecondition /
    InvalidArgument when the event breaks the desk's rules. Call only when `verdict` is APPLY."""
    _check(d, ACTIONS[e.kind])
    new, events = _APPLY[e.kind](d, e)
    if e.kind not in ("opened", "progressed"):  # they set the steps; the others the status or appointment
        new = replace(new, routing_at=max(e.at, d.routing_at) if d.routing_at else e.at)
    return new, [replace(x, dossier=new) for x in events]  # each desk event carries the dossier written


def _opened(d: Dossier, e: RoutingEvent):
    note = (f"{ACTION_LABELS_VI['routing_opened']} {e.process_code}, phiên bản {e.process_version}"
            if e.process_version > 0 else "Thủ tục không có quy trình nội bộ: Bộ phận Một cửa ghi nhận kết quả")
    steps = {"current_steps": e.steps, "steps_at": e.at} if _newer(e, d.steps_at) and d.status not in ENDED else {}
    return _moved(d, d.status, e.at, ROUTING_ACTOR, note, event_id=e.event_id,
                  process_version=max(e.process_version, 0), **steps), []


def _progressed(d: Dossier, e: RoutingEvent):
    # 2 → 4; while paused (5, 6) the steps move on (another branch, or a progress that overtook the
    # resume on the bus) but the status waits for the resume.
    # A desk's own pause taken at 2 before this progress arrived returns to 4, not 2.
    status = S.PROCESSING if d.status == S.RECEIVED else d.status
    before = S.PROCESSING if d.status_before_pause == S.RECEIVED and d.paused_at is not None else d.status_before_pause
    note = f"{ACTION_LABELS_VI['progress']}: " + "; ".join(step_vi(s) for s in e.steps)
    return _moved(d, status, e.at, ROUTING_ACTOR, note, event_id=e.event_id, current_steps=e.steps,
                  steps_at=e.at, status_before_pause=before), []


def _supplement_requested(d: Dossier, e: RoutingEvent):
    # The desk's own rule: once per dossier, form 02 issued (DossierSupplementRequested), clock paused.
    new, events = desk_actions.request_supplement(d, at=e.at, reason=e.reason,
                                                  documents_to_add=list(e.documents_to_add),
                                                  actor=e.actor or ROUTING_ACTOR)
    last = new.history[-1]
    unit = f" (đơn vị yêu cầu: {e.unit_name})" if e.unit_name else ""
    new = replace(new, history=[*new.history[:-1], replace(last, note=last.note + unit, event_id=e.event_id)])
    return new, [replace(x, routing_event_id=e.event_id) for x in events]


def _payment_requested(d: Dossier, e: RoutingEvent):
    note = ACTION_LABELS_VI["request_payment"] + (f": {e.reason.strip()}" if e.reason.strip() else "") \
        + (f" (đơn vị yêu cầu: {e.unit_name})" if e.unit_name else "")
    return _moved(d, S.PAYMENT_REQUESTED, e.at, ROUTING_ACTOR, note, event_id=e.event_id,
                  paused_at=e.at, status_before_pause=d.status), []


def _resumed(d: Dossier, e: RoutingEvent):
    # From 6 (payment confirmed), or at 2/4 after the desk's ReceiveSupplement already resumed the
    # dossier: either way the appointment becomes the case's due time, as routing's clock says.
    note = f"{ACTION_LABELS_VI['resume']}: hẹn trả kết quả {_when(e.due_at or d.appointment_at)}"
    status = S.PROCESSING if d.status == S.PAYMENT_REQUESTED else d.status
    return _moved(d, status, e.at, ROUTING_ACTOR, note, event_id=e.event_id, paused_at=None,
                  status_before_pause=None, appointment_at=e.due_at or d.appointment_at), []


def _extended(d: Dossier, e: RoutingEvent):
    parts = [f"{ACTION_LABELS_VI['extend']}: {e.reason.strip()}", f"hẹn trả kết quả mới {_when(e.due_at)}"]
    if e.unit_name:
        parts.append(f"cơ quan chậm: {e.unit_name}")
    return _moved(d, d.status, e.at, e.actor or ROUTING_ACTOR, "; ".join(parts), event_id=e.event_id,
                  appointment_at=e.due_at or d.appointment_at), []


def _stopped(d: Dossier, e: RoutingEvent):
    note = ACTION_LABELS_VI["stop"] + (f": {e.reason.strip()}" if e.reason.strip() else "")
    return _moved(d, S.STOPPED, e.at, ROUTING_ACTOR, note, event_id=e.event_id, paused_at=None,
                  status_before_pause=None, current_steps=()), []


def _finished(d: Dossier, e: RoutingEvent):
    graded = Timeliness(e.timeliness) if e.timeliness in Timeliness.__members__.values() \
        else desk_actions.timeliness(e.at, d.appointment_at, VIETNAM)
    summary = e.summary.strip() or ("Văn bản từ chối giải quyết hồ sơ" if e.refused else "Kết quả giải quyết hồ sơ")
    if e.refused and e.summary.strip():
        summary = f"Từ chối giải quyết: {summary}"
    return desk_actions.finish(d, at=e.at, summary=summary, actor=ROUTING_ACTOR, graded=graded,
                               event_id=e.event_id, current_steps=())


_APPLY = {"opened": _opened, "progressed": _progressed, "supplement_requested": _supplement_requested,
          "payment_requested": _payment_requested, "resumed": _resumed, "extended": _extended,
          "stopped": _stopped, "finished": _finished}
