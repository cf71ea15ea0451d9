"""The public feedback pages (public.feedback) over the in-memory fakes: filing from the page with
the RPC's rules and limits (no content, oversized or non-UTF-8 text refused in Vietnamese and
nothing stored; the filing budget per address), and the filer's follow-up by code and secret:
see the answer, reopen within the window, rate once. (Chromium drives the real pages in
tests/e2e/test_survey_feedback_page.py.)"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from onestop_chassis import auth
from onestop_chassis.worktime import VIETNAM
from onestop_survey.bootstrap import bootstrap
from onestop_survey.config import SurveySettings
from onestop_survey.feedback.limits import FeedbackLimits
from onestop_survey.public import feedback as pages

from fakes import Clock, FakeFeedback, FakeUnitTree

UNIT = "000.00.21.H17"
CLIENT = "198.51.100.7"
FILED = dt.datetime(2026, 5, 4, 9, 0, tzinfo=VIETNAM)   # a Monday, working hours
LEADER = auth.Principal("leader", frozenset({auth.UNIT_LEADER}), UNIT)
FORM = {"co_quan": UNIT, "loai_phan_anh": "thai-do", "noi_dung": "Cán bộ tiếp nhận không hướng dẫn rõ ràng.",
        "nguoi_gui": "1", "ho_ten": "Lê Văn Cường", "dien_thoai": "0901234567"}


class World:
    def __init__(self, filings: str = "10/hour", secret_uses: str = "60/hour"):
        self.clock, self.store = Clock(FILED.astimezone(dt.UTC)), FakeFeedback()
        self.units = FakeUnitTree({UNIT: ""})  # intake's units: the page files only to an agency it knows
        self.survey = bootstrap(SurveySettings(), feedback=self.store, clock=self.clock,
                                feedback_limits=FeedbackLimits(filings, secret_uses), units=self.units)
        self.pages = self.survey.feedback_pages

    def file(self, **changes: str | bytes) -> tuple[int, str]:
        return self.pages.file(body(**{**FORM, **changes}), CLIENT)

    def filed(self) -> tuple[str, str]:
        status, html = self.file()
        assert status == 200
        return _between(html, 'id="ma">', "<"), _between(html, 'id="ma-bi-mat">', "<")

    def follow(self, code: str, secret: str, **more: str | bytes) -> tuple[int, str]:
        return self.pages.follow_up(body(ma=code, ma_bi_mat=secret, **more), CLIENT)


def body(**fields: str | bytes) -> bytes:
    """A form posted as a browser posts it: each value's bytes percent-encoded (str as UTF-8)."""
    return "&".join(f"{k}={urllib.parse.quote_from_bytes(v if isinstance(v, bytes) else v.encode())}"
                    for k, v in fields.items()).encode("ascii")


