"""Dates: the document's date order (day-first or month-first)."""

from __future__ import annotations

import logging
import re

from docvlm.engines.layout import lexicon as lx
from docvlm.parsers import NUMERIC_DATE

_log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Document-level inference


def infer_dayfirst(text: str, currency: str | None) -> bool:
    """Day-first unless an unambiguous month-first date, a US address or US dollars say otherwise.

    Unambiguous dates on the page (13/04 vs 04/13) decide first; then a US state + ZIP, "USA" or
    "USD"/"US$"; a bare "$" counts as US unless the page shows another dollar country.
    """
    day, month = 0, 0
    for m in NUMERIC_DATE.finditer(text):
        a, b = int(m.group(1)), int(m.group(3))
        if 12 < a <= 31 and 1 <= b <= 12:
            day += 1
        elif 12 < b <= 31 and 1 <= a <= 12:
            month += 1
    if day != month:
        return day > month
    if lx.US_STATE_ZIP.search(text) or lx.US_COUNTRY.search(text):
        return False
    if currency != "USD":
        return True
    if re.search(r"\bUSD\b|US\$", text):
        return False
    # a bare "$" is US unless the page shows another dollar country (GST/HST/ABN, RM, place names)
    return bool(lx.OTHER_DOLLAR_COUNTRY.search(text))
