"""Cross-check: what the XML says and what the layout engine reads on the same pages in, evidence
for the XML values and ``xml_page_mismatch`` warnings out.

Where the page reading agrees with the XML, its evidence (page, box, printed text) becomes the
XML value's evidence, marked ``source: "xml"``; grounding then searches the page only for the
values the layout engine did not find. Where the layout engine reads a header field confidently
but differently, the XML's value is looked for on the page: found, it is the value's evidence
(the layout engine chose the wrong candidate); not found, the record gets ``xml_page_mismatch``
with both values (a broken generator or a tampered file). The layout engine reads header fields
only (its tables are the costly part, and the XML's line items are exact): each XML line is
located by its description, and its numbers on that row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz

from docvlm.datamodel import EngineOutput, Evidence, Page, RecordWarning
from docvlm.evidence import PageIndex, find_evidence
from docvlm.parsers import normalize_text, parse_amount, parse_date
from docvlm.paths import get_path
from schemas.invoice import HEADER_FIELDS, Invoice
from schemas.kinds import FieldKind, kind_of

_log = logging.getLogger(__name__)

#: the fields a reader of the page must find printed; the cross-check's headline
KEY_FIELDS: tuple[str, ...] = (
    "invoice_number",
    "invoice_date",
    "total",
    "amount_due",
    "vendor.tax_id",
    "vendor.iban",
)
#: kinds compared character for character, spaces, punctuation and case aside
_ID_KINDS = frozenset({FieldKind.IDENTIFIER, FieldKind.COMPACT_ID, FieldKind.CODE, FieldKind.EMAIL})
#: names, addresses and descriptions this similar (rapidfuzz ratio, 0..100) count as the same text
TEXT_SIMILARITY = 90.0
#: the numbers of a line item, looked for on its description's row
ROW_NUMBERS = ("quantity", "unit_price", "amount", "tax_rate")
_NON_ALNUM = re.compile(r"[\W_]+")


@dataclass
class CrossCheck:
    """Evidence for XML values taken from agreeing page readings, and the disagreements."""

    evidence: dict[str, Evidence] = field(default_factory=dict)
    warnings: list[RecordWarning] = field(default_factory=list)


def _number(v: Any) -> Decimal | None:
    if isinstance(v, Decimal):
        return v
    if v is None:
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return parse_amount(str(v))


def _date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    return parse_date(str(v)) if v is not None else None


def _text(v: Any) -> str:
    return " ".join(normalize_text(str(v)).casefold().split()).strip(" .,:;-")


def same_value(kind: FieldKind, a: Any, b: Any) -> bool:
    """Do two readings of a field agree, by the field's kind (numbers, dates, identifiers, text)?

    Amounts compare by magnitude: a page may print a credit note's amounts with a minus sign.
    """
    if a is None or b is None:
        return a is None and b is None
    if kind is FieldKind.MONEY:
        x, y = _number(a), _number(b)
        return x is not None and y is not None and abs(x) == abs(y)
    if kind is FieldKind.DATE:
        return _date(a) is not None and _date(a) == _date(b)
    if kind in _ID_KINDS:
        return _NON_ALNUM.sub("", str(a)).casefold() == _NON_ALNUM.sub("", str(b)).casefold()
    ta, tb = _text(a), _text(b)
    return ta == tb or fuzz.ratio(ta, tb) >= TEXT_SIMILARITY


def _as_xml(ev: Evidence) -> Evidence:
    return dataclasses.replace(ev, source="xml")


def _show(v: Any) -> str:
    return format(v, "f") if isinstance(v, Decimal) else str(v)


def _header(
    xml: Mapping[str, Any], page: EngineOutput, index: PageIndex, threshold: float, out: CrossCheck
) -> None:
    for path in HEADER_FIELDS:
        want = get_path(xml, path)
        if want is None:
            continue
        kind = kind_of(Invoice, path)
        got = get_path(page.data, path)
        ev = page.evidence.get(path)
        if got is not None and same_value(kind, want, got):
            if ev is not None:
                out.evidence[path] = _as_xml(ev)
            continue
        conf = page.confidence.get(path, 0.0)
        if got is None or conf < threshold:
            continue
        found = find_evidence(want, kind, index, exact_ids=True)
        if found is not None:  # the page prints the XML's value too: the layout engine chose another
            out.evidence[path] = _as_xml(found)
        else:
            printed = f' (printed "{ev.text}" on page {ev.page})' if ev is not None else ""
            out.warnings.append(
                RecordWarning(
                    "xml_page_mismatch",
                    f"{path}: the XML says {_show(want)!r}, the page reads {_show(got)!r}{printed}, "
                    f"confidence {conf:.2f}",
                    path,
                )
            )


def _same_row(box: tuple[float, float, float, float], row: tuple[float, float, float, float]) -> bool:
    return box[1] < row[3] and box[3] > row[1]


def _lines(xml: Mapping[str, Any], index: PageIndex, out: CrossCheck) -> None:
    """Each line's description on the page, then its numbers on the same row (not the first
    "1" anywhere on the page, as a search of the whole page would give)."""
    for i, item in enumerate(xml.get("line_items") or []):
        desc = item.get("description")
        row = find_evidence(desc, FieldKind.TEXT, index) if desc else None
        if row is None:
            continue
        out.evidence[f"line_items.{i}.description"] = _as_xml(row)
        for k in ROW_NUMBERS:
            value = item.get(k)
            if not isinstance(value, Decimal):
                continue
            on_row = [
                ev
                for ev in index.amounts().get(abs(value), [])
                if ev.page == row.page and _same_row(ev.bbox, row.bbox)
            ]
            if on_row:
                cy = (row.bbox[1] + row.bbox[3]) / 2
                best = min(on_row, key=lambda ev: (-ev.score, abs((ev.bbox[1] + ev.bbox[3]) / 2 - cy)))
                out.evidence[f"line_items.{i}.{k}"] = _as_xml(best)


def cross_check(
    xml: Mapping[str, Any],
    page: EngineOutput,
    pages: Sequence[Page],
    threshold: float,
    index: PageIndex | None = None,
) -> CrossCheck:
    """Compare the XML's values with a page reading (``page``: layout output) of the same ``pages``.

    ``threshold`` is the page-reading confidence from which a disagreement is reported; ``index``:
    the pages' ``PageIndex`` when the caller keeps it (grounding then reads the same one).
    """
    out = CrossCheck()
    index = index if index is not None else PageIndex(pages)
    _header(xml, page, index, threshold, out)
    _lines(xml, index, out)
    _log.debug("cross-check: %d values located, %d disagreements", len(out.evidence), len(out.warnings))
    return out
