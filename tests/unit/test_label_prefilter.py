"""The keyed header fields' patterns, tried only where some field label starts, match exactly as searched."""

from __future__ import annotations

import re

import pytest

from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.labels import label_starts, matches_at

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
def test_field_patterns_tried_at_the_label_starts_match_as_their_search_does(line: str) -> None:
    for a in range(len(line) + 1):
        for b in range(a, len(line) + 1):
            starts = label_starts(line, a, b)
            for path, patterns in lx.HEADER_PATTERNS.items():
                for pat, _ in patterns:
                    searched = [m.span() for m in pat.finditer(line, a, b)]
                    tried = [m.span() for m in matches_at(pat, line, starts, b)]
                    assert tried == searched, (path, pat.pattern[:40], line[a:b])


def test_matches_at_goes_on_after_each_match_as_finditer_does() -> None:
    pat = re.compile(r"ab|b")
    text = "abab b"
    assert [m.span() for m in matches_at(pat, text, [0, 1, 2, 3, 5], len(text))] == [
        m.span() for m in pat.finditer(text)
    ]
