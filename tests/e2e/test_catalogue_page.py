"""The public catalogue pages (/thu-tuc), served by the running intake worker and rendered by
headless Chromium at phone size (360 px wide)."""

from __future__ import annotations

import html
import json
import pathlib
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from onestop.intake.v1 import intake_pb2

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_WIDTH = 360


def _chromium(args: list[str], profile: pathlib.Path, height: int = 800) -> str:
    assert CHROMIUM, "Chromium is missing: run `make deps` (Debian package chromium)"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--window-size={PHONE_WIDTH},{height}", *args],
        capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read().decode()


def _items(page: str) -> list[str]:
    return re.findall(r'<li class="procedure" data-code="([^"]+)"', page)


def _next(page: str) -> str:
    found = re.search(r'<a href="([^"]+)" id="trang-sau"', page)
    return html.unescape(found.group(1)) if found else ""


@pytest.fixture()
def site(platform):
    return f"http://127.0.0.1:{platform.web_ports['intake']}"


def _all_in_force(intake) -> list[str]:
    codes, token = [], ""
    while True:
        page = intake.ListProcedures(intake_pb2.ListProceduresRequest(page_size=100, page_token=token))
        codes += [p.code for p in page.procedures]
        token = page.next_page_token
        if not token:
            return codes


def test_the_list_shows_procedures_in_vietnamese_on_a_phone(site, tmp_path):
    dom = _chromium(["--dump-dom", f"{site}/thu-tuc"], tmp_path / "profile")
    assert '<html lang="vi">' in dom and "Danh mục thủ tục hành chính" in dom
    assert re.search(r"Có \d+ thủ tục đang áp dụng\.", dom)
    first = dom.split('data-code="1.001612"')[1].split("</li>")[0]
    assert "Đăng ký thành lập hộ kinh doanh" in first and "3 ngày làm việc" in first and "Toàn trình" in first
    assert "mã địa phương" not in first, "a national code carries no local mark"
    _, _, social = _get(f"{site}/thu-tuc?linh_vuc=bao_tro_xa_hoi")
    local = social.split('data-code="DP.BTXH.0001"')[1].split("</li>")[0]
    assert "mã địa phương" in local and "Bảo trợ xã hội" in local and "UBND xã Phú Lộc" in local
    assert '<option value="ho_tich">Hộ tịch</option>' in dom and 'id="trang-sau"' in dom
    shot = tmp_path / "thu-tuc.png"
    _chromium([f"--screenshot={shot}", f"{site}/thu-tuc"], tmp_path / "profile2", height=1600)
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, "/tmp/onestop-thu-tuc.png")  # for a person to look at


def test_trang_sau_walks_every_procedure_in_force_once(site, intake):
    seen, url, status = [], "/thu-tuc", 0
    while url:
        status, headers, page = _get(site + url)
        assert status == 200 and headers["Cache-Control"] == "public, max-age=60"
        seen += _items(page)
        url = _next(page)
    assert seen == _all_in_force(intake) and "DP.HT.0002" not in seen, "the same list as ListProcedures"


def test_searching_without_diacritics_finds_the_birth_registration(site, tmp_path):
    # What the form sends, empty dropdowns included.
    dom = _chromium(["--dump-dom", f"{site}/thu-tuc?q=dang+ky+khai+sinh&linh_vuc=&co_quan="], tmp_path / "profile")
    assert "1.001193" in _items(dom) and 'href="/thu-tuc/1.001193">Đăng ký khai sinh</a>' in dom
    assert "Tìm thấy" in dom and 'value="dang ky khai sinh"' in dom
    assert all("khai sinh" in re.sub(r"\s+", " ", block).lower()
               for block in dom.split('<li class="procedure"')[1:]), "only matching procedures"
    status, _, empty = _get(f"{site}/thu-tuc?q=kh%C3%B4ng+c%C3%B3+th%E1%BB%A7+t%E1%BB%A5c+n%C3%A0y")
    assert status == 200 and not _items(empty) and "Không tìm thấy thủ tục nào phù hợp" in empty


