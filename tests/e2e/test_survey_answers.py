"""End-to-end: intake and survey on the real stack (their own vhost, the forms sibling). A dossier
returned at the desk gets one invitation (intake's DossierResultReturned through the outbox and the
broker to the survey worker); the desk reads its link, QR code and SMS; the citizen answers in
headless Chromium at phone size, once, and the second answer is refused in Vietnamese; the RPC
refuses it too; the kiosk rates an officer until it floods; the indices change accordingly, and
the answer's event leaves through survey's relay."""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import grpc
import pytest
from conftest import ISSUED_SECRETS, UNIT, Platform, bearer, running, stub_fixtures, token

from onestop.intake.v1 import intake_pb2 as pb
from onestop.survey.v1 import survey_pb2 as spb
from onestop_chassis import dead_letters
from onestop_chassis.worktime import VIETNAM

from stack import AMQP_FORMS_TEST_URI
from support import error_info, submit_request

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SURVEY_QUEUE = "evt-intake-DossierResultReturned--survey.on_result_returned"
NINE = {str(i): 2 for i in range(1, 10)}  # 18 points: xuất sắc
PROVINCE = "000.00.00.H17"  # the agency of UNIT (the province's service centre) in intake's demo units


def _purge_survey_queue(delete: bool = False) -> None:
    """Survey's consumer queue on the shared forms vhost: events of other modules' returns, left
    while no survey worker ran, must not reach this platform (dossier codes repeat across runs).
    Deleted at the end, so the other modules' returns do not pile up in it meanwhile."""
    from amqp.exceptions import ChannelError
    from kombu import Connection
    with Connection(AMQP_FORMS_TEST_URI) as connection:
        for queue in (SURVEY_QUEUE, dead_letters.retry_queue(SURVEY_QUEUE)):
            with contextlib.suppress(ChannelError):
                channel = connection.channel()
                if delete:
                    channel.queue_delete(queue)
                else:
                    channel.queue_purge(queue)


@pytest.fixture(scope="module")
def agency(local_stack, tmp_path_factory):
    from conftest import purge_event_queues
    purge_event_queues(AMQP_FORMS_TEST_URI)
    _purge_survey_queue()
    p = Platform(log_dir=tmp_path_factory.mktemp("e2esurvey-logs"), services=("intake", "survey"),
                 prefix="e2esurvey", amqp_uri=AMQP_FORMS_TEST_URI,
                 extra_env={"OUTBOX_POLL_SECONDS": "0.1", "TRUSTED_PROXIES": "127.0.0.1",
                            "RATINGS_PER_KIOSK": "3/minute"})
    p.extra_env["SURVEY_BASE_URL"] = f"http://127.0.0.1:{p.web_ports['survey']}/khao-sat"
    try:
        with running(p):
            yield p
    finally:
        purge_event_queues(AMQP_FORMS_TEST_URI)
        _purge_survey_queue(delete=True)


intake, survey = stub_fixtures("agency", "intake", "survey")


