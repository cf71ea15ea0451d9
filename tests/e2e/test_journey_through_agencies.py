"""End to end on the real stack (issue 11, "What it must show"): intake, routing and documents run
as processes (api, worker, relay), the shipped templates imported as the seed does, and officers of
the desk, the land registration office and the tax authority move one dossier through its journey
with routing's RPCs only. The citizen's lookup follows every status (2 → 4 → 5 → 4 → 6 → 4 → 9)
with the current step's text; the control slip grades each handover; parallel branches join; an
officer of another agency sees nothing the case was not handed to; two officers acting at once on
one step leave one result."""

from __future__ import annotations

import threading
import uuid

import grpc
import pytest
import yaml
from conftest import UNIT, bearer, on_forms_vhost, stub_fixtures, token
from test_documents import messages, metadata_for, pdf
from test_results_and_forms import filed_form, wait_until
from test_routing_journey import _metric

from onestop.common.v1 import common_pb2
from onestop.documents.v1 import documents_pb2 as dpb
from onestop.intake.v1 import intake_pb2 as ipb
from onestop.routing.v1 import routing_pb2 as pb
from onestop_chassis.config import ServiceSettings, load_settings
from onestop_chassis.publishing import confirming_publisher, publish_event

from stack import AMQP_FORMS_TEST_URI
from support import error_info, submit_request, wait_for_case

LAND, TAX, BUILDING = "000.01.13.H17", "000.01.15.H17", "000.00.11.H17"
ENVIRONMENT, FIRE = "000.00.13.H17", "000.00.16.H17"
DISTRICT_DESK, DISTRICT_LAND = "000.40.21.H17", "000.41.40.H17"
DESK = bearer(token(roles=("desk_officer",), agency=UNIT, subject="mc-desk"))
SERVICE = bearer(token(roles=("service",), agency="", subject="e2e-seed"))


def officer(unit: str, subject: str, role: str = "processing_officer") -> tuple:
    return bearer(token(roles=(role,), agency=unit, subject=subject))


@pytest.fixture(scope="module")
def agency(local_stack, tmp_path_factory):
    with on_forms_vhost(tmp_path_factory, "e2ejourney", ("intake", "routing", "documents")) as p:
        yield p


intake, routing, documents = stub_fixtures("agency", "intake", "routing", "documents")


def submit(intake, procedure_code: str, desk=DESK) -> ipb.SubmitDossierResponse:
    """A dossier of the procedure with every required component, at the desk of the token."""
    procedure = intake.GetProcedure(ipb.GetProcedureRequest(code=procedure_code), metadata=desk).procedure
    documents = [ipb.SubmittedDocument(name=d.name, copy_kind=d.copy_kind or ipb.COPY_KIND_ORIGINAL,
                                       count=d.count or 1)
                 for d in procedure.required_documents if d.required]
    return intake.SubmitDossier(submit_request(procedure_code=procedure_code, documents=documents,
                                               request_content=procedure.name), metadata=desk)


def act(routing, metadata, code: str, step: str, action, to_step: str = "", reason: str = "") -> pb.Case:
    return routing.ActOnStep(pb.ActOnStepRequest(dossier_code=code, step_code=step, action=action, to_step=to_step,
                                                 reason=reason, request_id=str(uuid.uuid4())),
                             metadata=metadata).case


def claim(routing, metadata, code: str, step: str) -> pb.Case:
    return routing.ClaimStep(pb.ClaimStepRequest(dossier_code=code, step_code=step, request_id=str(uuid.uuid4())),
                             metadata=metadata).case


def running_steps(case: pb.Case) -> set[str]:
    return {s.step_code for s in case.steps}


def inbox(routing, metadata, scope=pb.ListInboxRequest.SCOPE_UNASSIGNED) -> set[tuple[str, str]]:
    items = routing.ListInbox(pb.ListInboxRequest(scope=scope, page=common_pb2.PageRequest(page_size=200)),
                              metadata=metadata).items
    return {(i.dossier_code, i.step.step_code) for i in items}


