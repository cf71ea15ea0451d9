"""Helpers for the end-to-end tests."""

from __future__ import annotations

import time
import uuid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2
from onestop.routing.v1 import routing_pb2

# The required components of the demo procedure 2.001610 (Đăng ký thành lập doanh nghiệp tư nhân).
DN_DOCUMENTS = ['Giấy đề nghị đăng ký doanh nghiệp', 'Bản sao giấy tờ pháp lý của cá nhân là chủ doanh nghiệp tư nhân']


def submit_request(**overrides) -> intake_pb2.SubmitDossierRequest:
    applicant = common_pb2.Applicant(
        kind=common_pb2.APPLICANT_KIND_PERSON, full_name="Nguyễn Thị Hồng Nhung", citizen_id="079203004567",
        phone="0912345678", email="nhung@example.vn",
        address=common_pb2.Address(line="12 Lê Lợi", commune="Phường Bến Thành", province="TP. Hồ Chí Minh"))
    fields = {"request_id": str(uuid.uuid4()), "procedure_code": "2.001610", "applicant": applicant,
              "channel": common_pb2.CHANNEL_IN_PERSON, "request_content": "Đăng ký thành lập doanh nghiệp",
              "documents": [intake_pb2.SubmittedDocument(name=n, copy_kind=intake_pb2.COPY_KIND_ORIGINAL, count=1)
                            for n in DN_DOCUMENTS]}
    fields.update(overrides)
    return intake_pb2.SubmitDossierRequest(**fields)


def error_info(err: grpc.RpcError) -> tuple[str, dict, list[str]]:
    """(ErrorInfo reason, its metadata, the BadRequest fields) of a failed call."""
    status = rpc_status.from_call(err)
    reason, metadata, fields = "", {}, []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = [v.field for v in bad.field_violations]
    return reason, metadata, fields


def wait_for_case(routing_stub, code: str, metadata, timeout: float = 20.0) -> routing_pb2.Case:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return routing_stub.GetCase(routing_pb2.GetCaseRequest(dossier_code=code), metadata=metadata).case
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def retry_delay(err: grpc.RpcError) -> float | None:
    """The google.rpc.RetryInfo delay of a failed call, in seconds (None without one)."""
    status = rpc_status.from_call(err)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToTimedelta().total_seconds()
    return None
