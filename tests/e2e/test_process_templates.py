"""Process templates through the running routing api, its units checked against the running
intake (the demo units the seed loaded): the shipped file imports, reads back, and a bad file or
template is refused naming its line or field with nothing stored."""

from __future__ import annotations

import subprocess

import grpc
import pytest
from conftest import bearer, token

from onestop.routing.v1 import routing_pb2 as pb
from onestop_routing.seed import templates_yaml

from stack import VENV_BIN
from support import error_info

SERVICE = bearer(token(roles=("service",), agency="", subject="e2e-seed"))
DISTRICT = "000.00.40.H17"
DISTRICT_ADMIN = bearer(token(roles=("agency_admin",), agency=DISTRICT, subject="admin-huyen"))
OFFICER = bearer(token(roles=("processing_officer",), agency="000.01.13.H17", subject="cv-vpdk"))


def _import(routing, content: bytes, metadata=SERVICE):
    return routing.ImportProcessTemplates(pb.ImportProcessTemplatesRequest(
        content=content, format=pb.TEMPLATE_FILE_FORMAT_YAML), metadata=metadata, timeout=30)


@pytest.fixture()
def imported(routing):
    """The shipped templates, imported (idempotent: a second import stores nothing)."""
    first = _import(routing, templates_yaml())
    return first


def test_the_shipped_templates_import_once_and_read_back(routing, platform, imported):
    assert len(imported.stored) + imported.unchanged_count == 14
    again = _import(routing, templates_yaml())
    assert (len(again.stored), again.unchanged_count) == (0, 14)
    land = routing.GetProcessTemplate(pb.GetProcessTemplateRequest(process_code="QT.DD.02"), metadata=OFFICER,
                                      timeout=10).template
    assert land.version >= 1 and land.published_at.seconds > 0
    assert [s.code for s in land.steps if s.kind == pb.STEP_KIND_EXTERNAL] == ["thue"]
    assert "000.01.15.H17" in {s.performer.unit_code for s in land.steps}  # the tax authority, a demo unit
    listed = routing.ListProcessTemplates(pb.ListProcessTemplatesRequest(agency_code=DISTRICT),
                                          metadata=DISTRICT_ADMIN, timeout=10).templates
    assert ("QT.DD.01", DISTRICT) in {(t.process_code, t.agency_code) for t in listed}
    assert platform.db("routing")["process_templates"].count_documents({}) >= 14


def test_a_bad_line_in_an_import_is_named_and_nothing_is_stored(routing, platform, imported):
    lines = templates_yaml().decode().splitlines()
    at = next(i for i, line in enumerate(lines) if "budget: {days: 2}" in line)
    lines[at] = lines[at].replace("{days: 2}", "{days: -2}")
    changed = "\n".join(lines).replace("name: 'Hộ tịch trong ngày", "name: 'Hộ tịch trong ngày (sửa)", 1)
    before = platform.db("routing")["process_templates"].count_documents({})
    with pytest.raises(grpc.RpcError) as caught:
        _import(routing, changed.encode())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    reason, _, fields = error_info(caught.value)
    assert fields == [f"line {at + 1}: steps[1].budget.days"], fields
    assert platform.db("routing")["process_templates"].count_documents({}) == before  # not even the good change


def test_a_template_naming_a_unit_intake_does_not_know_is_refused(routing, platform, imported):
    land = routing.GetProcessTemplate(pb.GetProcessTemplateRequest(process_code="QT.DD.01", agency_code=DISTRICT),
                                      metadata=DISTRICT_ADMIN, timeout=10).template
    land.steps[2].performer.unit_code = "000.99.40.H17"
    before = platform.db("routing")["process_templates"].count_documents({})
    with pytest.raises(grpc.RpcError) as caught:
        routing.PutProcessTemplate(pb.PutProcessTemplateRequest(template=land), metadata=DISTRICT_ADMIN, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "names unit '000.99.40.H17', which is not in the unit list" in caught.value.details()
    assert error_info(caught.value)[2] == ["steps[2].performer.unit_code"]
    assert platform.db("routing")["process_templates"].count_documents({}) == before


def test_an_agency_admin_stores_a_new_version_of_its_own_and_not_of_every_agencys(routing, imported):
    own = routing.GetProcessTemplate(pb.GetProcessTemplateRequest(process_code="QT.DD.01", agency_code=DISTRICT),
                                     metadata=DISTRICT_ADMIN, timeout=10).template
    own.name = own.name + " (bản sửa)"
    stored = routing.PutProcessTemplate(pb.PutProcessTemplateRequest(template=own, request_id="e2e-t-1"),
                                        metadata=DISTRICT_ADMIN, timeout=10).template
    assert stored.version == own.version + 1
    replay = routing.PutProcessTemplate(pb.PutProcessTemplateRequest(template=own, request_id="e2e-t-1"),
                                        metadata=DISTRICT_ADMIN, timeout=10).template
    assert replay.version == stored.version
    every = routing.GetProcessTemplate(pb.GetProcessTemplateRequest(process_code="QT.DD.01"),
                                       metadata=DISTRICT_ADMIN, timeout=10).template
    with pytest.raises(grpc.RpcError) as caught:
        routing.PutProcessTemplate(pb.PutProcessTemplateRequest(template=every), metadata=DISTRICT_ADMIN, timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(caught.value)[0] == "EVERY_AGENCY_TEMPLATE"


def test_the_seed_make_run_uses_loads_the_shipped_templates_once(platform, routing):
    """`onestop-routing-seed` (make run, after the services are up) imports through the same use
    case, its units checked by the running intake; a second run stores nothing."""
    runs = [subprocess.run([VENV_BIN / "onestop-routing-seed"], env=platform.env("routing"), capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert "0 stored, 14 unchanged" in runs[1].stdout
    assert routing.GetProcessTemplate(pb.GetProcessTemplateRequest(process_code="QT.XD.01"), metadata=SERVICE,
                                      timeout=10).template.steps[2].kind == pb.STEP_KIND_SPLIT
