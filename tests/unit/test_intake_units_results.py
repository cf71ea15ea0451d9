"""Units and shared desks, the desk rule of SubmitDossier, the result actions (9, 10), the issued
forms 01-03 and their filing message, and the Mongo mapping of the new dossier fields: pure
Python, with in-memory ports and fixed clocks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re
import unicodedata

import bson
import pypdf
import pypdfium2 as pdfium
import pytest
import zxingcpp

from onestop_chassis import auth, codes, identity, worktime
from onestop_chassis.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from onestop_chassis.worktime import VIETNAM, WorkingCalendar
from onestop_intake.catalogue import domain as catalogue
from onestop_intake.demo_data import DISTRICT, DISTRICT_OFFICES, PROVINCE, UNITS
from onestop_intake.forms import filing as form_filing
from onestop_intake.forms import issued as issued_forms
from onestop_intake.forms.issued import Form
from onestop_intake.reception import desk_actions, domain, service
from onestop_intake.reception.adapters import mongo
from onestop_intake.reception.domain import DossierStatus as S
from onestop_intake.units import domain as units
from onestop_intake.units import service as units_service
from onestop_intake.units.domain import UnitKind, UnitLevel

from fakes import Clock, FakeCatalogue, FakeDossiers, FakeSequence

UTC = dt.UTC
BY_CODE = {u.code: u for u in UNITS}
CENTRE = BY_CODE["000.00.21.H17"]          # the province's service centre: receives for the province
DISTRICT_DESK = BY_CODE["000.40.21.H17"]   # the old district's shared desk: its five offices
DISTRICT_COMMUNE = BY_CODE["000.40.31.H17"]
COMMUNE = BY_CODE["000.20.31.H17"]
JUSTICE = BY_CODE["000.00.12.H17"]         # Sở Tư pháp
AGRICULTURE = BY_CODE["000.00.13.H17"]     # Sở Nông nghiệp và Môi trường
LAND_OFFICE = BY_CODE["000.01.13.H17"]     # under Sở Nông nghiệp: a sub-unit two levels down
OFFICE = DISTRICT_OFFICES[1]               # Phòng Tư pháp huyện

LOOKUP_URL = "https://dichvucong.example.vn/tra-cuu"
# 02:00 UTC on Monday 30/11/2026 is 09:00 in Vietnam.
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
APPOINTMENT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=VIETNAM)  # Thursday 09:00

OFFICER = auth.Principal("officer-centre", frozenset({auth.DESK_OFFICER}), CENTRE.code)
DISTRICT_OFFICER = auth.Principal("officer-district", frozenset({auth.DESK_OFFICER}), DISTRICT_DESK.code)
CITIZEN = auth.Principal("citizen-7", frozenset({auth.CITIZEN}))
PLATFORM = auth.Principal("platform", frozenset({auth.SERVICE}))
APPLICANT = domain.Applicant(kind=domain.ApplicantKind.PERSON, full_name="Nguyễn Thị Hồng Nhung",
                             identity=identity.personal_id_number("046190001234"), phone="0912345678")

P_JUSTICE = catalogue.Procedure("1.000948", "Cấp phiếu lý lịch tư pháp", worktime.WorkingDuration(days=3), JUSTICE.code)
P_LAND = catalogue.Procedure("1.004227", "Đăng ký biến động đất đai", worktime.WorkingDuration(days=10),
                          LAND_OFFICE.code)
P_OFFICE = catalogue.Procedure("2.000635", "Chứng thực bản sao từ bản chính", worktime.WorkingDuration(days=1),
                            OFFICE.code)
P_DISTRICT_COMMUNE = catalogue.Procedure("1.001193", "Đăng ký khai sinh", worktime.WorkingDuration(days=1),
                                      DISTRICT_COMMUNE.code)
P_COMMUNE = catalogue.Procedure("1.001022", "Đăng ký kết hôn", worktime.WorkingDuration(days=1), COMMUNE.code)
PROCEDURES = (P_JUSTICE, P_LAND, P_OFFICE, P_DISTRICT_COMMUNE, P_COMMUNE)


def _codes_of(found) -> list[str]:
    return [u.code for u in found]


def _fields(error) -> list[str]:
    return [v.field for v in error.violations]


# --- in-memory ports ---------------------------------------------------------------------------

def _lookup(unit_list):
    found = {u.code: u for u in unit_list}
    return found.get


TREE = units.UnitTree(UNITS)


# === 1. units.py ==================================================================================

def test_the_demo_hierarchy_is_valid_data():
    lookup = _lookup(UNITS)
    for unit in UNITS:
        units.check(unit, lookup)  # raises on any bad field


def test_chain_is_the_unit_then_its_ancestors_nearest_first():
    assert _codes_of(units.chain(LAND_OFFICE.code, BY_CODE.get)) == [LAND_OFFICE.code, AGRICULTURE.code,
                                                                   PROVINCE.code]
    assert _codes_of(units.chain(PROVINCE.code, BY_CODE.get)) == [PROVINCE.code]
    assert units.chain("999.99.99.H17", BY_CODE.get) == []
    assert units.chain("", BY_CODE.get) == []


def test_chain_stops_at_a_missing_parent():
    orphan = units.Unit("000.77.77.H17", "Đơn vị mồ côi", parent_code="000.99.99.H17")
    assert units.chain(orphan.code, _lookup([orphan])) == [orphan]


def test_chain_stops_on_a_corrupted_loop():
    a = units.Unit("000.01.01.H17", "A", parent_code="000.02.02.H17")
    b = units.Unit("000.02.02.H17", "B", parent_code="000.01.01.H17")
    lookup = _lookup([a, b])
    assert units.chain(a.code, lookup) == [a, b]
    assert units.chain(b.code, lookup) == [b, a]
    assert units.serves(units.Unit("000.03.03.H17", "Desk", kind=UnitKind.DESK, receives_for=("000.99.99.H17",)),
                        a.code, lookup) is False  # walks the loop once, then gives up
    tree = units.UnitTree([a, b])
    assert tree.ancestors(a.code) == [b]
    assert tree.descendants(a.code) == [b]


def test_chain_stops_at_the_maximum_depth():
    deep = [units.Unit(f"000.00.{n:02d}.X01", f"U{n}", parent_code=f"000.00.{n + 1:02d}.X01" if n < 39 else "")
            for n in range(40)]
    assert len(units.chain(deep[0].code, _lookup(deep))) == units.MAX_DEPTH


def test_the_province_centre_serves_every_unit_of_the_province():
    lookup = BY_CODE.get
    for code in (PROVINCE.code, CENTRE.code, JUSTICE.code, COMMUNE.code, LAND_OFFICE.code, DISTRICT.code,
                 OFFICE.code, DISTRICT_COMMUNE.code):
        assert units.serves(CENTRE, code, lookup), code
    assert not units.serves(CENTRE, "000.00.00.H18", lookup)  # another province (not even stored)


def test_the_district_desk_serves_exactly_its_offices_and_itself():
    lookup = BY_CODE.get
    assert all(units.serves(DISTRICT_DESK, u.code, lookup) for u in DISTRICT_OFFICES)
    assert units.serves(DISTRICT_DESK, DISTRICT_DESK.code, lookup)
    for code in (DISTRICT_COMMUNE.code, DISTRICT.code, PROVINCE.code, JUSTICE.code, LAND_OFFICE.code, CENTRE.code):
        assert not units.serves(DISTRICT_DESK, code, lookup), code
    assert _codes_of(TREE.served_by(DISTRICT_DESK.code)) == sorted(
        [DISTRICT_DESK.code, *(u.code for u in DISTRICT_OFFICES)])


@pytest.mark.parametrize("code", [JUSTICE.code, AGRICULTURE.code, PROVINCE.code, COMMUNE.code, DISTRICT.code])
def test_a_unit_without_receives_for_serves_only_itself(code):
    unit = BY_CODE[code]
    assert TREE.served_by(code) == [unit]  # not even the units below it
    assert not units.serves(unit, CENTRE.code, BY_CODE.get)


def test_served_by_the_centre_is_the_whole_demo_hierarchy():
    assert TREE.served_by(CENTRE.code) == sorted(UNITS, key=lambda u: u.code)
    assert TREE.served_by("999.99.99.H17") == []


def test_ancestors_are_root_first():
    assert TREE.ancestors(LAND_OFFICE.code) == [PROVINCE, AGRICULTURE]
    assert TREE.ancestors(OFFICE.code) == [PROVINCE, DISTRICT]
    assert TREE.ancestors(DISTRICT_COMMUNE.code) == [PROVINCE, DISTRICT]
    assert TREE.ancestors(PROVINCE.code) == []
    assert TREE.ancestors("999.99.99.H17") == []


def test_children_are_one_level_down():
    assert _codes_of(TREE.children(PROVINCE.code)) == [
        "000.00.11.H17", "000.00.12.H17", "000.00.13.H17", "000.00.14.H17", "000.00.15.H17", "000.00.16.H17",
        "000.00.21.H17", "000.00.40.H17", "000.20.31.H17"]
    assert LAND_OFFICE not in TREE.children(PROVINCE.code)
    assert TREE.children(AGRICULTURE.code) == [LAND_OFFICE]
    assert TREE.children(LAND_OFFICE.code) == []


def test_descendants_are_at_any_depth():
    assert TREE.descendants(PROVINCE.code) == [u for u in TREE.all() if u.code != PROVINCE.code]
    assert LAND_OFFICE in TREE.descendants(PROVINCE.code) and OFFICE in TREE.descendants(PROVINCE.code)
    assert _codes_of(TREE.descendants(DISTRICT.code)) == sorted(
        [*(u.code for u in DISTRICT_OFFICES), DISTRICT_DESK.code, DISTRICT_COMMUNE.code])
    assert TREE.descendants(AGRICULTURE.code) == [LAND_OFFICE]
    assert TREE.descendants(LAND_OFFICE.code) == []


@pytest.mark.parametrize("unit_code, expected", [
    (OFFICE.code, [CENTRE.code, DISTRICT_DESK.code, OFFICE.code]),  # two desks, then the office itself
    (DISTRICT_COMMUNE.code, [CENTRE.code, DISTRICT_COMMUNE.code]),
    (COMMUNE.code, [CENTRE.code, COMMUNE.code]),
    (LAND_OFFICE.code, [CENTRE.code, LAND_OFFICE.code]),
    (JUSTICE.code, [CENTRE.code, JUSTICE.code]),
    (CENTRE.code, [CENTRE.code]),
])
def test_desks_for_lists_the_desks_first_then_the_unit(unit_code, expected):
    assert _codes_of(TREE.desks_for(unit_code)) == expected


def test_desks_for_a_unit_outside_the_tree_is_empty():
    assert TREE.desks_for("000.00.00.H18") == []


def _unit(code="000.00.17.H17", name="Sở Y tế", parent_code=PROVINCE.code, kind=UnitKind.DEPARTMENT,
          level=UnitLevel.PROVINCE, **changes) -> units.Unit:
    return units.Unit(code, name, parent_code, kind, level, **changes)


def _check_fails(unit, unit_list=UNITS) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as info:
        units.check(unit, _lookup(unit_list))
    assert info.value.reason == "INVALID_FIELDS"
    return {v.field: v.description for v in info.value.violations}


def test_a_good_unit_passes_check():
    units.check(_unit(), _lookup(UNITS))
    units.check(_unit(code="000.00.22.H17", kind=UnitKind.DESK, receives_for=(JUSTICE.code, "000.00.22.H17")),
                _lookup(UNITS))  # a desk may list itself
    units.check(_unit(code="000.00.00.H18", parent_code="", kind=UnitKind.PEOPLES_COMMITTEE), _lookup(UNITS))


@pytest.mark.parametrize("code", ["000.00.17.h17", "00.00.17.H17", "000.00.17.H17\n", "000-00-17-H17", "",
                                  "000.00.17.H17.1"])
def test_check_refuses_a_bad_unit_code(code):
    assert list(_check_fails(_unit(code=code))) == ["unit.code"]


@pytest.mark.parametrize("name, description", [("", "is required"), ("   ", "is required"),
                                               ("x" * 301, "is longer than 300 characters")])
def test_check_refuses_a_blank_or_overlong_name(name, description):
    assert _check_fails(_unit(name=name)) == {"unit.name": description}


def test_check_accepts_a_name_of_exactly_the_limit_and_refuses_a_long_address():
    units.check(_unit(name="x" * units.NAME_LIMIT), _lookup(UNITS))
    assert list(_check_fails(_unit(address="x" * 301))) == ["unit.address"]


def test_check_refuses_an_unknown_parent():
    found = _check_fails(_unit(parent_code="000.99.99.H17"))
    assert list(found) == ["unit.parent_code"] and "000.99.99.H17" in found["unit.parent_code"]


def test_check_refuses_a_unit_as_its_own_parent():
    found = _check_fails(_unit(parent_code="000.00.17.H17"))
    assert found == {"unit.parent_code": "a unit cannot be its own parent"}


def test_check_refuses_a_parent_chain_that_would_loop():
    a = _unit(code="000.00.31.H17", name="A", parent_code="000.00.32.H17")
    b = _unit(code="000.00.32.H17", name="B", parent_code="")
    stored = [*UNITS, a, b]  # A under B
    found = _check_fails(dataclasses.replace(b, parent_code=a.code), stored)  # then B under A
    assert list(found) == ["unit.parent_code"] and "loop" in found["unit.parent_code"]
    # A deeper loop: the province put under its own land registration office.
    found = _check_fails(dataclasses.replace(PROVINCE, parent_code=LAND_OFFICE.code))
    assert list(found) == ["unit.parent_code"]


def test_check_refuses_an_unknown_receives_for_code():
    desk = _unit(code="000.00.22.H17", kind=UnitKind.DESK, receives_for=(JUSTICE.code, "000.99.99.H17"))
    found = _check_fails(desk)
    assert list(found) == ["unit.receives_for[1]"] and "000.99.99.H17" in found["unit.receives_for[1]"]


@pytest.mark.parametrize("kind", [UnitKind.PEOPLES_COMMITTEE, UnitKind.DEPARTMENT, UnitKind.OTHER])
def test_check_refuses_receives_for_on_a_unit_that_is_not_a_desk(kind):
    found = _check_fails(_unit(kind=kind, receives_for=(JUSTICE.code,)))
    assert list(found) == ["unit.receives_for"]


@pytest.mark.parametrize("kind", [0, 5, -1])
def test_check_refuses_an_invalid_kind(kind):
    assert list(_check_fails(_unit(kind=kind))) == ["unit.kind"]


@pytest.mark.parametrize("level", [0, 5, -1])
def test_check_refuses_an_invalid_level(level):
    assert list(_check_fails(_unit(level=level))) == ["unit.level"]


def test_check_names_every_bad_field_at_once():
    found = _check_fails(units.Unit("bad", " ", "000.99.99.H17", 9, 9, receives_for=("000.98.98.H17",)))
    assert set(found) == {"unit.code", "unit.name", "unit.kind", "unit.level", "unit.parent_code",
                          "unit.receives_for[0]", "unit.receives_for"}


# === 2. units_service.UnitService ======================================================================

def _admin(agency: str) -> auth.Principal:
    return auth.Principal(f"admin-{agency}", frozenset({auth.AGENCY_ADMIN}), agency=agency)


@pytest.fixture
def unit_store():
    return FakeCatalogue(units=UNITS)


@pytest.fixture
def unit_service(unit_store):
    return units_service.UnitService(unit_store)


def test_put_creates_then_replaces(unit_service, unit_store):
    new = _unit()
    assert unit_service.put(new, PLATFORM) == (new, True)
    renamed = dataclasses.replace(new, name="Sở Y tế tỉnh")
    assert unit_service.put(renamed, PLATFORM) == (renamed, False)
    assert unit_store.units[new.code] == renamed
    assert unit_store.puts == [new, renamed]


def test_the_admin_of_the_parent_may_put_a_child(unit_service, unit_store):
    child = _unit(code="000.02.13.H17", name="Chi cục Kiểm lâm", parent_code=AGRICULTURE.code)
    assert unit_service.put(child, _admin(AGRICULTURE.code)) == (child, True)
    assert unit_service.put(child, _admin(AGRICULTURE.code)) == (child, False)
    assert unit_store.units[child.code] == child


@pytest.mark.parametrize("actor", [_admin(JUSTICE.code), _admin(""), _admin("000.00.17.H17")])
def test_an_admin_of_another_agency_is_refused_and_nothing_is_stored(unit_service, unit_store, actor):
    child = _unit(code="000.02.13.H17", name="Chi cục Kiểm lâm", parent_code=AGRICULTURE.code)
    with pytest.raises(PermissionDenied) as info:
        unit_service.put(child, actor)
    assert info.value.reason == "OTHER_AGENCY"
    assert info.value.metadata["unit_code"] == AGRICULTURE.code
    assert child.code not in unit_store.units and unit_store.puts == []


def test_an_admin_may_not_move_another_agencys_unit_under_its_own(unit_service, unit_store):
    """The admin of the old district re-parents the provincial Sở Tư pháp (under the province, which
    the district does not administer) under the district and renames it. Only the new parent's
    agency is checked, not the stored unit's current parent: the put must be refused like a
    change by another agency (CatalogueService.update checks the stored and the new owner)."""
    taken_over = dataclasses.replace(JUSTICE, name="Phòng Tư pháp (đã chiếm quyền)", parent_code=DISTRICT.code)
    with pytest.raises(PermissionDenied) as info:
        unit_service.put(taken_over, _admin(DISTRICT.code))
    assert info.value.reason == "OTHER_AGENCY"
    assert unit_store.units[JUSTICE.code] == JUSTICE and unit_store.puts == []


@pytest.mark.parametrize("actor", [_admin(PROVINCE.code), _admin(""), OFFICER,
                                   auth.Principal("officer-x", frozenset({auth.DESK_OFFICER}), "000.00.00.H18")])
def test_a_root_unit_needs_a_service_principal(unit_service, unit_store, actor):
    root = units.Unit("000.00.00.H18", "UBND tỉnh khác", "", UnitKind.PEOPLES_COMMITTEE, UnitLevel.PROVINCE)
    with pytest.raises(PermissionDenied) as info:
        unit_service.put(root, actor)
    assert info.value.reason == "ROOT_UNIT"
    assert root.code not in unit_store.units and unit_store.puts == []
    assert unit_service.put(root, PLATFORM) == (root, True)


def test_changing_an_existing_root_also_needs_a_service_principal(unit_service, unit_store):
    with pytest.raises(PermissionDenied) as info:
        unit_service.put(dataclasses.replace(PROVINCE, name="Đổi tên"), _admin(PROVINCE.code))
    assert info.value.reason == "ROOT_UNIT"
    assert unit_store.units[PROVINCE.code] == PROVINCE


def test_an_invalid_unit_is_refused_before_anything_is_stored(unit_service, unit_store):
    with pytest.raises(InvalidArgument):
        unit_service.put(_unit(parent_code="000.99.99.H17"), PLATFORM)
    with pytest.raises(InvalidArgument):  # a desk list on a department, even from the parent's admin
        unit_service.put(_unit(receives_for=(JUSTICE.code,)), _admin(PROVINCE.code))
    assert unit_store.puts == []


def test_put_refuses_the_loop_a_then_b(unit_service, unit_store):
    b = _unit(code="000.00.32.H17", name="B", parent_code="")
    a = _unit(code="000.00.31.H17", name="A", parent_code=b.code)
    unit_service.put(b, PLATFORM)
    unit_service.put(a, PLATFORM)
    with pytest.raises(InvalidArgument) as info:
        unit_service.put(dataclasses.replace(b, parent_code=a.code), PLATFORM)
    assert _fields(info.value) == ["unit.parent_code"]
    assert unit_store.units[b.code] == b and unit_store.puts == [b, a]


def test_get_returns_the_unit_its_ancestors_children_and_served_units(unit_service):
    view = unit_service.get(DISTRICT_DESK.code)
    assert view == units_service.UnitView(DISTRICT_DESK, [PROVINCE, DISTRICT], [],
                                    sorted([DISTRICT_DESK, *DISTRICT_OFFICES], key=lambda u: u.code))
    view = unit_service.get(f"  {AGRICULTURE.code} ")
    assert (view.unit, view.ancestors, view.children, view.serves) == (AGRICULTURE, [PROVINCE], [LAND_OFFICE],
                                                                       [AGRICULTURE])
    assert unit_service.get(CENTRE.code).serves == sorted(UNITS, key=lambda u: u.code)


@pytest.mark.parametrize("code", ["999.99.99.H17", "", "   "])
def test_get_of_an_unknown_code_is_not_found(unit_service, code):
    with pytest.raises(NotFound) as info:
        unit_service.get(code)
    assert info.value.reason == "UNIT_NOT_FOUND"


def test_list_filters_by_parent_depth_and_kind(unit_service):
    assert unit_service.list() == sorted(UNITS, key=lambda u: u.code)
    assert unit_service.list(PROVINCE.code) == TREE.children(PROVINCE.code)
    assert LAND_OFFICE not in unit_service.list(PROVINCE.code)
    assert LAND_OFFICE in unit_service.list(PROVINCE.code, descendants=True)
    assert _codes_of(unit_service.list(PROVINCE.code, descendants=True, kind=UnitKind.DESK)) == [
        CENTRE.code, DISTRICT_DESK.code]
    assert _codes_of(unit_service.list(PROVINCE.code, kind=UnitKind.DESK)) == [CENTRE.code]
    assert unit_service.list(DISTRICT.code, kind=UnitKind.DEPARTMENT) == DISTRICT_OFFICES
    assert unit_service.list(kind=UnitKind.PEOPLES_COMMITTEE) == [PROVINCE, DISTRICT, COMMUNE, DISTRICT_COMMUNE]
    assert unit_service.list(LAND_OFFICE.code) == []


def test_list_of_an_unknown_parent_is_not_found(unit_service):
    with pytest.raises(NotFound) as info:
        unit_service.list("999.99.99.H17", descendants=True)
    assert info.value.reason == "UNIT_NOT_FOUND"


# === 3. IntakeService.submit: the shared-desk rule ================================================

@pytest.fixture
def dossiers():
    return FakeDossiers()


@pytest.fixture
def sequence():
    return FakeSequence()


@pytest.fixture
def intake(dossiers, sequence):
    catalogue = FakeCatalogue(PROCEDURES, UNITS)
    return service.IntakeService(dossiers, catalogue, sequence, WorkingCalendar(), clock=lambda: NOW)


def _cmd(procedure: catalogue.Procedure, **changes) -> domain.SubmitDossier:
    return domain.SubmitDossier(**{"request_id": "req-1", "procedure_code": procedure.code, "applicant": APPLICANT,
                                   "channel": domain.Channel.IN_PERSON, **changes})


def test_a_desk_that_does_not_serve_the_unit_is_refused_and_names_the_desks_that_do(intake, dossiers, sequence):
    with pytest.raises(FailedPrecondition) as info:
        intake.submit(_cmd(P_JUSTICE), DISTRICT_OFFICER)
    error = info.value
    assert error.reason == "DESK_DOES_NOT_SERVE"
    assert error.metadata == {"unit_code": DISTRICT_DESK.code, "competent_unit_code": JUSTICE.code,
                              "desks": f"{CENTRE.code},{JUSTICE.code}"}
    for unit in (CENTRE, JUSTICE):
        assert f"{unit.code} ({unit.name})" in error.message
    assert dossiers.items == {} and dossiers.attempts == [] and dossiers.events == []
    assert sequence.taken_calls == []


@pytest.mark.parametrize("actor, procedure, desks", [
    (DISTRICT_OFFICER, P_DISTRICT_COMMUNE, [CENTRE.code, DISTRICT_COMMUNE.code]),  # the district's own commune
    (DISTRICT_OFFICER, P_LAND, [CENTRE.code, LAND_OFFICE.code]),
    (auth.Principal("officer-commune", frozenset({auth.DESK_OFFICER}), COMMUNE.code), P_JUSTICE,
     [CENTRE.code, JUSTICE.code]),  # no receives_for: only its own procedures
    (auth.Principal("officer-agri", frozenset({auth.DESK_OFFICER}), AGRICULTURE.code), P_LAND,
     [CENTRE.code, LAND_OFFICE.code]),  # a parent department does not receive for its sub-unit
    (auth.Principal("officer-commune", frozenset({auth.DESK_OFFICER}), COMMUNE.code), P_OFFICE,
     [CENTRE.code, DISTRICT_DESK.code, OFFICE.code]),
])
def test_desks_that_do_not_serve_are_refused(intake, dossiers, actor, procedure, desks):
    with pytest.raises(FailedPrecondition) as info:
        intake.submit(_cmd(procedure), actor)
    assert info.value.reason == "DESK_DOES_NOT_SERVE"
    assert info.value.metadata["desks"] == ",".join(desks)
    assert dossiers.items == {} and dossiers.attempts == []


def test_a_service_naming_a_desk_that_does_not_serve_is_refused_too(intake, dossiers):
    with pytest.raises(FailedPrecondition) as info:
        intake.submit(_cmd(P_COMMUNE, receiving_unit_code=DISTRICT_DESK.code), PLATFORM)
    assert info.value.reason == "DESK_DOES_NOT_SERVE"
    assert dossiers.items == {}


@pytest.mark.parametrize("actor, procedure", [
    (OFFICER, P_JUSTICE), (OFFICER, P_LAND), (OFFICER, P_COMMUNE), (OFFICER, P_OFFICE),
    (OFFICER, P_DISTRICT_COMMUNE), (DISTRICT_OFFICER, P_OFFICE),
    (auth.Principal("officer-justice", frozenset({auth.DESK_OFFICER}), JUSTICE.code), P_JUSTICE),
])
def test_a_desk_serving_the_unit_receives_the_dossier(intake, dossiers, sequence, actor, procedure):
    dossier = intake.submit(_cmd(procedure), actor).dossier
    assert dossier.code.startswith(actor.agency + "-")
    assert dossier.code == codes.dossier_code(actor.agency, dt.date(2026, 11, 30), 1)
    assert (dossier.receiving_unit.code, dossier.receiving_unit.name) == (BY_CODE[actor.agency].code,
                                                                          BY_CODE[actor.agency].name)
    assert dossier.status == S.RECEIVED
    assert dossiers.items == {dossier.code: dossier}
    assert sequence.taken_calls == [(actor.agency, dt.date(2026, 11, 30), 1)]


def test_an_online_dossier_goes_to_the_competent_unit(intake):
    dossier = intake.submit(_cmd(P_LAND, channel=domain.Channel.ONLINE), CITIZEN).dossier
    assert dossier.receiving_unit.code == LAND_OFFICE.code and dossier.code.startswith(LAND_OFFICE.code + "-")


# === 4. result actions (9 and 10) =================================================================

def _dossier(status=S.RECEIVED, **changes) -> domain.Dossier:
    received = dt.datetime(2026, 11, 30, 9, 0, tzinfo=VIETNAM)
    base = domain.Dossier(
        code=f"{CENTRE.code}-261130-0001", request_id="r", fingerprint="f", procedure_code=P_JUSTICE.code,
        procedure_name=P_JUSTICE.name, applicant=APPLICANT, channel=domain.Channel.IN_PERSON, status=status,
        receiving_unit=CENTRE, received_at=received, appointment_at=APPOINTMENT,
        legal_duration=worktime.WorkingDuration(days=3), lookup_secret="7KQ4M2XP",
        history=[domain.Transition(received, status, OFFICER.subject)])
    return dataclasses.replace(base, **changes)


@pytest.fixture
def desk():
    """An IntakeService over one stored dossier, with a clock the test moves."""
    store, clock = FakeDossiers(), Clock(dt.datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    return service.IntakeService(store, catalogue=None, sequence=None, clock=clock), store, clock


def _store(store: FakeDossiers, dossier: domain.Dossier) -> domain.Dossier:
    store.items[dossier.code] = dossier
    return dossier


def test_record_result_finishes_the_dossier(desk):
    intake, store, clock = desk
    d = _store(store, _dossier())
    finished = intake.record_result(d.code, "  Đã cấp Phiếu lý lịch tư pháp số 123/LLTP  ", OFFICER)
    assert finished.status == S.FINISHED and finished.version == d.version + 1
    assert finished.result == domain.ProcessingResult(clock.now, "Đã cấp Phiếu lý lịch tư pháp số 123/LLTP",
                                                      domain.Timeliness.EARLY, OFFICER.subject)
    assert finished.history[-1].status == S.FINISHED and finished.history[-1].actor == OFFICER.subject
    assert "Đã cấp Phiếu lý lịch tư pháp số 123/LLTP" in finished.history[-1].note
    assert "Trước hạn" in finished.history[-1].note
    assert store.items[d.code] is finished
    assert store.events == [domain.DossierFinished(finished)]


@pytest.mark.parametrize("status", [S.RECEIVED, S.PROCESSING, S.PAYMENT_REQUESTED])
def test_record_result_from_each_working_status(desk, status):
    intake, store, _ = desk
    d = _store(store, _dossier(status=status))
    assert intake.record_result(d.code, "Xong", OFFICER).status == S.FINISHED


@pytest.mark.parametrize("finished_at, expected", [
    # Wednesday 2/12, any time: a day before the appointment's day (Thursday 3/12, 09:00).
    (dt.datetime(2026, 12, 2, 16, 59, tzinfo=VIETNAM), domain.Timeliness.EARLY),
    (dt.datetime(2026, 12, 2, 23, 30, tzinfo=VIETNAM), domain.Timeliness.EARLY),  # 16:30 UTC
    # 00:30 on Thursday in Vietnam is still Wednesday in UTC: the appointment's day, on time.
    (dt.datetime(2026, 12, 2, 17, 30, tzinfo=UTC), domain.Timeliness.ON_TIME),
    (dt.datetime(2026, 12, 3, 8, 59, tzinfo=VIETNAM), domain.Timeliness.ON_TIME),
    (dt.datetime(2026, 12, 3, 9, 0, tzinfo=VIETNAM), domain.Timeliness.ON_TIME),  # at the appointment
    (dt.datetime(2026, 12, 3, 9, 0, 0, 1000, tzinfo=VIETNAM), domain.Timeliness.LATE),
    (dt.datetime(2026, 12, 3, 16, 0, tzinfo=VIETNAM), domain.Timeliness.LATE),
    (dt.datetime(2026, 12, 10, 9, 0, tzinfo=VIETNAM), domain.Timeliness.LATE),
])
def test_timeliness_against_the_appointment(desk, finished_at, expected):
    intake, store, clock = desk
    clock.now = finished_at
    d = _store(store, _dossier())
    assert intake.record_result(d.code, "Xong", OFFICER).result.timeliness == expected
    assert desk_actions.timeliness(finished_at, APPOINTMENT, VIETNAM) == expected
    # The same, with the appointment as read back from the database (UTC).
    assert desk_actions.timeliness(finished_at, APPOINTMENT.astimezone(UTC), VIETNAM) == expected


def test_timeliness_uses_vietnam_days_not_utc_days():
    appointment = dt.datetime(2026, 12, 3, 2, 0, tzinfo=UTC)           # 09:00 Thursday in Vietnam
    finished = dt.datetime(2026, 12, 2, 18, 0, tzinfo=UTC)             # 01:00 Thursday in Vietnam
    assert desk_actions.timeliness(finished, appointment, VIETNAM) == domain.Timeliness.ON_TIME
    assert desk_actions.timeliness(finished, appointment, UTC) == domain.Timeliness.EARLY  # UTC days differ
    assert desk_actions.timeliness(finished, None, VIETNAM) == domain.Timeliness.ON_TIME


@pytest.mark.parametrize("summary", ["", "   ", "\n"])
def test_record_result_needs_a_summary(desk, summary):
    intake, store, _ = desk
    d = _store(store, _dossier())
    with pytest.raises(InvalidArgument) as info:
        intake.record_result(d.code, summary, OFFICER)
    assert _fields(info.value) == ["summary"]
    assert store.items[d.code] is d and store.items[d.code].version == 1 and store.events == []


@pytest.mark.parametrize("status", [S.NEW, S.REFUSED, S.SUPPLEMENT_REQUESTED, S.FINISHED, S.RESULT_RETURNED])
def test_record_result_outside_its_statuses_is_refused(desk, status):
    intake, store, _ = desk
    d = _store(store, _dossier(status=status))
    with pytest.raises(FailedPrecondition) as info:
        intake.record_result(d.code, "Xong", OFFICER)
    assert info.value.reason == "ACTION_NOT_ALLOWED_IN_STATUS"
    assert info.value.metadata == {"status": str(int(status)), "action": "record_result"}
    assert store.items[d.code] is d and store.events == []


def test_record_result_by_another_agency_is_refused(desk):
    intake, store, _ = desk
    d = _store(store, _dossier())
    with pytest.raises(PermissionDenied):
        intake.record_result(d.code, "Xong", DISTRICT_OFFICER)
    assert store.items[d.code] is d


def _finished(**changes) -> domain.Dossier:
    at = dt.datetime(2026, 12, 2, 10, 0, tzinfo=VIETNAM)
    base = _dossier(status=S.FINISHED, version=2,
                    result=domain.ProcessingResult(at, "Đã cấp phiếu", domain.Timeliness.EARLY, OFFICER.subject))
    return dataclasses.replace(base, **changes)


def test_return_at_the_desk_to_a_named_person(desk):
    intake, store, clock = desk
    d = _store(store, _finished())
    returned = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK,
                                    receiver_name=" Lê Văn Bình ", receiver_id_number=" 001203004567 ",
                                    note=" Nhận thay theo giấy ủy quyền ")
    assert returned.status == S.RESULT_RETURNED and returned.version == 3
    assert returned.result_return == domain.ResultReturn(
        clock.now, domain.ReturnMethod.AT_DESK, OFFICER.subject, "Lê Văn Bình",
        identity.personal_id_number("001203004567"), "",
        "Nhận thay theo giấy ủy quyền")
    assert returned.result == d.result
    assert "Lê Văn Bình" in returned.history[-1].note and returned.history[-1].status == S.RESULT_RETURNED
    assert store.items[d.code] is returned and store.events == [domain.DossierResultReturned(returned)]


@pytest.mark.parametrize("name, id_number, fields", [
    ("", "001203004567", ["receiver_name"]),
    ("   ", "001203004567", ["receiver_name"]),
    ("Lê Văn Bình", "", ["receiver_identity_document"]),  # neither field: the new one is named
    ("Lê Văn Bình", "12345678901", ["receiver_id_number"]),    # 11 digits
    ("Lê Văn Bình", "0012030045678", ["receiver_id_number"]),  # 13 digits
    ("Lê Văn Bình", "00120300456A", ["receiver_id_number"]),
    ("Lê Văn Bình", "００１２０３００４５６７", ["receiver_id_number"]),  # full-width digits
    ("", "", ["receiver_name", "receiver_identity_document"]),
])
def test_return_at_the_desk_needs_a_name_and_a_12_digit_id(desk, name, id_number, fields):
    intake, store, _ = desk
    d = _store(store, _finished())
    with pytest.raises(InvalidArgument) as info:
        intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name=name,
                             receiver_id_number=id_number)
    assert _fields(info.value) == fields
    assert store.items[d.code] is d and store.items[d.code].version == 2 and store.events == []


def test_return_by_post_with_a_tracking_number(desk):
    intake, store, clock = desk
    d = _store(store, _finished(postal_return_allowed=True))
    returned = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.BY_POST,
                                    postal_tracking_number=" EB123456789VN ")
    assert returned.status == S.RESULT_RETURNED
    assert returned.result_return == domain.ResultReturn(clock.now, domain.ReturnMethod.BY_POST, OFFICER.subject,
                                                         postal_tracking_number="EB123456789VN")
    assert "EB123456789VN" in returned.history[-1].note
    assert store.events == [domain.DossierResultReturned(returned)]


@pytest.mark.parametrize("tracking", ["", "   ", "12345", "EB 123456789VN", "x" * 41])
def test_return_by_post_needs_a_tracking_number(desk, tracking):
    intake, store, _ = desk
    d = _store(store, _finished(postal_return_allowed=True))
    with pytest.raises(InvalidArgument) as info:
        intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.BY_POST, postal_tracking_number=tracking)
    assert _fields(info.value) == ["postal_tracking_number"]
    assert store.items[d.code] is d and store.events == []


def test_return_by_post_where_the_procedure_does_not_allow_it(desk):
    intake, store, _ = desk
    d = _store(store, _finished(postal_return_allowed=False))
    with pytest.raises(FailedPrecondition) as info:
        intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.BY_POST,
                             postal_tracking_number="EB123456789VN")
    assert info.value.reason == "POSTAL_RETURN_NOT_ALLOWED"
    assert info.value.metadata == {"procedure_code": P_JUSTICE.code}
    assert store.items[d.code] is d and store.events == []


def test_return_online_needs_nothing_more(desk):
    intake, store, clock = desk
    d = _store(store, _finished())
    returned = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.ONLINE)
    assert returned.status == S.RESULT_RETURNED
    assert returned.result_return == domain.ResultReturn(clock.now, domain.ReturnMethod.ONLINE, OFFICER.subject)
    assert store.events == [domain.DossierResultReturned(returned)]


@pytest.mark.parametrize("method", [0, 4, -1, 99])
def test_return_with_an_unknown_method_is_refused(desk, method):
    intake, store, _ = desk
    d = _store(store, _finished())
    with pytest.raises(InvalidArgument) as info:
        intake.return_result(d.code, OFFICER, method=method)
    assert _fields(info.value) == ["method"]
    assert store.items[d.code] is d and store.events == []


@pytest.mark.parametrize("status", [S.NEW, S.RECEIVED, S.REFUSED, S.PROCESSING, S.SUPPLEMENT_REQUESTED])
def test_return_only_from_finished(desk, status):
    intake, store, _ = desk
    d = _store(store, _dossier(status=status))
    with pytest.raises(FailedPrecondition) as info:
        intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.ONLINE)
    assert info.value.reason == "ACTION_NOT_ALLOWED_IN_STATUS"
    assert info.value.metadata == {"status": str(int(status)), "action": "return_result"}
    assert store.items[d.code] is d and store.events == []


def test_a_second_return_is_refused(desk):
    intake, store, _ = desk
    d = _store(store, _finished())
    returned = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.ONLINE)
    with pytest.raises(FailedPrecondition) as info:
        intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.AT_DESK, receiver_name="Lê Văn Bình",
                             receiver_id_number="001203004567")
    assert info.value.reason == "ACTION_NOT_ALLOWED_IN_STATUS"
    assert info.value.metadata["status"] == str(int(S.RESULT_RETURNED))
    assert store.items[d.code] is returned and returned.version == 3 and len(store.events) == 1


def test_received_finished_returned_end_to_end(desk):
    intake, store, clock = desk
    d = _store(store, _dossier())
    intake.record_result(d.code, "Đã cấp phiếu", OFFICER)
    clock.now = dt.datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
    done = intake.return_result(d.code, OFFICER, method=domain.ReturnMethod.ONLINE)
    assert [t.status for t in done.history] == [S.RECEIVED, S.FINISHED, S.RESULT_RETURNED]
    assert done.version == 3
    assert [type(e) for e in store.events] == [domain.DossierFinished, domain.DossierResultReturned]


# === 5. issued_forms.py ===========================================================================

def _text(pdf: bytes) -> str:
    """Every page's text, NFC, whitespace runs made one space (as in test_intake_forms)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text))


