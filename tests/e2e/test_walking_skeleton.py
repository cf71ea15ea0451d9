"""A dossier submitted at the intake desk opens its case in routing, across both transports."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess

from conftest import UNIT, bearer, token

from onestop.common.v1 import common_pb2
from onestop.routing.v1 import routing_pb2

from support import submit_request, wait_for_case

GRPCURL = pathlib.Path.home() / ".cache/onestop/bin/grpcurl"


def test_submit_returns_a_code_and_appointment_and_routing_opens_the_case(intake, routing):
    response = intake.SubmitDossier(submit_request(), metadata=bearer())
    dossier = response.dossier
    assert re.fullmatch(rf"{re.escape(UNIT)}-\d{{6}}-\d{{4}}", dossier.code)
    assert dossier.status == common_pb2.DOSSIER_STATUS_RECEIVED
    assert dossier.appointment_at.ToDatetime() > dossier.received_at.ToDatetime()
    assert dossier.applicant.full_name == "Nguyễn Thị Hồng Nhung"

    case = wait_for_case(routing, dossier.code, bearer())
    assert (case.state, case.process_code) == (routing_pb2.CASE_STATE_PROCESSING, "QT.DN.01")  # its template runs
    assert case.procedure_code == "2.001610"
    assert case.applicant_name == "Nguyễn Thị Hồng Nhung"
    assert case.due_at == dossier.appointment_at
    assert case.receiving_unit.code == UNIT


def test_a_retried_submit_returns_the_same_dossier(intake, platform):
    request = submit_request()
    first = intake.SubmitDossier(request, metadata=bearer()).dossier
    again = intake.SubmitDossier(request, metadata=bearer()).dossier
    assert again == first
    assert platform.db("intake")["dossiers"].count_documents({"request_id": request.request_id}) == 1


def test_online_submission_waits_for_the_desk_and_opens_no_case(intake, routing, platform):
    citizen = bearer(token(roles=("citizen",), agency="", subject="citizen-079203004567"))
    dossier = intake.SubmitDossier(submit_request(channel=common_pb2.CHANNEL_ONLINE), metadata=citizen).dossier
    assert dossier.status == common_pb2.DOSSIER_STATUS_NEW
    assert not dossier.HasField("appointment_at")
    stored = platform.db("intake")["dossiers"].find_one({"_id": dossier.code})
    assert [e["event_type"] for e in stored["outbox"]] == ["DossierSubmitted"]


def _grpcurl(*args: str, port: int) -> subprocess.CompletedProcess:
    assert GRPCURL.exists(), f"{GRPCURL} is missing: run `make tools`"
    return subprocess.run([str(GRPCURL), "-plaintext", *args, f"127.0.0.1:{port}", *([] if not args else [])],
                          capture_output=True, text=True, timeout=30)


def test_grpcurl_lists_the_service_and_submits_through_reflection(platform):
    listed = subprocess.run([str(GRPCURL), "-plaintext", f"127.0.0.1:{platform.intake_port}", "list"],
                            capture_output=True, text=True, timeout=30)
    assert "onestop.intake.v1.IntakeService" in listed.stdout.split()
    body = json.dumps({"procedure_code": "1.013225", "channel": "CHANNEL_IN_PERSON",
                       "applicant": {"kind": "APPLICANT_KIND_PERSON", "full_name": "Phạm Quốc Bảo",
                                     "citizen_id": "001099012345"},
                       "receiving_unit_code": "000.20.31.H17",
                       "documents": [{"name": n, "copy_kind": "COPY_KIND_ORIGINAL"} for n in [
                           "Đơn đề nghị cấp giấy phép xây dựng",
                           "Giấy tờ chứng minh quyền sử dụng đất theo quy định của pháp luật về đất đai",
                           "Hai bộ bản vẽ thiết kế xây dựng (mặt bằng, mặt cắt, mặt đứng, móng, đấu nối hạ tầng)"]]},
                      ensure_ascii=False)
    officer = token(agency="000.20.31.H17")
    done = subprocess.run([str(GRPCURL), "-plaintext", "-H", f"authorization: Bearer {officer}", "-d", body,
                           f"127.0.0.1:{platform.intake_port}", "onestop.intake.v1.IntakeService/SubmitDossier"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dossier"]["code"].startswith("000.20.31.H17-")
