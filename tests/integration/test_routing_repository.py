"""Routing's Mongo adapter against the real FerretDB."""

from __future__ import annotations

import datetime as dt

from onestop_routing import domain
from onestop_routing.adapters.mongo import MongoCases

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def test_a_case_opens_once_and_remembers_its_event(mongo_db):
    cmd = domain.OpenCase(event_id="e-1", dossier_code="000.00.21.H17-261123-0001", procedure_code="2.001610",
                          procedure_name="Đăng ký thành lập doanh nghiệp tư nhân", receiving_unit_code="000.00.21.H17",
                          receiving_unit_name="Trung tâm", channel=1, applicant_name="Lê Văn Đức",
                          received_at=NOW, due_at=NOW + dt.timedelta(days=3))
    cases = MongoCases()
    assert cases.add_if_new(domain.open_case(cmd, NOW)) is True
    assert cases.add_if_new(domain.open_case(cmd, NOW + dt.timedelta(seconds=5))) is False
    case = cases.get(cmd.dossier_code)
    assert case.applied_event_ids == ["e-1"]
    assert case.opened_at == NOW and case.applicant_name == "Lê Văn Đức"
    assert mongo_db["cases"].count_documents({}) == 1
    assert cases.get("000.00.21.H17-261123-0002") is None