def _qr(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format.name == "QRCode"]


SUPPLEMENT_REASON = "Hồ sơ thiếu giấy tờ chứng minh quan hệ hôn nhân"
SUPPLEMENT_DOCUMENTS = ["Bản sao chứng thực Giấy chứng nhận kết hôn", "Giấy ủy quyền có chứng thực"]
REFUSAL_REASONS = ["Thủ tục không thuộc thẩm quyền giải quyết của Trung tâm.",
                   "Hồ sơ thiếu chữ ký của người đại diện theo pháp luật."]


def _received_with_documents() -> domain.Dossier:
    return _dossier(documents=[domain.SubmittedDocument("Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", 1, 1),
                               domain.SubmittedDocument("Bản sao Căn cước công dân", 3, 2)])


def test_receipt_is_issued_once_the_dossier_has_an_appointment():
    d = _received_with_documents()
    pdf = issued_forms.render(d, Form.RECEIPT, LOOKUP_URL)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    for expected in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", d.code, "Nguyễn Thị Hồng Nhung",
                     "Mã tra cứu: 7KQ4M2XP", "1 Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp Bản chính 01",
                     "2 Bản sao Căn cước công dân Bản chụp 02",
                     "Thời gian trả kết quả giải quyết hồ sơ: 09 giờ 00 phút, ngày 03/12/2026",
                     f"Bộ phận Một cửa — {CENTRE.name}", OFFICER.subject):
        assert expected in text, expected


