"""Liên thông in documents (issue 11, item 8): the officers of an agency a dossier was handed to
(routing's CaseOpened/CaseProgressed steps) read its files and file their step's results; an
agency with no step on the dossier stays refused. The use cases over the shared fakes, and the
worker's handlers through nameko's entrypoint_hook."""

from __future__ import annotations

import pytest
from nameko.testing.services import entrypoint_hook
from test_workers import _duplicates, _green_waiter, hosted  # noqa: F401 (_green_waiter: an autouse fixture)

from onestop.common.v1 import common_pb2
from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis import auth, events
from onestop_chassis.errors import InvalidArgument, PermanentError, PermissionDenied
from onestop_documents import domain
from onestop_documents.adapters.peers import NoPeers
from onestop_documents.bootstrap import bootstrap
from onestop_documents.config import DocumentsSettings
from onestop_documents.worker import DocumentsWorker

from fakes import FakeDocuments, FakeGrants, FakeObjectStore

DESK, LAND, TAX = "000.00.21.H17", "000.01.13.H17", "000.01.15.H17"
CODE, OTHER_CODE = "000.00.21.H17-261130-0001", "000.00.21.H17-261130-0002"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FIELDS = {"event_id": "e-1", "steps": ["tham_dinh"]}


def officer(unit: str, subject: str = "cv", role: str = auth.PROCESSING_OFFICER) -> auth.Principal:
    return auth.Principal(subject, frozenset({role}), agency=unit)


def upload(service, actor, kind=domain.Kind.COMPONENT, component="Đơn đề nghị", agency="", data=PDF):
    request = domain.UploadRequest(request_id="", dossier_code=CODE, kind=int(kind), component=component,
                                   file_name="f.pdf", sha256="", agency_code=agency)
    return service.upload(request, iter([data]), actor).document


@pytest.fixture
def built():
    """Documents over the fakes, a component filed by the receiving desk."""
    records, grants = FakeDocuments(), FakeGrants()
    documents = bootstrap(DocumentsSettings(), documents=records, store=FakeObjectStore(), peers=NoPeers(),
                          grants=grants)
    stored = upload(documents.service, officer(DESK, "mc", auth.DESK_OFFICER))
    return documents.service, records, grants, stored


def test_a_granted_agency_reads_the_dossier_kept_by_the_receiving_agency(built):
    service, _, grants, stored = built
    assert service.hand_over(CODE, [LAND], FIELDS) == [LAND]
    land = officer(LAND)
    assert [d.document_id for d in service.list(CODE, DESK, land)] == [stored.document_id]
    document, chunks = service.download(stored.document_id, land)
    assert (document.document_id, b"".join(chunks)) == (stored.document_id, PDF)
    url, _ = service.download_link(stored.document_id, 60, land)
    assert url
    assert service.digitisation(CODE, DESK, land) == {"components": 1, "results": 0}
    assert grants.grants[f"{CODE}|{LAND}"] == FIELDS


def test_an_agency_the_dossier_was_not_handed_to_is_refused(built):
    service, _, _, stored = built
    service.hand_over(CODE, [LAND], FIELDS)
    tax = officer(TAX, "cv-thue")
    calls = [lambda: service.list(CODE, DESK, tax), lambda: service.download(stored.document_id, tax),
             lambda: service.download_link(stored.document_id, 60, tax),
             lambda: service.digitisation(CODE, DESK, tax)]
    for call in calls:
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert refused.value.reason == "OTHER_AGENCY"
        assert "was never handed to it" in refused.value.message and CODE in refused.value.message


def test_a_grant_opens_only_its_own_dossier(built):
    service, records, _, _ = built
    service.hand_over(OTHER_CODE, [LAND], FIELDS)
    with pytest.raises(PermissionDenied):
        service.list(CODE, DESK, officer(LAND))
    assert len(records.records) == 1


