"""End-to-end on the real stack, survey's processes (api, worker, relay) on their own vhost:

- an answer stored without its tallies (the crash the review found: the sheet and its event are one
  insert, the tallies the next write) is counted by the index once the relay publishes its
  AnswerRecorded and the worker rebuilds them, and once only when the event comes again;
- the public feedback page in headless Chromium at phone size: filed in Vietnamese, the tracking
  code and secret shown; no content, over-long and non-UTF-8 text (a form posted in windows-1252)
  refused with a Vietnamese page and nothing stored; then the filer's follow-up with the code and
  secret: the answer seen, reopened, answered again, rated.

The survey page runs no script (its CSP forbids it), so Chromium posts the forms from local pages
as a citizen's browser would post them."""

from __future__ import annotations

import datetime as dt
import html
import pathlib
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import grpc
import pytest
from conftest import ISSUED_SECRETS, UNIT, Platform, bearer, purge_event_queues, running, token
from kombu import Connection
from nameko.standalone.events import get_event_exchange

from onestop.survey.v1 import survey_pb2, survey_pb2_grpc
from onestop_chassis import events
from onestop_chassis.worktime import VIETNAM
from onestop_survey.answers import domain as answers
from onestop_survey.answers.adapters import events as answer_events
from onestop_survey.answers.adapters.mongo import MongoAnswers
from onestop_survey.questionnaires import files as questionnaire_files

from stack import AMQP_DOCUMENTS_TEST_URI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LEADER = bearer(token(roles=("unit_leader",), agency=UNIT, subject="e2e-fb-leader"))
CONTENT = "Cán bộ tiếp nhận hẹn trả kết quả nhưng không gọi điện báo khi hồ sơ bị chậm."


@pytest.fixture(scope="module")
def platform(local_stack, tmp_path_factory):
    purge_event_queues(AMQP_DOCUMENTS_TEST_URI)
    # Intake too: the page files only to an agency in intake's units (its demo units, seeded).
    p = Platform(log_dir=tmp_path_factory.mktemp("e2e-fbpage-logs"), services=("intake", "survey"),
                 prefix="e2efbpage", amqp_uri=AMQP_DOCUMENTS_TEST_URI, extra_env={"OUTBOX_POLL_SECONDS": "0.1"})
    try:
        with running(p):
            # Every consumer connected (its queue bound): an event published before would be lost.
            _until(lambda: _ready(p), "the survey worker's consumers")
            yield p
    finally:
        purge_event_queues(AMQP_DOCUMENTS_TEST_URI)


@pytest.fixture()
def survey(platform):
    with platform.channel("survey") as channel:
        yield survey_pb2_grpc.SurveyServiceStub(channel)


def _until(probe, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def _ready(platform) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{platform.metrics['survey-worker']}/healthz/ready",
                                    timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _metric(platform, process: str, name: str, **labels) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{platform.metrics[process]}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(m.group(2)) for m in re.finditer(rf"^{name}(?:\{{(.*)\}})? (\S+)$", text, re.M)
               if all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()))


# --- an answer stored but never counted ---------------------------------------------------------
def _sheets(survey) -> int:
    today = dt.datetime.now(VIETNAM).date().isoformat()
    return survey.GetSatisfactionIndex(survey_pb2.GetSatisfactionIndexRequest(
        agency_code=UNIT, from_date=today, to_date=today), metadata=LEADER, timeout=10).points.sheets


