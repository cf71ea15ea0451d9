"""Intake follows routing's case (issue 11, item 6): routing's events move the dossier's national
status through the desk's own rules, driven through the intake worker's handlers with nameko's
`entrypoint_hook` (see test_workers.py for why the container is never started)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import eventlet.semaphore
import nameko.testing.waiting
import pytest
from nameko.testing.services import entrypoint_hook
from test_intake_units_results import APPOINTMENT, CENTRE, LAND_OFFICE, OFFICER, _dossier
from test_workers import _duplicates, hosted

from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis import events
from onestop_chassis.errors import FailedPrecondition, PermanentError
from onestop_chassis.versions import ConcurrentChange
from onestop_chassis.worker import Observability
from onestop_chassis.worktime import VIETNAM
from onestop_intake.config import IntakeSettings
from onestop_intake.public import pages
from onestop_intake.reception import domain, routed, service
from onestop_intake.reception.domain import DossierStatus as S
from onestop_intake.reception.following import RoutedDossiers
from onestop_intake.reception.following_worker import RoutingFollowing
from onestop_intake.shared import proto

from fakes import Clock, FakeCatalogue, FakeDossiers

UTC = dt.UTC
T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Vietnam
TAX = ("000.00.05.H17", "Cục Thuế tỉnh")
STEP_REVIEW = ("THAM_DINH", "Thẩm định hồ sơ", LAND_OFFICE.code, LAND_OFFICE.name)
STEP_TAX = ("THUE", "Xác định nghĩa vụ tài chính", *TAX)
REVIEW_VI = f"Thẩm định hồ sơ — {LAND_OFFICE.name}"
HANDLERS = {rev.CaseOpened: "on_case_opened", rev.CaseProgressed: "on_case_progressed",
            rev.CaseSupplementRequested: "on_case_supplement_requested",
            rev.CasePaymentRequested: "on_case_payment_requested", rev.CaseResumed: "on_case_resumed",
            rev.CaseExtended: "on_case_extended", rev.CaseStopped: "on_case_stopped",
            rev.CaseFinished: "on_case_finished"}


@pytest.fixture(autouse=True)
def _green_waiter(monkeypatch):
    monkeypatch.setattr(nameko.testing.waiting, "Semaphore", eventlet.semaphore.Semaphore)


class FollowingWorker(RoutingFollowing):
    """IntakeWorker's handlers of routing's events with its observability, without its web pages."""
    name = "intake"
    observability = Observability()


@pytest.fixture
def world():
    """The intake worker over one received dossier (status 2), and the desk over the same store."""
    store = FakeDossiers()
    d = _dossier()
    store.items[d.code] = d
    desk = service.IntakeService(store, catalogue=None, sequence=None, clock=Clock(T0))
    with hosted(FollowingWorker, IntakeSettings(), routed=RoutedDossiers(store)) as container:
        yield container, store, desk, d.code


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _event(cls, code: str, minutes: int, **fields):
    message = cls(header=events.new_header("routing", _at(minutes)), dossier_code=code, **fields)
    return message


def _steps(message, *steps):
    for code, name, unit_code, unit_name in steps:
        message.steps.add(step_code=code, step_name=name, unit={"code": unit_code, "name": unit_name})
    return message


def _opened(code, minutes=1, version=2):
    return _steps(_event(rev.CaseOpened, code, minutes, process_code="QT-2.000889", process_version=version),
                  ("TIEP_NHAN", "Tiếp nhận hồ sơ", CENTRE.code, CENTRE.name))


def _progressed(code, minutes, *steps):
    return _steps(_event(rev.CaseProgressed, code, minutes), *(steps or (STEP_REVIEW,)))


def _supplement(code, minutes):
    return _event(rev.CaseSupplementRequested, code, minutes, reason="Thiếu bản vẽ sơ đồ thửa đất",
                  documents_to_add=["Sơ đồ thửa đất"], requested_by="officer-land",
                  unit={"code": LAND_OFFICE.code, "name": LAND_OFFICE.name})


def _payment(code, minutes):
    return _event(rev.CasePaymentRequested, code, minutes, reason="Nộp lệ phí trước bạ",
                  unit={"code": TAX[0], "name": TAX[1]})


def _resumed(code, minutes, due):
    message = _event(rev.CaseResumed, code, minutes, paused_minutes=90)
    message.due_at.FromDatetime(due)
    return message


def _extended(code, minutes, due):
    message = _event(rev.CaseExtended, code, minutes, reason="Chờ kết quả đo đạc", approved_by="leader-land",
                     extra={"days": 2}, agency_at_fault={"code": LAND_OFFICE.code, "name": LAND_OFFICE.name})
    message.new_due_at.FromDatetime(due)
    return message


def _stopped(code, minutes):
    message = _event(rev.CaseStopped, code, minutes, reason="Có tranh chấp đất đai")
    message.stopped_at.FromDatetime(_at(minutes))
    return message


def _finished(code, minutes, timeliness=2):
    message = _event(rev.CaseFinished, code, minutes, timeliness=timeliness,
                     result_summary="Giấy chứng nhận quyền sử dụng đất số CS 01234")
    message.finished_at.FromDatetime(_at(minutes))
    return message


def _deliver(container, message):
    with entrypoint_hook(container, HANDLERS[type(message)]) as handle:
        return handle(events.to_payload(message))


def _public(store, code):
    return proto.public_dossier(store.items[code])


def test_the_citizen_follows_the_case_from_the_desk_through_two_agencies_and_back(world):
    container, store, desk, code = world
    _deliver(container, _opened(code))
    assert store.items[code].process_version == 2 and store.items[code].status == S.RECEIVED

    _deliver(container, _progressed(code, 2))
    looked = _public(store, code)
    assert (looked.status, list(looked.current_steps)) == (4, [REVIEW_VI])

    asked = _supplement(code, 3)
    _deliver(container, asked)
    d = store.items[code]
    assert d.status == S.SUPPLEMENT_REQUESTED and d.paused_at == _at(3)
    assert d.supplement_request.requested_by == "officer-land"  # the named officer of the named unit
    assert LAND_OFFICE.name in d.history[-1].note
    assert isinstance(store.events[-1], domain.DossierSupplementRequested)  # form 02 is filed on it
    # routing recognises its own request in intake's event (it need not pause twice)
    assert store.events[-1].routing_event_id == asked.header.event_id and store.events[-1].dossier is d

    desk.receive_supplement(code, "Đã bổ sung sơ đồ", OFFICER)  # the desk's own action, as today
    assert store.items[code].status == S.PROCESSING
    due = dt.datetime(2026, 12, 4, 15, 0, tzinfo=VIETNAM)
    _deliver(container, _resumed(code, 5, due))
    assert (store.items[code].status, store.items[code].appointment_at) == (S.PROCESSING, due)

    _deliver(container, _progressed(code, 6, STEP_TAX))
    _deliver(container, _payment(code, 7))
    assert _public(store, code).status == 6
    later = dt.datetime(2026, 12, 7, 10, 0, tzinfo=VIETNAM)
    _deliver(container, _resumed(code, 8, later))
    assert (store.items[code].status, store.items[code].appointment_at) == (S.PROCESSING, later)

    extended = dt.datetime(2026, 12, 9, 10, 0, tzinfo=VIETNAM)
    _deliver(container, _extended(code, 9, extended))
    d = store.items[code]
    assert d.appointment_at == extended and "Chờ kết quả đo đạc" in d.history[-1].note
    assert d.history[-1].actor == "leader-land" and "09/12/2026" in d.history[-1].note

    _deliver(container, _finished(code, 10, timeliness=1))
    d = store.items[code]
    assert d.status == S.FINISHED and d.result.timeliness == domain.Timeliness.EARLY and not d.current_steps
    assert isinstance(store.events[-1], domain.DossierFinished)  # documents keeps the files on it
    assert [c.status for c in _public(store, code).history] == [2, 4, 5, 4, 6, 4, 9]


def test_officers_and_the_lookup_page_see_the_current_steps_in_short(world):
    container, store, _, code = world
    _deliver(container, _opened(code))
    _deliver(container, _progressed(code, 2, STEP_REVIEW, STEP_TAX))  # two parallel branches
    d = store.items[code]
    officer_view = proto.dossier_to_proto(d)
    assert list(officer_view.current_steps) == [REVIEW_VI, "Xác định nghĩa vụ tài chính — Cục Thuế tỉnh"]
    assert officer_view.process_version == 2
    html = pages.lookup_page(code, d)
    assert "Đang xử lý tại" in html and REVIEW_VI in html and "Cục Thuế tỉnh" in html


@pytest.mark.parametrize("make", [
    lambda c: _opened(c), lambda c: _progressed(c, 2), lambda c: _supplement(c, 2), lambda c: _payment(c, 2),
    lambda c: _extended(c, 2, APPOINTMENT), lambda c: _stopped(c, 2), lambda c: _finished(c, 2)],
    ids=["opened", "progressed", "supplement", "payment", "extended", "stopped", "finished"])
def test_a_redelivered_event_changes_nothing_and_is_counted(world, make):
    container, store, _, code = world
    message = make(code)
    assert _deliver(container, message) is not False
    before, written = store.items[code], len(store.events)
    counted = _duplicates("intake", type(message).__name__)
    assert _deliver(container, message) is False
    assert store.items[code] is before and len(store.events) == written
    assert _duplicates("intake", type(message).__name__) == counted + 1


def test_a_redelivered_resume_changes_nothing(world):
    container, store, _, code = world
    _deliver(container, _payment(code, 2))
    message = _resumed(code, 3, APPOINTMENT + dt.timedelta(hours=2))
    _deliver(container, message)
    before = store.items[code]
    assert _deliver(container, message) is False and store.items[code] is before


@pytest.mark.parametrize("cls", list(HANDLERS))
def test_a_malformed_event_is_dead_lettered(world, cls):
    container, store, _, code = world
    before = store.items[code]
    with pytest.raises(PermanentError), entrypoint_hook(container, HANDLERS[cls]) as handle:
        handle(b"{not json")
    assert store.items[code] is before


@pytest.mark.parametrize("make", [
    lambda c: _opened(c), lambda c: _progressed(c, 2), lambda c: _supplement(c, 2), lambda c: _payment(c, 2),
    lambda c: _resumed(c, 2, APPOINTMENT), lambda c: _extended(c, 2, APPOINTMENT), lambda c: _stopped(c, 2),
    lambda c: _finished(c, 2)])
def test_an_event_for_an_unknown_dossier_is_dead_lettered_with_the_reason(world, make):
    container, store, _, code = world
    with pytest.raises(PermanentError, match="DOSSIER_NOT_FOUND"):
        _deliver(container, make(code.replace("-0001", "-0999")))
    assert len(store.items) == 1 and store.events == []


def test_progress_after_the_finish_is_ignored_never_a_status_going_back(world):
    """CaseFinished overtook the CaseProgressed published before it: the late one changes nothing
    (logged), and is not counted as a redelivery."""
    container, store, _, code = world
    _deliver(container, _finished(code, 5))
    finished = store.items[code]
    counted = _duplicates("intake", "CaseProgressed")
    assert _deliver(container, _progressed(code, 4)) is True
    assert store.items[code] is finished and _duplicates("intake", "CaseProgressed") == counted


def test_an_older_event_delivered_late_is_ignored(world):
    """A payment's resume that arrives after the supplement request routing made later."""
    container, store, _, code = world
    _deliver(container, _payment(code, 2))
    _deliver(container, _progressed(code, 5))  # routing moved on (status stays 6: paused)
    assert store.items[code].status == S.PAYMENT_REQUESTED
    _deliver(container, _resumed(code, 6, APPOINTMENT))
    _deliver(container, _supplement(code, 7))
    waiting = store.items[code]
    _deliver(container, _resumed(code, 3, APPOINTMENT))  # an older resume, redelivered late with a new id
    assert store.items[code] is waiting and waiting.status == S.SUPPLEMENT_REQUESTED


