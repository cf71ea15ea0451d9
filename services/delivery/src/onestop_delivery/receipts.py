"""Receipts (biên lai thu tiền) of the money the postal worker collects from the applicant on the
agency's behalf (Decision 45/2016/QĐ-TTg art. 11: the procedure's fees may be paid to the public
postal operator; DOMAIN.md: at postal intake the postal worker "collects fees against a receipt").

A collection happens once per shipment:
- OUTBOUND, when the parcel is delivered: the procedure's fees collected on delivery (COD) and the
  postage when the applicant pays it;
- INBOUND (postal intake), when the postal worker picks the dossier up: the procedure's fees
  (`Fees.pickup_fees`) and the postage when the applicant pays it.
Nothing to collect (the agency pays the postage, no fees): no receipt.

The receipt's number is `BL-<shipment id>`: one collection per shipment, and the shipment id is the
carrier's order number, unique and stable, so a repeated carrier report or a redelivered event
never issues a second number and no shared counter is needed (FerretDB loses concurrent updates of
one document). It is recorded on the log entry of the collection (`Entry.receipt`) and the PDF is
filed with the documents service (FormIssued, form 15) under the dossier: at delivery for a result,
at the desk's HandOverPickup for postal intake (no dossier code exists at the pickup)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from num2words import num2words
from reportlab.platypus import Paragraph, Spacer

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events, pdf
from onestop_chassis.pdf import markup, markup_cell

from . import domain
from .carrier import Direction
from .domain import Entry, Shipment, State

FORM = 15  # FormIssued.form of a receipt (delivery's handover records are 11-14)
TITLE_VI = "Biên lai thu tiền (thu hộ phí, lệ phí thủ tục hành chính và cước bưu chính)"
CREATOR = "OneStop – Bưu chính công ích"
ITEMS_VI = {"cod": "Phí, lệ phí giải quyết thủ tục hành chính (thu hộ khi phát kết quả)",
            "pickup_fees": "Phí, lệ phí giải quyết thủ tục hành chính (thu hộ khi nhận hồ sơ)",
            "postage": "Cước dịch vụ bưu chính công ích"}


def number(s: Shipment) -> str:
    """The receipt's number, e.g. "BL-000.00.21.H17-261117-0001-R1"."""
    return f"BL-{s.id}"


def lines(s: Shipment) -> dict[str, int]:
    """What the applicant pays the post at the collection of `s`, VND by item ("cod" or
    "pickup_fees", "postage"); amounts of 0 left out."""
    h = s.header
    fees = h.fees.cod if h.direction is Direction.OUTBOUND else h.fees.pickup_fees
    found = {"cod" if h.direction is Direction.OUTBOUND else "pickup_fees": fees}
    if h.fees.payer != "agency":
        found["postage"] = s.postal_charge
    return {item: amount for item, amount in found.items() if amount}


def collects(before: Shipment, after: Shipment) -> bool:
    """Whether the change from `before` to `after` is the collection (the module's rule)."""
    if after.header.direction is Direction.OUTBOUND:
        return after.state is State.DELIVERED and before.state is not State.DELIVERED
    return after.picked_up_at is not None and before.picked_up_at is None


def stamped(s: Shipment, entry: Entry | None) -> Entry | None:
    """`entry` with the receipt's number when applying it to `s` is a collection with something to
    collect; else `entry` unchanged."""
    if entry is None or not entry.applied:
        return entry
    after = domain.apply(s, entry)
    return replace(entry, receipt=number(s)) if collects(s, after) and lines(after) else entry


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def in_words(amount: int) -> str:
    """'Sáu mươi sáu nghìn năm trăm đồng' (the amount in words, as a receipt writes it)."""
    words = num2words(amount, lang="vi")
    return words[:1].upper() + words[1:] + " đồng"


