"""A credit note read off the page is stated as its XML states it: positive amounts, document_type."""

from __future__ import annotations

from collections.abc import Sequence

from docvlm.engines import LayoutOptions
from docvlm.engines.layout import LayoutEngine
from schemas.invoice import Invoice
from tests.helpers.pages import Line, make_page


def run(lines: Sequence[Line]) -> tuple[dict, str]:
    out = LayoutEngine(LayoutOptions(use_model=False)).extract([make_page(lines)], Invoice)
    return out.data, out.document_type


def lines(title: str, sign: str) -> list[Line]:
    return [
        (40, 40, "Atelier Brunvoll SARL", 14),
        (40, 90, title, 18),
        (40, 130, "Date:  12/03/2024"),
        (300, 500, f"Total HT  {sign}100,00 €"),
        (300, 513, f"TVA 20 %  {sign}20,00 €"),
        (300, 526, f"Total TTC  {sign}120,00 €"),
    ]


def test_a_credit_note_with_negative_amounts_is_stated_positive() -> None:
    data, doc_type = run(lines("Avoir AV-2024-0007", "-"))
    assert doc_type == "credit_note"
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("100.00", "20.00", "120.00")


def test_an_invoice_keeps_its_signs_and_type() -> None:
    data, doc_type = run(lines("Facture FA-2024-0007", "-"))
    assert doc_type == "invoice"
    assert data["total"] == "-120.00"


def test_a_credit_note_title_with_positive_amounts_changes_nothing() -> None:
    # "Gutschrift" also titles a self-billed invoice, whose amounts are positive
    data, doc_type = run(lines("Gutschrift Nr. 4711", ""))
    assert doc_type == "invoice"
    assert data["total"] == "120.00"