def test_a_progress_that_overtook_the_resume_before_it_does_not_hold_the_pause(world):
    """Each event type has its own queue: CaseProgressed (t9) may be handled before the CaseResumed
    (t8) published before it. The steps move, the status waits, and the resume still applies."""
    container, store, _, code = world
    _deliver(container, _payment(code, 7))
    _deliver(container, _progressed(code, 9, STEP_TAX))
    assert store.items[code].status == S.PAYMENT_REQUESTED
    due = APPOINTMENT + dt.timedelta(days=1)
    _deliver(container, _resumed(code, 8, due))
    d = store.items[code]
    assert (d.status, d.appointment_at) == (S.PROCESSING, due)
    assert [s.step_code for s in d.current_steps] == ["THUE"]
    _deliver(container, _progressed(code, 6))  # an older step change: the steps do not go back
    assert [s.step_code for s in store.items[code].current_steps] == ["THUE"]


def test_case_opened_handled_after_a_later_event_still_marks_the_case_routed(world):
    container, store, desk, code = world
    _deliver(container, _progressed(code, 2))
    _deliver(container, _opened(code, minutes=1, version=5))
    d = store.items[code]
    assert (d.process_version, d.status, [s.step_code for s in d.current_steps]) == (5, S.PROCESSING, ["THAM_DINH"])
    with pytest.raises(FailedPrecondition, match="processed by the units"):
        desk.record_result(code, "Giấy chứng nhận", OFFICER)