def render(s: Shipment, at: dt.datetime) -> bytes:
    """The receipt's PDF: its number, who collected for whom, who paid, each item and the total in
    figures and in words, the order and waybill, the time, both signatures. Deterministic."""
    st, h = pdf.Styles(), s.header
    outbound = h.direction is Direction.OUTBOUND
    agency, applicant = (h.sender, h.receiver) if outbound else (h.receiver, h.sender)
    items = lines(s)
    rows = [[Paragraph(x, st.head_c) for x in ("STT", "Nội dung thu", "Số tiền (đồng)")]]
    rows += [[Paragraph(str(i), st.cell_c), Paragraph(markup_cell(ITEMS_VI[item]), st.cell),
              Paragraph(vnd(amount), st.cell_c)] for i, (item, amount) in enumerate(items.items(), start=1)]
    total = sum(items.values())
    rows.append(["", Paragraph("<b>Tổng cộng</b>", st.cell), Paragraph(f"<b>{vnd(total)}</b>", st.cell_c)])
    dossier = s.dossier_code or (h.ref if outbound else "")
    w = pdf.FRAME_W
    story: list = [
        pdf.header(st, agency.name, h.agency_code, f"Biên lai số {markup(number(s))}", pdf.long_date(at)),
        Paragraph("BIÊN LAI THU TIỀN", st.title),
        Paragraph("(Thu hộ phí, lệ phí thủ tục hành chính và cước dịch vụ bưu chính công ích)", st.sub_c),
        Spacer(1, 6),
        pdf.labelled_line(st, "Số biên lai", markup(number(s))),
        pdf.labelled_line(st, "Đơn vị thu", "Doanh nghiệp bưu chính công ích, thu hộ " + markup(agency.name)),
        pdf.labelled_line(st, "Người nộp tiền", markup(applicant.name)),
        pdf.labelled_line(st, "Địa chỉ", f"{markup(applicant.address_line)} (mã xã {markup(applicant.commune_code)}"
                          f", mã tỉnh {markup(applicant.province_code)})", bold_value=False),
        pdf.labelled_line(st, "Mã đơn hàng", markup(s.id) + (f"; số hiệu bưu gửi {markup(s.waybill)}"
                                                             if s.waybill else "")),
    ]
    if dossier:
        story.append(pdf.labelled_line(st, "Mã hồ sơ", markup(dossier)))
    story += [Spacer(1, 4), pdf.grid(rows, [w * 0.08, w * 0.62, w * 0.30]), Spacer(1, 4),
              pdf.labelled_line(st, "Số tiền bằng chữ", markup(in_words(total))),
              Paragraph(f"Hình thức thanh toán: tiền mặt. Thu lúc {pdf.format_moment(at)}.", st.body),
              Paragraph("Biên lai lập thành 02 liên: liên 1 giao người nộp tiền, liên 2 lưu tại doanh nghiệp bưu "
                        "chính (Quyết định 45/2016/QĐ-TTg).", st.just), Spacer(1, 8),
              pdf.signatures(st, [("NGƯỜI NỘP TIỀN", applicant.name), ("NGƯỜI THU TIỀN", "Nhân viên bưu chính")])]
    return pdf.build(story, title="Biên lai thu tiền", code=dossier or s.id, author=agency.name,
                     subject=f"Biên lai {pdf.plain(number(s))}", creator=CREATOR)


def form_issued(s: Shipment, at: dt.datetime) -> ev.FormIssued:
    """The FormIssued that files the receipt under the dossier (request_id stable for its content)."""
    body = render(s, at)
    digest = hashlib.sha256(body).hexdigest()
    return ev.FormIssued(header=events.new_header("delivery", at), dossier_code=s.dossier_code or s.header.ref,
                         agency_code=s.agency_code, form=FORM, title=TITLE_VI, file_name=f"bien-lai-{s.id}.pdf",
                         pdf=body, sha256=digest, request_id=f"receipt-{s.id}-{digest[:16]}")