def test_the_field_filter_narrows_the_list(site, intake, tmp_path):
    everything = len(_all_in_force(intake))
    dom = _chromium(["--dump-dom", f"{site}/thu-tuc?linh_vuc=ho_tich"], tmp_path / "profile")
    civil = _items(dom)
    assert "1.001193" in civil and 0 < len(civil) < everything
    assert all(block.count("Hộ tịch") for block in dom.split('<li class="procedure"')[1:])
    assert '<option value="ho_tich" selected="">Hộ tịch</option>' in dom
    expected = [p.code for p in intake.ListProcedures(
        intake_pb2.ListProceduresRequest(field_code="ho_tich", page_size=100)).procedures]
    assert civil == expected
    _, _, by_agency = _get(f"{site}/thu-tuc?co_quan=000.00.16.H17")
    police = [p.code for p in intake.ListProcedures(
        intake_pb2.ListProceduresRequest(competent_agency_code="000.00.16.H17", page_size=100)).procedures]
    assert "3.000333" in police and _items(by_agency) == police


def test_the_detail_page_shows_documents_and_fees_with_diacritics(site, tmp_path):
    dom = _chromium(["--dump-dom", f"{site}/thu-tuc/3.000333"], tmp_path / "profile")
    assert '<html lang="vi">' in dom and 'id="ten">Cấp Phiếu lý lịch tư pháp<' in dom
    assert "Lý lịch tư pháp" in dom and "Công an tỉnh (dữ liệu mẫu)" in dom and "Cấp tỉnh" in dom
    assert 'id="thoi-han">10 ngày làm việc<' in dom and "Phiếu lý lịch tư pháp số 1 hoặc số 2" in dom
    documents = dom.split('id="thanh-phan"')[1].split("</section>")[0]
    assert "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp" in documents
    assert "Giấy tờ tùy thân của người được cấp Phiếu lý lịch tư pháp" in documents
    assert ">Bản chính<" in documents and ">Bản sao<" in documents and "Mẫu Tờ khai yêu cầu cấp" in documents
    assert "Bắt buộc" in documents and "Không bắt buộc (nếu có)" in documents
    fees = dom.split('id="phi-le-phi"')[1].split("</section>")[0]
    assert "Phí cung cấp thông tin lý lịch tư pháp" in fees
    assert "200.000 đồng/lần/người; sinh viên, người có công với cách mạng" in fees
    assert "Người cư trú tại xã đặc biệt khó khăn, đồng bào dân tộc thiểu số" in fees
    assert "Luật Lý lịch tư pháp số 28/2009/QH12" in dom and ">Toàn trình<" in dom
    assert 'href="/tra-cuu"' in dom and 'href="/thu-tuc"' in dom
    status, headers, page = _get(f"{site}/thu-tuc/2.001610")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "50.000 đồng/lần" in page and "100.000 đồng/lần" in page


def test_an_unknown_code_gets_a_vietnamese_404(site, tmp_path):
    status, headers, page = _get(f"{site}/thu-tuc/DP.XX.9999")
    assert status == 404 and headers["Cache-Control"] == "no-store"
    assert "Không có thủ tục hành chính nào có mã “DP.XX.9999”" in page
    dom = _chromium(["--dump-dom", f"{site}/thu-tuc/%3Cscript%3Ealert(1)%3C%2Fscript%3E"], tmp_path / "profile")
    assert "Không tìm thấy" in dom and "<script>alert(1)</script>" not in dom


@pytest.mark.parametrize("query, message", [
    ("trang=bm90LWEtdG9rZW4%3D", "Liên kết trang không còn hợp lệ"),
    ("q=" + "a" * 300, "Từ khóa tìm kiếm quá dài"),
    ("linh_vuc=%3Cscript%3E", "Lĩnh vực này không có trong danh mục"),
    ("co_quan=000.00.99.H17", "Cơ quan này không có trong danh mục"),
    ("q=%FF%FE", ""),  # not UTF-8: decoded with replacement characters, an ordinary search
])
def test_bad_query_input_gets_a_vietnamese_400_never_a_500(site, query, message):
    status, headers, page = _get(f"{site}/thu-tuc?{query}")
    if message:
        assert status == 400 and message in page and headers["Cache-Control"] == "no-store"
        assert "<script>" not in page
    else:
        assert status == 200


