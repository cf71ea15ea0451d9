"""End-to-end: a complaint through survey's real processes (api, worker, relay) on the real stack:
filed → assigned → overdue (found by the worker's timer, no call) → escalated → answered →
reopened → answered → rated, the agency's indicators 7 and 8 changing at each step, contact
details only for the handling unit, and the events on the broker through survey's relay; and the
bad input issue 12 lists, refused with its code while nothing stored changes.

The deadline is made short by data, not by a clock: the test's FEEDBACK_TYPES_FILE has a type
`ngay` whose answer deadline is 0 working days (due at filing, at any hour); the complaint is filed
as a 10-day type and the unit reclassifies it as `ngay` when assigning, so it falls due only then.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import grpc
import pytest
from conftest import ISSUED_SECRETS, Platform, bearer, running, stub_fixtures, token
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop.survey.v1 import survey_pb2

from stack import AMQP_DOCUMENTS_TEST_URI
from support import error_info

# Intake's demo units: the province's service centre (a desk) and its Department of Justice, both
# under the province (one unit tree); OTHER_PROVINCE, a root the test adds: another tree.
UNIT, HANDLER, OTHER_PROVINCE = "000.00.21.H17", "000.00.12.H17", "000.00.00.H46"
TYPES = """\
- code: thu-tuc
  name: Phản ánh về thủ tục hành chính
  answer_days: 10
- code: ngay
  name: Phản ánh về thái độ cán bộ (trả lời ngay)
  answer_days: 0
  about_officer: true
