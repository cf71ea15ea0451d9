"""The procedure catalogue: rules, YAML/JSON import naming the line, export → import, the shipped file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
import yaml

from onestop_chassis import auth, worktime
from onestop_chassis.errors import AlreadyExists, FailedPrecondition, InvalidArgument, PermissionDenied
from onestop_intake import demo_data
from onestop_intake.catalogue import domain as catalogue
from onestop_intake.catalogue import files as catalogue_files
from onestop_intake.catalogue import service as catalogue_service
from onestop_intake.reception import domain, service
from onestop_intake.seed import catalogue_yaml

from fakes import FakeCatalogue

UNITS = {u.code: u for u in demo_data.UNITS}
NOW = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
ADMIN = auth.Principal("admin-xa", frozenset({auth.AGENCY_ADMIN}), "000.20.31.H17")
OTHER_ADMIN = auth.Principal("admin-xd", frozenset({auth.AGENCY_ADMIN}), "000.00.11.H17")
SYSTEM = auth.Principal("seed", frozenset({auth.SERVICE}))

BIRTH = catalogue.Procedure(
    code="DP.HT.0001", is_local_code=True, name="Đăng ký khai sinh", field_code="ho_tich",
    competent_unit_code="000.20.31.H17", level="Cấp xã", legal_duration=worktime.WorkingDuration(hours=4),
    result="Giấy khai sinh", online_level=catalogue.OnlineLevel.FULL, postal_return_allowed=True,
    required_documents=(catalogue.RequiredDocument("Tờ khai đăng ký khai sinh"),),
    fees=(catalogue.Fee("Lệ phí đăng ký khai sinh", 0, exemptions=("Đăng ký đúng hạn",)),))


def _problems(p: catalogue.Procedure) -> dict[str, str]:
    return {catalogue.label(path): problem for path, problem in catalogue.validate(p, UNITS.__contains__)}


# --- rules -------------------------------------------------------------------------------------------

def test_a_complete_procedure_is_valid():
    assert _problems(BIRTH) == {}


@pytest.mark.parametrize("code, local, ok", [
    ("1.000948", False, True), ("1.000948.H38", False, True), ("2.000815", False, True),
    ("DP.HT.0001", True, True), ("DP.DN.0001", True, True),
    ("1.000948", True, False), ("DP.HT.0001", False, False), ("1.00948", False, False),
    ("1.000948\n", False, False), ("dp.ht.0001", True, False), ("XX.0001", True, False), ("1.000948.h38", False, False),
])
def test_code_rules(code, local, ok):
    problems = _problems(dataclasses.replace(BIRTH, code=code, is_local_code=local))
    assert (problems == {}) is ok, problems


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "name"), ({"name": "x" * 501}, "name"), ({"field_code": "thue"}, "field_code"),
    ({"competent_unit_code": "000.99.99.H17"}, "competent_agency_code"),
    ({"competent_unit_code": "Sở Tư pháp"}, "competent_agency_code"),
    ({"level": ""}, "level"), ({"result": ""}, "result"),
    ({"legal_duration": worktime.WorkingDuration()}, "legal_duration"),
    ({"online_level": 0}, "online_level"), ({"process_code": "quy trình 1"}, "process_code"),
    ({"effective_from": dt.date(2026, 1, 2), "effective_to": dt.date(2026, 1, 1)}, "effective_to"),
    ({"required_documents": ()}, "required_documents"),
    ({"required_documents": (catalogue.RequiredDocument(""),)}, "required_documents[0].name"),
    ({"required_documents": (catalogue.RequiredDocument("Tờ khai", copy_kind=9),)}, "required_documents[0].copy_kind"),
    ({"required_documents": (catalogue.RequiredDocument("Tờ khai", count=0),)}, "required_documents[0].count"),
    ({"fees": (catalogue.Fee("Lệ phí", -1),)}, "fees[0].amount"),
    ({"fees": (catalogue.Fee("Lệ phí", 5, currency="USD"),)}, "fees[0].currency"),
    ({"fees": (catalogue.Fee("Lệ phí", 5, exemptions=("",)),)}, "fees[0].exemptions[0]"),
])
def test_each_rule_names_its_field(change, field):
    assert field in _problems(dataclasses.replace(BIRTH, **change))


def test_every_problem_is_reported_at_once_with_api_field_names():
    with pytest.raises(InvalidArgument) as caught:
        catalogue.check(dataclasses.replace(BIRTH, name="", required_documents=(), fees=(catalogue.Fee("Phí", -5),)))
    fields = {v.field for v in caught.value.violations}
    assert fields == {"procedure.name", "procedure.required_documents", "procedure.fees[0].amount"}


def test_effective_dates_decide_whether_a_procedure_is_in_force():
    p = dataclasses.replace(BIRTH, effective_from=dt.date(2026, 1, 1), effective_to=dt.date(2026, 12, 31))
    assert p.in_force(dt.date(2026, 6, 1))
    assert not p.in_force(dt.date(2025, 12, 31)) and not p.in_force(dt.date(2027, 1, 1))
    assert not dataclasses.replace(p, active=False).in_force(dt.date(2026, 6, 1))


def test_search_ignores_case_and_diacritics():
    assert catalogue.fold("Đăng ký KHAI SINH") == "dang ky khai sinh"
    assert catalogue.matches_text(BIRTH, "dang ky khai sinh")
    assert catalogue.matches_text(BIRTH, "KHAI  sinh")
    assert catalogue.matches_text(BIRTH, "dp.ht")
    assert not catalogue.matches_text(BIRTH, "ket hon")


# --- files -------------------------------------------------------------------------------------------

GOOD_YAML = """\
procedures:
- code: DP.HT.0001
  is_local_code: true
  name: Đăng ký khai sinh
  field_code: ho_tich
  competent_agency_code: 000.20.31.H17
  level: Cấp xã
  legal_duration: {hours: 4}
  result: Giấy khai sinh
  online_level: full
  required_documents:
  - name: Tờ khai đăng ký khai sinh
    copy_kind: original