def wait_until(probe, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _returned_at_desk(intake) -> str:
    code = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code
    intake.RecordResult(pb.RecordResultRequest(code=code, summary="Giấy chứng nhận đăng ký doanh nghiệp"),
                        metadata=bearer())
    intake.ReturnResult(pb.ReturnResultRequest(code=code, method=pb.RETURN_METHOD_AT_DESK,
                                               receiver_name="Nguyễn Thị Hồng Nhung",
                                               receiver_id_number="079203004567"), metadata=bearer())
    return code


def _invitation(agency, code: str) -> str:
    """The id of `code`'s invitation once the invitation itself is stored: the worker claims the
    dossier (`dossier|<code>`) before it writes the invitation, so the claim alone is too early
    for GetInvitation (NOT_FOUND in between)."""
    db = agency.db("survey")
    key = wait_until(lambda: db["invitation_keys"].find_one({"_id": f"dossier|{code}"}), f"the claim of {code}")
    wait_until(lambda: db["invitations"].find_one({"_id": key["invitation_id"]}), f"the invitation of {code}")
    return key["invitation_id"]


def _token(link: str) -> str:
    """The link's token; no log line of the platform may hold it (conftest's check at the end)."""
    token_ = link.rsplit("/", 1)[1]
    ISSUED_SECRETS.add(token_)
    return token_


def _chromium(args: list[str], profile: pathlib.Path) -> str:
    assert CHROMIUM, "Chromium is missing: run `make deps` (Debian package chromium)"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--window-size=390,844", *args],
        capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _posting_page(tmp_path: pathlib.Path, url: str, answers: dict[str, int], name: str) -> str:
    """A local page that posts the survey form as the citizen's browser does (the survey page itself
    runs no script: its CSP forbids it)."""
    fields = "".join(f'<input name="q_{k}" value="{v}">' for k, v in answers.items())
    page = tmp_path / f"{name}.html"
    page.write_text(f"""<!doctype html><meta charset="utf-8"><form id="f" method="post" action="{url}">{fields}</form>
<script>document.getElementById("f").submit()</script>""", encoding="utf-8")
    return page.as_uri()


def _index(survey, agency_code: str = UNIT, **narrow) -> spb.GetSatisfactionIndexResponse:
    today = dt.datetime.now(VIETNAM).date().isoformat()
    reader = bearer(token(roles=("unit_leader",), subject="e2e-leader") if agency_code == UNIT else
                    token(roles=("service",), agency="", subject="e2e-reports"))
    return survey.GetSatisfactionIndex(spb.GetSatisfactionIndexRequest(
        agency_code=agency_code, from_date=today, to_date=today, **narrow), metadata=reader)


def test_a_returned_dossier_is_answered_once_in_the_browser(agency, intake, survey, tmp_path):
    before = _index(survey)
    code = _returned_at_desk(intake)
    invitation = survey.GetInvitation(spb.GetInvitationRequest(id=_invitation(agency, code)),
                                      metadata=bearer()).invitation
    assert (invitation.dossier_code, invitation.agency_code, invitation.procedure_code) == (code, UNIT, "2.001610")
    assert invitation.officers == ["e2e-officer"] and invitation.return_method == 1
    assert invitation.qr_png.startswith(b"\x89PNG") and invitation.link in invitation.sms_text
    link = invitation.link
    assert link.startswith(f"http://127.0.0.1:{agency.web_ports['survey']}/khao-sat/")
    stored = agency.db("survey")["invitations"].find_one({"_id": invitation.id})
    token_ = _token(link)
    assert token_ not in str(stored) and "Nhung" not in str(stored) and "079203004567" not in str(stored)

    form = _chromium(["--virtual-time-budget=10000", "--dump-dom", link], tmp_path / "p1")
    assert '<html lang="vi">' in form and "Tổng thời gian giải quyết hồ sơ" in form and 'id="gui"' in form
    shot = tmp_path / "khao-sat.png"
    _chromium(["--virtual-time-budget=10000", f"--screenshot={shot}", link], tmp_path / "p2")
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, "/tmp/onestop-khao-sat.png")  # for a person to look at

    done = _chromium(["--virtual-time-budget=10000", "--dump-dom",
                      _posting_page(tmp_path, link, NINE, "first")], tmp_path / "p3")
    assert "Cảm ơn Ông/Bà đã đánh giá" in done and "18/18 — Xuất sắc" in done
    again = _chromium(["--virtual-time-budget=10000", "--dump-dom",
                       _posting_page(tmp_path, link, {**NINE, "1": 0}, "second")], tmp_path / "p4")
    assert "Hồ sơ này đã được đánh giá. Mỗi hồ sơ chỉ được đánh giá một lần." in again
    with pytest.raises(urllib.error.HTTPError) as refused_page:
        urllib.request.urlopen(link, timeout=10)
    assert refused_page.value.code == 409

    answers = [spb.Answer(question_id=k, value=v) for k, v in NINE.items()]
    with pytest.raises(grpc.RpcError) as second:
        survey.SubmitAnswers(spb.SubmitAnswersRequest(token=token_, answers=answers))
    assert (second.value.code(), error_info(second.value)[0]) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                                  "ALREADY_ANSWERED")
    assert agency.db("survey")["answers"].count_documents({"_id": invitation.id}) == 1

    after = _index(survey)
    assert after.points.sheets == before.points.sheets + 1
    assert after.points.total_points == before.points.total_points + 18
    grades = {g.grade: g.count for g in after.points.grades}
    assert grades["xuat_sac"] == {g.grade: g.count for g in before.points.grades}["xuat_sac"] + 1
    assert _index(survey, officer="e2e-officer").points.sheets >= 1
    # per field (lĩnh vực): intake's event carries the procedure's, copied from its catalogue at reception
    assert _index(survey, field_code="dang_ky_kinh_doanh").points.sheets >= 1
    assert _index(survey, field_code="ho_tich").points.sheets == 0
    # The answer's event left through survey's relay: its outbox pointer is gone.
    wait_until(lambda: agency.db("survey")["answers_outbox"].count_documents({}) == 0, "the relay to publish")


def test_answers_through_the_rpc_once_and_bad_answers_change_nothing(agency, intake, survey):
    code = _returned_at_desk(intake)
    _invitation(agency, code)  # issued by the worker
    invitation = survey.GetInvitation(spb.GetInvitationRequest(dossier_code=code), metadata=bearer()).invitation
    token_ = _token(invitation.link)
    skipped = [spb.Answer(question_id=str(i), value=1) for i in range(1, 9)]
    out_of_range = [*skipped, spb.Answer(question_id="9", value=7)]
    for answers, field in ((skipped, "answers[9]"), (out_of_range, "answers[9]")):
        with pytest.raises(grpc.RpcError) as bad:
            survey.SubmitAnswers(spb.SubmitAnswersRequest(token=token_, answers=answers))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in error_info(bad.value)[2]
    with pytest.raises(grpc.RpcError) as forged:
        survey.SubmitAnswers(spb.SubmitAnswersRequest(token="a" * 26, answers=skipped))
    assert (forged.value.code(), error_info(forged.value)[0]) == (grpc.StatusCode.NOT_FOUND, "INVITATION_NOT_FOUND")
    assert agency.db("survey")["answers"].count_documents({"_id": invitation.id}) == 0
    nine = [*skipped, spb.Answer(question_id="9", value=1)]
    done = survey.SubmitAnswers(spb.SubmitAnswersRequest(token=token_, answers=nine))
    assert (done.total, done.grade, done.grade_label) == (9, "kha", "Khá")
    with pytest.raises(grpc.RpcError) as second:
        survey.SubmitAnswers(spb.SubmitAnswersRequest(token=token_, answers=nine))
    assert error_info(second.value)[0] == "ALREADY_ANSWERED"


