"""Survey's public pages (issue 12, item 5) rendered over the in-memory fakes: the survey answered
once, the questions to fix named in Vietnamese, every refusal a Vietnamese page with its status,
the kiosk's buttons and its flood limit. (Chromium drives the real page in tests/e2e.)"""

from __future__ import annotations

import datetime as dt
import re

from test_survey_service import FIFTEEN, LEADER, NOW, OTHER_UNIT, UNIT, World
from test_workers import _green_waiter  # noqa: F401 (a fixture: the worker tests' module imports eventlet)

CLIENT = "198.51.100.7"


def _form(answers: dict[str, int]) -> dict[str, str]:
    return {f"q_{k}": str(v) for k, v in answers.items()}


def test_the_survey_is_answered_once_and_the_second_is_refused_in_vietnamese():
    world = World()
    _, token = world.invite()
    status, html = world.survey.pages.survey(token, CLIENT)
    assert status == 200 and "Tổng thời gian giải quyết hồ sơ" in html and f"/khao-sat/{token}" in html
    status, html = world.survey.pages.answer(token, _form(FIFTEEN), CLIENT)
    assert status == 200 and "Cảm ơn Ông/Bà đã đánh giá" in html and "15/18 — Xuất sắc" in html
    for again in (world.survey.pages.answer(token, _form(FIFTEEN), CLIENT), world.survey.pages.survey(token, CLIENT)):
        assert again[0] == 409 and "Mỗi hồ sơ chỉ được đánh giá một lần" in again[1]
    assert len(world.answer_store.items) == 1


def test_a_skipped_question_is_named_and_the_choices_are_kept():
    world = World()
    _, token = world.invite()
    form = _form(FIFTEEN)
    del form["q_3"]
    form["q_5"] = "9"
    status, html = world.survey.pages.answer(token, form, CLIENT)
    assert status == 400
    assert "Câu 3 (Số lần phải liên hệ" in html and "vui lòng trả lời câu này" in html
    assert "Câu 5 (" in html and "câu trả lời không hợp lệ" in html
    assert 'id="q_1_2" checked' in html  # what was chosen stays chosen
    assert world.stored() == ({}, [], {}, [])


def test_unknown_and_expired_links_get_their_own_pages():
    world = World()
    _, token = world.invite()
    status, html = world.survey.pages.survey("a" * 26, CLIENT)
    assert status == 404 and "Liên kết khảo sát không đúng" in html
    world.clock.now = NOW + dt.timedelta(days=31)
    status, html = world.survey.pages.answer(token, _form(FIFTEEN), CLIENT)
    assert status == 410 and "đã hết" in html and world.stored() == ({}, [], {}, [])


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_the_kiosk_rates_with_large_buttons_until_it_floods():
    world = World(per_kiosk="2/minute")
    world.key_2 = world.survey.answers.kiosks.register(UNIT, "quay-1", LEADER)[1]
    status, html = world.survey.pages.kiosk("quay-1", UNIT, "desk-an", world.key_2)
    assert status == 200 and [f'id="muc-do-{n}"' in html for n in (3, 2, 1)] == [True] * 3
    assert _hidden(html, "khoa") == world.key_2 and len(_hidden(html, "ma_yeu_cau")) == 32
    form = {"co_quan": UNIT, "can_bo": "desk-an", "muc_do": "3", "khoa": world.key_2,
            "ma_yeu_cau": _hidden(html, "ma_yeu_cau")}
    status, html = world.survey.pages.rate("quay-1", form, CLIENT)
    assert status == 200 and "Cảm ơn" in html
    assert world.survey.pages.rate("quay-1", {**form, "muc_do": "1", "ma_yeu_cau": _hidden(html, "ma_yeu_cau")},
                                   CLIENT)[0] == 200
    status, html = world.survey.pages.rate("quay-1", {**form, "ma_yeu_cau": "r-3"}, CLIENT)
    assert status == 429 and "quá nhiều" in html
    assert [r.level for r in world.ratings.items] == [3, 1]
    status, html = world.survey.pages.rate("k1", {**form, "muc_do": "7", "khoa": world.key, "ma_yeu_cau": "r-4"},
                                           CLIENT)
    assert status == 400 and len(world.ratings.items) == 2