def test_an_extension_overtaken_by_a_step_change_still_moves_the_appointment(world):
    container, store, _, code = world
    _deliver(container, _progressed(code, 2))
    extended = dt.datetime(2026, 12, 9, 10, 0, tzinfo=VIETNAM)
    _deliver(container, _progressed(code, 6, STEP_TAX))
    _deliver(container, _extended(code, 5, extended))
    assert store.items[code].appointment_at == extended


def test_progress_after_the_desk_ended_processing_is_ignored(world):
    container, store, desk, code = world
    _deliver(container, _progressed(code, 2))
    desk.request_withdrawal(code, "Công dân xin rút hồ sơ", OFFICER)
    withdrawn = store.items[code]
    assert _deliver(container, _progressed(code, 3, STEP_TAX)) is True
    assert store.items[code] is withdrawn
    _deliver(container, _stopped(code, 4))  # stopping a withdrawn dossier is how it ends (status 8)
    assert store.items[code].status == S.STOPPED


@pytest.mark.parametrize("status", [S.NEW, S.REFUSED])
def test_routing_events_for_a_dossier_never_received_are_dead_lettered(world, status):
    container, store, _, code = world
    store.items[code] = before = dataclasses.replace(store.items[code], status=status)
    with pytest.raises(PermanentError, match="ACTION_NOT_ALLOWED_IN_STATUS"):
        _deliver(container, _progressed(code, 2))
    assert store.items[code] is before and store.events == []