def test_an_answer_stored_without_tallies_is_counted_once_from_its_event(platform, survey):
    before = _sheets(survey)
    tt01 = questionnaire_files.builtin()["tt01-9"]
    sheet = answers.AnswerSheet(
        invitation_id=uuid.uuid4().hex, agency_code=UNIT, parent_agency_code="",
        procedure_code="2.001610", field_code="dang_ky_kinh_doanh", officers=("e2e-officer",), return_method=1,
        questionnaire_code="tt01-9", questionnaire_version=tt01.version, answered_at=dt.datetime.now(dt.UTC),
        values={str(i): 2 for i in range(1, 10)}, total=18, grade="xuat_sac")
    # The api's first write and nothing after it: the sheet with its AnswerRecorded in its outbox.
    assert MongoAnswers(db=lambda: platform.db("survey")).add(sheet)
    _until(lambda: _sheets(survey) == before + 1, "the worker to rebuild the answer's tallies")
    tallies = platform.db("survey")["tallies"].count_documents({})
    duplicates = _metric(platform, "survey-worker", "onestop_event_duplicates_total", event_type="AnswerRecorded")
    with Connection(AMQP_DOCUMENTS_TEST_URI) as connection:   # the same answer's event again
        exchange = get_event_exchange("survey")
        connection.Producer().publish(events.to_payload(answer_events.answer_recorded(sheet)), exchange=exchange,
                                      declare=[exchange], routing_key="AnswerRecorded", serializer="json")
    _until(lambda: _metric(platform, "survey-worker", "onestop_event_duplicates_total",
                           event_type="AnswerRecorded") == duplicates + 1, "the worker to take the redelivery")
    assert _sheets(survey) == before + 1
    assert platform.db("survey")["tallies"].count_documents({}) == tallies
    assert _metric(platform, "survey-worker", "onestop_survey_tallies_repaired_total") == 1


# --- the feedback page --------------------------------------------------------------------------
def _chromium(args: list[str], profile: pathlib.Path) -> str:
    assert CHROMIUM, "Chromium is missing: run `make deps` (Debian package chromium)"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--window-size=390,844", "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _post(tmp_path: pathlib.Path, url: str, fields: dict[str, str], charset: str = "utf-8") -> str:
    """What Chromium shows after posting `fields` to `url` from a local page, the form encoded in
    `charset` (a browser posts in the charset its form asks for)."""
    inputs = "".join(f'<textarea name="{k}">{html.escape(v)}</textarea>' for k, v in fields.items())
    name = uuid.uuid4().hex[:8]
    page = tmp_path / f"{name}.html"
    page.write_text(f"""<!doctype html><meta charset="utf-8"><form id="f" method="post" action="{url}"
accept-charset="{charset}">{inputs}</form><script>document.getElementById("f").submit()</script>""",
                    encoding="utf-8")
    return _chromium(["--dump-dom", page.as_uri()], tmp_path / f"profile-{name}")


def _filed_items(platform) -> int:
    return platform.db("survey")["feedback_log"].count_documents({"seq": 1})


FILING = {"co_quan": UNIT, "loai_phan_anh": "thai-do", "noi_dung": CONTENT, "nguoi_gui": "1",
          "ho_ten": "Trần Thị Mai", "dien_thoai": "0912345678"}


@pytest.fixture(scope="module")
def filed(platform, tmp_path_factory) -> tuple[str, str]:
    """A complaint filed from the page in Chromium: its tracking code and secret, as the page shows them."""
    before = _filed_items(platform)
    done = _post(tmp_path_factory.mktemp("e2e-fbpage"), f"http://127.0.0.1:{platform.web_ports['survey']}/phan-anh",
                 FILING)
    assert "Đã nhận phản ánh, kiến nghị" in done and "Mã bí mật" in done, done[-1500:]
    code = re.search(r'id="ma">([^<]+)<', done).group(1)
    secret = re.search(r'id="ma-bi-mat">([^<]+)<', done).group(1)
    ISSUED_SECRETS.add(secret)
    assert _filed_items(platform) == before + 1
    return code, secret