def test_a_dossier_goes_from_the_desk_through_two_agencies_and_back(intake, routing, documents):
    submitted = submit(intake, "1.013831")  # QT.DD.02: land registration office → tax authority → back
    code, secret = submitted.dossier.code, submitted.lookup_secret
    land, land_leader = officer(LAND, "cv-vpdk"), officer(LAND, "ld-vpdk", "unit_leader")
    tax = officer(TAX, "cv-thue")

    def looked() -> ipb.PublicDossier:
        return intake.LookupDossier(ipb.LookupDossierRequest(code=code, secret=secret)).dossier

    case = wait_for_case(routing, code, DESK)
    assert (case.process_code, running_steps(case)) == ("QT.DD.02", {"tiep_nhan"})
    assert case.process_version >= 1
    assert looked().status == 2
    # Liên thông: neither agency sees the case before it is handed to it.
    for metadata in (land, tax):
        with pytest.raises(grpc.RpcError) as denied:
            routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=metadata)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as journey_denied:
            routing.GetJourney(pb.GetJourneyRequest(dossier_code=code), metadata=metadata)
        assert journey_denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert code not in {c for c, _ in inbox(routing, metadata)}
    with pytest.raises(grpc.RpcError) as other_inbox:  # nor another unit's inbox
        routing.ListInbox(pb.ListInboxRequest(unit_code=LAND), metadata=tax)
    assert other_inbox.value.code() == grpc.StatusCode.PERMISSION_DENIED

    claim(routing, DESK, code, "tiep_nhan")
    act(routing, DESK, code, "tiep_nhan", pb.STEP_ACTION_FORWARD)
    wait_until(lambda: looked().status == 4, "status 4")
    land_name = intake.GetUnit(ipb.GetUnitRequest(code=LAND), metadata=DESK).unit.name
    assert list(looked().current_steps) == [  # the step and its unit in short, in Vietnamese
        f"Văn phòng Đăng ký đất đai thẩm định, chuyển thông tin địa chính — {land_name}"]
    assert (code, "tham_dinh") in inbox(routing, land)
    assert code not in {c for c, _ in inbox(routing, tax)}

    # The land office asks for a supplement through the desk: status 5, form 02, the clock pauses.
    claim(routing, land, code, "tham_dinh")
    paused = act(routing, land, code, "tham_dinh", pb.STEP_ACTION_REQUEST_SUPPLEMENT, reason="Thiếu sơ đồ thửa đất")
    assert paused.state == pb.CASE_STATE_PAUSED
    wait_until(lambda: looked().status == 5, "status 5")
    wait_until(lambda: filed_form(documents, code, "Mẫu số 02"), "form 02 to be filed")
    with pytest.raises(grpc.RpcError) as second:  # a second supplement request is refused
        act(routing, land, code, "tham_dinh", pb.STEP_ACTION_REQUEST_SUPPLEMENT, reason="Thiếu bản vẽ")
    assert second.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    intake.ReceiveSupplement(ipb.ReceiveSupplementRequest(code=code), metadata=DESK)
    wait_until(lambda: routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=land).case.state
               == pb.CASE_STATE_PROCESSING, "routing to resume the case")
    assert looked().status == 4

    # The land office hands over to the tax authority, which asks for the financial obligation.
    act(routing, land, code, "tham_dinh", pb.STEP_ACTION_FORWARD, to_step="thue")
    assert (code, "thue") in inbox(routing, tax)
    tax_name = intake.GetUnit(ipb.GetUnitRequest(code=TAX), metadata=DESK).unit.name
    wait_until(lambda: list(looked().current_steps) == [
        f"Cơ quan thuế xác định nghĩa vụ tài chính, thông báo nộp thuế — {tax_name}"], "the tax authority's step")
    claim(routing, tax, code, "thue")
    with pytest.raises(grpc.RpcError) as unpaid:  # the forward's guard: paid
        act(routing, tax, code, "thue", pb.STEP_ACTION_FORWARD, to_step="cap_nhat")
    assert unpaid.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    act(routing, tax, code, "thue", pb.STEP_ACTION_REQUEST_PAYMENT, reason="Nộp lệ phí trước bạ")
    wait_until(lambda: looked().status == 6, "status 6")
    routing.ConfirmPayment(pb.ConfirmPaymentRequest(dossier_code=code, note="Biên lai số 0012345",
                                                    request_id=str(uuid.uuid4())), metadata=tax)
    wait_until(lambda: looked().status == 4, "status 4 after the payment")
    act(routing, tax, code, "thue", pb.STEP_ACTION_FORWARD, to_step="cap_nhat")

    # Back at the land office: its leader extends the case, and intake shows the new appointment.
    before = looked().appointment_at.ToDatetime()
    claim(routing, land, code, "cap_nhat")
    extended = routing.ExtendCase(pb.ExtendCaseRequest(
        dossier_code=code, extra=common_pb2.WorkingDuration(days=2), reason="Chờ xác minh ranh giới thửa đất",
        request_id=str(uuid.uuid4())), metadata=land_leader).case
    assert [e.approved_by for e in extended.extensions] == ["ld-vpdk"]
    # The land office's running step moved with the case; intake's appointment is routing's new due.
    [extension] = extended.extensions
    assert (extension.unit_code, list(extension.step_codes)) == (LAND, ["cap_nhat"])
    [step] = extended.steps
    assert step.due_at.ToDatetime() > step.entered_at.ToDatetime()
    new_due = extension.new_due_at.ToDatetime()
    assert new_due > before and extended.due_at.ToDatetime() == new_due
    wait_until(lambda: looked().appointment_at.ToDatetime() == new_due, "the new appointment at intake")
    # The desk's history names the agency at fault (the land office, whose step was running).
    land_name = intake.GetUnit(ipb.GetUnitRequest(code=LAND), metadata=DESK).unit.name
    history = intake.GetDossier(ipb.GetDossierRequest(code=code), metadata=DESK).dossier.history
    assert any("Chờ xác minh ranh giới thửa đất" in h.note and f"cơ quan chậm: {land_name}" in h.note
               for h in history), history
    act(routing, land, code, "cap_nhat", pb.STEP_ACTION_FORWARD, to_step="ky_duyet")
    claim(routing, land_leader, code, "ky_duyet")
    act(routing, land_leader, code, "ky_duyet", pb.STEP_ACTION_APPROVE, to_step="tra_ket_qua")
    claim(routing, DESK, code, "tra_ket_qua")
    finished = act(routing, DESK, code, "tra_ket_qua", pb.STEP_ACTION_FINISH, reason="Giấy chứng nhận đã xác nhận")
    assert finished.state == pb.CASE_STATE_FINISHED
    wait_until(lambda: looked().status == 9, "status 9")
    assert [c.status for c in looked().history] == [2, 4, 5, 4, 6, 4, 9]
    assert not looked().current_steps

    # The control slip: one row per handover, who gave and who received, each graded.
    slip = routing.GetJourney(pb.GetJourneyRequest(dossier_code=code), metadata=DESK).control_slip
    rows = [(h.from_step, h.from_unit.code, h.to_step, h.to_unit.code) for h in slip]
    assert rows[:2] == [("tiep_nhan", UNIT, "tham_dinh", LAND), ("tham_dinh", LAND, "thue", TAX)]
    assert ("ky_duyet", LAND, "tra_ket_qua", UNIT) in rows
    assert all(h.from_officer for h in slip)
    assert all(h.timeliness != common_pb2.TIMELINESS_UNSPECIFIED for h in slip)
    # The other agency's officer saw the case once it was handed over, and only because of that.
    assert routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=tax).case.dossier_code == code
    with pytest.raises(grpc.RpcError) as denied:
        routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=officer(BUILDING, "cv-xd"))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_parallel_branches_join_before_the_decision(intake, routing):
    code = submit(intake, "1.013225").dossier.code  # QT.XD.01: two opinions at once, then the join
    building, leader = officer(BUILDING, "cv-xd"), officer(BUILDING, "ld-xd", "unit_leader")
    environment, fire = officer(ENVIRONMENT, "cv-mt"), officer(FIRE, "cv-pccc")
    assert wait_for_case(routing, code, DESK).process_code == "QT.XD.01"
    claim(routing, DESK, code, "tiep_nhan")
    act(routing, DESK, code, "tiep_nhan", pb.STEP_ACTION_FORWARD)
    claim(routing, building, code, "tham_dinh")
    split = act(routing, building, code, "tham_dinh", pb.STEP_ACTION_FORWARD, to_step="lay_y_kien")
    assert running_steps(split) == {"y_kien_moi_truong", "y_kien_pccc"}
    assert (code, "y_kien_moi_truong") in inbox(routing, environment)
    assert (code, "y_kien_pccc") in inbox(routing, fire)
    claim(routing, environment, code, "y_kien_moi_truong")
    one = act(routing, environment, code, "y_kien_moi_truong", pb.STEP_ACTION_FORWARD, to_step="tong_hop")
    assert running_steps(one) == {"y_kien_pccc"}  # the join waits for the other branch
    with pytest.raises(grpc.RpcError) as early:  # the decision step is not running yet
        claim(routing, leader, code, "ky_duyet")
    assert early.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    claim(routing, fire, code, "y_kien_pccc")
    both = act(routing, fire, code, "y_kien_pccc", pb.STEP_ACTION_FORWARD, to_step="tong_hop")
    assert running_steps(both) == {"ky_duyet"}
    slip = routing.GetJourney(pb.GetJourneyRequest(dossier_code=code), metadata=leader).control_slip
    # Giao / Nhận by unit: the split hands the case to both opinions, each opinion back to the department.
    assert [(h.from_step, h.from_unit.code, h.to_step, h.to_unit.code) for h in slip][1:] == [
        ("tham_dinh", BUILDING, "y_kien_moi_truong", ENVIRONMENT), ("tham_dinh", BUILDING, "y_kien_pccc", FIRE),
        ("y_kien_moi_truong", ENVIRONMENT, "tong_hop", BUILDING), ("y_kien_pccc", FIRE, "tong_hop", BUILDING)]