def test_a_second_supplement_request_is_dead_lettered_with_the_reason(world):
    container, store, desk, code = world
    _deliver(container, _supplement(code, 2))
    desk.receive_supplement(code, "", OFFICER)
    before, written = store.items[code], len(store.events)
    with pytest.raises(PermanentError, match="SUPPLEMENT_ALREADY_REQUESTED"):
        _deliver(container, _supplement(code, 5))
    assert store.items[code] is before and len(store.events) == written


def test_a_finish_while_waiting_for_the_supplement_is_dead_lettered(world):
    container, store, _, code = world
    _deliver(container, _supplement(code, 2))
    with pytest.raises(PermanentError, match="ACTION_NOT_ALLOWED_IN_STATUS"):
        _deliver(container, _finished(code, 3))
    assert store.items[code].status == S.SUPPLEMENT_REQUESTED


def test_stop_from_a_pause_ends_processing(world):
    container, store, _, code = world
    _deliver(container, _payment(code, 2))
    _deliver(container, _stopped(code, 3))
    d = store.items[code]
    assert (d.status, d.paused_at, d.current_steps) == (S.STOPPED, None, ())
    assert "Có tranh chấp đất đai" in d.history[-1].note


def test_a_desk_change_meanwhile_is_retried_not_dead_lettered(world):
    container, store, _, code = world
    store.race = True
    with pytest.raises(ConcurrentChange):
        _deliver(container, _progressed(code, 2))


