"""Feedback's use cases over the in-memory store, and its RPCs through the chassis' real gRPC server:
the workflow, idempotency, concurrency by the unique insert of log entries, privacy (contact details
only for the handling unit; public and published views without personal data), the overdue scan,
and the bad input issue 12 lists (nothing stored changes on a refusal)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import socket

import grpc
import pytest
from grpc_status import rpc_status
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.events.v1 import survey_events_pb2 as ev
from onestop.survey.v1 import survey_pb2, survey_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.config import load_settings
from onestop_chassis.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
    Unavailable,
)
from onestop_chassis.grpc_server import GrpcServer
from onestop_chassis.worktime import VIETNAM
from onestop_survey import api
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.feedback import domain, keys
from onestop_survey.feedback.domain import State
from onestop_survey.feedback.limits import FeedbackLimits
from onestop_survey.feedback.service import FeedbackService

from fakes import Clock, FakeFeedback, FakeUnitTree

UNIT, OTHER_UNIT, HANDLER = "000.00.21.H17", "000.00.22.H17", "000.23.21.H17"
START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=VIETNAM)  # a Monday, working hours
# Intake's units: UNIT (a desk) and a department SIBLING under the province; HANDLER, a division
# under UNIT; OTHER_UNIT, and a division of it, in another province's tree.
PROVINCE, SIBLING, OTHER_PROVINCE = "000.00.00.H17", "000.00.12.H17", "000.00.00.H46"
TREE = {PROVINCE: "", UNIT: PROVINCE, SIBLING: PROVINCE, HANDLER: UNIT, OTHER_PROVINCE: "",
        OTHER_UNIT: OTHER_PROVINCE, "000.30.22.H17": OTHER_UNIT}


def officer(role: str, unit: str = UNIT, subject: str = "") -> auth.Principal:
    return auth.Principal(subject=subject or f"{role}-{unit}", roles=frozenset({role}), agency=unit)


LEADER, HANDLER_LEADER = officer(auth.UNIT_LEADER), officer(auth.UNIT_LEADER, HANDLER)
HANDLER_OFFICER, STRANGER = officer(auth.PROCESSING_OFFICER, HANDLER), officer(auth.PROCESSING_OFFICER, OTHER_UNIT)
PERSON = domain.Complainant(domain.FiledBy.PERSON, "Nguyễn Thị Hoa", "0912345678", "hoa@example.vn",
                            "12 Lê Lợi, Huế")


def draft(type_code="thai-do", content="Cán bộ quầy số 3 có thái độ không đúng mực") -> domain.Filing:
    return domain.Filing(code="", secret_hash="", agency_code=UNIT, type_code=type_code, content=content,
                         complainant=PERSON, dossier_code=f"{UNIT}-260504-0001", officer_id="cb-quay-3")


@pytest.fixture
def world():
    clock = Clock(START.astimezone(dt.UTC))
    store = FakeFeedback()
    survey = bootstrap(load_settings(SurveySettings), feedback=store, invitations=None, clock=clock,
                       units=FakeUnitTree(TREE))
    return survey, store, clock


def snapshot(store: FakeFeedback):
    return copy.deepcopy((store.filings, store.entries, store.key_docs, len(store.events)))


def test_a_complaint_goes_through_the_whole_workflow(world):
    survey, store, clock = world
    feedback = survey.feedback
    item, secret = feedback.file(draft())
    assert domain.CODE.fullmatch(item.code) and len(secret) == 8
    assert item.due_at == dt.datetime(2026, 5, 11, 9, 0, tzinfo=VIETNAM)  # thai-do: 5 working days
    assert feedback.assign(item.code, HANDLER, "", "Đúng thẩm quyền", "r-1", LEADER).unit_code == HANDLER
    answered = feedback.answer(item.code, "Đã nhắc nhở cán bộ", True, "r-2", HANDLER_OFFICER)
    assert answered.state is State.ANSWERED and answered.answered_on_time()
    clock.now += dt.timedelta(days=1)
    assert feedback.reopen(item.code, secret, "Chưa thỏa đáng").state is State.REOPENED
    feedback.answer(item.code, "Đã kiểm điểm cán bộ", True, "r-3", HANDLER_OFFICER)
    rated = feedback.rate(item.code, secret.lower(), 3)
    assert (rated.state, rated.rating, rated.reopens) == (State.CLOSED, 3, 1)
    assert [e.kind for e in rated.log] == ["FILED", "ASSIGNED", "ANSWERED", "REOPENED", "ANSWERED", "RATED"]
    assert [(e.actor.subject, e.actor.role, e.actor.unit_code) for e in rated.log[1:3]] == [
        (LEADER.subject, auth.UNIT_LEADER, UNIT), (HANDLER_OFFICER.subject, auth.PROCESSING_OFFICER, HANDLER)]
    assert [type(e).__name__ for e in store.events] == [
        "FeedbackFiled", "FeedbackAnswered", "FeedbackReopened", "FeedbackAnswered", "FeedbackRated"]
    assert secret not in repr(store.filings)  # only its hash is stored


def test_an_officers_action_repeated_by_request_id_changes_nothing(world):
    survey, store, _ = world
    item, _ = survey.feedback.file(draft())
    survey.feedback.assign(item.code, HANDLER, "", "", "r-1", LEADER)
    before = snapshot(store)
    again = survey.feedback.assign(item.code, HANDLER, "", "", "r-1", LEADER)
    assert again.seq == 2 and snapshot(store) == before
    with pytest.raises(AlreadyExists) as reused:  # the same id for another action is refused
        survey.feedback.publish(item.code, "Nội dung", "Trả lời", "r-1", LEADER)
    assert reused.value.reason == "REQUEST_ID_REUSED" and snapshot(store) == before


def test_two_writers_of_the_same_seq_one_wins_the_other_is_aborted(world):
    survey, store, _ = world
    item, _ = survey.feedback.file(draft())
    stale = domain.fold(*store.load(item.code))
    survey.feedback.answer(item.code, "Trả lời thứ nhất", False, "r-1", LEADER)
    with pytest.raises(Aborted):
        survey.feedback._record(stale, survey.feedback._entry(stale, domain.Kind.ANSWERED, LEADER, "r-2", "",
                                                              answer="Trả lời thứ hai"), [])
    assert [e.answer for e in store.load(item.code)[1] if e.answer] == ["Trả lời thứ nhất"]


def test_bad_input_is_refused_and_nothing_stored_changes(world):
    survey, store, clock = world
    feedback = survey.feedback
    item, secret = feedback.file(draft())
    before = snapshot(store)
    refusals = [
        (lambda: feedback.file(draft(content="  ")), InvalidArgument, "INVALID_FIELDS"),
        (lambda: feedback.file(draft(content="x" * 5001)), InvalidArgument, "INVALID_FIELDS"),
        (lambda: feedback.answer(item.code, "Trả lời", False, "r-9", STRANGER), PermissionDenied, "OTHER_AGENCY"),
        (lambda: feedback.answer(item.code, " ", False, "r-9", LEADER), InvalidArgument, "INVALID_FIELDS"),
        (lambda: feedback.reopen(item.code, secret, "Chưa trả lời"), FailedPrecondition, "NOT_ANSWERED"),
        (lambda: feedback.reopen(item.code, "WRONGSEC", "x"), NotFound, "NO_MATCH"),
        (lambda: feedback.rate(item.code, secret, 2), FailedPrecondition, "NOT_ANSWERED"),
        (lambda: feedback.publish(item.code, "Nội dung", "Trả lời", "r-9", LEADER), FailedPrecondition,
         "NOT_ANSWERED"),
        (lambda: feedback.get("PA-000000-AAAAAA", LEADER), NotFound, "FEEDBACK_NOT_FOUND"),
        (lambda: feedback.get("not a code", LEADER), InvalidArgument, "INVALID_FIELDS"),
        # the shape of a unit code, but intake knows no such unit: filed, no officer could reach it
        (lambda: feedback.file(dataclasses.replace(draft(), agency_code="000.00.99.Z99")), NotFound,
         "UNIT_NOT_FOUND"),
    ]
    for call, error, reason in refusals:
        with pytest.raises(error) as refused:
            call()
        assert refused.value.reason == reason
        assert snapshot(store) == before
    feedback.answer(item.code, "Đã trả lời", False, "r-1", LEADER)
    answered_state = snapshot(store)
    with pytest.raises(InvalidArgument) as unredacted:
        feedback.publish(item.code, " ", "", "r-8", LEADER)
    assert [v.field for v in unredacted.value.violations] == ["public_content", "public_answer"]
    assert snapshot(store) == answered_state
    feedback.rate(item.code, secret, 2)
    after_rating = snapshot(store)
    with pytest.raises(FailedPrecondition) as twice:
        feedback.rate(item.code, secret, 3)
    assert twice.value.reason == "ALREADY_RATED" and snapshot(store) == after_rating


def test_a_complaint_is_assigned_only_within_the_filing_agencys_tree(world):
    """Issue 12's contact-details leak: a unit of another province's tree, an unknown unit, or no
    unit tree at all is refused, whoever asks (SERVICE too), and nothing stored changes; a unit of
    the same tree (a division, a sibling department) is allowed."""
    survey, store, _ = world
    feedback, units = survey.feedback, survey.feedback._units
    item, _ = feedback.file(draft())
    service = auth.Principal("svc", frozenset({auth.SERVICE}))
    before = snapshot(store)
    for unit, who in ((OTHER_UNIT, LEADER), ("000.30.22.H17", LEADER), (OTHER_UNIT, service)):
        with pytest.raises(FailedPrecondition) as outside:
            feedback.assign(item.code, unit, "", "", f"r-{unit}-{who.subject}", who)
        assert outside.value.reason == "UNIT_OUTSIDE_AGENCY"
        assert outside.value.metadata == {"unit_code": unit, "agency_code": UNIT} and unit in str(outside.value)
        assert snapshot(store) == before
    with pytest.raises(NotFound) as unknown:
        feedback.assign(item.code, "000.99.21.H17", "", "", "r-unknown", LEADER)
    assert unknown.value.reason == "UNIT_NOT_FOUND" and snapshot(store) == before
    units.down = True
    with pytest.raises(ServiceError) as down:
        feedback.assign(item.code, HANDLER, "", "", "r-down", LEADER)
    assert down.value.reason == "UNITS_UNAVAILABLE" and snapshot(store) == before
    units.down = False
    assert feedback.assign(item.code, SIBLING, "", "", "r-dept", LEADER).unit_code == SIBLING  # same province
    sibling_leader = officer(auth.UNIT_LEADER, SIBLING)
    assert feedback.assign(item.code, HANDLER, "", "", "r-in", sibling_leader).unit_code == HANDLER
    units.down = True  # back to the filing agency itself: no tree needed
    assert feedback.assign(item.code, UNIT, "", "", "r-back", HANDLER_LEADER).unit_code == UNIT


@pytest.mark.parametrize("first, second, kept", [(True, False, True), (False, True, True), (False, False, False)])
def test_a_later_answer_never_clears_a_founded_verdict(world, first, second, kept):
    survey, _, clock = world
    item, secret = survey.feedback.file(draft())  # thai-do: about an officer, counted by indicator 7
    survey.feedback.answer(item.code, "Có cơ sở: đã nhắc nhở cán bộ", first, "r-1", LEADER)
    survey.feedback.reopen(item.code, secret, "Cán bộ vẫn chưa xin lỗi")
    after = survey.feedback.answer(item.code, "Trả lời lại sau khi xem xét", second, "r-2", LEADER)
    assert after.founded is kept and after.answer == "Trả lời lại sau khi xem xét"
    found = survey.feedback.indicators(UNIT, START - dt.timedelta(days=1), START + dt.timedelta(days=1), LEADER)
    assert (found.founded_officer_complaints, found.indicator_7_complaint) == (int(kept), kept)


def test_reopening_after_the_window_names_its_end_and_stores_nothing(world):
    survey, store, clock = world
    item, secret = survey.feedback.file(draft())
    survey.feedback.answer(item.code, "Đã trả lời", False, "r-1", LEADER)  # Mon 4/5 09:00
    clock.now = dt.datetime(2026, 5, 11, 9, 0, 1, tzinfo=VIETNAM).astimezone(dt.UTC)  # 5 working days and 1 s
    before = snapshot(store)
    with pytest.raises(FailedPrecondition) as late:
        survey.feedback.reopen(item.code, secret, "Chưa thỏa đáng")
    assert late.value.reason == "REOPEN_WINDOW_ENDED"
    assert late.value.metadata["window_end"] == "2026-05-11T02:00:00.000Z"
    assert snapshot(store) == before


def test_the_overdue_scan_escalates_once_and_catches_up(world):
    survey, store, clock = world
    on_time, _ = survey.feedback.file(draft(type_code="thu-tuc"))     # due in 10 working days
    late, _ = survey.feedback.file(draft(type_code="thai-do"))        # due in 5
    clock.now += dt.timedelta(days=9)  # Wed 13/5: the 5-day one is two days overdue (the worker was down)
    assert survey.feedback_overdue.run() == (1, 1)
    assert survey.feedback_overdue.run() == (0, 0)
    escalated = survey.feedback.get(late.code, LEADER)
    assert escalated.escalations == 1 and escalated.log[-1].kind == "ESCALATED"
    assert escalated.log[-1].actor.role == auth.SERVICE and escalated.log[-1].unit_code == UNIT
    assert survey.feedback.get(on_time.code, LEADER).escalations == 0
    (event,) = [e for e in store.events if isinstance(e, ev.FeedbackEscalated)]
    assert (event.code, event.role, event.unit_code) == (late.code, auth.UNIT_LEADER, UNIT)
    leaders_list = survey.feedback.list_unit(UNIT, LEADER, 50, "", escalated_only=True)[0]
    assert [i.code for i in leaders_list] == [late.code]
    survey.feedback.answer(late.code, "Trả lời muộn", False, "r-1", LEADER)
    assert not survey.feedback.get(late.code, LEADER).answered_on_time()
    assert survey.feedback.list_unit(UNIT, LEADER, 50, "", escalated_only=True)[0] == []  # answered: off the list


def test_indicators_count_the_agencys_items_of_the_period(world):
    survey, _, clock = world
    a, _ = survey.feedback.file(draft())
    survey.feedback.file(draft(type_code="thu-tuc"))
    survey.feedback.answer(a.code, "Có cơ sở", True, "r-1", LEADER)
    start, end = START - dt.timedelta(days=1), START + dt.timedelta(days=1)
    found = survey.feedback.indicators(UNIT, start, end, LEADER)
    assert (found.filed, found.answered, found.answered_on_time, found.due) == (2, 1, 1, 1)
    assert found.indicator_7_complaint and found.indicator_8_points == 2
    clock.now += dt.timedelta(days=30)
    later = survey.feedback.indicators(UNIT, start, end, LEADER)
    assert (later.protracted, later.due, later.indicator_8_points) == (1, 2, 0)
    assert survey.feedback.indicators(UNIT, end, end + dt.timedelta(days=1), LEADER).filed == 0
    with pytest.raises(PermissionDenied):
        survey.feedback.indicators(UNIT, start, end, STRANGER)


# -- through the gRPC server ---------------------------------------------------------------------------
@contextlib.contextmanager
def serving(store, clock, limits: FeedbackLimits | None = None, units: FakeUnitTree | None = None):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings(SurveySettings, grpc_port=port)
    server = GrpcServer(settings)
    api.register(server, bootstrap(settings, feedback=store, invitations=None, clock=clock,
                                   feedback_limits=limits or FeedbackLimits(),
                                   units=units or FakeUnitTree(TREE)))
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            yield survey_pb2_grpc.SurveyServiceStub(ch), settings, store
    finally:
        server.stop(grace=0)


@pytest.fixture
def stub(world):
    _, store, clock = world
    with serving(store, clock) as served:
        yield served


def bearer(settings, who: auth.Principal) -> tuple:
    token = auth.mint_token(settings.jwt_secret, subject=who.subject, roles=list(who.roles), agency=who.agency)
    return (("authorization", f"Bearer {token}"),)


def file_request(**changes) -> survey_pb2.FileFeedbackRequest:
    fields = dict(agency_code=UNIT, type_code="thai-do", content="Cán bộ quầy số 3 gắt gỏng",
                  dossier_code=f"{UNIT}-260504-0001", officer_id="cb-quay-3",
                  complainant=survey_pb2.Complainant(kind=1, name=PERSON.name, phone=PERSON.phone,
                                                     email=PERSON.email, address=PERSON.address))
    fields.update(changes)
    return survey_pb2.FileFeedbackRequest(**fields)


PERSONAL = (PERSON.name, PERSON.phone, PERSON.email, PERSON.address, "cb-quay-3", f"{UNIT}-260504-0001")


def test_contact_details_reach_only_the_handling_unit(stub):
    api_stub, settings, _ = stub
    filed = api_stub.FileFeedback(file_request(), timeout=10)
    code = filed.feedback.code
    assert not any(value in str(filed.feedback) for value in PERSONAL)
    public = api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code, secret=filed.secret), timeout=10)
    assert public.feedback.content == "Cán bộ quầy số 3 gắt gỏng"
    assert not any(value in str(public.feedback) for value in PERSONAL)
    api_stub.AssignFeedback(survey_pb2.AssignFeedbackRequest(code=code, unit_code=HANDLER, request_id="r-1"),
                            metadata=bearer(settings, LEADER), timeout=10)
    handling = api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code),
                                    metadata=bearer(settings, HANDLER_LEADER), timeout=10).feedback
    assert (handling.complainant.name, handling.complainant.phone) == (PERSON.name, PERSON.phone)
    receiving = api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code),
                                     metadata=bearer(settings, LEADER), timeout=10).feedback
    assert not receiving.HasField("complainant") and receiving.unit_code == HANDLER
    with pytest.raises(grpc.RpcError) as stranger:
        api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code), metadata=bearer(settings, STRANGER),
                             timeout=10)
    assert stranger.value.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = api_stub.ListFeedback(survey_pb2.ListFeedbackRequest(unit_code=HANDLER),
                                   metadata=bearer(settings, HANDLER_OFFICER), timeout=10)
    assert [i.code for i in listed.items] == [code] and listed.items[0].complainant.phone == PERSON.phone
    assert api_stub.ListFeedback(survey_pb2.ListFeedbackRequest(unit_code=UNIT), metadata=bearer(settings, LEADER),
                                 timeout=10).items == []


def test_a_service_account_reads_no_contact_details_the_escalated_leader_does(stub, world):
    api_stub, settings, _ = stub
    survey, _, clock = world
    code = api_stub.FileFeedback(file_request(), timeout=10).feedback.code
    api_stub.AssignFeedback(survey_pb2.AssignFeedbackRequest(code=code, unit_code=HANDLER, request_id="r-1"),
                            metadata=bearer(settings, LEADER), timeout=10)
    service = auth.Principal("notifier", frozenset({auth.SERVICE}), HANDLER)  # even with the unit's claim
    for principal in (service, auth.Principal("svc", frozenset({auth.SERVICE}))):
        seen = api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code), metadata=bearer(settings, principal),
                                    timeout=10).feedback
        assert seen.code == code and not seen.HasField("complainant")
        assert not any(value in str(seen) for value in PERSONAL[:4])
        listed = api_stub.ListFeedback(survey_pb2.ListFeedbackRequest(unit_code=HANDLER),
                                       metadata=bearer(settings, principal), timeout=10).items
        assert [i.code for i in listed] == [code] and not listed[0].HasField("complainant")
    clock.now += dt.timedelta(days=14)
    assert survey.feedback_overdue.run()[1] == 1
    (escalated,) = api_stub.ListFeedback(survey_pb2.ListFeedbackRequest(unit_code=HANDLER, escalated_only=True),
                                         metadata=bearer(settings, HANDLER_LEADER), timeout=10).items
    assert (escalated.code, escalated.complainant.phone) == (code, PERSON.phone)


def test_a_published_item_carries_no_personal_data(stub):
    api_stub, settings, _ = stub
    code = api_stub.FileFeedback(file_request(), timeout=10).feedback.code
    leader = bearer(settings, LEADER)
    api_stub.AnswerFeedback(survey_pb2.AnswerFeedbackRequest(code=code, answer="Đã chấn chỉnh", request_id="a"),
                            metadata=leader, timeout=10)
    api_stub.PublishFeedback(survey_pb2.PublishFeedbackRequest(
        code=code, public_content="Phản ánh về thái độ cán bộ tại quầy",
        public_answer="Đơn vị đã chấn chỉnh cán bộ", request_id="p"), metadata=leader, timeout=10)
    (published,) = api_stub.ListPublishedFeedback(survey_pb2.ListPublishedFeedbackRequest(agency_code=UNIT),
                                                  timeout=10).items
    assert (published.content, published.answer) == ("Phản ánh về thái độ cán bộ tại quầy",
                                                      "Đơn vị đã chấn chỉnh cán bộ")
    assert not any(value in str(published) for value in PERSONAL) and not published.log


def _reason(err: grpc.RpcError) -> str:
    from google.rpc import error_details_pb2
    for detail in rpc_status.from_call(err).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


def test_bad_input_through_the_api(stub):
    api_stub, settings, store = stub
    filed = api_stub.FileFeedback(file_request(), timeout=10)
    before = snapshot(store)
    cases = [
        (lambda: api_stub.FileFeedback(file_request(content=""), timeout=10),
         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELDS"),
        (lambda: api_stub.FileFeedback(file_request(content="ả" * 5001), timeout=10),
         grpc.StatusCode.INVALID_ARGUMENT, "FIELD_TOO_LONG"),
        (lambda: api_stub.FileFeedback(file_request(agency_code="000.00.21.H71"), timeout=10),  # H17 mistyped
         grpc.StatusCode.NOT_FOUND, "UNIT_NOT_FOUND"),
        (lambda: api_stub.AnswerFeedback(survey_pb2.AnswerFeedbackRequest(
            code=filed.feedback.code, answer="Không thuộc đơn vị", request_id="x"),
            metadata=bearer(settings, STRANGER), timeout=10), grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY"),
        (lambda: api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=filed.feedback.code), timeout=10),
         grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING"),
        (lambda: api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=filed.feedback.code),
                                      metadata=bearer(settings, officer(auth.CITIZEN, "")), timeout=10),
         grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED"),
    ]
    for call, code, reason in cases:
        with pytest.raises(grpc.RpcError) as refused:
            call()
        assert (refused.value.code(), _reason(refused.value)) == (code, reason)
        assert snapshot(store) == before


def test_a_filing_while_intakes_units_cannot_be_read_is_unavailable_and_stores_nothing(world):
    survey, store, clock = world
    units = FakeUnitTree(TREE)
    units.down = True  # as the client before any answer from intake
    with pytest.raises(Unavailable) as refused:
        FeedbackService(store, survey.feedback.policy, units, clock=clock).file(draft())
    assert refused.value.reason == "UNITS_UNAVAILABLE"
    with serving(store, clock, units=units) as (api_stub, _, _), pytest.raises(grpc.RpcError) as over_rpc:
        api_stub.FileFeedback(file_request(), timeout=10)
    assert over_rpc.value.code() == grpc.StatusCode.UNAVAILABLE and _reason(over_rpc.value) == "UNITS_UNAVAILABLE"
    assert store.filings == {} and store.entries == {} and store.key_docs == {} and store.events == []


def test_a_request_that_is_not_utf8_is_refused_by_the_server(stub):
    """gRPC strings are UTF-8: raw bytes that are not (a client that skips protobuf's check) get
    INVALID_ARGUMENT from the chassis' parsing and never reach the service."""
    _, settings, store = stub
    raw = file_request().SerializeToString().replace("gắt gỏng".encode(), b"g\xe1t g\xf4ng!!!!")
    assert len(raw) == len(file_request().SerializeToString())  # same length: still a well-formed message
    with grpc.insecure_channel(f"127.0.0.1:{settings.grpc_port}") as channel:
        call = channel.unary_unary("/onestop.survey.v1.SurveyService/FileFeedback")
        with pytest.raises(grpc.RpcError) as refused:
            call(raw, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "UTF-8" in refused.value.details()
    assert store.filings == {}


def test_the_public_rpcs_are_budgeted_per_client(world):
    _, store, clock = world
    with serving(store, clock, FeedbackLimits(filings="2/hour", secret_uses="3/hour")) as (api_stub, _, _):
        filed = [api_stub.FileFeedback(file_request(), timeout=10) for _ in range(2)]
        with pytest.raises(grpc.RpcError) as flooded:
            api_stub.FileFeedback(file_request(), timeout=10)
        assert (flooded.value.code(), _reason(flooded.value)) == (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                                                  "FEEDBACK_RATE_LIMITED")
        assert len(store.filings) == 2
        code = filed[0].feedback.code
        for guess in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC"):
            with pytest.raises(grpc.RpcError) as wrong:
                api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code, secret=guess), timeout=10)
            assert wrong.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as guessing:  # even the right secret waits now
            api_stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code, secret=filed[0].secret), timeout=10)
        assert guessing.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_code_taken_five_times_is_aborted_and_leaves_no_keys(world, monkeypatch):
    survey, store, _ = world
    from onestop_survey.feedback import service as feedback_service
    monkeypatch.setattr(feedback_service.secrets, "choice", lambda alphabet: alphabet[0])  # always "A"
    first, _ = survey.feedback.file(draft())
    assert first.code.endswith("-AAAAAA")
    before = snapshot(store)
    with pytest.raises(Aborted) as taken:
        survey.feedback.file(draft(type_code="thu-tuc", content="Một phản ánh khác"))
    assert taken.value.reason == "CONCURRENT_CHANGE" and snapshot(store) == before


