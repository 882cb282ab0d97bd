"""``values.amount_spans``: money glued to its label's colon is read; times and ratios are not amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from docvlm.engines.layout.candidates.values import amount_spans


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("TOTAL INCL. GST:RM 8.40", "8.40"),
        ("CASH:RM 20.00", "20.00"),
        ("Total:7.25", "7.25"),
        ("Summe:€ 3,50", "3.50"),
    ],
)
def test_money_right_after_a_labels_colon_is_an_amount(text: str, value: str) -> None:
    assert [a.value for a in amount_spans(text)] == [Decimal(value)]


@pytest.mark.parametrize("text", ["12:30", "at 10:45 PM", "Time 12:30:15", "No:123", "Qty:2", "ratio 3:2"])
def test_a_time_a_ratio_or_a_bare_number_after_a_colon_is_not(text: str) -> None:
    assert amount_spans(text) == ()