def test_receipt_qr_code_opens_the_lookup_page_for_the_dossier():
    d = _dossier()
    assert _qr(issued_forms.render(d, Form.RECEIPT, LOOKUP_URL)) == [f"{LOOKUP_URL}?ma={d.code}"]


def test_no_receipt_before_the_appointment():
    online = _dossier(status=S.NEW, appointment_at=None, channel=domain.Channel.ONLINE)
    with pytest.raises(FailedPrecondition) as info:
        issued_forms.render(online, Form.RECEIPT, LOOKUP_URL)
    assert info.value.reason == "FORM_NOT_ISSUED"
    assert info.value.metadata == {"code": online.code, "form": "1"}


def test_receipt_of_an_accepted_online_dossier_names_the_accepting_officer():
    """Form 01's "NGƯỜI TIẾP NHẬN HỒ SƠ" is the officer who received the dossier. For an online
    dossier that is whoever accepted it (status 1 → 2), not the citizen who registered it, whose
    subject is history[0].actor."""
    store, catalogue = FakeDossiers(), FakeCatalogue(PROCEDURES, UNITS)
    intake = service.IntakeService(store, catalogue, FakeSequence(), WorkingCalendar(), clock=lambda: NOW)
    registered = intake.submit(_cmd(P_JUSTICE, channel=domain.Channel.ONLINE), CITIZEN).dossier
    justice_officer = auth.Principal("officer-justice", frozenset({auth.DESK_OFFICER}), JUSTICE.code)
    accepted = intake.accept(registered.code, justice_officer)
    text = _text(issued_forms.render(accepted, Form.RECEIPT, LOOKUP_URL))
    assert justice_officer.subject in text
    assert CITIZEN.subject not in text


