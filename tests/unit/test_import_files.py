"""Issue 9, kind 6 (import files that lie) and kind 4 for imports: a key repeated at any depth,
nesting past MAX_DEPTH and oversize files are refused with INVALID_ARGUMENT naming the line(s),
and nothing is stored."""

from __future__ import annotations

import json

import pytest
from test_intake_catalogue import ADMIN, BIRTH, GOOD_YAML, NOW, UNITS

from onestop_chassis import datafiles as catalogue_located
from onestop_chassis.errors import InvalidArgument
from onestop_intake.catalogue import domain as catalogue
from onestop_intake.catalogue import files as catalogue_files
from onestop_intake.catalogue import service as catalogue_service

from fakes import FakeCatalogue

TWICE_YAML = GOOD_YAML.replace("""  required_documents:
  - name: Tờ khai đăng ký khai sinh
    copy_kind: original
""", """  required_documents:
  - name: Tờ khai đăng ký khai sinh
    copy_kind: original
  - name: Giấy chứng sinh
  postal_return_allowed: true
  required_documents:
  - name: Tờ khai đăng ký khai sinh
""")


def _service():
    store = FakeCatalogue([BIRTH], UNITS)
    return catalogue_service.CatalogueService(store, clock=lambda: NOW), store


def _refused(content: str | bytes, fmt: str = "yaml") -> InvalidArgument:
    svc, store = _service()
    before = dict(store.procedures)
    with pytest.raises(InvalidArgument) as caught:
        svc.import_file(content if isinstance(content, bytes) else content.encode(), fmt, ADMIN)
    assert store.writes == [] and store.procedures == before  # nothing stored
    return caught.value


def _said(err: InvalidArgument) -> list[str]:
    return [f"{v.field}: {v.description}" for v in err.violations]


def test_required_documents_twice_in_yaml_is_refused_naming_both_lines():
    """The issue's example: the second list silently replaced the first (two documents lost)."""
    err = _refused(TWICE_YAML)
    assert err.reason == "REPEATED_KEY"
    assert _said(err) == ["line 16: procedures[0].required_documents: repeats the key 'required_documents' "
                          "of line 11: a file may give each key once"]


def test_required_documents_twice_in_json_is_refused_naming_both_lines():
    entry = json.dumps(catalogue_files.procedure_to_entry(BIRTH), ensure_ascii=False, indent=2)
    twice = entry.replace('  "fees": [', '  "required_documents": [],\n  "fees": [', 1)
    assert twice != entry
    first = next(n for n, line in enumerate(twice.splitlines(), 1) if '"required_documents": [' in line)
    again = next(n for n, line in enumerate(twice.splitlines(), 1) if '"required_documents": []' in line)
    err = _refused(f"[{twice}]", "json")
    assert err.reason == "REPEATED_KEY"
    assert _said(err) == [f"line {again}: [0].required_documents: repeats the key 'required_documents' "
                          f"of line {first}: a file may give each key once"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_repeated_keys_at_any_depth_are_all_reported(fmt):
    data = {"procedures": [catalogue_files.procedure_to_entry(BIRTH)]}
    if fmt == "json":
        text = json.dumps(data, ensure_ascii=False, indent=1)
        text = text.replace('"hours": 4', '"hours": 4, "hours": 8').replace('"code": "DP.HT.0001"',
                                                                          '"code": "DP.HT.0001", "code": "DP.HT.0002"')
    else:
        text = catalogue_files.dump_file([BIRTH], "yaml").decode()
        text = text.replace("    hours: 4\n", "    hours: 4\n    hours: 8\n").replace(
            "- code: DP.HT.0001\n", "- code: DP.HT.0001\n  code: DP.HT.0002\n")
    fields = sorted(v.field.split(": ", 1)[1] for v in _refused(text, fmt).violations)
    assert fields == ["procedures[0].code", "procedures[0].legal_duration.hours"]


def test_a_merge_key_is_not_a_repeated_key():
    text = "base: &base {level: Cấp xã, result: Giấy}\nentry:\n  <<: *base\n  level: Cấp tỉnh\n"
    data, _ = catalogue_files.parse_file(text.encode(), "yaml")
    assert data["entry"] == {"level": "Cấp tỉnh", "result": "Giấy"}


def test_yaml_nested_1000_deep_is_invalid_argument_not_internal():
    err = _refused("procedures:\n" + "".join("  " * i + "- \n" for i in range(1, 1_001)))
    assert err.reason == "NESTED_TOO_DEEP"
    assert _said(err) == [f"line {catalogue.MAX_DEPTH + 1}: content: nests more than {catalogue.MAX_DEPTH} levels "
                          "of lists and mappings"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_flow_nesting_past_the_bound_is_refused(fmt):
    err = _refused("[" * 100_000 + "]" * 100_000, fmt)
    assert err.reason == "NESTED_TOO_DEEP"


def test_the_deepest_catalogue_shape_is_within_the_bound():
    """procedures → entry → fees → fee → exemptions (+1 for the mapping): the bound leaves room."""
    data, _ = catalogue_files.parse_file(GOOD_YAML.replace("    amount: 2000\n", "    amount: 2000\n    exemptions:\n"
                                                     "    - Người có công\n").encode(), "yaml")
    assert data["procedures"][1]["fees"][0]["exemptions"] == ["Người có công"]


def test_oversize_file_is_refused_before_parsing():
    err = _refused(b"#" * (catalogue.MAX_FILE_BYTES + 1))
    assert err.reason == "FILE_TOO_LARGE"
    assert _said(err) == [f"line 1: content: is larger than {catalogue.MAX_FILE_BYTES} bytes "
                          f"({catalogue.MAX_FILE_BYTES + 1}): split the file"]


def test_file_bound_matches_the_contract():
    from onestop.common.v1 import bounds_pb2
    from onestop.intake.v1 import intake_pb2
    field = intake_pb2.ImportProceduresRequest.DESCRIPTOR.fields_by_name["content"]
    assert field.GetOptions().Extensions[bounds_pb2.max_length] == catalogue.MAX_FILE_BYTES


@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "pure-python"])
def test_both_yaml_parsers_refuse_the_same_files(monkeypatch, fast):
    if not fast:
        monkeypatch.setattr(catalogue_located, "FAST_LOADER", None)
    assert _said(_refused(TWICE_YAML))[0].startswith("line 16: procedures[0].required_documents")
    assert _refused("a:\n" + "".join("  " * i + "- \n" for i in range(1, 50))).reason == "NESTED_TOO_DEEP"
    data, lines = catalogue_files.parse_file(GOOD_YAML.encode(), "yaml")
    assert data["procedures"][1]["fees"][0]["amount"] == 2000 and lines[("procedures", 1, "fees")] == 24
