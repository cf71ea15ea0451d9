"""Handover records (biên bản bàn giao) of a result's parcel, as Vietnamese PDFs with the chassis pdf
kit: the agency's desk hands the result to the public postal service, and the postal service hands it
to the applicant (Decision 45/2016/QĐ-TTg: each handover between the agency, the postal operator and
the applicant is recorded with both parties, what was handed and when). Filed with the documents
service as the desk's forms are (FormIssued, producer delivery; kind FORM under the dossier code).

Postal intake: the records applicant → post (the pickup: the postal worker checked the documents
against the procedure's published list and sealed the parcel in front of the applicant) and post →
desk are filed once the desk has received the parcel as a dossier (channel 3, HandOverPickup), under
that dossier's code: no dossier code exists at the pickup. The pickup's record is dated when the
carrier reported the pickup."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib

from reportlab.platypus import Paragraph, Spacer

from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events, pdf
from onestop_chassis.pdf import markup, markup_cell

from .carrier import Party
from .domain import Shipment

CREATOR = "OneStop – Bưu chính công ích"
PRODUCER = "delivery"


class Record(enum.IntEnum):
    """FormIssued.form numbers of delivery's records (11 and up: intake's and routing's are 1-7)."""
    AGENCY_TO_POST = 11   # the desk hands the result to the postal service
    POST_TO_APPLICANT = 12  # the postal service delivers it
    POST_TO_AGENCY = 13  # postal intake: the postal service hands the sealed dossier to the desk
    APPLICANT_TO_POST = 14  # postal intake: the applicant hands the dossier to the postal worker (pickup)


TITLES_VI = {
    Record.AGENCY_TO_POST: "Biên bản bàn giao kết quả giải quyết TTHC cho doanh nghiệp bưu chính",
    Record.POST_TO_APPLICANT: "Biên bản bàn giao kết quả giải quyết TTHC cho tổ chức, cá nhân",
    Record.POST_TO_AGENCY: "Biên bản bàn giao hồ sơ TTHC tiếp nhận qua bưu chính cho bộ phận một cửa",
    Record.APPLICANT_TO_POST: "Biên bản giao nhận hồ sơ TTHC giữa tổ chức, cá nhân và doanh nghiệp bưu chính",
}


def _party(st: pdf.Styles, role: str, p: Party) -> list:
    """The party's name, and its address and phone when known (the postal operator's are its own)."""
    lines = [Paragraph(f"<b>{markup(role)}</b>: {markup(p.name)}", st.body)]
    if p.address_line:
        lines.append(Paragraph(f"Địa chỉ: {markup(p.address_line)} (mã xã {markup(p.commune_code)}, mã tỉnh "
                               f"{markup(p.province_code)}); điện thoại: {markup(p.phone)}", st.body))
    return lines


def render(s: Shipment, record: Record, at: dt.datetime, carrier: str) -> bytes:
    """The record's PDF: the two parties, the items handed, the time. Deterministic (filed once)."""
    st, h = pdf.Styles(), s.header
    post = Party(f"Doanh nghiệp bưu chính ({carrier or 'bưu chính công ích'})", "", "", "", "")
    giver, taker = ((h.sender, post) if record in (Record.AGENCY_TO_POST, Record.APPLICANT_TO_POST)
                    else (post, h.receiver))
    agency = h.receiver if record in (Record.POST_TO_AGENCY, Record.APPLICANT_TO_POST) else h.sender
    story: list = [pdf.header(st, agency.name, h.agency_code, f"Biên bản số {int(record)}", pdf.long_date(at)),
                   Paragraph(TITLES_VI[record].upper(), st.title), Spacer(1, 6),
                   Paragraph(f"Hồi {pdf.format_moment(at)}, hai bên bàn giao bưu gửi số hiệu "
                             f"<b>{markup(s.waybill or '(chưa có)')}</b>, mã đơn hàng <b>{markup(s.id)}</b>.", st.just)]
    story += _party(st, "Bên giao", giver) + _party(st, "Bên nhận", taker)
    rows = [[Paragraph(x, st.head_c) for x in ("STT", "Nội dung", "Khối lượng (g)", "Thu hộ (đồng)", "Cước (đồng)")],
            [Paragraph("1", st.cell_c), Paragraph(markup_cell(h.content), st.cell),
             Paragraph(f"{h.weight_grams:,}".replace(",", "."), st.cell_c),
             Paragraph(f"{h.fees.cod or h.fees.pickup_fees:,}".replace(",", "."), st.cell_c),
             Paragraph(f"{s.postal_charge:,}".replace(",", "."), st.cell_c)]]
    w = pdf.FRAME_W
    if record is Record.APPLICANT_TO_POST:
        story.append(Paragraph(f"Nhân viên bưu chính đã kiểm tra thành phần hồ sơ theo danh mục được công bố của thủ "
                               f"tục {markup(h.procedure_code)} và niêm phong bưu gửi trước mặt người nộp hồ sơ.",
                               st.just))
    story += [Spacer(1, 6), pdf.grid(rows, [w * 0.08, w * 0.44, w * 0.16, w * 0.16, w * 0.16]), Spacer(1, 6),
              Paragraph("Bưu gửi được niêm phong, nguyên vẹn khi bàn giao. Biên bản lập thành 02 bản, mỗi bên giữ "
                        "01 bản (Quyết định 45/2016/QĐ-TTg).", st.just), Spacer(1, 8),
              pdf.signatures(st, [("BÊN GIAO", giver.name), ("BÊN NHẬN", taker.name)])]
    return pdf.build(story, title=TITLES_VI[record], code=s.dossier_code or h.ref, author=agency.name,
                     subject=f"Bưu gửi {pdf.plain(s.id)}", creator=CREATOR)


def form_issued(s: Shipment, record: Record, at: dt.datetime, carrier: str) -> ev.FormIssued:
    """The FormIssued that files the record under the dossier; its request_id is stable for one
    shipment, record and content, so a redelivered event files it once."""
    body = render(s, record, at, carrier)
    digest = hashlib.sha256(body).hexdigest()
    return ev.FormIssued(header=events.new_header(PRODUCER, at), dossier_code=s.dossier_code or s.header.ref,
                         agency_code=s.agency_code, form=int(record), title=TITLES_VI[record],
                         file_name=f"bien-ban-{int(record)}-{s.id}.pdf", pdf=body, sha256=digest,
                         request_id=f"handover-{int(record)}-{s.id}-{digest[:16]}")
