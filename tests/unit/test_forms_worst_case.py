"""Issue 9, kind 4: printed forms never fail on what the API accepts. Each form is rendered with
the worst case the contract's bounds allow (max items × max length, 70 line breaks in one table
cell, words longer than a line) and must be a valid PDF that holds every item's text."""

from __future__ import annotations

import io

import pypdf
import pytest
from test_intake_forms import _dossier, _text

from onestop_intake.catalogue import domain as catalogue
from onestop_intake.forms import issued as issued_forms
from onestop_intake.forms import layout as forms
from onestop_intake.forms import printed
from onestop_intake.reception import domain
from onestop_intake.units import domain as units

BREAKS = "\n".join(f"Dòng {n} của ô" for n in range(71))  # 70 line breaks in one cell
CELL70 = "\n".join(f"ý {n}" for n in range(71))            # the same within a 500-character name
LONG_WORD = "Đ" * 500                                      # no place to break a line


def _filler(marker: str, length: int) -> str:
    text = f"{marker} " + "giấy tờ chứng minh nơi cư trú hợp pháp " * (length // 38 + 1)
    return text[:length]


def _pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) < 4 * 1024 * 1024  # GetForm's answer stays readable by a default gRPC client
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _worst_dossier(**changes) -> domain.Dossier:
    applicant = domain.Applicant(
        kind=domain.ApplicantKind.PERSON, full_name=_filler("Nguyễn", 200), citizen_id="046190001234",
        phone="0912345678", email="a@example.vn",
        address=domain.Address(line=_filler("Số", 300), commune=_filler("Phường", 120), province=_filler("Tỉnh", 120)))
    return _dossier(applicant=applicant, request_content=BREAKS[:2000],
                    receiving_unit=units.Unit(code="000.00.21.H17", name=_filler("Trung tâm", 300)), **changes)


def test_receipt_with_100_documents_of_500_characters_and_70_line_breaks():
    documents = [forms.ReceiptDocument(BREAKS if n == 0 else LONG_WORD if n == 1 else _filler(f"MỤC{n:03d}", 500),
                                       "original", 99) for n in range(100)]
    pdf = printed.render_receipt(_worst_dossier(), documents=documents, lookup_url="https://x.vn/tra-cuu?ma=1",
                               lookup_secret="7KQ4M2XP", collect_at=_filler("Quầy", 300), officer_name="Trần Văn Đức")
    assert _pages(pdf) > 3
    text = _text(pdf)
    assert "Dòng 70 của ô" in text and "MỤC002" in text and "MỤC099" in text


def test_supplement_request_with_50_items_of_500_characters():
    items = [BREAKS[:500]] + [_filler(f"MỤC{n:03d}", 500) for n in range(1, 50)]
    pdf = printed.render_supplement_request(_worst_dossier(), documents_to_add=items, reason=BREAKS[:2000],
                                          officer_name="Trần Văn Đức", contact=_filler("Quầy", 300))
    assert _pages(pdf) > 2
    text = _text(pdf)
    assert "MỤC001" in text and "MỤC049" in text


def test_a_cell_with_70_line_breaks_keeps_every_line_and_stays_short():
    """The issue's example (LayoutError, then the worker retried the event forever): the first
    CELL_LINES - 1 lines stay lines, the others are joined with " / " so the row stays short."""
    pdf = printed.render_supplement_request(_dossier(), documents_to_add=[CELL70, LONG_WORD],
                                          reason="Thiếu", officer_name="Trần Văn Đức", contact="Quầy 3")
    assert _pages(pdf) <= 2  # the form's own text takes most of a page; 70 lines would add 2 more
    text = _text(pdf)
    assert "ý 10 ý 11 / ý 12 / ý 13" in text and "ý 69 / ý 70" in text and "Đ" * 20 in text


def test_a_row_taller_than_a_page_splits_instead_of_failing():
    """Belt and braces: even a cell taller than a page (more than the bounds allow) prints."""
    tall = "<br/>".join(["dòng"] * 120)
    table = forms.grid([["STT", "Giấy tờ"], ["1", forms.Paragraph(tall, forms.Styles().cell)]],
                        [12 * forms.mm, forms.FRAME_W - 12 * forms.mm])
    forms.register_fonts()
    assert _pages(forms.build([table], title="T", dossier=_dossier())) >= 2


def test_refusal_with_20_reasons_of_1000_characters():
    reasons = [BREAKS[:1000]] + [_filler(f"LÝDO{n:02d}", 1000) for n in range(1, 19)] + [LONG_WORD * 2]
    pdf = printed.render_refusal(_worst_dossier(), reasons=reasons, officer_name="Trần Văn Đức")
    assert _pages(pdf) > 2
    text = _text(pdf)
    assert "LÝDO01" in text and "LÝDO18" in text


@pytest.mark.parametrize("form", list(issued_forms.Form))
def test_every_form_renders_from_a_dossier_at_the_bounds(form):
    """Through issued_forms.render, as the worker files them (the event was retried forever)."""
    dossier = _worst_dossier(
        documents=tuple(domain.SubmittedDocument(CELL70, catalogue.CopyKind.ORIGINAL, 1) for _ in range(100)),
        supplement_request=domain.SupplementRequest(
            requested_at=_dossier().received_at, reason=BREAKS[:2000], documents_to_add=(CELL70,) * 50,
            requested_by="officer"),
        refusal_reasons=(BREAKS[:1000],) * 20)
    pdf = issued_forms.render(dossier, form, "https://x.vn/tra-cuu")
    assert _pages(pdf) >= 2
    assert ("ý 70" if form != issued_forms.Form.REFUSAL else "Dòng 30 của ô") in _text(pdf)
