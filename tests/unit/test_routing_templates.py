"""Process templates as data (issue 11, item 1): the use cases over fakes, the YAML/JSON import
naming the bad line, the proto conversion, the shipped templates, and intake's unit list client.
Every refusal asserts its status, its reason and that nothing was stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
from collections import defaultdict
from importlib import resources

import pytest
import yaml

from onestop_chassis import auth
from onestop_chassis.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied, Unavailable
from onestop_intake import demo_data
from onestop_routing.adapters.intake_units import IntakeUnits
from onestop_routing.domain.process import Performer, Published, StepKind, critical_path_minutes, working_minutes
from onestop_routing.seed import templates_yaml
from onestop_routing.templates import files
from onestop_routing.templates.api import template_from_proto, template_to_proto
from onestop_routing.templates.service import TemplateService

from fakes import FakeTemplates
from routing_samples import UNITS, days, land_registration, parallel, task

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
LAND = land_registration().process_code
SEED = auth.Principal("seed", frozenset({auth.SERVICE}))
DESK_ADMIN = auth.Principal("admin-desk", frozenset({auth.AGENCY_ADMIN}), "000.00.21.H17")
OTHER_ADMIN = auth.Principal("admin-xd", frozenset({auth.AGENCY_ADMIN}), "000.00.11.H17")


class Units:
    def __init__(self, codes=UNITS | {"000.00.11.H17"}):
        self._codes = frozenset(codes)
        self.calls = 0

    def codes(self):
        self.calls += 1
        return self._codes


def service(*templates):
    store = FakeTemplates(*templates)
    return TemplateService(store, Units(), clock=lambda: NOW), store


def refused(exc_type, call, store):
    before = list(store.templates)
    with pytest.raises(exc_type) as caught:
        call()
    assert store.templates == before and store.writes == 0  # nothing stored
    return caught.value


def said(err) -> set[str]:
    return {f"{v.field}: {v.description}" for v in err.violations}


# -- put: versions, unchanged, request ids ------------------------------------------------------------
def test_a_put_stores_version_1_then_2_and_an_identical_put_stores_nothing():
    svc, store = service()
    first, created = svc.put(land_registration(), SEED)
    assert (first.template.version, created, first.published_at, first.published_by) == (1, True, NOW, "seed")
    again, created = svc.put(dataclasses.replace(land_registration(), version=7), SEED)  # the version sent is ignored
    assert (again.template.version, created, store.writes) == (1, False, 1)
    second, created = svc.put(dataclasses.replace(land_registration(), name="Đăng ký biến động (sửa)"), SEED)
    assert (second.template.version, created) == (2, True)
    assert store.version(LAND, "", 1).name == "Đăng ký biến động đất đai"  # version 1 is kept as it was
    assert store.for_case(LAND, "000.00.21.H17").version == 2


def test_an_agency_template_overrides_the_one_for_every_agency_for_that_agency_only():
    svc, store = service()
    svc.put(land_registration(), SEED)
    own = dataclasses.replace(land_registration(), agency_code="000.00.21.H17", name="Riêng của Trung tâm")
    svc.put(own, DESK_ADMIN)
    assert store.for_case(LAND, "000.00.21.H17").name == "Riêng của Trung tâm"
    assert store.for_case(LAND, "000.00.11.H17").name == "Đăng ký biến động đất đai"
    assert svc.get(LAND, "000.00.21.H17", 0, DESK_ADMIN).template.agency_code == "000.00.21.H17"


def test_a_request_id_replayed_returns_its_version_and_reused_with_other_content_is_refused():
    svc, store = service()
    stored, _ = svc.put(land_registration(), SEED, "put-1")
    svc.put(dataclasses.replace(land_registration(), name="Bản 2"), SEED)
    replay, created = svc.put(land_registration(), SEED, "put-1")
    assert (replay.template.version, created) == (1, False) and store.writes == 2
    store.writes = 0
    err = refused(AlreadyExists, lambda: svc.put(dataclasses.replace(land_registration(), name="Khác"), SEED, "put-1"),
                  store)
    assert err.reason == "REQUEST_ID_REUSED"


# -- put: every refusal of the issue that concerns templates -------------------------------------------
def _with_steps(template, **changes):
    steps = list(template.steps)
    for index, step in changes.items():
        steps[int(index[1:])] = step
    return dataclasses.replace(template, steps=tuple(steps))


@pytest.mark.parametrize("template, expected", [
    # an unreachable end: nothing leads to the desk that finishes
    (dataclasses.replace(land_registration(), transitions=tuple(
        t for t in land_registration().transitions if t.to_step != "tra_ket_qua")),
     "steps[4]: step 'tra_ket_qua' cannot be reached from the start step"),
    # a step without a performer
    (_with_steps(land_registration(), s1=dataclasses.replace(land_registration().steps[1], performer=None)),
     "steps[1].performer: step 'tham_dinh' has no performing unit"),
    # a budget over the legal limit
    (dataclasses.replace(land_registration(), legal_limit=days(5)),
     "steps: the step budgets add up to 9 working day(s) 0 h 30 min on the longest path, past the legal limit of "
     "5 working day(s)"),
    # an unknown unit
    (_with_steps(land_registration(), s2=dataclasses.replace(
        land_registration().steps[2], performer=Performer("999.99.99.H99", "processing_officer"))),
     "steps[2].performer.unit_code: names unit '999.99.99.H99', which is not in the unit list"),
    # an unknown role (agency_admin administers, it never performs a step)
    (_with_steps(land_registration(), s3=dataclasses.replace(
        land_registration().steps[3], performer=Performer("000.01.21.H17", "agency_admin"))),
     "steps[3].performer.role: names role 'agency_admin'; roles are desk_officer, processing_officer, unit_leader"),
    # a duplicate step code
    (dataclasses.replace(land_registration(), steps=(*land_registration().steps, task("thue"))),
     "steps[5].code: repeats step code 'thue'"),
    # an agency that is not a unit
    (dataclasses.replace(land_registration(), agency_code="999.99.99.H99"),
     "agency_code: names unit '999.99.99.H99', which is not in the unit list"),
    # a process code that cannot be a key
    (dataclasses.replace(land_registration(), process_code="QT|DD"),
     "process_code: must be letters, digits and . _ : + - (at most 64), e.g. QT.DD.02: not 'QT|DD'"),
])
def test_a_template_that_cannot_run_is_refused_naming_the_field_and_nothing_is_stored(template, expected):
    svc, store = service()
    err = refused(InvalidArgument, lambda: svc.put(template, SEED), store)
    assert err.code == "INVALID_ARGUMENT"
    assert expected in " | ".join(said(err)), said(err)


def test_who_may_put_agency_admins_their_own_agency_service_accounts_every_agency():
    svc, store = service()
    own = dataclasses.replace(land_registration(), agency_code="000.00.21.H17")
    err = refused(PermissionDenied, lambda: svc.put(own, OTHER_ADMIN), store)
    assert err.reason == "OTHER_AGENCY"
    err = refused(PermissionDenied, lambda: svc.put(land_registration(), DESK_ADMIN), store)
    assert err.reason == "EVERY_AGENCY_TEMPLATE" and "SERVICE" in str(err)
    assert svc.put(own, DESK_ADMIN)[1] is True and svc.put(land_registration(), SEED)[1] is True


def test_an_agency_admin_of_another_agency_learns_nothing_about_units():
    """The agency check comes before the unit list is read: no INVALID_ARGUMENT naming units."""
    svc, store = service()
    bad = dataclasses.replace(land_registration(), agency_code="000.00.21.H17", legal_limit=days(1))
    refused(PermissionDenied, lambda: svc.put(bad, OTHER_ADMIN), store)
    assert svc._units.calls == 0


# -- get and list --------------------------------------------------------------------------------------
def test_get_unknown_is_not_found_and_reading_another_agencys_own_is_denied():
    svc, _ = service(land_registration())
    with pytest.raises(NotFound) as caught:
        svc.get("QT.XX.99", "", 0, SEED)
    assert caught.value.reason == "TEMPLATE_NOT_FOUND"
    with pytest.raises(NotFound):
        svc.get(LAND, "", 2, SEED)
    with pytest.raises(PermissionDenied):
        svc.get(LAND, "000.00.21.H17", 0, OTHER_ADMIN)
    assert svc.get(LAND, "", 1, OTHER_ADMIN).template == land_registration()


def test_list_gives_the_latest_of_each_that_the_agency_runs_in_pages():
    own = dataclasses.replace(parallel(), agency_code="000.00.21.H17")
    svc, store = service(land_registration(), dataclasses.replace(land_registration(), version=2, name="Bản 2"),
                         parallel(), own)
    page = svc.page("000.00.21.H17", DESK_ADMIN, page_size=2)
    assert [(p.template.process_code, p.template.agency_code, p.template.version) for p in page.templates] == [
        (LAND, "", 2), ("QT-2", "", 1)]
    rest = svc.page("000.00.21.H17", DESK_ADMIN, page_size=2, page_token=page.next_page_token)
    assert [(p.template.process_code, p.template.agency_code) for p in rest.templates] == [("QT-2", "000.00.21.H17")]
    assert rest.next_page_token == ""
    assert [p.template.agency_code for p in svc.page("", OTHER_ADMIN).templates] == ["", ""]
    with pytest.raises(InvalidArgument):  # a token of another list
        svc.page("", SEED, page_token=page.next_page_token)


# -- import ----------------------------------------------------------------------------------------------
def _file(*templates) -> str:
    return files.dump_file(list(templates), "yaml").decode()


def test_an_import_names_the_bad_line_and_stores_nothing():
    text = files.dump_file([land_registration(), parallel()], "yaml").decode()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "days: 3" in line)
    lines[at] = lines[at].replace("days: 3", "days: three")
    svc, store = service()
    err = refused(InvalidArgument, lambda: svc.import_file("\n".join(lines).encode(), "yaml", SEED), store)
    assert said(err) == {f"line {at + 1}: steps[2].budget.days: must be a whole number"}


def test_an_import_that_cannot_run_names_the_line_of_the_step_and_stores_none_of_the_good_ones():
    bad = _with_steps(parallel(), s1=dataclasses.replace(parallel().steps[1], performer=None))
    text = _file(land_registration(), bad)
    svc, store = service()
    err = refused(InvalidArgument, lambda: svc.import_file(text.encode(), "yaml", SEED), store)
    step_line = 1 + text.splitlines().index("  - code: a")
    assert said(err) == {f"line {step_line}: steps[1].performer: step 'a' has no performing unit"}


@pytest.mark.parametrize("mangle, expected", [
    (lambda t: t.replace("kind: external", "kind: elsewhere", 1),
     "steps[2].kind: must be one of task, desk, external, split, join"),
    (lambda t: t.replace("action: request_payment", "action: pay", 1),
     "transitions[3].action: must be one of forward, send_back, request_supplement, request_payment, approve, "
     "finish, stop, refuse"),
    (lambda t: t.replace("guards: [paid]", "guards: [1]", 1), "transitions[4].guards[0]: must be one of paid, "
                                                              "all_branches_done"),
    (lambda t: t.replace("  start_step: tiep_nhan\n", "  start_step: tiep_nhan\n  owner: me\n", 1),
     "owner: is not a known field"),
])
def test_import_type_errors_name_their_line(mangle, expected):
    text = mangle(_file(land_registration()))
    svc, store = service()
    err = refused(InvalidArgument, lambda: svc.import_file(text.encode(), "yaml", SEED), store)
    [violation] = err.violations
    assert violation.field.startswith("line ") and expected in f"{violation.field.split(': ', 1)[1]}: " \
                                                               f"{violation.description}"


def test_an_import_repeating_a_process_code_for_one_agency_names_both_lines():
    text = _file(land_registration(), dataclasses.replace(land_registration(), name="Bản khác"))
    svc, store = service()
    err = refused(InvalidArgument, lambda: svc.import_file(text.encode(), "yaml", SEED), store)
    [violation] = err.violations
    assert violation.description == f"repeats {LAND} (agency every) of line 2"


def test_an_import_of_another_agencys_template_is_denied_and_nothing_is_stored():
    text = _file(dataclasses.replace(land_registration(), agency_code="000.00.21.H17"), parallel())
    svc, store = service()
    err = refused(PermissionDenied, lambda: svc.import_file(text.encode(), "yaml", DESK_ADMIN), store)
    assert err.reason == "EVERY_AGENCY_TEMPLATE"


def test_an_import_stores_new_versions_and_counts_the_unchanged_json_too():
    svc, store = service(land_registration())
    content = json.dumps(yaml.safe_load(_file(land_registration(), parallel())), ensure_ascii=False).encode()
    result = svc.import_file(content, "json", SEED)
    assert [(p.template.process_code, p.template.version) for p in result.stored] == [("QT-2", 1)]
    assert result.unchanged == 1
    assert svc.import_file(content, "json", SEED).stored == []


def test_the_file_form_and_the_proto_form_read_back_the_same_template():
    for template in (land_registration(), parallel()):
        [(read, _)], _ = files.read_file(files.dump_file([template], "json"), "json")
        assert read == dataclasses.replace(template, version=0)
        back = template_from_proto(template_to_proto(Published(template, NOW, "x")))
        assert back == dataclasses.replace(template, version=0)


def test_a_proto_transition_without_an_action_is_refused_naming_it():
    message = template_to_proto(Published(land_registration(), NOW, "x"))
    message.transitions[2].action = 0
    with pytest.raises(InvalidArgument) as caught:
        template_from_proto(message)
    assert said(caught.value) == {"transitions[2].action: is required: forward, send_back, request_supplement, "
                                  "request_payment, approve, finish, stop or refuse"}


# -- the shipped templates ---------------------------------------------------------------------------------
def _shipped():
    read, _ = files.read_file(templates_yaml(), "yaml")
    return [t for t, _ in read]


def _catalogue():
    data = yaml.safe_load(resources.files("onestop_intake").joinpath("catalogue.yaml").read_bytes())
    return data["procedures"] if isinstance(data, dict) else data


def test_every_shipped_template_can_run_with_the_demo_units():
    units = frozenset(u.code for u in demo_data.UNITS)
    for template in _shipped():
        assert TemplateService.problems(template, units) == [], template.process_code


def test_the_shipped_templates_cover_12_procedures_within_each_legal_limit():
    by_process = defaultdict(list)
    for procedure in _catalogue():
        if procedure.get("process_code"):
            by_process[procedure["process_code"]].append(procedure)
    covered = set()
    for template in _shipped():
        procedures = by_process[template.process_code]
        assert procedures, f"{template.process_code} is no catalogue process_code"
        for p in procedures:
            limit = working_minutes(files.WorkingDuration(**p["legal_duration"]))
            assert critical_path_minutes(template) <= limit, (template.process_code, p["code"])
            covered.add(p["code"])
    assert len(covered) >= 12


def test_the_shipped_templates_cross_agencies_and_run_two_branches_at_once():
    shipped = _shipped()
    crossing = [t.process_code + "|" + t.agency_code for t in shipped
                if any(s.kind is StepKind.EXTERNAL for s in t.steps)]
    assert len(crossing) >= 3, crossing
    assert {"QT.DD.02|", "QT.TP.01|", "QT.DD.01|000.00.40.H17"} <= set(crossing)
    tax = demo_data.TAX_AUTHORITY.code
    assert any(s.performer and s.performer.unit_code == tax for s in
               next(t for t in shipped if t.process_code == "QT.DD.02").steps)
    district = {u.code for u in demo_data.DISTRICT_OFFICES}
    assert len(district & {s.performer.unit_code for t in shipped if t.agency_code == demo_data.DISTRICT.code
                           for s in t.steps if s.performer}) >= 2
    parallel_ones = [t for t in shipped if {StepKind.SPLIT, StepKind.JOIN} <= {s.kind for s in t.steps}]
    assert [t.process_code for t in parallel_ones] == ["QT.XD.01"]


# -- intake's unit list ------------------------------------------------------------------------------------------
def test_the_unit_list_client_answers_unavailable_with_retry_when_intake_does_not():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    client = IntakeUnits(f"127.0.0.1:{port}", lambda: "token", timeout=0.5)
    try:
        with pytest.raises(Unavailable) as caught:
            client.codes()
    finally:
        client.close()
    assert caught.value.reason == "UNITS_UNAVAILABLE" and caught.value.retry_after
    assert "retry" in str(caught.value)