def test_a_granted_agency_files_its_result_with_the_receiving_agency_and_nothing_else(built):
    service, records, _, stored = built
    service.hand_over(CODE, [LAND], FIELDS)
    land = officer(LAND, "cv-vpdk")
    result = upload(service, land, kind=domain.Kind.RESULT, component="Phiếu chuyển thông tin địa chính",
                    agency=DESK, data=PDF + b"result")
    assert (result.agency_code, result.uploaded_by, result.kind) == (DESK, "cv-vpdk", domain.Kind.RESULT)
    # The receiving desk sees it with the dossier (the result comes back to the desk).
    assert service.digitisation(CODE, DESK, officer(DESK, "mc", auth.DESK_OFFICER)) == {"components": 1,
                                                                                        "results": 1}
    with pytest.raises(PermissionDenied) as component:  # the dossier as received stays the desk's
        upload(service, land, kind=domain.Kind.COMPONENT, agency=DESK, data=PDF + b"other")
    assert "results of its step" in component.value.message
    with pytest.raises(PermissionDenied):  # an agency not handed the dossier files nothing
        upload(service, officer(TAX), kind=domain.Kind.RESULT, agency=DESK, data=PDF + b"tax")
    assert len(records.records) == 2


def test_a_grant_does_not_let_an_agency_change_the_receiving_agencys_documents(built):
    service, records, _, stored = built
    service.hand_over(CODE, [LAND], FIELDS)
    land = officer(LAND)
    with pytest.raises(PermissionDenied):
        service.withdraw(stored.document_id, "nhầm", land)
    with pytest.raises(PermissionDenied):
        service.apply_retention(CODE, DESK, land)
    assert records.saves == [] and records.records[0].state == domain.State.ACTIVE


def test_a_redelivered_hand_over_grants_nothing_new(built):
    service, _, grants, _ = built
    assert service.hand_over(CODE, [LAND, TAX], FIELDS) == [LAND, TAX]
    assert service.hand_over(CODE, [TAX, LAND], {"event_id": "e-2"}) == []
    assert set(grants.grants) == {f"{CODE}|{LAND}", f"{CODE}|{TAX}"}
    assert grants.grants[f"{CODE}|{TAX}"] == FIELDS  # the first grant is kept as it was


def test_a_dossier_with_no_files_yet_is_granted_all_the_same(built):
    service, _, grants, _ = built
    assert service.hand_over(OTHER_CODE, [LAND], FIELDS) == [LAND]
    assert service.list(OTHER_CODE, DESK, officer(LAND)) == []


@pytest.mark.parametrize("dossier, units", [("not-a-dossier", [LAND]), (CODE, ["phòng đất đai"]),
                                            (CODE, [LAND, ""])])
def test_a_hand_over_with_bad_codes_is_refused_and_stores_nothing(built, dossier, units):
    service, _, grants, _ = built
    with pytest.raises(InvalidArgument):
        service.hand_over(dossier, units, FIELDS)
    assert grants.grants == {}


# -- the worker ---------------------------------------------------------------------------------------
@pytest.fixture
def worker():
    settings = DocumentsSettings(orphan_grace_seconds=3600, orphan_sweep_seconds=42)
    records, objects, grants = FakeDocuments(), FakeObjectStore(), FakeGrants()
    built = bootstrap(settings, documents=records, store=objects, peers=NoPeers(), grants=grants)
    with hosted(DocumentsWorker, settings, documents=built.service, records=records, objects=objects) as container:
        yield container, grants


def _progressed(*units: str, code: str = CODE) -> dict:
    return events.to_payload(rev.CaseProgressed(
        header=events.new_header("routing"), dossier_code=code,
        steps=[rev.CaseStep(step_code=f"buoc_{i}", unit=common_pb2.UnitRef(code=u)) for i, u in enumerate(units)]))


