"""Which standard form a dossier has been issued, filled from the dossier itself: used by the api
(GetForm, GetReceipt) and by the worker that files a copy of every issued form with the documents
service. `printed` draws them; this module decides what goes in."""

from __future__ import annotations

import urllib.parse
from enum import IntEnum

from onestop_chassis.errors import FailedPrecondition

from ..reception import domain
from . import layout, printed


class Form(IntEnum):
    """onestop.intake.v1.FormKind."""
    RECEIPT = 1
    SUPPLEMENT_REQUEST = 2
    REFUSAL = 3


TITLES_VI = {Form.RECEIPT: "Mẫu số 01 — Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
             Form.SUPPLEMENT_REQUEST: "Mẫu số 02 — Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
             Form.REFUSAL: "Mẫu số 03 — Phiếu từ chối tiếp nhận giải quyết hồ sơ"}
FILE_PREFIXES = {Form.RECEIPT: "giay-tiep-nhan", Form.SUPPLEMENT_REQUEST: "phieu-yeu-cau-bo-sung",
                 Form.REFUSAL: "phieu-tu-choi"}
# CopyKind numbers → the receipt's wording (form 01 table).
RECEIPT_COPY_KINDS = {1: "original", 2: "certified_copy", 3: "photocopy", 4: "certified_copy"}


def collect_at(d: domain.Dossier) -> str:
    """Where the result is collected (nơi trả kết quả)."""
    return f"Bộ phận Một cửa — {d.receiving_unit.name}"


def file_name(form: Form, code: str) -> str:
    return f"{FILE_PREFIXES[form]}-{code}.pdf"


def _not_issued(d: domain.Dossier, form: Form, why: str) -> FailedPrecondition:
    return FailedPrecondition("FORM_NOT_ISSUED", f"dossier {d.code} has no {TITLES_VI[form]}: {why}",
                              metadata={"code": d.code, "form": str(int(form))})


def _receiving_officer(d: domain.Dossier) -> str:
    """Who received the dossier: for an online one, the officer who accepted it, not the citizen."""
    received = next((t for t in d.history if t.status == domain.DossierStatus.RECEIVED), None)
    return received.actor if received else ""


def render(d: domain.Dossier, form: int, lookup_url: str) -> bytes:
    """The PDF of `form` for dossier `d`; FAILED_PRECONDITION FORM_NOT_ISSUED when the dossier
    never reached the step that issues it. `lookup_url` is the public lookup page (form 01's QR)."""
    form = Form(form)
    if form == Form.RECEIPT:
        if d.appointment_at is None:
            raise _not_issued(d, form, "it has no appointment yet (accept the online dossier first)")
        return printed.render_receipt(
            d, documents=[layout.ReceiptDocument(x.name, RECEIPT_COPY_KINDS.get(int(x.copy_kind), "original"), x.count)
                          for x in d.documents],
            lookup_url=f"{lookup_url}?{urllib.parse.urlencode({'ma': d.code})}", lookup_secret=d.lookup_secret,
            collect_at=collect_at(d), officer_name=_receiving_officer(d))
    if form == Form.SUPPLEMENT_REQUEST:
        request = d.supplement_request
        if request is None:
            raise _not_issued(d, form, "no supplement was requested")
        return printed.render_supplement_request(
            d, documents_to_add=list(request.documents_to_add) or [request.reason], reason=request.reason,
            officer_name=request.requested_by, contact=collect_at(d), issued_at=request.requested_at)
    if not d.refusal_reasons:
        raise _not_issued(d, form, "it was not refused")
    refused = next((t for t in reversed(d.history) if t.status == domain.DossierStatus.REFUSED), None)
    return printed.render_refusal(d, reasons=list(d.refusal_reasons), officer_name=refused.actor if refused else "",
                                issued_at=refused.at if refused else None)


def issued(d: domain.Dossier) -> list[Form]:
    """The forms the dossier has been issued so far."""
    found = []
    if d.appointment_at is not None:
        found.append(Form.RECEIPT)
    if d.supplement_request is not None:
        found.append(Form.SUPPLEMENT_REQUEST)
    if d.refusal_reasons:
        found.append(Form.REFUSAL)
    return found
