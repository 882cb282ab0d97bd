"""The one-search prefilters of the keyed header fields find a label exactly where one of its patterns does."""

from __future__ import annotations

import pytest

from docvlm.engines.layout import lexicon as lx

LINES = [
    "Invoice No: INV-2023-0008   Date: 12/03/2024",
    "Rechnungsnummer 4711  Rechnungsdatum 01.02.2024  Fällig am 15.02.2024",
    "N° de facture F-12  Date de la facture 3 mars 2024  Échéance 2 avril 2024",
    "Factuurnummer: 99 Vervaldatum 01-01-2025 Uw referentie PO-7",
    "PO Number 5521   Purchase Order   Order ID 77",
    "Due Date: 2024-04-01  Payment due on receipt",
    "Description  Qty  Unit price  Amount",
    "invoiced to: ACME, date-of-birth, updated 2024",
    "Total 1,234.56 EUR",
    "",
]


@pytest.mark.parametrize("line", LINES)
def test_field_prefilter_agrees_with_the_field_patterns_on_every_span(line: str) -> None:
    for path, patterns in lx.HEADER_PATTERNS.items():
        union = lx.FIELD_LABELS_RE[path]
        for a in range(len(line) + 1):
            for b in range(a, len(line) + 1):
                any_single = any(p.search(line, a, b) for p, _ in patterns)
                assert bool(union.search(line, a, b)) == any_single, (path, line[a:b])
                if any_single:
                    assert lx.FIELD_LABEL_RE.search(line, a, b)