- code: '2.000815'
  name: Chứng thực bản sao từ bản chính
  field_code: chung_thuc
  competent_agency_code: 000.20.31.H17
  level: Cấp xã
  legal_duration: {hours: 4}
  result: Bản sao được chứng thực
  online_level: partial
  required_documents:
  - name: Bản chính giấy tờ
  fees:
  - name: Phí chứng thực
    amount: 2000
"""


def _read(text: str, fmt: str = "yaml"):
    data, lines = catalogue_files.parse_file(text.encode(), fmt)
    return catalogue_files.entries_to_procedures(data, lines, UNITS.__contains__)


def _refusal(text: str, fmt: str = "yaml") -> list[str]:
    with pytest.raises(InvalidArgument) as caught:
        _read(text, fmt)
    return [f"{v.field}: {v.description}" for v in caught.value.violations]


def test_a_good_yaml_file_reads_into_procedures():
    birth, copy = _read(GOOD_YAML)
    assert birth.legal_duration == worktime.WorkingDuration(hours=4) and birth.is_local_code
    assert copy.code == "2.000815" and copy.fees[0].amount == 2000 and copy.required_documents[0].required


def test_yaml_problems_name_their_lines():
    bad = GOOD_YAML.replace("    amount: 2000", "    amount: -5").replace("  field_code: ho_tich", "  field_code: thue")
    problems = _refusal(bad)
    assert problems[0].startswith("line 5: field_code: must be one of")
    assert problems[1] == "line 26: fees[0].amount: must be 0 or more đồng"
    assert len(problems) == 2, "every entry is checked, every problem reported"


def test_a_missing_field_names_the_line_of_its_entry_and_a_float_code_is_refused():
    bad = GOOD_YAML.replace("  name: Chứng thực bản sao từ bản chính\n", "").replace("'2.000815'", "2.000815")
    assert sorted(_refusal(bad)) == ["line 14: code: must be text (put quotes around codes such as '1.001193')",
                                     "line 14: name: is required"]


def test_unknown_fields_repeated_codes_and_unknown_units():
    bad = GOOD_YAML.replace("  level: Cấp xã\n  legal_duration: {hours: 4}\n  result: Bản sao",
                            "  level: Cấp xã\n  legal_duration: {hours: 4}\n  reslt: x\n  result: Bản sao")
    bad = bad.replace("'2.000815'", "DP.HT.0001\n  is_local_code: true").replace(
        "- code: DP.HT.0001\n  is_local_code: true\n  name: Đăng ký khai sinh\n  field_code: ho_tich\n"
        "  competent_agency_code: 000.20.31.H17", "- code: DP.HT.0001\n  is_local_code: true\n"
        "  name: Đăng ký khai sinh\n  field_code: ho_tich\n  competent_agency_code: 000.99.99.H17")
    problems = _refusal(bad)
    assert "line 6: competent_agency_code: no unit 000.99.99.H17 is registered" in problems
    assert any(p.startswith("line 21: reslt: is not a known field") for p in problems)
    assert "line 14: code: repeats DP.HT.0001 of line 2" in problems


def test_yaml_syntax_errors_name_the_line():
    assert _refusal("procedures:\n- code: [DP.HT.0001\n  name: x\n")[0].startswith("line 3: content: is not valid YAML")
    assert _refusal("")[0].startswith("line 1: content")
    assert _refusal(b"\xff\xfe".decode("latin-1"))[0].startswith("line 1: content")


def test_json_problems_name_their_lines():
    data = yaml.safe_load(GOOD_YAML)
    data["procedures"][1]["fees"][0]["amount"] = -1
    data["procedures"][1]["required_documents"][0]["copy_kind"] = "photocopy"
    text = json.dumps(data, ensure_ascii=False, indent=2)
    lines = text.splitlines()
    amount_line = next(i for i, line in enumerate(lines, 1) if '"amount": -1' in line)
    kind_line = next(i for i, line in enumerate(lines, 1) if '"photocopy"' in line)
    assert _refusal(text, "json") == [
        f"line {kind_line}: required_documents[0].copy_kind: must be one of original, certified_copy, copy, "
        "original_or_certified_copy",
        f"line {amount_line}: fees[0].amount: must be 0 or more đồng"]


def test_json_syntax_errors_name_the_line():
    problems = _refusal('{"procedures": [\n  {"code": "DP.HT.0001",\n   "name": }\n]}', "json")
    assert problems[0].startswith("line 3: content: is not valid JSON")


def test_a_bare_list_is_accepted_too():
    data = yaml.safe_load(GOOD_YAML)["procedures"]
    assert len(_read(json.dumps(data, ensure_ascii=False), "json")) == 2


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import_gives_the_same_procedures(fmt):
    shipped = _shipped()
    exported = catalogue_files.dump_file(shipped, fmt)
    again = _read(exported.decode(), fmt)
    assert again == shipped


# --- the service ---------------------------------------------------------------------------------------

def _catalogue(*procedures) -> tuple[catalogue_service.CatalogueService, FakeCatalogue]:
    store = FakeCatalogue(procedures, UNITS)
    return catalogue_service.CatalogueService(store, clock=lambda: NOW), store


def test_import_is_all_or_nothing_and_counts_what_it_did():
    svc, store = _catalogue()
    assert svc.import_file(GOOD_YAML.encode(), "yaml", ADMIN) == catalogue_service.Imported(2, 0, 0)
    assert svc.import_file(GOOD_YAML.encode(), "yaml", ADMIN) == catalogue_service.Imported(0, 0, 2)
    changed = GOOD_YAML.replace("amount: 2000", "amount: 3000")
    assert svc.import_file(changed.encode(), "yaml", ADMIN) == catalogue_service.Imported(0, 1, 1)
    assert store.procedures["2.000815"].version == 2
    writes = list(store.writes)
    with pytest.raises(InvalidArgument):
        svc.import_file((changed.replace("amount: 3000", "amount: 4000") + "- code: nope\n").encode(), "yaml", ADMIN)
    assert store.writes == writes and store.procedures["2.000815"].fees[0].amount == 3000


def test_import_checks_the_agency_of_every_entry_before_writing():
    svc, store = _catalogue()
    with pytest.raises(PermissionDenied):
        svc.import_file(GOOD_YAML.encode(), "yaml", OTHER_ADMIN)
    assert store.writes == []


def test_create_update_with_versions_and_deactivate():
    svc, store = _catalogue()
    created = svc.create(BIRTH, ADMIN)
    assert created.version == 1
    with pytest.raises(AlreadyExists):
        svc.create(BIRTH, ADMIN)
    updated = svc.update(dataclasses.replace(created, name="Đăng ký khai sinh (cập nhật)"), ADMIN)
    assert updated.version == 2
    with pytest.raises(catalogue.VersionMismatch) as caught:
        svc.update(dataclasses.replace(created, result="Khác"), ADMIN)
    assert caught.value.code == "ABORTED"
    with pytest.raises(PermissionDenied):
        svc.deactivate(BIRTH.code, 0, OTHER_ADMIN)
    gone = svc.deactivate(BIRTH.code, 2, ADMIN)
    assert not gone.active and gone.version == 3
    assert svc.page().procedures == [] and svc.page(include_inactive=True).procedures == [gone]


def test_pages_filters_and_tokens():
    svc, _ = _catalogue(*_shipped())
    first = svc.page(page_size=10)
    assert len(first.procedures) == 10 and first.next_page_token and first.total_size >= 30
    codes = [p.code for p in first.procedures]
    second = svc.page(page_size=10, page_token=first.next_page_token)
    assert second.procedures[0].code > codes[-1] and codes == sorted(codes)
    every = []
    token = ""
    while True:
        page = svc.page(page_size=7, page_token=token)
        every += [p.code for p in page.procedures]
        token = page.next_page_token
        if not token:
            break
    assert every == sorted(p.code for p in _shipped() if p.in_force(NOW.date()))
    assert {p.field_code for p in svc.page(field_code="ho_tich", page_size=100).procedures} == {"ho_tich"}
    assert [p.name for p in svc.page(text="dang ky khai sinh").procedures] == ["Đăng ký khai sinh"]
    with pytest.raises(InvalidArgument):
        svc.page(page_token=first.next_page_token, field_code="ho_tich")
    with pytest.raises(InvalidArgument):
        svc.page(page_token="not-a-token")
    assert len(svc.page(page_size=1000, include_inactive=True).procedures) == len(_shipped())


def test_submitting_for_a_procedure_outside_its_effective_dates_is_refused():
    from onestop_chassis.worktime import WorkingCalendar
    expired = dataclasses.replace(BIRTH, effective_to=dt.date(2026, 1, 1))

    class Catalogue:
        def procedure(self, code):
            return expired

        def unit(self, code):
            return UNITS.get(code)

    intake = service.IntakeService(None, Catalogue(), None, WorkingCalendar(), clock=lambda: NOW)
    officer = auth.Principal("o", frozenset({auth.DESK_OFFICER}), "000.20.31.H17")
    cmd = domain.SubmitDossier(request_id="", procedure_code=BIRTH.code, channel=domain.Channel.IN_PERSON,
                               applicant=domain.Applicant(kind=1, full_name="Lê Văn Tám", citizen_id="001203004567"))
    with pytest.raises(FailedPrecondition) as caught:
        intake.submit(cmd, officer)
    assert caught.value.reason == "PROCEDURE_INACTIVE" and "01/01/2026" in caught.value.message


# --- the shipped catalogue -------------------------------------------------------------------------------

def _shipped() -> list[catalogue.Procedure]:
    data, lines = catalogue_files.parse_file(catalogue_yaml(), "yaml")
    return catalogue_files.entries_to_procedures(data, lines, UNITS.__contains__)


def test_the_shipped_catalogue_is_valid_and_broad():
    procedures = _shipped()
    assert len(procedures) >= 30
    assert len({p.field_code for p in procedures}) >= 6
    for needed in ("dat_dai", "dang_ky_kinh_doanh", "xay_dung", "ho_tich", "giao_thong", "lao_dong",
                   "bao_tro_xa_hoi"):
        assert any(p.field_code == needed for p in procedures), needed


def test_the_shipped_catalogue_keeps_the_codes_the_platform_tests_use():
    by_code = {p.code: p for p in _shipped()}
    assert (by_code["2.001610"].name, by_code["2.001610"].legal_duration, by_code["2.001610"].competent_unit_code,
            by_code["2.001610"].active) == ("Đăng ký thành lập doanh nghiệp tư nhân", worktime.WorkingDuration(days=3),
                                            "000.00.21.H17", True)
    assert (by_code["1.013225"].competent_unit_code, by_code["1.013225"].level,
            by_code["1.013225"].legal_duration.days) == ("000.20.31.H17", "Cấp xã", 15)
    assert (by_code["3.000333"].competent_unit_code, by_code["3.000333"].legal_duration.days) == ("000.00.16.H17", 10)
    assert (by_code["1.001193"].competent_unit_code, by_code["1.001193"].legal_duration.hours) == ("000.20.31.H17", 4)
    assert by_code["1.000894"].name == "Đăng ký kết hôn" and by_code["1.000894"].active
    assert not by_code["DP.HT.0002"].active and by_code["DP.HT.0002"].is_local_code


# National codes used in the shipped file: each was checked, and any other procedure must carry a
# local DP.* code, so a new national code cannot slip in without being added (and checked) here.
# How they were checked: each code is tied to the same procedure by two independent sources, a crawl
# of dichvucong.gov.vn and other projects' procedure lists; the names below (national names) are as of
# the 2025 decisions (e.g. Quyết định số 1025/QĐ-BCA, 56/QĐ-BXD; Nghị định số 168/2025/NĐ-CP).
CHECKED_NATIONAL_CODES = {
    # Hộ tịch (cấp xã)
    "1.001193",  # Đăng ký khai sinh
    "1.000894",  # Đăng ký kết hôn
    "1.000656",  # Đăng ký khai tử
    "2.000635",  # Cấp bản sao Trích lục hộ tịch, bản sao Giấy khai sinh
    "1.004873",  # Cấp Giấy xác nhận tình trạng hôn nhân
    "1.004859",  # Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch, xác định lại dân tộc
    "1.001022",  # Đăng ký nhận cha, mẹ, con
    "1.004837",  # Đăng ký giám hộ
    # Chứng thực (cấp xã)
    "2.000815",  # Chứng thực bản sao từ bản chính giấy tờ, văn bản ...
    "2.000884",  # Chứng thực chữ ký trong các giấy tờ, văn bản ...
    "2.001035",  # Chứng thực giao dịch liên quan đến tài sản là động sản, quyền sử dụng đất, nhà ở
    # Lý lịch tư pháp; đường bộ (Công an tỉnh)
    "3.000333",  # Cấp Phiếu lý lịch tư pháp
    "3.000347",  # Đổi giấy phép lái xe
    # Doanh nghiệp, hộ kinh doanh
    "2.001610",  # Đăng ký thành lập doanh nghiệp tư nhân (cấp tỉnh)
    "1.001612",  # Đăng ký thành lập hộ kinh doanh (cấp xã)
    # Xây dựng
    "1.013225",  # Cấp giấy phép xây dựng nhà ở riêng lẻ (cấp xã)
    # Đất đai
    "1.013978",  # Đăng ký đất đai ... lần đầu (cá nhân, hộ gia đình; cấp xã)
    "1.013831",  # Đăng ký biến động ... chuyển nhượng, tặng cho, thừa kế (cấp tỉnh)
    "1.012783",  # Cấp đổi Giấy chứng nhận (cấp tỉnh)
    "1.012786",  # Cấp lại Giấy chứng nhận do bị mất (cấp tỉnh)
    "1.011441",  # Đăng ký biện pháp bảo đảm bằng quyền sử dụng đất, tài sản gắn liền với đất
}


def test_the_shipped_catalogue_invents_no_national_codes():
    for p in _shipped():
        if p.is_local_code:
            assert re.fullmatch(r"DP\.[A-Z0-9.]+", p.code), p.code
        else:
            assert p.code in CHECKED_NATIONAL_CODES, f"{p.code} {p.name}: not a checked national code"
    names = [catalogue.fold(p.name) for p in _shipped()]
    assert len(names) == len(set(names)), "one entry per procedure"
