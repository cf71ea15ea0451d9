"""Delivery end to end without a carrier (intake and delivery as real processes on the real stack):
the applicant's choice of postal return at intake, the desk's booking and its refusals (nothing
stored), and intake's status 10 once a DELIVERED report reaches delivery through gRPC. The carrier
sandbox's own end to end lives with it (issue 13); here no order is placed (no carrier configured).

On the forms vhost, its consumers' queues emptied before and after (`on_forms_vhost`)."""

from __future__ import annotations

import time

import grpc
import pytest
from conftest import bearer, on_forms_vhost, stub, token

from onestop.common.v1 import common_pb2
from onestop.delivery.v1 import delivery_pb2 as dpb
from onestop.intake.v1 import intake_pb2 as pb

from support import error_info, submit_request

POSTAL, NOT_POSTAL = "2.001610", "1.000894"  # demo procedures: postal return allowed / excluded
APPLICANT = dpb.PostalParty(name="Nguyễn Thị Hồng Nhung", phone="0912345678", address_line="12 Lê Lợi",
                            commune_code="26734", province_code="79")


@pytest.fixture(scope="module")
def platform(local_stack, tmp_path_factory):
    with on_forms_vhost(tmp_path_factory, "delivery", ("intake", "delivery")) as p:
        yield p


@pytest.fixture()
def stubs(platform):
    with stub(platform, "intake") as i, stub(platform, "delivery") as d:
        yield i, d


def _submit(intake, procedure_code: str, by_post: bool, codes: bool = True, answer: bool = False):
    procedure = intake.GetProcedure(pb.GetProcedureRequest(code=procedure_code)).procedure
    request = submit_request(procedure_code=procedure_code, return_by_post=by_post, documents=[
        pb.SubmittedDocument(name=d.name, copy_kind=d.copy_kind, count=1)
        for d in procedure.required_documents if d.required])
    if codes:
        request.applicant.address.commune_code, request.applicant.address.province_code = "26734", "79"
    submitted = intake.SubmitDossier(request, metadata=bearer())
    return submitted if answer else submitted.dossier.code


def _refused(call, request) -> tuple[grpc.StatusCode, str, list[str]]:
    with pytest.raises(grpc.RpcError) as err:
        call(request, metadata=bearer(), timeout=10)
    reason, _, fields = error_info(err.value)
    return err.value.code(), reason, fields


def test_the_desk_books_a_postal_return_and_the_refusals_store_nothing(platform, stubs):
    intake, delivery = stubs
    # intake: a postal return needs a procedure that allows it and an address with its unit codes
    assert _refused(intake.SubmitDossier, submit_request(return_by_post=True))[:2] == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELDS")
    chosen = _submit(intake, POSTAL, by_post=True)
    assert intake.GetDossier(pb.GetDossierRequest(code=chosen), metadata=bearer()).dossier.return_by_post
    not_chosen, excluded = _submit(intake, POSTAL, by_post=False), _submit(intake, NOT_POSTAL, by_post=False)

    def book(code: str, applicant=APPLICANT):
        return dpb.CreateShipmentRequest(direction=dpb.DIRECTION_OUTBOUND, dossier_code=code, applicant=applicant)
    log = platform.db("delivery")["shipment_log"]
    no_province = dpb.PostalParty(name=APPLICANT.name, phone=APPLICANT.phone, address_line=APPLICANT.address_line,
                                  commune_code=APPLICANT.commune_code)
    assert _refused(delivery.CreateShipment, book(chosen, no_province)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELDS", ["applicant.province_code"])
    assert _refused(delivery.CreateShipment, book(not_chosen))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION, "POSTAL_RETURN_NOT_CHOSEN")
    assert _refused(delivery.CreateShipment, book(excluded))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION, "POSTAL_NOT_ALLOWED")
    assert log.count_documents({}) == 0

    made = delivery.CreateShipment(book(chosen), metadata=bearer(), timeout=10).shipment
    assert (made.id, made.state, made.agency_code) == (f"{chosen}-R1", dpb.SHIPMENT_STATE_CREATED, chosen[:13])
    assert made.postal_charge_vnd > 0 and made.receiver.province_code == "79"
    assert _refused(delivery.CreateShipment, book(chosen))[:2] == (grpc.StatusCode.FAILED_PRECONDITION,
                                                                  "SHIPMENT_EXISTS")
    got = delivery.GetShipment(dpb.GetShipmentRequest(dossier_code=chosen), metadata=bearer(), timeout=10)
    assert got.shipment.id == made.id and [e.kind for e in got.log] == ["created"]
    assert log.count_documents({}) == 1