def test_two_officers_acting_at_once_on_one_step_leave_one_result(intake, routing, agency):
    code = submit(intake, "1.012783").dossier.code  # QT.DD.02
    wait_for_case(routing, code, DESK)
    claim(routing, DESK, code, "tiep_nhan")
    act(routing, DESK, code, "tiep_nhan", pb.STEP_ACTION_FORWARD)
    first, second = officer(LAND, "cv-vpdk-1"), officer(LAND, "cv-vpdk-2")
    db = agency.db("routing")
    entries = db["journey"].count_documents({"dossier_code": code})
    barrier, outcomes = threading.Barrier(2), {}

    def claiming(name: str, metadata) -> None:
        barrier.wait()
        try:
            outcomes[name] = claim(routing, metadata, code, "tham_dinh")
        except grpc.RpcError as err:
            outcomes[name] = err

    threads = [threading.Thread(target=claiming, args=(n, m)) for n, m in (("1", first), ("2", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    won = [n for n, o in outcomes.items() if isinstance(o, pb.Case)]
    lost = [o for o in outcomes.values() if isinstance(o, grpc.RpcError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert (lost[0].code(), error_info(lost[0])[0]) in {(grpc.StatusCode.ABORTED, "CONCURRENT_CHANGE"),
                                                        (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_ASSIGNED")}
    assert db["journey"].count_documents({"dossier_code": code}) == entries + 1
    case = routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=first).case
    [step] = case.steps
    assert step.primary == f"cv-vpdk-{won[0]}"


def test_the_district_desk_runs_its_agencys_own_template(intake, routing):
    """The desk 000.40.21.H17 belongs to the district's People's Committee 000.00.40.H17, which has
    its own QT.DD.01 (the five offices): intake names the desk's agency in DossierReceived."""
    # The demo catalogue has no QT.DD.01 procedure the district receives: its land office adds a
    # local one (the commune's 1.013978 under a local code), as an agency admin would.
    exported = intake.ExportProcedures(ipb.ExportProceduresRequest(
        format=ipb.CATALOGUE_FORMAT_YAML, competent_agency_code="000.20.31.H17"))
    [procedure] = [p for p in yaml.safe_load(exported.content)["procedures"] if p["code"] == "1.013978"]
    procedure.update(code="DP.DD.0040", is_local_code=True, competent_agency_code=DISTRICT_LAND)
    intake.ImportProcedures(ipb.ImportProceduresRequest(
        content=yaml.safe_dump({"procedures": [procedure]}, allow_unicode=True).encode(),
        format=ipb.CATALOGUE_FORMAT_YAML), metadata=officer(DISTRICT_LAND, "admin-huyen", "agency_admin"))
    desk = officer(DISTRICT_DESK, "mc-huyen", "desk_officer")
    code = submit(intake, "DP.DD.0040", desk=desk).dossier.code
    case = wait_for_case(routing, code, desk)
    assert (case.process_code, [s.step_code for s in case.steps]) == ("QT.DD.01", ["tiep_nhan"])
    assert [s.unit.code for s in case.steps] == [DISTRICT_DESK]  # the district's template, not the commune's
    template = routing.GetProcessTemplate(pb.GetProcessTemplateRequest(
        process_code="QT.DD.01", agency_code="000.00.40.H17"), metadata=SERVICE).template
    assert case.process_version == template.version


def test_the_desks_own_supplement_request_pauses_the_routed_case_once(intake, routing, agency):
    submitted = submit(intake, "1.012786")  # QT.DD.02
    code, secret = submitted.dossier.code, submitted.lookup_secret
    land = officer(LAND, "cv-vpdk")
    wait_for_case(routing, code, DESK)
    claim(routing, DESK, code, "tiep_nhan")
    act(routing, DESK, code, "tiep_nhan", pb.STEP_ACTION_FORWARD)

    def state() -> int:
        return routing.GetCase(pb.GetCaseRequest(dossier_code=code), metadata=land).case.state

    def looked() -> int:
        return intake.LookupDossier(ipb.LookupDossierRequest(code=code, secret=secret)).dossier.status

    wait_until(lambda: looked() == 4, "status 4 at the land office")

    # The desk asks on its own (intake's DossierSupplementRequested without routing_event_id).
    intake.RequestSupplement(ipb.RequestSupplementRequest(code=code, reason="Thiếu giấy xác nhận của Công an xã",
                                                          documents_to_add=["Giấy xác nhận"]), metadata=DESK)
    wait_until(lambda: state() == pb.CASE_STATE_PAUSED, "routing to pause the case")
    journey = routing.GetJourney(pb.GetJourneyRequest(dossier_code=code), metadata=land)
    assert [e.kind for e in journey.entries][-1] == "paused"
    # Delivered again: counted as a duplicate, nothing appended.
    stored = agency.db("intake")["dossiers"].find_one({"_id": code})
    requested = next(e for e in stored["outbox"] if e["event_type"] == "DossierSupplementRequested")
    duplicates = _metric(agency, "routing-worker", "onestop_event_duplicates_total",
                         event_type="DossierSupplementRequested")
    publisher = confirming_publisher(load_settings(ServiceSettings, service_name="e2e", amqp_uri=AMQP_FORMS_TEST_URI))
    publish_event(publisher, "intake", "DossierSupplementRequested", requested["payload"], {}, requested["event_id"])
    wait_until(lambda: _metric(agency, "routing-worker", "onestop_event_duplicates_total",
                               event_type="DossierSupplementRequested") >= duplicates + 1, "the redelivery counted")
    assert routing.GetJourney(pb.GetJourneyRequest(dossier_code=code), metadata=land) == journey
    intake.ReceiveSupplement(ipb.ReceiveSupplementRequest(code=code), metadata=DESK)
    wait_until(lambda: state() == pb.CASE_STATE_PROCESSING, "routing to resume the case")
    kinds = [e.kind for e in routing.GetJourney(pb.GetJourneyRequest(dossier_code=code), metadata=land).entries]
    assert kinds.count("paused") == 1 and kinds[-1] == "resumed"
    # A step's own request now is a second one: refused, as at intake.
    claim(routing, land, code, "tham_dinh")
    with pytest.raises(grpc.RpcError) as second:
        act(routing, land, code, "tham_dinh", pb.STEP_ACTION_REQUEST_SUPPLEMENT, reason="Thiếu bản vẽ")
    assert (second.value.code(), error_info(second.value)[0]) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                                   "SECOND_SUPPLEMENT")
    assert looked() == 4


def test_an_agency_handed_the_dossier_reads_its_files_and_another_agency_does_not(intake, routing, documents):
    """Liên thông (issue 11, item 8): the land office reads the desk's scans once the case is
    handed to it, and files its step's result with the dossier; the tax authority, with no step
    yet, is refused."""
    code = submit(intake, "1.013831").dossier.code  # QT.DD.02: desk → land registration office
    scan = pdf(16 * 1024)
    stored = documents.UploadDocument(messages(metadata_for(code, component="Đơn đăng ký biến động đất đai"),
                                               scan), metadata=DESK).document
    land, tax = officer(LAND, "cv-vpdk"), officer(TAX, "cv-thue")

    def listing(metadata) -> list[dpb.Document]:
        return list(documents.ListDocuments(dpb.ListDocumentsRequest(dossier_code=code, agency_code=UNIT),
                                            metadata=metadata).documents)

    def refused(call) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert (caught.value.code(), error_info(caught.value)[0]) == (grpc.StatusCode.PERMISSION_DENIED,
                                                                      "OTHER_AGENCY")
        return caught.value

    refused(lambda: listing(land))  # not handed yet
    wait_for_case(routing, code, DESK)
    claim(routing, DESK, code, "tiep_nhan")
    act(routing, DESK, code, "tiep_nhan", pb.STEP_ACTION_FORWARD)  # → tham_dinh at the land office

    def readable() -> list[dpb.Document] | None:
        try:
            return listing(land)
        except grpc.RpcError:
            return None  # documents' worker has not taken routing's CaseProgressed yet

    # The desk's scan (and the forms the desk issued, filed with it), as the desk lists them.
    seen = {d.document_id for d in wait_until(readable, "the land office's grant")}
    assert stored.document_id in seen and seen <= {d.document_id for d in listing(DESK)}
    replies = list(documents.DownloadDocument(dpb.DownloadDocumentRequest(document_id=stored.document_id),
                                              metadata=land))
    assert b"".join(r.chunk for r in replies[1:]) == scan
    result = documents.UploadDocument(messages(metadata_for(
        code, kind=dpb.DOCUMENT_KIND_RESULT, component="Phiếu chuyển thông tin địa chính", agency_code=UNIT),
        pdf(8 * 1024)), metadata=land).document
    assert (result.agency_code, result.uploaded_by) == (UNIT, "cv-vpdk")
    assert {d.document_id for d in listing(DESK)} >= {stored.document_id, result.document_id}

    # The tax authority has no step on the dossier yet: nothing of it is readable.
    denied = refused(lambda: listing(tax))
    assert "never handed" in denied.details()
    refused(lambda: list(documents.DownloadDocument(dpb.DownloadDocumentRequest(document_id=stored.document_id),
                                                    metadata=tax)))
    refused(lambda: documents.GetDownloadLink(dpb.GetDownloadLinkRequest(document_id=stored.document_id),
                                              metadata=tax))
