"""Desk actions over gRPC against the running intake and routing processes."""

from __future__ import annotations

import grpc
import pytest
from conftest import bearer, token

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2

from support import error_info, submit_request, wait_for_case


def _refused(call, request, metadata=None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, metadata=metadata or bearer())
    return caught.value


def test_an_online_dossier_accepted_at_the_desk_opens_its_case(intake, routing):
    citizen = bearer(token(roles=("citizen",), agency="", subject="citizen-1"))
    code = intake.SubmitDossier(submit_request(channel=common_pb2.CHANNEL_ONLINE), metadata=citizen).dossier.code
    accepted = intake.AcceptDossier(intake_pb2.AcceptDossierRequest(code=code), metadata=bearer()).dossier
    assert accepted.status == common_pb2.DOSSIER_STATUS_RECEIVED and accepted.HasField("appointment_at")
    assert [h.status for h in accepted.history] == [common_pb2.DOSSIER_STATUS_NEW, common_pb2.DOSSIER_STATUS_RECEIVED]
    assert wait_for_case(routing, code, bearer()).due_at == accepted.appointment_at


def test_supplement_once_then_received_with_a_history(intake, platform):
    code = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code
    asked = intake.RequestSupplement(intake_pb2.RequestSupplementRequest(
        code=code, reason="Thiếu bản sao giấy chứng nhận", documents_to_add=["Bản sao có chứng thực"]),
        metadata=bearer()).dossier
    assert asked.status == common_pb2.DOSSIER_STATUS_SUPPLEMENT_REQUESTED and asked.supplement_requested
    back = intake.ReceiveSupplement(intake_pb2.ReceiveSupplementRequest(code=code, note="Đã bổ sung"),
                                    metadata=bearer()).dossier
    assert (back.status == common_pb2.DOSSIER_STATUS_RECEIVED
            and back.appointment_at.seconds >= asked.appointment_at.seconds)

    err = _refused(intake.RequestSupplement, intake_pb2.RequestSupplementRequest(
        code=code, reason="Lần hai", documents_to_add=["Giấy khác"]))
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "SUPPLEMENT_ALREADY_REQUESTED")

    got = intake.GetDossier(intake_pb2.GetDossierRequest(code=code), metadata=bearer()).dossier
    assert [h.status for h in got.history] == [2, 5, 2] and got.version == 3
    assert {h.actor for h in got.history} == {"e2e-officer"}
    stored = platform.db("intake")["dossiers"].find_one({"_id": code})
    assert [e["event_type"] for e in stored["outbox"]] == [
        "DossierReceived", "DossierSupplementRequested", "DossierSupplementReceived"]


def test_refusal_and_actions_outside_their_status(intake):
    citizen = bearer(token(roles=("citizen",), agency="", subject="citizen-2"))
    code = intake.SubmitDossier(submit_request(channel=common_pb2.CHANNEL_ONLINE), metadata=citizen).dossier.code
    err = _refused(intake.RefuseDossier, intake_pb2.RefuseDossierRequest(code=code, reasons=[]))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    refused = intake.RefuseDossier(intake_pb2.RefuseDossierRequest(
        code=code, reasons=["Thủ tục không thuộc thẩm quyền của cơ quan"]), metadata=bearer()).dossier
    assert refused.status == common_pb2.DOSSIER_STATUS_REFUSED
    err = _refused(intake.AcceptDossier, intake_pb2.AcceptDossierRequest(code=code))
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "ACTION_NOT_ALLOWED_IN_STATUS")
    assert error_info(err)[1]["status"] == "3" and "Không được tiếp nhận" in err.details()
    got = intake.GetDossier(intake_pb2.GetDossierRequest(code=code), metadata=bearer()).dossier
    assert got.version == 2, "refused requests changed nothing"


def test_withdrawal_other_agencies_and_unknown_codes(intake):
    code = intake.SubmitDossier(submit_request(), metadata=bearer()).dossier.code
    other = bearer(token(agency="000.00.11.H17"))
    err = _refused(intake.RequestWithdrawal, intake_pb2.RequestWithdrawalRequest(code=code, reason="x"), other)
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY")
    withdrawn = intake.RequestWithdrawal(intake_pb2.RequestWithdrawalRequest(
        code=code, reason="Công dân xin rút hồ sơ"), metadata=bearer()).dossier
    assert withdrawn.status == common_pb2.DOSSIER_STATUS_WITHDRAWAL_REQUESTED
    err = _refused(intake.GetDossier, intake_pb2.GetDossierRequest(code="000.00.21.H17-991231-9999"))
    assert (err.code(), error_info(err)[0]) == (grpc.StatusCode.NOT_FOUND, "DOSSIER_NOT_FOUND")
