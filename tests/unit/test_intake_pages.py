"""The public HTML pages of intake rendered without servers: the catalogue list and detail pages
(labels, time limits, fees in đồng, escaping, 400/404 pages in Vietnamese) over the shipped catalogue."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
import re
import urllib.parse

import pytest

from onestop_chassis import worktime
from onestop_intake import demo_data
from onestop_intake.catalogue import domain as catalogue
from onestop_intake.catalogue import files as catalogue_files
from onestop_intake.catalogue import service as catalogue_service
from onestop_intake.public import pages
from onestop_intake.seed import catalogue_yaml
from onestop_intake.units import domain as units

from fakes import FakeCatalogue

NOW = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
UNITS = {u.code: u for u in demo_data.UNITS}


@functools.cache
def _shipped() -> tuple[catalogue.Procedure, ...]:
    data, lines = catalogue_files.parse_file(catalogue_yaml(), "yaml")
    return tuple(catalogue_files.entries_to_procedures(data, lines))


@pytest.fixture()
def store():
    return FakeCatalogue(_shipped(), UNITS)


@pytest.fixture()
def site(store):
    return pages.PublicCatalogue(catalogue_service.CatalogueService(store, clock=lambda: NOW), store)


def _items(page: str) -> list[str]:
    return re.findall(r'<li class="procedure" data-code="([^"]+)"', page)


# -- wording ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("duration, text", [
    (worktime.WorkingDuration(days=15), "15 ngày làm việc"),
    (worktime.WorkingDuration(hours=8), "8 giờ làm việc"),
    (worktime.WorkingDuration(days=1, hours=4), "1 ngày 4 giờ làm việc"),
    (worktime.WorkingDuration(minutes=30), "30 phút làm việc"),
])
def test_legal_time_limits_read_in_vietnamese(duration, text):
    assert pages.duration_vi(duration) == text


@pytest.mark.parametrize("amount, text", [
    (0, "0 đồng"), (500, "500 đồng"), (8000, "8.000 đồng"), (50000, "50.000 đồng"),
    (1234567, "1.234.567 đồng"), (1_000_000_000, "1.000.000.000 đồng"),
])
def test_money_is_grouped_with_dots_in_dong(amount, text):
    assert pages.money_vi(amount) == text


def test_a_fee_note_giving_the_unit_of_charge_joins_the_amount():
    assert pages.fee_view(catalogue.Fee("Lệ phí", 50000, note="đồng/lần"))["amount"] == "50.000 đồng/lần"
    plain = pages.fee_view(catalogue.Fee("Lệ phí", 0, note="Miễn lệ phí đăng ký đúng hạn", exemptions=("Trẻ em",)))
    assert plain == {"name": "Lệ phí", "amount": "0 đồng", "note": "Miễn lệ phí đăng ký đúng hạn",
                     "exemptions": ["Trẻ em"]}


def test_every_online_level_and_copy_kind_has_a_label():
    assert [pages.ONLINE_LEVEL_LABELS_VI[level] for level in catalogue.OnlineLevel] == [
        "Trực tiếp", "Một phần", "Toàn trình"]
    assert [pages.COPY_KIND_LABELS_VI[kind] for kind in catalogue.CopyKind] == [
        "Bản chính", "Bản sao chứng thực", "Bản sao", "Bản chính hoặc bản sao chứng thực"]


# -- the list --------------------------------------------------------------------------------------
def test_the_list_shows_the_procedures_in_force_with_their_labels(site, store):
    status, page = site.list_page({})
    assert status == 200 and '<html lang="vi">' in page and 'name="viewport"' in page
    shown = _items(page)
    in_force = sorted(p.code for p in store.all_procedures() if p.in_force(NOW.date()))
    assert shown == in_force[:pages.PAGE_SIZE] and "DP.HT.0002" not in shown, "inactive procedures are hidden"
    assert f"Có {len(in_force)} thủ tục đang áp dụng." in page
    birth = site.list_page({"linh_vuc": "ho_tich"})[1].split('data-code="1.001193"')[1].split("</li>")[0]
    assert "mã địa phương" not in birth and 'href="/thu-tuc/1.001193">Đăng ký khai sinh<' in birth
    assert "Hộ tịch" in birth and "UBND xã Phú Lộc (dữ liệu mẫu)" in birth
    assert "4 giờ làm việc" in birth and "Toàn trình" in birth
    national = page.split('data-code="1.001612"')[1].split("</li>")[0]
    assert "mã địa phương" not in national and "3 ngày làm việc" in national
    local = site.list_page({"linh_vuc": "bao_tro_xa_hoi"})[1].split('data-code="DP.BTXH.0001"')[1].split("</li>")[0]
    assert "mã địa phương" in local and "Bảo trợ xã hội" in local
    for code, name in catalogue.FIELDS.items():  # the field dropdown is the catalogue's list
        assert f'<option value="{code}">{name}</option>' in page
    assert 'id="trang-sau"' in page


def test_the_next_page_link_walks_the_whole_list_once(site, store):
    seen, url = [], "/thu-tuc?linh_vuc=ho_tich"
    while url:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(html.unescape(url)).query))
        status, page = site.list_page(query)
        assert status == 200
        seen += _items(page)
        found = re.search(r'<a href="([^"]+)" id="trang-sau"', page)
        url = found.group(1) if found else ""
        if url:
            assert "linh_vuc=ho_tich" in url, "the next page keeps the filters"
    expected = sorted(p.code for p in store.all_procedures() if p.field_code == "ho_tich" and p.in_force(NOW.date()))
    assert seen == expected


def test_search_ignores_diacritics_and_filters_narrow_the_list(site, store):
    _, found = site.list_page({"q": "dang ky khai sinh"})
    assert "1.001193" in _items(found) and "Tìm thấy" in found
    assert 'value="dang ky khai sinh"' in found
    _, civil = site.list_page({"linh_vuc": "ho_tich"})
    assert _items(civil) and all(store.procedures[c].field_code == "ho_tich" for c in _items(civil))
    assert '<option value="ho_tich" selected>Hộ tịch</option>' in civil
    _, police = site.list_page({"co_quan": "000.00.16.H17"})
    assert "3.000333" in _items(police) and "3.000347" in _items(police)
    assert all(store.procedures[c].competent_unit_code == "000.00.16.H17" for c in _items(police))


def test_an_empty_result_says_so_in_vietnamese(site):
    status, page = site.list_page({"q": "không có thủ tục này"})
    assert status == 200 and not _items(page)
    assert "Không tìm thấy thủ tục nào phù hợp với từ khóa “không có thủ tục này”" in page


def test_a_query_with_markup_is_escaped(site):
    status, page = site.list_page({"q": "<script>alert(1)</script>"})
    assert status == 200 and "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("args, message", [
    ({"q": "a" * (pages.MAX_QUERY + 1)}, "Từ khóa tìm kiếm quá dài"),
    ({"q": "khai\x00sinh"}, "ký tự không hợp lệ"),
    ({"trang": "bm90LWEtdG9rZW4="}, "Liên kết trang không còn hợp lệ"),
    ({"trang": "%%%not base64"}, "Liên kết trang không còn hợp lệ"),
    ({"trang": "x" * 5000}, "Liên kết trang không hợp lệ"),
    ({"linh_vuc": "khong_co"}, "Lĩnh vực này không có trong danh mục"),
    ({"co_quan": "000.00.99.H17"}, "Cơ quan này không có trong danh mục"),
    ({"co_quan": "<b>"}, "Cơ quan này không có trong danh mục"),
])
def test_bad_query_input_gets_a_400_page_in_vietnamese(site, args, message):
    status, page = site.list_page(args)
    assert status == 400 and message in page and '<html lang="vi">' in page and "Yêu cầu không hợp lệ" in page


def test_a_page_token_of_other_filters_is_refused(site):
    _, first = site.list_page({})
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        html.unescape(re.search(r'<a href="([^"]+)" id="trang-sau"', first).group(1))).query))["trang"]
    assert site.list_page({"trang": token})[0] == 200
    assert site.list_page({"trang": token, "linh_vuc": "dat_dai"})[0] == 400


def test_agency_names_come_from_the_store(store):
    store.units["000.20.31.H17"] = units.Unit("000.20.31.H17", "UBND xã Mới Đổi Tên")
    site = pages.PublicCatalogue(catalogue_service.CatalogueService(store, clock=lambda: NOW), store)
    _, page = site.list_page({"linh_vuc": "ho_tich"})
    assert "UBND xã Mới Đổi Tên" in page and "Phú Lộc" not in page.split('id="danh-sach"')[1]
    assert '<option value="000.20.31.H17">UBND xã Mới Đổi Tên</option>' in page


# -- the detail page -------------------------------------------------------------------------------
def test_the_detail_page_shows_documents_fees_and_the_rest(site):
    status, page = site.detail_page("2.001610")
    assert status == 200 and '<html lang="vi">' in page
    assert 'id="ten">Đăng ký thành lập doanh nghiệp tư nhân<' in page
    assert "Thành lập và hoạt động của doanh nghiệp" in page and "Trung tâm Phục vụ hành chính công tỉnh" in page
    assert 'id="thoi-han">3 ngày làm việc<' in page and "Cấp tỉnh" in page
    assert "Giấy chứng nhận đăng ký doanh nghiệp" in page and ">Toàn trình<" in page
    assert 'id="buu-chinh">Có:' in page
    documents = page.split('id="thanh-phan"')[1].split("</section>")[0]
    assert "Giấy đề nghị đăng ký doanh nghiệp" in documents
    assert "Mẫu Giấy đề nghị đăng ký doanh nghiệp tư nhân" in documents
    assert documents.count("<tr>") == 1 + 2 and ">Bản chính<" in documents and ">Bản sao<" in documents
    assert documents.count("Bắt buộc") == 2
    fees = page.split('id="phi-le-phi"')[1].split("</section>")[0]
    assert "Lệ phí đăng ký doanh nghiệp: <span class=\"amount\">50.000 đồng/lần</span>" in fees
    assert "100.000 đồng/lần" in fees and "Đăng ký qua mạng thông tin điện tử" in fees
    assert "Luật Doanh nghiệp số 59/2020/QH14" in page
    assert 'href="/tra-cuu"' in page and 'href="/thu-tuc"' in page


def test_optional_documents_copy_kinds_and_a_procedure_without_postal_return(site):
    _, birth = site.detail_page("1.001193")
    assert "Không bắt buộc (nếu có)" in birth and 'id="thoi-han">4 giờ làm việc<' in birth
    assert "Mã thủ tục 1.001193" in birth and "mã địa phương" not in birth, "a national code carries no local mark"
    assert "Miễn lệ phí đăng ký khai sinh đúng hạn" in birth and "0 đồng" in birth
    _, marriage = site.detail_page("1.000894")
    assert 'id="buu-chinh">Không:' in marriage and ">Một phần<" in marriage


def test_a_retired_procedure_says_it_no_longer_applies(site):
    status, page = site.detail_page("DP.HT.0002")
    assert status == 200 and "hiện không còn áp dụng" in page and "Đến ngày 30/06/2025" in page


def test_names_with_markup_are_escaped(store):
    evil = dataclasses.replace(store.procedures["1.001193"], name="<script>alert('x')</script> khai sinh",
                               fees=(catalogue.Fee("<img src=x onerror=alert(1)>", 1000, note="<b>đậm</b>"),))
    store.procedures[evil.code] = evil
    site = pages.PublicCatalogue(catalogue_service.CatalogueService(store, clock=lambda: NOW), store)
    for status, page in (site.detail_page(evil.code), site.list_page({"q": "khai sinh"})):
        assert status == 200 and "<script>" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    detail = site.detail_page(evil.code)[1]
    assert "<img" not in detail and "&lt;img src=x onerror=alert(1)&gt;" in detail
    assert "&lt;b&gt;đậm&lt;/b&gt;" in detail


@pytest.mark.parametrize("code", ["DP.XX.9999", "9.999999", "<script>alert(1)</script>", "", "x" * 10000])
def test_an_unknown_code_gets_a_404_page_in_vietnamese(site, code):
    status, page = site.detail_page(code)
    assert status == 404 and "Không có thủ tục hành chính nào có mã" in page and "<script>alert" not in page
    assert len(page) < 10_000, "the echoed code is cut short"


def test_the_lookup_page_shares_the_layout():
    page = pages.lookup_page("<b>x</b>")
    assert '<html lang="vi">' in page and 'href="/thu-tuc"' in page and "&lt;b&gt;x&lt;/b&gt;" in page