def test_a_page_token_works_only_with_its_own_filters(site):
    _, _, first = _get(f"{site}/thu-tuc")
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(_next(first)).query)["trang"][0]
    assert _get(f"{site}/thu-tuc?trang={urllib.parse.quote(token)}")[0] == 200
    status, _, page = _get(f"{site}/thu-tuc?linh_vuc=dat_dai&trang={urllib.parse.quote(token)}")
    assert status == 400 and "Liên kết trang không còn hợp lệ" in page, "a token belongs to its filters"


# Measures each page in a 360-px-wide iframe. The pages hold no script (and need none), so the
# worker's responses are placed, byte for byte, in same-origin srcdoc frames of a local harness
# whose script reads their layout; a deliberately too-wide control proves the measure works.
HARNESS = """<!doctype html><html><body style="margin:0">{frames}<pre id="result">pending</pre>
<script>
window.onload = function () {{
  var out = {{}};
  document.querySelectorAll('iframe').forEach(function (frame) {{
    var doc = frame.contentDocument, root = doc.documentElement, wide = [];
    doc.querySelectorAll('body *').forEach(function (el) {{
      var box = el.getBoundingClientRect();
      if (box.width && box.right > root.clientWidth + 0.5)
        wide.push(el.tagName + (el.id ? '#' + el.id : '') + ' right=' + Math.round(box.right));
    }});
    out[frame.name] = {{scrollWidth: Math.max(root.scrollWidth, doc.body.scrollWidth),
                       clientWidth: root.clientWidth, wide: wide.slice(0, 5)}};
  }});
  document.getElementById('result').textContent = JSON.stringify(out);
}};
</script></body></html>"""


def test_no_page_scrolls_sideways_on_a_360_px_phone(site, tmp_path):
    urls, url = [], "/thu-tuc"
    while url:
        urls.append(url)
        url = _next(_get(site + url)[2])
    codes = [c for u in urls for c in _items(_get(site + u)[2])]
    urls += [f"/thu-tuc/{urllib.parse.quote(c)}" for c in codes]
    urls += ["/thu-tuc/DP.HT.0002", "/thu-tuc?linh_vuc=dang_ky_xe", "/thu-tuc?q=khong+co+gi", "/thu-tuc/DP.XX.1",
             "/thu-tuc?trang=forged", "/tra-cuu"]
    pages = {u: _get(site + u)[2] for u in urls}
    pages["control: too wide"] = '<!doctype html><html><body><div style="width:500px">rộng</div></body></html>'
    frames = "".join(f'<iframe name="{html.escape(u)}" srcdoc="{html.escape(body)}" width="{PHONE_WIDTH}" '
                     f'height="600" style="border:0;display:block"></iframe>' for u, body in pages.items())
    harness = tmp_path / "harness.html"
    harness.write_text(HARNESS.format(frames=frames), encoding="utf-8")
    dom = _chromium(["--virtual-time-budget=20000", "--allow-file-access-from-files", "--dump-dom",
                     harness.as_uri()], tmp_path / "profile", height=800)
    measured = json.loads(html.unescape(re.search(r'<pre id="result">(.*?)</pre>', dom, re.S).group(1)))
    assert set(measured) == set(pages), "every page was measured"
    control = measured.pop("control: too wide")
    assert control["scrollWidth"] > PHONE_WIDTH and control["wide"], "the measure sees an overflow"
    too_wide = {u: m for u, m in measured.items() if m["scrollWidth"] > PHONE_WIDTH or m["wide"]}
    assert not too_wide, too_wide
    assert all(m["clientWidth"] == PHONE_WIDTH for m in measured.values()), "no scrollbar took width"
    assert len(codes) > 30
