"""Text = text (issue 9, kind 1): one form of Vietnamese text at every boundary, and the keys that
compare names as a Vietnamese reader does. Chassis only; the services' use is in
test_text_in_services.py."""

from __future__ import annotations

import socket
import unicodedata

import grpc
import pytest

from onestop.documents.v1 import documents_pb2
from onestop.events.v1 import intake_events_pb2
from onestop.intake.v1 import intake_pb2
from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import auth, codes, events, migrations
from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.grpc_server import GrpcServer
from onestop_chassis.nfc import nfc_message
from onestop_chassis.text import graphemes, name_key, nfc, search_key

from fakes import only_get_case


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


NAME = "Giấy đề nghị đăng ký doanh nghiệp"


# -- the comparison key --------------------------------------------------------------------------
@pytest.mark.parametrize("typed", [
    nfd(NAME),                                   # macOS, some keyboards
    "  GIẤY ĐỀ NGHỊ   ĐĂNG KÝ DOANH NGHIỆP ",     # caps lock, extra spaces
    "Giấy\u00a0đề nghị đăng\u00adký doanh nghiệp".replace("\u00ad", " "),  # no-break space from a PDF
    "Giấy đề nghị \u0110ăng ký doanh nghiệp",
    "Giấy đề nghị \u00d0ăng ký doanh nghiệp",     # Icelandic eth for Đ
    "Giấy đề nghị \u0189ăng ký doanh nghiệp",     # African D for Đ
    "Giấy đề nghị D\u0335ăng ký doanh nghiệp",    # D with a stroke overlay
    "Giấy\u200b đề nghị đăng ký doanh nghiệp",   # zero-width space of a copy
])
def test_the_same_name_typed_any_way_has_one_key(typed):
    assert name_key(typed) == name_key(NAME) == "giấy đề nghị đăng ký doanh nghiệp"


@pytest.mark.parametrize("old, new", [
    ("hòa", "hoà"), ("Thủy", "thuỷ"), ("khỏe", "khoẻ"), ("Hóa đơn", "hoá đơn"), ("thọa", "thoạ"),
    ("qúy", "quý"), ("Nguyễn Thị Thùy", "nguyễn thị thuỳ"), ("góa", "goá"),
])
def test_both_tone_mark_placements_have_one_key(old, new):
    assert name_key(old) == name_key(new)
    assert name_key(nfd(old)) == name_key(new)


@pytest.mark.parametrize("a, b", [
    ("Đào", "Dào"),        # Đ and D are different letters in names
    ("hòa", "hoa"),        # a tone mark is part of the word
    ("của", "cửa"),        # ư is not u
    ("mùa", "múa"),
    ("Giấy tờ", "Giấy tờ."),
])
def test_different_names_keep_different_keys(a, b):
    assert name_key(a) != name_key(b)


def test_ligatures_and_full_width_letters_of_a_pdf_copy_fold():
    assert name_key("Bản sao giấy chứng nhận \ufb01le") == name_key("bản sao giấy chứng nhận file")
    assert name_key("Ｔờ khai") == name_key("tờ khai")
    assert name_key("Giấy tờ – bản sao") == name_key("giấy tờ - bản sao")


def test_the_search_key_drops_diacritics_and_d_stroke():
    assert search_key("Đăng ký khai sinh") == "dang ky khai sinh"
    assert search_key("\u00d0ăng ký") == search_key("Dang ky") == "dang ky"
    assert search_key(nfd("Chứng thực bản sao")) == "chung thuc ban sao"


def test_nfc_is_idempotent_and_changes_nothing_else():
    assert nfc(nfd(NAME)) == NAME
    assert nfc("  A\u00a0b ") == "  A\u00a0b "
    assert unicodedata.is_normalized("NFC", nfc(nfd("Thuỷ")))


def test_graphemes_count_letters_as_read():
    assert len(graphemes(nfd("Nguyễn"))) == len(graphemes("Nguyễn")) == 6
    # no precomposed letter: still one
    assert graphemes("e\u0301\u0323") == [unicodedata.normalize("NFC", "e\u0323\u0301")]