def test_bad_feedback_from_the_page_is_refused_in_vietnamese(platform, tmp_path):
    base = f"http://127.0.0.1:{platform.web_ports['survey']}"
    form = _chromium(["--dump-dom", f"{base}/phan-anh?co_quan={UNIT}"], tmp_path / "p1")
    assert '<html lang="vi">' in form and "Gửi phản ánh, kiến nghị" in form and f'value="{UNIT}"' in form
    assert "Phản ánh về thái độ, hành vi của cán bộ, công chức" in form and 'id="gui"' in form
    shot = tmp_path / "phan-anh.png"
    _chromium([f"--screenshot={shot}", f"{base}/phan-anh?co_quan={UNIT}"], tmp_path / "p2")
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, "/tmp/onestop-phan-anh.png")  # for a person to look at

    filing = FILING
    before = _filed_items(platform)
    for bad, says in (({"noi_dung": "  "}, "Nội dung: vui lòng ghi rõ nội dung phản ánh"),
                      ({"noi_dung": "ư" * 5001}, "Nội dung: dài quá 5.000 ký tự"),
                      ({"ho_ten": ""}, "Họ và tên: vui lòng nhập")):
        refused = _post(tmp_path, f"{base}/phan-anh", {**filing, **bad})
        assert says in refused and 'id="loi"' in refused, refused[-1500:]
    latin = _post(tmp_path, f"{base}/phan-anh", {**filing, "noi_dung": "Thái độ phục vụ chưa tốt"}, "windows-1252")
    assert "Nội dung: văn bản không đúng mã UTF-8" in latin
    assert _filed_items(platform) == before   # nothing stored
    with pytest.raises(urllib.error.HTTPError) as too_large:
        urllib.request.urlopen(urllib.request.Request(f"{base}/phan-anh", data=b"noi_dung=" + b"a" * 70_000,
                                                      method="POST"), timeout=10)
    assert too_large.value.code == 413


def test_the_filer_follows_up_on_the_page(platform, survey, filed, tmp_path):
    code, secret = filed
    follow = f"http://127.0.0.1:{platform.web_ports['survey']}/phan-anh/tra-cuu"
    assert "Mã bí mật" in _chromium(["--dump-dom", follow], tmp_path / "f0")
    wrong = _post(tmp_path, follow, {"ma": code, "ma_bi_mat": "AAAAAAAA"})
    assert "Không tìm thấy phản ánh có mã và mã bí mật này" in wrong
    seen = _post(tmp_path, follow, {"ma": code, "ma_bi_mat": secret})
    assert "Đã tiếp nhận" in seen and CONTENT in seen and "0912345678" not in seen

    def answer(text: str) -> None:
        survey.AnswerFeedback(survey_pb2.AnswerFeedbackRequest(code=code, answer=text, founded=True,
                                                               request_id=uuid.uuid4().hex), metadata=LEADER,
                              timeout=10)
    answer("Đơn vị đã nhắc nhở công chức và sẽ gọi điện báo khi hồ sơ chậm.")
    seen = _post(tmp_path, follow, {"ma": code, "ma_bi_mat": secret})
    assert "Đã trả lời" in seen and "sẽ gọi điện báo khi hồ sơ chậm" in seen and 'id="form-mo-lai"' in seen
    reopened = _post(tmp_path, follow, {"ma": code, "ma_bi_mat": secret, "thao_tac": "mo_lai",
                                        "ly_do": "Chưa có lời xin lỗi."})
    assert "Đang xem xét lại" in reopened and "Đã gửi đề nghị xem xét lại." in reopened
    answer("Công chức đã xin lỗi Bà qua điện thoại.")
    rated = _post(tmp_path, follow, {"ma": code, "ma_bi_mat": secret, "thao_tac": "danh_gia", "muc_do": "3"})
    assert "Đã đóng" in rated and "Rất hài lòng" in rated
    again = _post(tmp_path, follow, {"ma": code, "ma_bi_mat": secret, "thao_tac": "danh_gia", "muc_do": "1"})
    assert "đã được đánh giá" in again
    item = survey.GetFeedback(survey_pb2.GetFeedbackRequest(code=code, secret=secret), timeout=10).feedback
    assert (item.state, item.rating, item.reopens) == (5, 3, 1)
    with pytest.raises(grpc.RpcError):  # the RPC refuses the second rating as the page did
        survey.RateFeedbackAnswer(survey_pb2.RateFeedbackAnswerRequest(code=code, secret=secret, rating=1),
                                  timeout=10)