def _between(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def test_the_form_is_vietnamese_and_names_the_agency_of_its_link():
    status, html = World().pages.form(UNIT)
    assert status == 200 and '<html lang="vi">' in html and 'name="viewport"' in html
    assert f'value="{UNIT}"' in html and "Phản ánh về thái độ, hành vi của cán bộ, công chức" in html
    assert 'accept-charset="utf-8"' in html and "<script" not in html


def test_feedback_filed_from_the_page_shows_its_code_and_secret_once():
    world = World()
    code, secret = world.filed()
    item = world.survey.feedback.lookup(code, secret)  # the secret shown opens it
    assert item.filing.content == FORM["noi_dung"] and item.filing.complainant.name == "Lê Văn Cường"
    assert item.type_code == "thai-do" and item.filing.agency_code == UNIT
    assert [type(e).__name__ for e in world.store.events] == ["FeedbackFiled"]


def test_crlf_from_a_textarea_is_text_and_nfd_is_made_nfc():
    world = World()
    world.file(noi_dung="Dòng một\r\nDòng hai", ho_ten="Le\u0302 Va\u0306n")
    (filing,) = world.store.filings.values()
    assert filing.content == "Dòng một\nDòng hai" and filing.complainant.name == "Lê Văn"


@pytest.mark.parametrize(("field", "value", "says"), [
    ("noi_dung", "   ", "Nội dung: vui lòng ghi rõ nội dung phản ánh"),
    ("noi_dung", "a" * 5001, "Nội dung: dài quá 5.000 ký tự"),
    ("noi_dung", "Thái độ".encode() + b"\xff\xfe", "Nội dung: văn bản không đúng mã UTF-8"),
    ("noi_dung", "Thái".encode("latin-1"), "Nội dung: văn bản không đúng mã UTF-8"),
    ("ho_ten", b"L\xea V\xe3n", "Họ và tên: văn bản không đúng mã UTF-8"),
    ("dien_thoai", "", "ít nhất một cách liên hệ"),
    ("co_quan", "UBND", "Mã cơ quan không đúng"),
    ("loai_phan_anh", "khong-co", "Loại phản ánh: vui lòng chọn"),
])
def test_bad_feedback_is_refused_in_vietnamese_and_nothing_is_stored(field, value, says):
    world = World()
    status, html = world.file(**{field: value})
    assert status == 400 and says in html and 'id="loi"' in html
    assert 'id="phan-anh"' in html  # the form again, to fix
    assert world.store.filings == {} and world.store.events == [] and world.store.key_docs == {}


def test_what_was_typed_is_kept_when_the_form_comes_back():
    status, html = World().file(dien_thoai="", email="", dia_chi="")
    assert status == 400 and FORM["noi_dung"] in html and 'value="Lê Văn Cường"' in html


def test_filing_from_the_page_spends_the_rpcs_budget_per_address():
    world = World(filings="2/hour")
    assert world.file()[0] == 200 and world.file(noi_dung="")[0] == 400   # a refused attempt counts too
    status, html = world.file()
    assert status == 429 and "Bạn đã gửi quá nhiều yêu cầu" in html
    assert len(world.store.filings) == 1
    assert world.pages.file(body(**FORM), "203.0.113.9")[0] == 200  # another address has its own


def test_the_follow_up_needs_the_right_code_and_secret():
    world = World()
    code, secret = world.filed()
    for wrong in ((code, "AAAAAAAA"), ("PA-260504-AAAAAA", secret), ("khong-phai-ma", secret)):
        status, html = world.follow(*wrong)
        assert status == 404 and "Không tìm thấy phản ánh có mã và mã bí mật này" in html
        assert secret not in html
    status, html = world.follow(code, secret)
    assert status == 200 and "Đã tiếp nhận" in html and FORM["noi_dung"] in html
    assert 'id="form-danh-gia"' not in html and 'id="form-mo-lai"' not in html  # nothing to rate or reopen
    assert "0901234567" not in html and "Lê Văn Cường" not in html   # no contact details shown back


def test_the_filer_sees_the_answer_reopens_and_rates_it():
    world = World()
    code, secret = world.filed()
    world.survey.feedback.answer(code, "Đơn vị đã nhắc nhở công chức.", True, "r-1", LEADER)
    status, html = world.follow(code, secret)
    assert status == 200 and "Đã trả lời" in html and "Đơn vị đã nhắc nhở công chức." in html
    assert 'id="form-danh-gia"' in html and 'id="form-mo-lai"' in html
    status, html = world.follow(code, secret, thao_tac="mo_lai", ly_do=b"Ch\xe6a")
    assert status == 400 and "Lý do: văn bản không đúng mã UTF-8" in html
    status, html = world.follow(code, secret, thao_tac="mo_lai", ly_do="")
    assert status == 400 and "Lý do: vui lòng ghi rõ" in html
    status, html = world.follow(code, secret, thao_tac="mo_lai", ly_do="Chưa xin lỗi người dân.")
    assert status == 200 and "Đang xem xét lại" in html and "Đã gửi đề nghị xem xét lại." in html
    status, html = world.follow(code, secret, thao_tac="danh_gia", muc_do="3")
    assert status == 409 and "chưa có câu trả lời" in html   # a reopened item waits for its new answer
    world.survey.feedback.answer(code, "Công chức đã xin lỗi.", True, "r-2", LEADER)
    status, html = world.follow(code, secret, thao_tac="danh_gia", muc_do="3")
    assert status == 200 and "Đã đóng" in html and "Rất hài lòng" in html
    status, html = world.follow(code, secret, thao_tac="danh_gia", muc_do="1")
    assert status == 409 and "đã được đánh giá" in html
    assert world.survey.feedback.lookup(code, secret).rating == 3


def test_reopening_after_the_window_is_refused_and_changes_nothing():
    world = World()
    code, secret = world.filed()
    world.survey.feedback.answer(code, "Đã giải quyết.", False, "r-1", LEADER)
    world.clock.now += dt.timedelta(days=30)
    before = len(world.store.entries[code])
    status, html = world.follow(code, secret)
    assert 'id="form-mo-lai"' not in html
    status, html = world.follow(code, secret, thao_tac="mo_lai", ly_do="Chưa hài lòng")
    assert status == 409 and "Đã hết thời hạn đề nghị xem xét lại" in html
    assert len(world.store.entries[code]) == before


def test_the_follow_up_spends_the_secret_budget():
    world = World(secret_uses="2/hour")
    code, secret = world.filed()
    assert world.follow(code, "AAAAAAAA")[0] == 404 and world.follow(code, secret)[0] == 200
    status, html = world.follow(code, secret)
    assert status == 429 and "Bạn đã gửi quá nhiều yêu cầu" in html


def test_form_fields_keep_the_bytes_the_browser_sent():
    assert pages.form_fields(b"noi_dung=Th%E1i&noi_dung=x&ma=PA%2D1") == {"noi_dung": b"Th\xe1i", "ma": b"PA-1"}


def test_an_agency_intake_does_not_know_is_refused_in_vietnamese_and_nothing_is_filed():
    world = World()
    status, html = world.file(co_quan="000.00.99.Z99")  # the shape of a unit code, but no unit's
    assert status == 404
    assert "Không tìm thấy cơ quan có mã này" in html and 'name="noi_dung"' in html  # the form again
    assert world.store.filings == {} and world.store.events == []


def test_when_intake_cannot_say_which_agencies_exist_the_page_asks_to_try_again_and_files_nothing():
    world = World()
    world.units.down = True
    status, html = world.file()
    assert status == 503
    assert "Vui lòng thử lại sau ít phút." in html and "chưa được gửi" in html
    assert world.store.filings == {} and world.store.events == []


def test_a_rating_that_is_not_ascii_digits_is_refused_in_vietnamese():
    world = World()
    code, secret = world.filed()
    world.survey.feedback.answer(code, "Đã trả lời", False, "r-1", LEADER)
    before = dict(world.store.entries[code])
    for value in ("\u00b2", "\u0663", "１"):  # digits to str.isdigit(), not to int(): once a 500
        status, html = world.follow(code, secret, thao_tac="danh_gia", muc_do=value)
        assert status == 400 and "Vui lòng chọn một mức độ hài lòng." in html
    status, html = world.follow(code, secret, thao_tac="danh_gia", muc_do="9" * 5000)
    assert status == 400 and "Mức độ hài lòng: dài quá 1 ký tự" in html
    assert world.store.entries[code] == before