# -- codes as typed ----------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", [
    "000.00.21.h17-261130-0003",                 # the example
    " 000.00.21.H17 - 261130 - 0003 ",          # spaces around the dashes
    "000 . 00 . 21 . H17-261130-0003",
    "000.00.21.H17\u2013261130\u20130003",       # en dashes of a word processor
    "０００.００.２１.Ｈ１７-２６１１３０-０００３",        # full-width digits of a phone keyboard
    "000.00.21.h17\u2011261130\u22120003",      # non-breaking hyphen, minus sign
])
def test_a_dossier_code_as_typed_has_its_one_form(typed):
    assert codes.normalise_code(typed) == "000.00.21.H17-261130-0003"
    assert codes.is_dossier_code(codes.normalise_code(typed))


def test_normalising_does_not_make_junk_a_code():
    assert not codes.is_dossier_code(codes.normalise_code("000.00.21.H17-261130-000"))
    assert not codes.is_dossier_code(codes.normalise_code("000.00.21.H17/261130/0003"))
    assert codes.normalise_code("") == ""


# -- every string of a request ----------------------------------------------------------------------
def test_every_string_of_a_request_becomes_nfc_nested_and_repeated():
    request = intake_pb2.SubmitDossierRequest(procedure_code="2.001610", request_id=nfd("mã-ồ"))
    request.applicant.full_name = nfd("Nguyễn Thị Thuỷ")
    request.applicant.address.line = nfd("Số 1 phố Huế")
    request.documents.add(name=nfd(NAME))
    request.documents.add(name="Bản sao")
    nfc_message(request)
    assert request.applicant.full_name == "Nguyễn Thị Thuỷ"
    assert request.applicant.address.line == "Số 1 phố Huế"
    assert [d.name for d in request.documents] == [NAME, "Bản sao"]
    assert request.request_id == "mã-ồ"
    assert request.procedure_code == "2.001610"


def test_repeated_strings_become_nfc():
    request = intake_pb2.RefuseDossierRequest(code="x", reasons=[nfd("Thiếu giấy tờ"), "ok"])
    nfc_message(request)
    assert list(request.reasons) == ["Thiếu giấy tờ", "ok"]


def test_bytes_are_never_touched():
    chunk = nfd("Giấy").encode()
    request = documents_pb2.UploadDocumentRequest(chunk=chunk)
    nfc_message(request)
    assert request.chunk == chunk
    upload = documents_pb2.UploadDocumentRequest()
    upload.metadata.component = nfd("Giấy đề nghị")
    nfc_message(upload)
    assert upload.metadata.component == "Giấy đề nghị"


def test_map_values_and_keys_become_nfc():
    from google.protobuf import struct_pb2
    value = struct_pb2.Struct()
    value.update({nfd("họ tên"): nfd("Lê Thị Hòa")})
    nfc_message(value)
    assert dict(value) == {"họ tên": "Lê Thị Hòa"}


def test_events_reach_consumers_in_nfc():
    message = intake_events_pb2.DossierReceived(header=events.new_header("intake"))
    message.applicant.full_name = nfd("Trần Văn Đức")
    parsed = events.from_payload(events.to_payload(message), intake_events_pb2.DossierReceived)
    assert parsed.applicant.full_name == "Trần Văn Đức"


@only_get_case
class Echo(routing_pb2_grpc.RoutingServiceServicer):
    @auth.public
    def GetCase(self, request, context):
        return routing_pb2.GetCaseResponse(case=routing_pb2.Case(dossier_code=request.dossier_code))


def test_the_grpc_server_hands_servicers_nfc_text():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = GrpcServer(load_settings(ServiceSettings, service_name="routing", grpc_port=port))
    server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server, Echo(),
                        routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = routing_pb2_grpc.RoutingServiceStub(channel)
            answer = stub.GetCase(routing_pb2.GetCaseRequest(dossier_code=nfd("Hồ sơ")), timeout=10)
    finally:
        server.stop(grace=0)
    assert answer.case.dossier_code == "Hồ sơ"
    assert answer.case.dossier_code.encode() == "Hồ sơ".encode()


# -- stored values -------------------------------------------------------------------------------------
def test_stored_values_are_brought_to_nfc_and_report_a_change():
    doc = {"_id": "x", "name": nfd("Hòa"), "n": 3, "history": [{"note": nfd("Tiếp nhận")}], "outbox": [nfd("ồ")]}
    assert migrations.nfc_fields(doc) == {"name": "Hòa", "history": [{"note": "Tiếp nhận"}]}
    assert migrations.nfc_fields({"_id": "y", "name": "Hòa"}) == {}