def _wait(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_delivered_report_sets_status_10_by_post_at_intake(platform, stubs):
    intake, delivery = stubs
    submitted = _submit(intake, POSTAL, by_post=True, answer=True)
    code = submitted.dossier.code
    intake.RecordResult(pb.RecordResultRequest(code=code, summary="Giấy chứng nhận đăng ký doanh nghiệp"),
                        metadata=bearer())
    # intake's DossierFinished books the outbound shipment through delivery's worker
    shipment_id = f"{code}-R1"
    _wait(lambda: platform.db("delivery")["shipment_log"].find_one({"_id": f"{shipment_id}|000001"}),
          "the shipment booked from DossierFinished")
    carrier = (("authorization", f"Bearer {token(roles=('service',), agency='', subject='carrier')}"),)
    unknown = dpb.RecordCarrierReportRequest(waybill="EB000000999VN", event_id="e2e-0",
                                             state=dpb.SHIPMENT_STATE_DELIVERED)
    unknown.happened_at.GetCurrentTime()
    with pytest.raises(grpc.RpcError) as err:
        delivery.RecordCarrierReport(unknown, metadata=carrier, timeout=10)
    assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.NOT_FOUND, "WAYBILL_NOT_FOUND")
    # no carrier here: the report names the order and the waybill the carrier gave it
    report = dpb.RecordCarrierReportRequest(order_number=shipment_id, waybill="EB000000123VN", event_id="e2e-1",
                                            state=dpb.SHIPMENT_STATE_DELIVERED)
    report.happened_at.GetCurrentTime()
    answer = delivery.RecordCarrierReport(report, metadata=carrier, timeout=10)
    assert answer.applied and answer.shipment.state == dpb.SHIPMENT_STATE_DELIVERED
    assert not delivery.RecordCarrierReport(report, metadata=carrier, timeout=10).applied  # repeated

    def returned():
        d = intake.GetDossier(pb.GetDossierRequest(code=code), metadata=bearer()).dossier
        return d if d.status == common_pb2.DOSSIER_STATUS_RESULT_RETURNED else None
    dossier = _wait(returned, "status 10 at intake")
    assert dossier.result_return.method == pb.RETURN_METHOD_BY_POST
    assert (dossier.result_return.returned_by, dossier.result_return.postal_tracking_number) == (
        "delivery", "EB000000123VN")
    lookup = intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=submitted.lookup_secret)).dossier
    assert lookup.postal_notice.startswith("Đã phát kết quả qua bưu chính, số hiệu bưu gửi EB000000123VN")


def test_a_parcel_returned_after_its_last_failed_attempt_is_back_at_the_desk(platform, stubs):
    intake, delivery = stubs
    submitted = _submit(intake, POSTAL, by_post=True, answer=True)
    code = submitted.dossier.code
    intake.RecordResult(pb.RecordResultRequest(code=code, summary="Giấy chứng nhận đăng ký doanh nghiệp"),
                        metadata=bearer())
    _wait(lambda: platform.db("delivery")["shipment_log"].find_one({"_id": f"{code}-R1|000001"}),
          "the shipment booked from DossierFinished")
    carrier = (("authorization", f"Bearer {token(roles=('service',), agency='', subject='carrier')}"),)
    for attempt in range(1, 4):  # max_delivery_attempts: 3
        report = dpb.RecordCarrierReportRequest(order_number=f"{code}-R1", waybill="EB000000124VN",
                                                event_id=f"e2e-f{attempt}", state=dpb.SHIPMENT_STATE_FAILED_ATTEMPT,
                                                note="Không có người nhận")
        report.happened_at.GetCurrentTime()
        answer = delivery.RecordCarrierReport(report, metadata=carrier, timeout=10)
    assert answer.shipment.state == dpb.SHIPMENT_STATE_RETURNED_TO_SENDER and answer.shipment.failed_attempts == 3

    def notice():
        found = intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=submitted.lookup_secret)).dossier
        return found if found.postal_notice else None
    lookup = _wait(notice, "the lookup's notice of the returned parcel")
    assert lookup.postal_notice == "Bưu điện đã hoàn trả kết quả; mời nhận tại bộ phận một cửa"
    assert lookup.status == common_pb2.DOSSIER_STATUS_FINISHED
    # the desk sends the returned result again (session 7: allowed until the result is handed over)
    again = delivery.RebookShipment(dpb.RebookShipmentRequest(id=f"{code}-R1", request_id=f"again-{code}"),
                                    metadata=bearer(), timeout=10).shipment
    assert again.id == f"{code}-R2"

    def sent_again():
        found = intake.LookupDossier(pb.LookupDossierRequest(code=code, secret=submitted.lookup_secret)).dossier
        return found if "gửi lại" in found.postal_notice else None
    assert _wait(sent_again, "the lookup's notice of the result sent again").postal_notice == \
        f"Kết quả được gửi lại qua bưu chính (đơn {code}-R2)"
