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


def _posting_page(tmp_path: pathlib.Path, page_url: str, code: str, secret: str) -> str:
    """A local page that posts the lookup form as a citizen would (the form's own page runs no script)."""
    page = tmp_path / "gui.html"
    page.write_text(f"""<!doctype html><meta charset="utf-8"><form id="f" method="post" action="{page_url}">
<input name="ma" value="{code}"><input name="ma_tra_cuu" value="{secret}"></form>
<script>document.getElementById("f").submit()</script>""", encoding="utf-8")
    return page.as_uri()


def _post(page_url: str, code: str, secret: str):
    body = urllib.parse.urlencode({"ma": code, "ma_tra_cuu": secret}).encode()
    return urllib.request.urlopen(urllib.request.Request(page_url, data=body, method="POST"), timeout=10)


def test_the_page_shows_the_status_in_vietnamese_on_a_phone(intake, page_url, tmp_path):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    posting = _posting_page(tmp_path, page_url, submitted.dossier.code, submitted.lookup_secret)
    dom = _chromium(["--virtual-time-budget=10000", "--dump-dom", posting], tmp_path / "profile")
    assert '<html lang="vi">' in dom
    assert 'id="trang-thai">Được tiếp nhận<' in dom
    assert submitted.dossier.code in dom and "Ng**** Th* Hồ** Nh***" in dom
    assert "Nguyễn Thị Hồng Nhung" not in dom and "079203004567" not in dom, "nothing personal on the page"
    assert submitted.lookup_secret not in dom, "the secret is not echoed back"
    shot = tmp_path / "tra-cuu.png"
    _chromium(["--virtual-time-budget=10000", f"--screenshot={shot}", posting], tmp_path / "profile2")
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, "/tmp/onestop-tra-cuu.png")  # for a person to look at


def test_a_wrong_secret_gets_a_vietnamese_message_and_404(intake, page_url, tmp_path):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    with pytest.raises(urllib.error.HTTPError) as refused:
        _post(page_url, submitted.dossier.code, "SAIMA123")
    assert refused.value.code == 404
    dom = _chromium(["--virtual-time-budget=10000", "--dump-dom",
                     _posting_page(tmp_path, page_url, submitted.dossier.code, "SAIMA124")], tmp_path / "profile")
    assert "Không tìm thấy hồ sơ" in dom and 'id="trang-thai"' not in dom


def test_a_secret_in_the_url_is_never_used_and_never_logged(platform, intake, page_url):
    """The old GET form put the secret in the query string, so the access log kept it."""
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code, secret = submitted.dossier.code, submitted.lookup_secret
    query = urllib.parse.urlencode({"ma": code, "ma_tra_cuu": secret})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    with pytest.raises(urllib.error.HTTPError) as redirected:
        urllib.request.build_opener(NoRedirect).open(f"{page_url}?{query}", timeout=10)
    assert redirected.value.code == 303
    assert redirected.value.headers["Location"] == "/tra-cuu?" + urllib.parse.urlencode({"ma": code})
    with _post(page_url, code, secret) as found:  # the form as it posts now
        assert found.status == 200 and "Được tiếp nhận" in found.read().decode()
    worker_log = platform.processes["intake-worker"].log.read_text(encoding="utf-8")
    assert "/tra-cuu?" in worker_log, "the access log records the requests"
    assert secret not in worker_log and secret.lower() not in worker_log


def test_the_empty_form_and_escaping(page_url):
    with urllib.request.urlopen(f"{page_url}?ma=%3Cscript%3Ealert(1)%3C%2Fscript%3E", timeout=10) as response:
        html = response.read().decode()
    assert response.status == 200 and "Mã tra cứu" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