def test_finish_without_a_grade_is_graded_against_the_appointment(world):
    container, store, _, code = world
    late = APPOINTMENT + dt.timedelta(hours=1)
    message = _event(rev.CaseFinished, code, 2, result_summary="Giấy chứng nhận")
    message.finished_at.FromDatetime(late)
    _deliver(container, message)
    assert store.items[code].result.timeliness == domain.Timeliness.LATE


# --- RecordResult stays only for procedures without a template -------------------------------------

def test_the_desk_cannot_record_the_result_of_a_routed_case(world):
    container, store, desk, code = world
    _deliver(container, _opened(code, version=3))
    _deliver(container, _progressed(code, 2))
    before, written = store.items[code], len(store.events)
    with pytest.raises(FailedPrecondition) as info:
        desk.record_result(code, "Giấy chứng nhận", OFFICER)
    assert info.value.reason == "ROUTED_CASE" and info.value.metadata["process_version"] == "3"
    assert store.items[code] is before and len(store.events) == written


def test_the_desk_records_the_result_when_routing_runs_no_template(world):
    container, store, desk, code = world
    _deliver(container, _opened(code, version=0))
    assert store.items[code].process_version == 0
    assert "không có quy trình nội bộ" in store.items[code].history[-1].note
    assert desk.record_result(code, "Phiếu lý lịch tư pháp số 12", OFFICER).status == S.FINISHED


def test_verdicts_of_the_domain():
    d = _dossier()
    e = routed.RoutingEvent("progressed", d.code, "e1", T0)
    assert routed.verdict(d, e) is routed.Verdict.APPLY
    applied, _ = routed.apply(d, e)
    assert routed.verdict(applied, e) is routed.Verdict.DUPLICATE
    assert routed.verdict(applied, dataclasses.replace(e, event_id="e0", at=_at(-1))) is routed.Verdict.STALE
    finished = dataclasses.replace(applied, status=S.RESULT_RETURNED)
    assert routed.verdict(finished, dataclasses.replace(e, event_id="e2", at=_at(1))) is routed.Verdict.ENDED


def test_intake_names_the_units_routing_gives_by_code_only():
    """Routing knows the receiving unit's name alone: intake fills the others from its own units,
    so the citizen reads 'Thẩm định hồ sơ — <the land office's name>'."""
    store = FakeDossiers()
    d = _dossier()
    store.items[d.code] = d
    units = FakeCatalogue(units=(CENTRE, LAND_OFFICE))
    with hosted(FollowingWorker, IntakeSettings(), routed=RoutedDossiers(store, units)) as container:
        _deliver(container, _opened(d.code))
        _deliver(container, _progressed(d.code, 2, ("THAM_DINH", "Thẩm định hồ sơ", LAND_OFFICE.code, ""),
                                         ("THUE", "Xác định nghĩa vụ tài chính", "000.99.99.H17", "")))
        _deliver(container, _event(rev.CaseSupplementRequested, d.code, 3, reason="Thiếu bản vẽ",
                                   documents_to_add=["Sơ đồ"], unit={"code": LAND_OFFICE.code}))
    steps = store.items[d.code].current_steps
    assert [routed.step_vi(s) for s in steps] == [REVIEW_VI, "Xác định nghĩa vụ tài chính"]  # unknown: code only
    assert LAND_OFFICE.name in store.items[d.code].history[-1].note


def test_a_desks_pause_taken_before_the_first_progress_returns_to_processing(world):
    """The desk asked for a supplement at 2 just as routing forwarded the case (its CaseProgressed
    still on the bus): once the supplement is received the dossier shows 4, not 2."""
    container, store, desk, code = world
    _deliver(container, _opened(code))
    desk.request_supplement(code, "Thiếu giấy xác nhận", ["Giấy xác nhận"], OFFICER)
    _deliver(container, _progressed(code, 2))
    assert store.items[code].status == S.SUPPLEMENT_REQUESTED  # the status waits for the supplement
    desk.receive_supplement(code, "", OFFICER)
    assert store.items[code].status == S.PROCESSING