"""
EVENTS = ("FeedbackFiled", "FeedbackAnswered", "FeedbackEscalated", "FeedbackReopened", "FeedbackRated")


@pytest.fixture(scope="module")
def feedback_platform(local_stack, tmp_path_factory):
    types = tmp_path_factory.mktemp("e2e-feedback-types") / "types.yaml"
    types.write_text(TYPES, encoding="utf-8")
    # A vhost beside the shared platform's (this checkout's own), so no other worker takes its events.
    # Intake runs too: survey reads its unit tree to check each assignment (its demo units, seeded).
    from conftest import purge_event_queues
    purge_event_queues(AMQP_DOCUMENTS_TEST_URI)
    try:
        with running(Platform(log_dir=tmp_path_factory.mktemp("e2e-feedback-logs"), services=("intake", "survey"),
                              prefix="e2efeedback", amqp_uri=AMQP_DOCUMENTS_TEST_URI,
                              extra_env={"FEEDBACK_TYPES_FILE": str(types), "FEEDBACK_OVERDUE_SCAN_SECONDS": "0.5",
                                         "OUTBOX_POLL_SECONDS": "0.1"})) as p:
            yield p
    finally:
        purge_event_queues(AMQP_DOCUMENTS_TEST_URI)


(survey,) = stub_fixtures("feedback_platform", "survey")


def _as(role: str, unit: str) -> tuple:
    return bearer(token(roles=(role,), agency=unit, subject=f"{role}-{unit}"))


LEADER, HANDLER_OFFICER = _as("unit_leader", UNIT), _as("processing_officer", HANDLER)


def _indicators(stub) -> survey_pb2.FeedbackIndicators:
    request = survey_pb2.GetFeedbackIndicatorsRequest(agency_code=UNIT)
    now = dt.datetime.now(dt.UTC)
    request.start.FromDatetime(now - dt.timedelta(days=1))
    request.end.FromDatetime(now + dt.timedelta(days=1))
    return stub.GetFeedbackIndicators(request, metadata=LEADER, timeout=10).indicators


def _counts(found) -> tuple:
    return (found.filed, found.answered, found.answered_on_time, found.due, found.protracted, found.reopened,
            found.founded_officer_complaints, found.indicator_8_points)


def _until(read, done, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.2)
    return value


def _retrying(call):
    """ABORTED (CONCURRENT_CHANGE) means another writer (the worker's scan) appended first: retry."""
    for _ in range(10):
        try:
            return call()
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.ABORTED:
                raise
    raise AssertionError("ABORTED ten times")


def _events(bound, code: str) -> list[str]:
    seen = []
    while (message := bound.get(no_ack=True)) is not None:
        if json.loads(message.body).get("code") == code:
            seen.append(message.delivery_info["routing_key"])
    return seen


def test_a_complaint_from_filing_to_rating(survey):  # long: one scenario, step by step as the issue lists it
    stub = survey
    with Connection(AMQP_DOCUMENTS_TEST_URI) as connection:
        exchange = get_event_exchange("survey")
        exchange(connection.default_channel).declare()  # as the relay declares it: the same arguments
        bound = Queue(f"e2e-feedback-{uuid.uuid4().hex[:8]}", exclusive=True)(connection.default_channel)
        bound.declare()
        for name in EVENTS:
            bound.bind_to(exchange, routing_key=name)
        before = _counts(_indicators(stub))

        filed = stub.FileFeedback(survey_pb2.FileFeedbackRequest(
            agency_code=UNIT, type_code="thu-tuc", content="Cán bộ tiếp nhận không hướng dẫn, thái độ gắt gỏng",
            complainant=survey_pb2.Complainant(kind=1, name="Phạm Thị Dung", phone="0934567890")), timeout=10)
        code, secret = filed.feedback.code, filed.secret
        ISSUED_SECRETS.add(secret)
        assert _counts(_indicators(stub)) == (before[0] + 1, *before[1:])
        assigned = stub.AssignFeedback(survey_pb2.AssignFeedbackRequest(
            code=code, unit_code=HANDLER, type_code="ngay", reason="Thuộc phòng chuyên môn", request_id="a-1"),
            metadata=LEADER, timeout=10).feedback
        assert (assigned.state, assigned.unit_code) == (2, HANDLER)

        # Overdue at once (a 0-day type): the worker's timer escalates it, with no call.
        escalated = _until(lambda: stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code),
                                                    metadata=HANDLER_OFFICER, timeout=10).feedback,
                           lambda f: f.escalations == 1, "the escalation")
        assert escalated.overdue and escalated.log[-1].kind == "ESCALATED" and escalated.log[-1].role == "service"
        assert escalated.complainant.phone == "0934567890"  # the handling unit sees the contact
        leaders = stub.ListFeedback(survey_pb2.ListFeedbackRequest(unit_code=HANDLER, escalated_only=True),
                                    metadata=_as("unit_leader", HANDLER), timeout=10).items
        assert code in [i.code for i in leaders]
        overdue = _indicators(stub)
        assert (overdue.protracted, overdue.indicator_8_points) == (before[4] + 1, 0)

        answered = _retrying(lambda: stub.AnswerFeedback(survey_pb2.AnswerFeedbackRequest(
            code=code, answer="Đã kiểm điểm cán bộ và xin lỗi bà", founded=True, request_id="r-1"),
            metadata=HANDLER_OFFICER, timeout=10)).feedback
        assert answered.state == 3 and not answered.overdue
        public = stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code, secret=secret), timeout=10).feedback
        assert public.answer == "Đã kiểm điểm cán bộ và xin lỗi bà" and not public.HasField("complainant")
        assert "0934567890" not in str(public) and "Phạm Thị Dung" not in str(public)

        reopened = stub.ReopenFeedback(survey_pb2.ReopenFeedbackRequest(
            code=code, secret=secret, reason="Tôi chưa nhận được lời xin lỗi trực tiếp"), timeout=10).feedback
        assert (reopened.state, reopened.reopens) == (4, 1)
        _retrying(lambda: stub.AnswerFeedback(survey_pb2.AnswerFeedbackRequest(
            code=code, answer="Lãnh đạo phòng đã gặp và xin lỗi trực tiếp", founded=True, request_id="r-2"),
            metadata=HANDLER_OFFICER, timeout=10))
        rated = stub.RateFeedbackAnswer(survey_pb2.RateFeedbackAnswerRequest(code=code, secret=secret, rating=2),
                                        timeout=10).feedback
        assert (rated.state, rated.rating) == (5, 2)
        with pytest.raises(grpc.RpcError) as twice:
            stub.RateFeedbackAnswer(survey_pb2.RateFeedbackAnswerRequest(code=code, secret=secret, rating=3),
                                    timeout=10)
        assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        final = _indicators(stub)
        assert _counts(final) == (before[0] + 1, before[1] + 1, before[2], before[3] + 1, before[4],
                                  before[5] + 1, before[6] + 1, 0)
        assert final.indicator_7_complaint
        kinds = [e.kind for e in stub.GetFeedback(survey_pb2.GetFeedbackRequest(code=code), metadata=LEADER,
                                                  timeout=10).feedback.log]
        assert kinds[:4] == ["FILED", "ASSIGNED", "ESCALATED", "ANSWERED"] and kinds[-1] == "RATED"
        assert kinds.count("REOPENED") == 1 and kinds.count("ANSWERED") == 2

        seen: list[str] = []
        _until(lambda: seen.extend(_events(bound, code)) or seen, lambda s: "FeedbackRated" in s,
               "FeedbackRated on the broker")
        seen.extend(_events(bound, code))
    assert {"FeedbackFiled", "FeedbackEscalated", "FeedbackAnswered", "FeedbackReopened", "FeedbackRated"} <= set(
        seen)