def _supplemented() -> domain.Dossier:
    store, clock = FakeDossiers(), Clock(dt.datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    intake = service.IntakeService(store, catalogue=None, sequence=None, clock=clock)
    d = _store(store, _dossier())
    return intake.request_supplement(d.code, SUPPLEMENT_REASON, SUPPLEMENT_DOCUMENTS, OFFICER)


def _refused(status=S.RECEIVED, **changes) -> domain.Dossier:
    store, clock = FakeDossiers(), Clock(dt.datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    intake = service.IntakeService(store, catalogue=None, sequence=None, clock=clock)
    d = _store(store, _dossier(status=status, **changes))
    return intake.refuse(d.code, REFUSAL_REASONS, OFFICER)


def test_supplement_request_form_once_a_supplement_was_requested():
    with pytest.raises(FailedPrecondition) as info:
        issued_forms.render(_dossier(), Form.SUPPLEMENT_REQUEST, LOOKUP_URL)
    assert info.value.reason == "FORM_NOT_ISSUED" and info.value.metadata["form"] == "2"

    pdf = issued_forms.render(_supplemented(), Form.SUPPLEMENT_REQUEST, LOOKUP_URL)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text
    assert f"Lý do: {SUPPLEMENT_REASON}" in text
    for number, document in enumerate(SUPPLEMENT_DOCUMENTS, start=1):
        assert f"{number} {document}" in text
    assert "Ngày 01 tháng 12 năm 2026" in text  # the day it was requested, not today
    assert OFFICER.subject in text


def test_refusal_form_once_refused():
    with pytest.raises(FailedPrecondition) as info:
        issued_forms.render(_dossier(), Form.REFUSAL, LOOKUP_URL)
    assert info.value.reason == "FORM_NOT_ISSUED" and info.value.metadata["form"] == "3"

    pdf = issued_forms.render(_refused(), Form.REFUSAL, LOOKUP_URL)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    for number, reason in enumerate(REFUSAL_REASONS, start=1):
        assert f"{number}. {reason}" in text
    assert "Ngày 01 tháng 12 năm 2026" in text


def test_an_online_dossier_refused_before_acceptance_has_a_refusal_but_no_receipt():
    refused = _refused(status=S.NEW, appointment_at=None, channel=domain.Channel.ONLINE)
    assert issued_forms.issued(refused) == [Form.REFUSAL]
    assert issued_forms.render(refused, Form.REFUSAL, LOOKUP_URL).startswith(b"%PDF")
    with pytest.raises(FailedPrecondition):
        issued_forms.render(refused, Form.RECEIPT, LOOKUP_URL)


@pytest.mark.parametrize("make, form", [(_received_with_documents, Form.RECEIPT),
                                        (_supplemented, Form.SUPPLEMENT_REQUEST), (_refused, Form.REFUSAL)])
def test_rendering_the_same_dossier_twice_gives_identical_bytes(make, form):
    d = make()
    assert issued_forms.render(d, form, LOOKUP_URL) == issued_forms.render(d, int(form), LOOKUP_URL)
    assert issued_forms.render(d, form, LOOKUP_URL) == issued_forms.render(make(), form, LOOKUP_URL)


def test_issued_lists_the_forms_so_far():
    assert issued_forms.issued(_dossier(status=S.NEW, appointment_at=None)) == []
    assert issued_forms.issued(_dossier()) == [Form.RECEIPT]
    assert issued_forms.issued(_supplemented()) == [Form.RECEIPT, Form.SUPPLEMENT_REQUEST]
    assert issued_forms.issued(_refused()) == [Form.RECEIPT, Form.REFUSAL]
    everything = dataclasses.replace(_supplemented(), refusal_reasons=tuple(REFUSAL_REASONS))
    assert issued_forms.issued(everything) == [Form.RECEIPT, Form.SUPPLEMENT_REQUEST, Form.REFUSAL]


def test_titles_and_file_names():
    code = _dossier().code
    assert issued_forms.file_name(Form.RECEIPT, code) == f"giay-tiep-nhan-{code}.pdf"
    assert issued_forms.file_name(Form.SUPPLEMENT_REQUEST, code) == f"phieu-yeu-cau-bo-sung-{code}.pdf"
    assert issued_forms.file_name(Form.REFUSAL, code) == f"phieu-tu-choi-{code}.pdf"
    assert set(issued_forms.TITLES_VI) == set(Form)


# === 6. form_filing.form_issued ===================================================================

@pytest.mark.parametrize("make, form", [(_received_with_documents, Form.RECEIPT),
                                        (_supplemented, Form.SUPPLEMENT_REQUEST), (_refused, Form.REFUSAL)])
def test_form_issued_message(make, form):
    d = make()
    message = form_filing.form_issued(d, form, LOOKUP_URL)
    assert message.pdf == issued_forms.render(d, form, LOOKUP_URL)
    assert message.sha256 == hashlib.sha256(message.pdf).hexdigest()
    assert message.dossier_code == d.code
    assert message.agency_code == d.receiving_unit.code == CENTRE.code
    assert message.form == int(form)
    assert message.title == issued_forms.TITLES_VI[form]
    assert message.file_name == issued_forms.file_name(form, d.code)
    assert message.header.producer == "intake" and message.header.event_id
    assert message.request_id.startswith(f"form-{int(form)}-{d.code}-")


def test_form_issued_request_id_is_stable_and_follows_the_content():
    d = _dossier()
    first = form_filing.form_issued(d, Form.RECEIPT, LOOKUP_URL)
    again = form_filing.form_issued(dataclasses.replace(d), Form.RECEIPT, LOOKUP_URL)
    assert again.request_id == first.request_id and again.sha256 == first.sha256
    assert again.header.event_id != first.header.event_id  # each publication is its own event

    moved = dataclasses.replace(d, appointment_at=APPOINTMENT + dt.timedelta(days=2))
    reissued = form_filing.form_issued(moved, Form.RECEIPT, LOOKUP_URL)
    assert reissued.sha256 != first.sha256
    assert reissued.request_id != first.request_id
    assert reissued.request_id.startswith(f"form-1-{d.code}-")

    # Other forms of the same dossier never share the receipt's request_id.
    refused = _refused()
    assert form_filing.form_issued(refused, Form.REFUSAL, LOOKUP_URL).request_id != \
        form_filing.form_issued(refused, Form.RECEIPT, LOOKUP_URL).request_id


def test_form_issued_for_a_form_never_issued_raises():
    with pytest.raises(FailedPrecondition) as info:
        form_filing.form_issued(_dossier(), Form.REFUSAL, LOOKUP_URL)
    assert info.value.reason == "FORM_NOT_ISSUED"


# === 7. the Mongo mapping, without a server =======================================================

def _through_bson(son) -> mongo.DossierDoc:
    """What MongoDB would store and give back: BSON bytes, naive UTC datetimes, milliseconds."""
    return mongo.DossierDoc._from_son(bson.decode(bson.encode(dict(son))))


def _complete() -> domain.Dossier:
    """A dossier with every new field filled, times to the millisecond (what MongoDB keeps)."""
    unit = units.Unit(CENTRE.code, CENTRE.name, CENTRE.parent_code)  # the adapter keeps code, name, parent
    at = dt.datetime(2026, 12, 1, 3, 0, 0, 123000, tzinfo=UTC)
    return _dossier(
        status=S.RESULT_RETURNED, version=5, receiving_unit=unit, postal_return_allowed=True,
        supplement_requested=True,
        supplement_request=domain.SupplementRequest(at, SUPPLEMENT_REASON, tuple(SUPPLEMENT_DOCUMENTS), "officer-a"),
        refusal_reasons=tuple(REFUSAL_REASONS),
        result=domain.ProcessingResult(at + dt.timedelta(days=1), "Đã cấp phiếu", domain.Timeliness.LATE,
                                       "officer-b"),
        result_return=domain.ResultReturn(at + dt.timedelta(days=2), domain.ReturnMethod.BY_POST, "officer-c",
                                          postal_tracking_number="EB123456789VN", note="Gửi bảo đảm"),
        documents=[domain.SubmittedDocument("Tờ khai", 1, 1)],
        fees=[catalogue.Fee("Lệ phí", 200000, note="", exemptions=("Người có công",))])


def test_a_dossier_with_the_new_fields_round_trips_through_its_document():
    d = _complete()
    back = mongo._from_doc(_through_bson(mongo._to_doc(d, []).to_mongo()))
    assert back == d
    assert back.result.timeliness is domain.Timeliness.LATE
    assert back.result_return.method is domain.ReturnMethod.BY_POST
    assert back.supplement_request.documents_to_add == tuple(SUPPLEMENT_DOCUMENTS)
    assert back.result.finished_at.tzinfo is not None


def test_mutable_holds_the_new_fields_as_plain_values():
    d = _complete()
    m = mongo._mutable(d)
    assert m["refusal_reasons"] == REFUSAL_REASONS
    assert m["supplement_request"] == {"requested_at": d.supplement_request.requested_at,
                                       "reason": SUPPLEMENT_REASON, "documents_to_add": SUPPLEMENT_DOCUMENTS,
                                       "requested_by": "officer-a"}
    assert type(m["result"]["timeliness"]) is int and m["result"]["timeliness"] == 3
    assert type(m["result_return"]["method"]) is int and m["result_return"]["method"] == 2
    assert m["result_return"]["postal_tracking_number"] == "EB123456789VN"
    bson.encode(m)  # encodable as it is ($set)


def test_an_update_written_with_mutable_reads_back_as_the_changed_dossier():
    """The adapter's update is {"$set": _mutable(new)} on the stored document: applied here by hand."""
    received = _dossier(receiving_unit=units.Unit(CENTRE.code, CENTRE.name, CENTRE.parent_code),
                        postal_return_allowed=True)
    stored = mongo._to_doc(received, []).to_mongo().to_dict()
    changed = _complete()
    changed = dataclasses.replace(changed, documents=received.documents, fees=received.fees)
    stored.update(mongo._mutable(changed))
    assert mongo._from_doc(_through_bson(stored)) == changed


def test_a_dossier_without_the_new_fields_maps_to_empty_values_and_back():
    d = _dossier(receiving_unit=units.Unit(CENTRE.code, CENTRE.name, CENTRE.parent_code))
    m = mongo._mutable(d)
    assert (m["supplement_request"], m["refusal_reasons"], m["result"], m["result_return"]) == ({}, [], {}, {})
    back = mongo._from_doc(_through_bson(mongo._to_doc(d, []).to_mongo()))
    assert back == d
    assert (back.supplement_request, back.refusal_reasons, back.result, back.result_return) == (None, (), None, None)
    assert back.postal_return_allowed is False


def test_an_older_document_without_the_new_fields_still_loads():
    d = _dossier(receiving_unit=units.Unit(CENTRE.code, CENTRE.name, CENTRE.parent_code))
    son = mongo._to_doc(d, []).to_mongo().to_dict()
    for name in ("supplement_request", "refusal_reasons", "result", "result_return", "postal_return_allowed"):
        son.pop(name, None)
    back = mongo._from_doc(_through_bson(son))
    assert back == d
