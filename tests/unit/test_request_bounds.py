"""Issue 9, kind 4: every request field has a bound, checked by the chassis before the servicer
runs, and error details always fit the trailers (INVALID_ARGUMENT, never RESOURCE_EXHAUSTED).

In process on 127.0.0.1 through a real grpcio channel, like test_grpc_server."""

import socket

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onestop.common.v1 import bounds_pb2
from onestop.documents.v1 import documents_pb2, documents_pb2_grpc
from onestop.intake.v1 import intake_pb2, intake_pb2_grpc, queue_pb2
from onestop.routing.v1 import routing_pb2
from onestop_chassis import auth, bounds, trailers
from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.grpc_server import GrpcServer

CALLS: list[str] = []
ECHO = "giá trị rất dài " * 6_250  # 100,000 characters, echoed by a servicer in its error


def _servicer(base, descriptor, module, raising: dict | None = None):
    """A public servicer of every method of `descriptor` that records each call it receives."""
    def method(m):
        def call(self, request, context):
            request = request if m.client_streaming is False else list(request)
            CALLS.append(m.name)
            if raising and m.name in raising:
                raise raising[m.name]
            response = getattr(module, m.output_type.name)()
            return iter([response]) if m.server_streaming else response
        return auth.public(call)
    return type(descriptor.name, (base,), {m.name: method(m) for m in descriptor.methods})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def channel():
    echo_error = InvalidArgument("UNKNOWN_CODE", f"no dossier has the code '{ECHO}'", metadata={"code": ECHO},
                                 violations=[FieldViolation(f"documents[{i}].name", f"'{ECHO}' is not listed")
                                             for i in range(40)])
    settings = load_settings(ServiceSettings, service_name="intake", grpc_port=_free_port())
    server = GrpcServer(settings)
    intake = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"]
    server.add_servicer(intake_pb2_grpc.add_IntakeServiceServicer_to_server,
                        _servicer(intake_pb2_grpc.IntakeServiceServicer, intake, intake_pb2,
                                  {"ReceiveSupplement": echo_error})(), intake)
    documents = documents_pb2.DESCRIPTOR.services_by_name["DocumentsService"]
    server.add_servicer(documents_pb2_grpc.add_DocumentsServiceServicer_to_server,
                        _servicer(documents_pb2_grpc.DocumentsServiceServicer, documents, documents_pb2)(),
                        documents)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{settings.grpc_port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch
    server.stop(grace=0)


@pytest.fixture
def intake(channel):
    CALLS.clear()
    return intake_pb2_grpc.IntakeServiceStub(channel)


def _details(err: grpc.RpcError):
    status = rpc_status.from_call(err)
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    for detail in status.details:
        detail.Unpack(info) if detail.Is(info.DESCRIPTOR) else detail.Unpack(bad)
    return info, bad


def _refused(call, request):
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return caught.value


# -- the examples ---------------------------------------------------------------------------
def test_supplement_request_with_20000_items_is_refused_before_the_servicer(intake):
    err = _refused(intake.RequestSupplement, intake_pb2.RequestSupplementRequest(
        code="000.00.21.H17-261123-0001", reason="Thiếu giấy tờ", documents_to_add=["Bản sao CCCD"] * 20_000))
    info, bad = _details(err)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.reason == "TOO_MANY_ITEMS"
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("documents_to_add", "has more than 50 items (20000 sent)")]
    assert CALLS == []  # nothing ran, so nothing was stored


def test_refusal_with_3000_reasons_is_refused(intake):
    err = _refused(intake.RefuseDossier, intake_pb2.RefuseDossierRequest(
        code="000.00.21.H17-261123-0001", reasons=["Hồ sơ không thuộc thẩm quyền"] * 3_000))
    info, bad = _details(err)
    assert (err.code(), info.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "TOO_MANY_ITEMS")
    assert bad.field_violations[0].field == "reasons" and "20 items" in bad.field_violations[0].description
    assert CALLS == []