def test_the_worker_grants_the_units_a_case_moved_to_once(worker):
    container, grants = worker
    payload = _progressed(LAND, TAX)  # parallel branches: both agencies
    before = _duplicates("documents", "CaseProgressed")
    with entrypoint_hook(container, "grant_handed_case") as handle:
        assert handle(payload) is True
        assert handle(payload) is False  # redelivered: counted, nothing new
    assert _duplicates("documents", "CaseProgressed") == before + 1
    assert set(grants.grants) == {f"{CODE}|{LAND}", f"{CODE}|{TAX}"}
    assert grants.grants[f"{CODE}|{LAND}"]["steps"] == ["buoc_0", "buoc_1"]


def test_the_worker_grants_the_first_steps_of_an_opened_case(worker):
    container, grants = worker
    opened = rev.CaseOpened(header=events.new_header("routing"), dossier_code=CODE, process_code="QT.DD.02",
                            steps=[rev.CaseStep(step_code="tiep_nhan", unit=common_pb2.UnitRef(code=DESK))])
    with entrypoint_hook(container, "grant_opened_case") as handle:
        assert handle(events.to_payload(opened)) is True
    assert set(grants.grants) == {f"{CODE}|{DESK}"}


def test_the_worker_grants_for_a_dossier_it_holds_no_file_of(worker):
    container, grants = worker
    with entrypoint_hook(container, "grant_handed_case") as handle:
        assert handle(_progressed(LAND, code=OTHER_CODE)) is True
    assert set(grants.grants) == {f"{OTHER_CODE}|{LAND}"}


def test_the_worker_dead_letters_a_hand_over_that_names_no_unit(worker):
    container, grants = worker
    with entrypoint_hook(container, "grant_handed_case") as handle, pytest.raises(PermanentError):
        handle(_progressed(LAND, "không phải mã"))
    assert grants.grants == {}


class _BucketsSeen(FakeObjectStore):
    """The fake store, recording each bucket it was asked to make."""

    def __init__(self):
        super().__init__()
        self.buckets: list[str] = []

    def ensure_bucket(self, bucket):
        self.buckets.append(bucket)


STRANGER = "000.99.99.H17"  # neither the receiving unit nor on the case


def test_a_grant_files_and_reads_nowhere_but_the_receiving_unit_s_keeping():
    """Issue 11's review: a granted agency filed a result under an unrelated agency (and made its
    bucket). Only the dossier's receiving unit (or the caller's own agency) may be named."""
    records, store = FakeDocuments(), _BucketsSeen()
    service = bootstrap(DocumentsSettings(), documents=records, store=store, peers=NoPeers(),
                        grants=FakeGrants()).service
    foreign = upload(service, officer(TAX, "cv-thue"), data=PDF + b"tax")  # TAX's own file of this dossier
    service.hand_over(CODE, [LAND], FIELDS)
    land = officer(LAND, "cv-vpdk")
    before = (list(records.records), list(store.buckets), dict(store.objects))
    calls = [lambda: upload(service, land, kind=domain.Kind.RESULT, component="Kết quả", agency=STRANGER),
             lambda: upload(service, land, kind=domain.Kind.RESULT, component="Kết quả", agency=TAX),
             lambda: service.list(CODE, STRANGER, land), lambda: service.list(CODE, TAX, land),
             lambda: service.digitisation(CODE, TAX, land), lambda: service.download(foreign.document_id, land),
             lambda: service.download_link(foreign.document_id, 60, land)]
    for call in calls:
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert refused.value.reason == "OTHER_AGENCY"
        assert refused.value.metadata["keeper"] == DESK and f"receiving unit {DESK}" in refused.value.message
    assert (records.records, store.buckets, store.objects) == before  # nothing stored, no bucket made
    # The receiving unit's keeping and the caller's own stay open to it.
    assert upload(service, land, kind=domain.Kind.RESULT, component="Kết quả", agency=DESK).agency_code == DESK
    assert upload(service, land, kind=domain.Kind.RESULT, component="Kết quả", data=PDF + b"own").agency_code == LAND
