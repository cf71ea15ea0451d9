"""The public lookup page, rendered by headless Chromium at phone size."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
from conftest import bearer
from support import submit_request

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(args: list[str], profile: pathlib.Path) -> str:
    assert CHROMIUM, "Chromium is missing: run `make deps` (Debian package chromium)"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--window-size=390,844", *args],
        capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture()
def page_url(platform):
    return f"http://127.0.0.1:{platform.web_ports['intake']}/tra-cuu"


def test_the_page_shows_the_status_in_vietnamese_on_a_phone(intake, page_url, tmp_path):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    query = urllib.parse.urlencode({"ma": submitted.dossier.code, "ma_tra_cuu": submitted.lookup_secret})
    dom = _chromium(["--dump-dom", f"{page_url}?{query}"], tmp_path / "profile")
    assert '<html lang="vi">' in dom
    assert 'id="trang-thai">Được tiếp nhận<' in dom
    assert submitted.dossier.code in dom and "Ng**** Th* Hồ** Nh***" in dom
    assert "Nguyễn Thị Hồng Nhung" not in dom and "079203004567" not in dom, "nothing personal on the page"
    shot = tmp_path / "tra-cuu.png"
    _chromium([f"--screenshot={shot}", f"{page_url}?{query}"], tmp_path / "profile2")
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, "/tmp/onestop-tra-cuu.png")  # for a person to look at


def test_a_wrong_secret_gets_a_vietnamese_message_and_404(intake, page_url, tmp_path):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    query = urllib.parse.urlencode({"ma": submitted.dossier.code, "ma_tra_cuu": "SAIMA123"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{page_url}?{query}", timeout=10)
    assert refused.value.code == 404
    dom = _chromium(["--dump-dom", f"{page_url}?{query}"], tmp_path / "profile")
    assert "Không tìm thấy hồ sơ" in dom and 'id="trang-thai"' not in dom


def test_the_empty_form_and_escaping(page_url):
    with urllib.request.urlopen(f"{page_url}?ma=%3Cscript%3Ealert(1)%3C%2Fscript%3E", timeout=10) as response:
        html = response.read().decode()
    assert response.status == 200 and "Mã tra cứu" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