def test_thirty_field_violations_fit_the_trailers(intake):
    """30 reasons each past its 1,000 characters: 30 violations, and the caller still gets
    INVALID_ARGUMENT with as many as fit and the count of the others."""
    err = _refused(intake.RefuseDossier, intake_pb2.RefuseDossierRequest(
        code="000.00.21.H17-261123-0001", reasons=["x" * 1_001] * 20))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = _refused(intake.SubmitDossier, intake_pb2.SubmitDossierRequest(
        procedure_code="2.001610", documents=[intake_pb2.SubmittedDocument(name="Tờ khai " * 80)] * 35))
    info, bad = _details(err)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.reason == "FIELD_TOO_LONG"
    assert info.metadata["count"] == "35"
    shown = len(bad.field_violations)
    assert 0 < shown <= trailers.MAX_VIOLATIONS
    assert info.metadata["violations_omitted"] == str(35 - shown)
    assert bad.field_violations[2].field == "documents[2].name"
    assert bad.field_violations[2].description == "is longer than 500 characters (640 sent)"
    assert f"and {35 - shown} more field violations not shown" in err.details()
    assert CALLS == []


def test_a_100kb_echoed_value_and_40_violations_still_give_invalid_argument(intake):
    err = _refused(intake.ReceiveSupplement, intake_pb2.ReceiveSupplementRequest(code="x"))
    info, bad = _details(err)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT  # RESOURCE_EXHAUSTED before the fix
    assert info.reason == "UNKNOWN_CODE"
    assert len(info.metadata["code"]) == trailers.TEXT_LIMIT and info.metadata["code"].endswith("…")
    assert err.details().startswith("no dossier has the code 'giá trị rất dài")
    assert err.details().endswith(f"… … and {40 - len(bad.field_violations)} more field violations not shown")
    assert info.metadata["violations_omitted"] == str(40 - len(bad.field_violations))
    assert CALLS == ["ReceiveSupplement"]


# -- the rest of the kind ----------------------------------------------------------------------------
def test_violations_name_nested_fields_and_list_items(intake):
    err = _refused(intake.SubmitDossier, intake_pb2.SubmitDossierRequest(
        procedure_code="2.001610",
        applicant={"full_name": "N" * 201, "address": {"line": "đ" * 301}},
        documents=[{"name": "ok"}, {"name": "ok"}, {"name": "Đ" * 501}]))
    info, bad = _details(err)
    assert info.reason == "FIELD_TOO_LONG"
    assert [v.field for v in bad.field_violations] == ["applicant.full_name", "applicant.address.line",
                                                      "documents[2].name"]
    assert bad.field_violations[0].description == "is longer than 200 characters (201 sent)"


def test_characters_are_counted_not_utf8_bytes(intake):
    """200 Vietnamese letters (up to 3 bytes each in UTF-8) fit a 200-character name."""
    request = intake_pb2.SubmitDossierRequest(procedure_code="2.001610", applicant={"full_name": "Ằ" * 200},
                                              documents=[{"name": "x"}] * 100)
    assert intake.SubmitDossier(request) == intake_pb2.SubmitDossierResponse()
    assert CALLS == ["SubmitDossier"]


def test_both_kinds_at_once_give_invalid_fields(intake):
    err = _refused(intake.RequestSupplement, intake_pb2.RequestSupplementRequest(
        code="c", reason="r" * 2_001, documents_to_add=["d"] * 51))
    info, bad = _details(err)
    assert info.reason == "INVALID_FIELDS"
    assert {v.field for v in bad.field_violations} == {"reason", "documents_to_add"}


def test_default_bounds_apply_to_fields_that_declare_none():
    field = routing_pb2.GetCaseRequest.DESCRIPTOR.fields_by_name["dossier_code"]
    assert bounds.limits(field) == (bounds.DEFAULT_MAX_LENGTH, 0)
    with pytest.raises(InvalidArgument) as caught:
        bounds.check(routing_pb2.GetCaseRequest(dossier_code="9" * 1_001))
    assert caught.value.violations == [FieldViolation("dossier_code", "is longer than 1000 characters (1001 sent)")]
    bounds.check(routing_pb2.GetCaseRequest(dossier_code="9" * 1_000))


def test_import_file_bound_is_in_bytes(intake):
    err = _refused(intake.ImportProcedures, intake_pb2.ImportProceduresRequest(content=b"#" * (6 * 1024 * 1024 + 1)))
    info, bad = _details(err)
    assert (err.code(), info.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "FIELD_TOO_LONG")
    assert bad.field_violations[0].description == "is longer than 6291456 bytes (6291457 sent)"