def _kiosk_press(tmp_path: pathlib.Path, url: str, fields: dict[str, str], name: str) -> str:
    """A local page that presses one of the kiosk's buttons as the tablet's browser does: it posts
    that button's form (the kiosk page itself runs no script: its CSP forbids it)."""
    inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
    page = tmp_path / f"{name}.html"
    page.write_text(f"""<!doctype html><meta charset="utf-8"><form id="f" method="post" action="{url}">{inputs}</form>
<script>document.getElementById("f").submit()</script>""", encoding="utf-8")
    return page.as_uri()


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"the page has no field {name}"
    return found.group(1)


def test_the_kiosk_rates_an_officer_until_it_floods(agency, survey, tmp_path):  # long: the kiosk's life, step by step
    officer = "e2e-kiosk-officer"
    before, before_agency = _index(survey, officer=officer).kiosk, _index(survey, PROVINCE, officer=officer).kiosk
    leader = bearer(token(roles=("unit_leader",), subject="e2e-leader"))
    registered = survey.RegisterKiosk(spb.RegisterKioskRequest(unit_code=UNIT, kiosk_id="quay-7"), metadata=leader)
    ISSUED_SECRETS.add(registered.kiosk_key)
    assert registered.kiosk.agency_code == PROVINCE  # intake's demo tree: the centre is under the province
    base = f"http://127.0.0.1:{agency.web_ports['survey']}"
    unregistered = _chromium(["--virtual-time-budget=10000", "--dump-dom",
                              f"{base}/quay/quay-8?co_quan={UNIT}&can_bo={officer}&khoa=doan-bua"], tmp_path / "k0")
    assert "chưa được đơn vị đăng ký" in unregistered and 'id="muc-do-3"' not in unregistered
    kiosk = f"{base}{registered.page_path}&can_bo={officer}"
    page = _chromium(["--virtual-time-budget=10000", "--dump-dom", kiosk], tmp_path / "k1")
    assert 'id="muc-do-3"' in page and "Rất hài lòng" in page and "Không hài lòng" in page
    pressed = _chromium(["--virtual-time-budget=10000", "--dump-dom", _kiosk_press(
        tmp_path, f"{base}/quay/quay-7", {"co_quan": UNIT, "can_bo": officer, "muc_do": "3",
                                         "khoa": registered.kiosk_key, "ma_yeu_cau": _hidden(page, "ma_yeu_cau")},
        "press")], tmp_path / "k2")
    assert "Cảm ơn Ông/Bà đã đánh giá!" in pressed and 'id="muc-do-3"' in pressed
    rate = spb.RateOfficerRequest(agency_code=UNIT, kiosk_id="quay-7", officer=officer, level=1,
                                  kiosk_key=registered.kiosk_key, request_id=f"e2e-{time.time_ns()}")
    survey.RateOfficer(rate)
    rate.level, rate.request_id = 3, f"e2e-{time.time_ns()}"
    survey.RateOfficer(rate)
    rate.request_id = f"e2e-{time.time_ns()}"
    with pytest.raises(grpc.RpcError) as flooded:
        survey.RateOfficer(rate)
    assert (flooded.value.code(), error_info(flooded.value)[0]) == (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                                                    "RATE_LIMITED")
    for after, earlier in ((_index(survey, officer=officer).kiosk, before),
                           (_index(survey, PROVINCE, officer=officer).kiosk, before_agency)):
        assert after.ratings == earlier.ratings + 3  # the unit's and its agency's indices alike
        levels, levels_before = ({lv.level: lv.count for lv in x.levels} for x in (after, earlier))
        assert (levels[3], levels[1]) == (levels_before.get(3, 0) + 2, levels_before.get(1, 0) + 1)
    survey.RevokeKiosk(spb.RevokeKioskRequest(unit_code=UNIT, kiosk_id="quay-7"), metadata=leader)
    with pytest.raises(grpc.RpcError) as revoked:
        survey.RateOfficer(rate)
    assert (revoked.value.code(), error_info(revoked.value)[0]) == (grpc.StatusCode.PERMISSION_DENIED,
                                                                    "KIOSK_REVOKED")
    stopped = _chromium(["--virtual-time-budget=10000", "--dump-dom", kiosk], tmp_path / "k3")
    assert "đã bị đơn vị thu hồi" in stopped and 'id="muc-do-3"' not in stopped
