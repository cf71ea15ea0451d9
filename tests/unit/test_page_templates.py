"""One public base page (onestop_chassis/templates/base.html) for every service that serves pages:
the services render their pages through onestop_chassis.page_templates and keep only their own
style rules (site.css) and templates."""

from __future__ import annotations

import pathlib
import re

from onestop_chassis.page_security import content_security_policy
from onestop_intake.public.pages import error_page
from onestop_survey.public.pages import message_page

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = re.compile(r'<header>\s*<h1>(.*?)</h1>\s*<p>(.*?)</p>\s*(<nav>.*?</nav>)?\s*</header>', re.S)


def test_no_service_keeps_a_base_page_of_its_own():
    own = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/src/onestop_*/**/templates/base.html"))
    assert own == [], "extend the chassis's base.html (onestop_chassis.page_templates) instead"


def test_intake_and_survey_pages_share_the_chassis_base_and_keep_their_own_style():
    intake = error_page(404, "Không tìm thấy thủ tục.")
    _, survey = message_page(410, "Phiếu khảo sát đã hết hạn", "Thời hạn đánh giá hồ sơ này đã hết.")
    base = (ROOT / "libs/chassis/src/onestop_chassis/templates/base.html").read_text(encoding="utf-8")
    shared = [line for line in base.splitlines() if line.startswith("  ") and "{" in line and "{%" not in line]
    assert shared and all(line in intake and line in survey for line in shared), "the base's header and style"
    assert '<html lang="vi">' in intake and '<html lang="vi">' in survey
    (intake_header,), (survey_header,) = HEADER.findall(intake), HEADER.findall(survey)
    assert intake_header[2] == ('<nav><a href="/thu-tuc">Thủ tục hành chính</a>'
                                '<a href="/tra-cuu">Tra cứu hồ sơ</a></nav>')
    assert survey_header[2] == "" and survey_header[0] == "Phiếu khảo sát đã hết hạn"
    # Each service's own rules reach its pages only.
    assert "dl { display: grid;" in intake and "dl { display: grid;" not in survey
    assert ".option input {" in survey and ".option input {" not in intake
    # The page's policy allows exactly its one <style> (base and site.css together).
    for page in (intake, survey):
        assert content_security_policy(page).count("'sha256-") == 1