def test_a_form_sent_twice_rates_once():
    world = World()
    html = world.survey.pages.kiosk("k1", UNIT, "desk-an", world.key)[1]
    form = {"co_quan": UNIT, "can_bo": "desk-an", "muc_do": "3", "khoa": world.key,
            "ma_yeu_cau": _hidden(html, "ma_yeu_cau")}
    assert [world.survey.pages.rate("k1", form, CLIENT)[0] for _ in range(2)] == [200, 200]
    assert len(world.ratings.items) == 1
    status, html = world.survey.pages.rate("k1", {**form, "muc_do": "1"}, CLIENT)  # the id with another level
    assert status == 409 and len(world.ratings.items) == 1


def test_an_unregistered_or_revoked_kiosk_gets_no_buttons_and_rates_nothing():
    world = World()
    form = {"co_quan": UNIT, "can_bo": "desk-an", "muc_do": "3", "khoa": world.key, "ma_yeu_cau": "r-1"}
    for kiosk, agency, key in (("quay-9", UNIT, world.key), ("k1", UNIT, ""), ("k1", UNIT, "x" * 32),
                               ("k1", OTHER_UNIT, world.key)):
        status, html = world.survey.pages.kiosk(kiosk, agency, "desk-an", key)
        assert status == 403 and "chưa được đơn vị đăng ký" in html and "muc-do-3" not in html
        status, html = world.survey.pages.rate(kiosk, {**form, "co_quan": agency, "khoa": key}, CLIENT)
        assert status == 403 and "chưa được đơn vị đăng ký" in html
    world.survey.answers.kiosks.revoke(UNIT, "k1", LEADER)
    for status, html in (world.survey.pages.kiosk("k1", UNIT, "desk-an", world.key),
                         world.survey.pages.rate("k1", form, CLIENT)):
        assert status == 403 and "đã bị đơn vị thu hồi" in html
    assert world.stored() == ({}, [], {}, [])


def test_a_survey_link_s_token_never_reaches_a_log_line():
    from onestop_chassis.logs import redact
    token = "abcdefghijklmnopqrstuvwxyz"
    line = f'127.0.0.1 - - "POST /khao-sat/{token} HTTP/1.1" 409 https://dvc.example.vn/khao-sat/{token}?x=1'
    assert token not in redact(line) and redact(line).count("/khao-sat/[redacted]") == 2
    assert redact("GET /quay/quay-7?co_quan=000.00.21.H17") == "GET /quay/quay-7?co_quan=000.00.21.H17"
    assert redact("GET /quay/quay-7?co_quan=000.00.21.H17&khoa=Ab-9_x&can_bo=an") == (
        "GET /quay/quay-7?co_quan=000.00.21.H17&khoa=[redacted]&can_bo=an")


# "²" and "٣" are digits to str.isdigit() but not to int(): each was once an HTTP 500 (review 12).
NOT_ASCII_DIGITS = ("\u00b2", "\u0663", "１", "9" * 5000)


def test_a_number_that_is_not_ascii_digits_is_a_question_to_fix_not_a_500():
    world = World()
    _, token = world.invite()
    for value in NOT_ASCII_DIGITS:
        status, html = world.survey.pages.answer(token, {**_form(FIFTEEN), "q_1": value}, CLIENT)
        assert status == 400 and "Câu 1 (" in html and "câu trả lời không hợp lệ" in html
    assert world.stored() == ({}, [], {}, [])


def test_a_kiosk_level_that_is_not_ascii_digits_is_refused_in_vietnamese():
    world = World()
    for n, value in enumerate(NOT_ASCII_DIGITS):
        form = {"co_quan": UNIT, "can_bo": "desk-an", "muc_do": value, "khoa": world.key, "ma_yeu_cau": f"r-{n}"}
        status, html = world.survey.pages.rate("k1", form, CLIENT)
        assert status == 400 and "Vui lòng chọn một mức độ hài lòng." in html
    assert world.stored() == ({}, [], {}, [])