def _stored(platform) -> tuple[int, int]:
    db = platform.db("survey")
    return db["feedback_log"].count_documents({}), db["feedback_keys"].count_documents({})


def test_bad_input_gets_its_code_and_reason_and_stores_nothing(feedback_platform, survey):
    stub = survey
    filed = stub.FileFeedback(survey_pb2.FileFeedbackRequest(
        agency_code=UNIT, type_code="thu-tuc", content="Phí, lệ phí niêm yết không rõ",
        complainant=survey_pb2.Complainant(kind=2, name="Hợp tác xã Bình Minh", email="htx@binhminh.vn")),
        timeout=10)
    ISSUED_SECRETS.add(filed.secret)
    code = filed.feedback.code
    before = _stored(feedback_platform)
    good = survey_pb2.FileFeedbackRequest(agency_code=UNIT, type_code="thu-tuc", content="Nội dung",
                                          complainant=survey_pb2.Complainant(kind=1, name="An", phone="0900000000"))
    empty, long = survey_pb2.FileFeedbackRequest(), survey_pb2.FileFeedbackRequest()
    empty.CopyFrom(good)
    empty.content = " "
    long.CopyFrom(good)
    long.content = "ơ" * 5001
    unknown = survey_pb2.FileFeedbackRequest()  # an agency code intake does not know: nobody could answer it
    unknown.CopyFrom(good)
    unknown.agency_code = "000.99.98.H17"
    with feedback_platform.channel("intake") as channel:  # another province's tree (idempotent)
        intake_pb2_grpc.IntakeServiceStub(channel).PutUnit(intake_pb2.PutUnitRequest(unit=intake_pb2.Unit(
            code=OTHER_PROVINCE, name="UBND tỉnh khác (dữ liệu kiểm thử)", kind=intake_pb2.UNIT_KIND_PEOPLES_COMMITTEE,
            level=intake_pb2.UNIT_LEVEL_PROVINCE)), metadata=_as("service", ""), timeout=10)
    leader = _as("unit_leader", UNIT)

    def assign(unit: str, request_id: str):
        return lambda: stub.AssignFeedback(survey_pb2.AssignFeedbackRequest(code=code, unit_code=unit,
                                                                            request_id=request_id),
                                           metadata=leader, timeout=10)
    for unit, status, reason in ((OTHER_PROVINCE, grpc.StatusCode.FAILED_PRECONDITION, "UNIT_OUTSIDE_AGENCY"),
                                 ("000.99.99.H46", grpc.StatusCode.NOT_FOUND, "UNIT_NOT_FOUND")):
        with pytest.raises(grpc.RpcError) as outside:
            assign(unit, f"x-{unit}")()
        assert (outside.value.code(), error_info(outside.value)[0]) == (status, reason)
        assert unit in outside.value.details()
    calls = [
        (lambda: stub.FileFeedback(empty, timeout=10), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: stub.FileFeedback(long, timeout=10), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: stub.FileFeedback(unknown, timeout=10), grpc.StatusCode.NOT_FOUND),
        (lambda: stub.AnswerFeedback(survey_pb2.AnswerFeedbackRequest(code=code, answer="Không phải đơn vị mình",
                                                                      request_id="x-1"),
                                     metadata=_as("processing_officer", HANDLER), timeout=10),
         grpc.StatusCode.PERMISSION_DENIED),
        (lambda: stub.ReopenFeedback(survey_pb2.ReopenFeedbackRequest(code=code, secret=filed.secret, reason="x"),
                                     timeout=10), grpc.StatusCode.FAILED_PRECONDITION),
        (lambda: stub.RateFeedbackAnswer(survey_pb2.RateFeedbackAnswerRequest(code=code, secret="SAISAISA", rating=2),
                                         timeout=10), grpc.StatusCode.NOT_FOUND),
    ]
    for call, status in calls:
        with pytest.raises(grpc.RpcError) as refused:
            call()
        assert refused.value.code() == status, refused.value.details()
    raw = good.SerializeToString().replace("Nội dung".encode(), b"N\xf4i d\xfcng!!")  # Latin-1, same length
    assert len(raw) == len(good.SerializeToString())
    with feedback_platform.channel("survey") as channel, pytest.raises(grpc.RpcError) as not_utf8:
        channel.unary_unary("/onestop.survey.v1.SurveyService/FileFeedback")(raw, timeout=10)
    assert not_utf8.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "UTF-8" in not_utf8.value.details()
    assert _stored(feedback_platform) == before