def test_a_stale_key_is_skipped_by_the_lists(world):
    survey, store, _ = world
    item, _ = survey.feedback.file(draft())
    store.put_key(f"unit|{UNIT}|2020-01-01T00:00:00.000Z|{item.code}", item.code)  # a crash's leftover
    store.put_key(f"pub|{UNIT}|2020-01-01T00:00:00.000Z|{item.code}", item.code)   # never published
    assert [i.code for i in survey.feedback.list_unit(UNIT, LEADER, 50, "")[0]] == [item.code]
    assert survey.feedback.published(UNIT, 50, "")[0] == []


OPERATIONS = st.lists(st.tuples(st.sampled_from(["assign", "answer", "reopen", "rate", "publish", "wait", "scan"]),
                                st.integers(min_value=0, max_value=2)), max_size=25)


@settings(max_examples=40, deadline=None)
@given(operations=OPERATIONS)
def test_the_key_documents_are_always_exactly_the_items_keys(operations):
    """Whatever officers, citizens and the scan do (refusals included), the stored keys are the
    union of the items' current keys: none missing (a list would miss an item), none stale."""
    clock, store = Clock(START.astimezone(dt.UTC)), FakeFeedback()
    survey = bootstrap(load_settings(SurveySettings), feedback=store, invitations=None, clock=clock,
                       units=FakeUnitTree(TREE))
    filed = [survey.feedback.file(draft(type_code=t)) for t in ("thai-do", "thu-tuc", "kien-nghi")]
    units = [UNIT, HANDLER, OTHER_UNIT]
    for n, (operation, which) in enumerate(operations):
        code, secret = filed[which][0].code, filed[which][1]
        current = survey.feedback.get(code, auth.Principal("svc", frozenset({auth.SERVICE})))
        handler = officer(auth.UNIT_LEADER, current.unit_code)
        with contextlib.suppress(ServiceError):
            if operation == "assign":
                survey.feedback.assign(code, units[n % 3], "", "", f"r-{n}", handler)
            elif operation == "answer":
                survey.feedback.answer(code, "Trả lời", n % 2 == 0, f"r-{n}", handler)
            elif operation == "reopen":
                survey.feedback.reopen(code, secret, "Chưa thỏa đáng")
            elif operation == "rate":
                survey.feedback.rate(code, secret, 1 + n % 3)
            elif operation == "publish":
                survey.feedback.publish(code, "Nội dung công khai", "Trả lời công khai", f"r-{n}", handler)
            elif operation == "wait":
                clock.now += dt.timedelta(days=1 + which * 3)
            else:
                survey.feedback_overdue.run()
        expected = {key: item.code for item in (domain.fold(*store.load(c)) for c in store.filings)
                    for key in keys.of(item)}
        assert store.key_docs == expected