def test_each_message_of_a_stream_is_checked(channel):
    """Uploads keep working with 1 MiB chunks; a bigger chunk is refused before the servicer."""
    CALLS.clear()
    stub = documents_pb2_grpc.DocumentsServiceStub(channel)
    metadata = documents_pb2.UploadDocumentRequest(metadata={"dossier_code": "d", "component": "c"})
    chunk = documents_pb2.UploadDocumentRequest(chunk=b"\0" * (1024 * 1024))
    assert stub.UploadDocument(iter([metadata, chunk, chunk])) == documents_pb2.UploadDocumentResponse()
    assert CALLS == ["UploadDocument"]
    CALLS.clear()
    with pytest.raises(grpc.RpcError) as caught:
        too_big = documents_pb2.UploadDocumentRequest(chunk=b"\0" * (1024 * 1024 + 1))
        stub.UploadDocument(iter([metadata, chunk, too_big]))
    info, bad = _details(caught.value)
    assert (caught.value.code(), info.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "FIELD_TOO_LONG")
    assert bad.field_violations[0].field == "chunk"


def test_queue_requests_are_bounded_too():
    with pytest.raises(InvalidArgument) as caught:
        bounds.check(queue_pb2.TakeTicketRequest(unit_code="000.00.21.H17", queue="q" * 65))
    assert caught.value.reason == "FIELD_TOO_LONG"


def test_every_declared_bound_is_at_most_the_message_cap():
    """Bounds are declared in the contracts; none may exceed grpcio's 8 MiB receive limit."""
    pool = descriptor_pool.Default()
    declared = 0
    for name in ("onestop/intake/v1/intake.proto", "onestop/intake/v1/queue.proto",
                 "onestop/documents/v1/documents.proto", "onestop/common/v1/common.proto"):
        for message in pool.FindFileByName(name).message_types_by_name.values():
            for field in message.fields:
                options = field.GetOptions()
                length = options.Extensions[bounds_pb2.max_length]
                items = options.Extensions[bounds_pb2.max_items]
                declared += bool(length or items)
                assert length <= 8 * 1024 * 1024 and items <= 1_000, field.full_name
    assert declared >= 60


def test_status_is_cut_to_its_budgets():
    err = InvalidArgument("X", "Đ" * 100_000, metadata={"v": "a" * 100_000},
                          violations=[FieldViolation("f" * 1_000, "d" * 1_000)] * 30)
    status = trailers.rich_status(3, "intake.onestop", err)
    assert status.ByteSize() <= trailers.DETAILS_BUDGET + trailers.MESSAGE_BUDGET
    assert trailers._encoded_size(status.message) <= trailers.MESSAGE_BUDGET
    assert trailers.clip_message("short") == "short"


def test_the_largest_dossier_the_bounds_allow_is_readable_by_a_default_client():
    """A refusal with 3,000 reasons was stored as a 9.9 MB dossier that no default client (4 MiB
    receive limit) could read back. At the bounds, every answer carrying a dossier stays far below."""
    def at_bound(message_cls, field: str) -> str:
        length, _ = bounds.limits(message_cls.DESCRIPTOR.fields_by_name[field])
        return "Ữ" * length  # 3 bytes in UTF-8, the worst case
    submit, supplement = intake_pb2.SubmitDossierRequest, intake_pb2.RequestSupplementRequest
    dossier = intake_pb2.Dossier(
        code="000.00.21.H17-261123-0001", procedure_code=at_bound(submit, "procedure_code"),
        procedure_name="Ữ" * 500, request_content=at_bound(submit, "request_content"),
        request_id=at_bound(submit, "request_id"),
        applicant={f: "Ữ" * bounds.limits(intake_pb2.SubmitDossierRequest.DESCRIPTOR.fields_by_name["applicant"]
                                         .message_type.fields_by_name[f])[0]
                   for f in ("full_name", "citizen_id", "organisation_name", "tax_code", "phone", "email")},
        documents=[{"name": at_bound(intake_pb2.SubmittedDocument, "name")}] * 100,
        supplement_request={"reason": at_bound(supplement, "reason"),
                            "documents_to_add": [at_bound(supplement, "documents_to_add")] * 50},
        refusal_reasons=[at_bound(intake_pb2.RefuseDossierRequest, "reasons")] * 20,
        history=[{"actor": "Ữ" * 200, "note": "Ữ" * 2_000}] * 12,
        result={"summary": at_bound(intake_pb2.RecordResultRequest, "summary")},
        result_return={f: "Ữ" * 2_000 for f in ("receiver_name", "receiver_id_number", "note")})
    assert dossier.ByteSize() < 1024 * 1024  # measured: about 0.6 MiB; the default limit is 4 MiB
