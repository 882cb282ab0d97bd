"""Item values: the cells of an item read as line-item fields, with evidence and confidence.

In: ``Item``s and the column kinds of their table. Out: a ``TableResult`` with items shaped like
``schemas.invoice.LineItem`` (money as decimal strings, rates as percent numbers, text as
printed), evidence and confidence keyed ``line_items.{i}.{field}``, and the table box per page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from docvlm.datamodel import BBox, Evidence, Word
from docvlm.engines.layout.tables.cells import Chunk, Layout
from docvlm.engines.layout.tables.items import Item, desc_chunks
from docvlm.engines.layout.tables.rows import Row
from docvlm.engines.layout.tables.text import (
    MONEY_TEXT,
    PERCENT,
    QTY_UNIT,
    format_decimal,
    format_rate,
    line_box,
    money,
    word_tokens,
)
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    DESCRIPTION,
    PRODUCT_CODE,
    QUANTITY,
    RATE_LABEL_WORDS,
    TAX_RATE,
    UNIT,
    UNIT_PRICE,
)
from docvlm.geometry import union
from docvlm.parsers import parse_amount
from schemas.invoice import LINE_ITEM_FIELDS

_log = logging.getLogger(__name__)

_DIGIT = re.compile(r"\d")

# "[CODE] text", "*CODE* text", "CODE - text" (a code: capitals, digits and marks, with a digit in it)
_CODE_PREFIX = re.compile(
    r"^\s*(?:\[([^\]\s]{2,40})\]|\*([^*\s]{2,40})\*|(?=[A-Z0-9._/-]*\d)([A-Z0-9][A-Z0-9._/-]{2,39})\s+[-–]\s+)\s*"
)
_MODE_CONFIDENCE = {"header": 0.9, "continued": 0.8, "headerless": 0.6}

Value = tuple[str, list[Word], str]  # (normalised value, supporting words, printed text)


@dataclass
class TableResult:
    """Line items of one document with their evidence, confidence and table regions."""

    items: list[dict[str, str | None]] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    table_bbox: dict[int, BBox] = field(default_factory=dict)


def cell(row: Row, kind: str) -> Chunk | None:
    """All the words of ``row`` under columns of ``kind`` as one cell, left to right."""
    chunks = row.cells.get(kind, [])
    if not chunks:
        return None
    return Chunk([w for c in sorted(chunks, key=lambda c: c.x0) for w in c.words])


def qty_and_unit(c: Chunk) -> tuple[Value | None, Value | None]:
    """The quantity and the unit of a "40 Stk" cell as (value, words, printed text); None when absent."""
    m = QTY_UNIT.match(c.text)
    qty = parse_amount(m.group(1).strip()) if m else None
    if m is None or qty is None:
        return None, None
    num_words = [w for w in c.words if _DIGIT.search(w.text)]
    quantity = (format_decimal(qty), num_words or c.words, m.group(1).strip())
    if not m.group(2):
        return quantity, None
    unit_words = [w for w in c.words if not _DIGIT.search(w.text)]
    return quantity, (m.group(2).strip(), unit_words or c.words, m.group(2).strip())


def item_values(item: Item, layout_kinds: set[str]) -> dict[str, Value]:
    """Field -> (normalised value, supporting words, printed text) for one item."""
    out: dict[str, Value] = {}
    row = item.row
    lines: list[list[Chunk]] = []
    for r in item.before:
        lines.append(desc_chunks(r, whole_line=True))
    # a price printed in the description column is no part of the description
    lines.append(
        [c for c in desc_chunks(row, whole_line=False) if not (c.numeric and MONEY_TEXT.search(c.text))]
    )
    for r in item.after:
        lines.append(desc_chunks(r, whole_line=True))
    lines = [ln for ln in lines if ln]
    code_cell = cell(row, PRODUCT_CODE)
    if code_cell is not None:
        out[PRODUCT_CODE] = (code_cell.text.strip(), code_cell.words, code_cell.text)
    if lines:
        first = lines[0]
        first_text = " ".join(c.text for c in first)
        m = _CODE_PREFIX.match(first_text)
        if m and PRODUCT_CODE not in out:
            code = m.group(1) or m.group(2) or m.group(3)
            code_words = [w for c in first for w in c.words][:1]
            out[PRODUCT_CODE] = (code, code_words, code_words[0].text if code_words else code)
        desc_lines = [" ".join(c.text for c in ln) for ln in lines]
        desc_words = [w for ln in lines for c in ln for w in c.words]
        if m:
            desc_lines[0] = first_text[m.end() :]
            desc_words = desc_words[len(first_text[: m.end()].split()) :]
        desc = _join_lines([t.strip() for t in desc_lines if t.strip()])
        if desc:
            out[DESCRIPTION] = (desc, desc_words, " ".join(desc_lines))
    for kind in (AMOUNT, UNIT_PRICE):
        c = cell(row, kind)
        if c is not None:
            value = money(c.text)
            if value is not None:
                out[kind] = (format_decimal(value), c.words, c.text)
    qcell = cell(row, QUANTITY)
    if qcell is not None:
        qty, unit = qty_and_unit(qcell)
        if qty is not None:
            out[QUANTITY] = qty
            if unit is not None and UNIT not in layout_kinds and unit[0].lower() not in {"x", "×"}:
                out[UNIT] = unit
    ucell = cell(row, UNIT)
    if ucell is not None and ucell.text.strip():
        qty, unit = qty_and_unit(ucell)
        if qty is not None and unit is not None and out.get(QUANTITY, (None,))[0] in (None, qty[0]):
            # "40 Stk" under the unit header: on a scan, word boxes shared out along an OCR line
            # can put the quantity's digits past the column edge; the number is the quantity
            out[QUANTITY], out[UNIT] = qty, unit
        else:
            out[UNIT] = (ucell.text.strip(), ucell.words, ucell.text)
    tcell = cell(row, TAX_RATE)
    if tcell is not None:
        pm = PERCENT.search(tcell.text)
        rate = parse_amount(pm.group(1)) if pm else None
        if rate is None and row.layout is not None and rate_column(row.layout):
            # "VAT %" over a bare "21": the header says it is a rate; a tax amount column does not
            rate = parse_amount(tcell.text.strip())
            rate = rate if rate is not None and 0 <= rate <= 100 else None
        if rate is not None:
            out[TAX_RATE] = (format_rate(rate), tcell.words, tcell.text)
    return out


def _join_lines(parts: Sequence[str]) -> str:
    """Description lines joined by newlines; a word broken at a hyphen ("Kfz-" / "Haftpflicht") is joined whole."""
    out = ""
    for part in parts:
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and part[:1].isalpha():
            out += part
        else:
            out = f"{out}\n{part}" if out else part
    return out


def rate_column(layout: Layout) -> bool:
    """Whether the tax column's label announces a percentage ("VAT %", "Tax rate", "Taux", "Satz")."""
    for c in layout.columns:
        if c.kind == TAX_RATE:
            return bool(set(word_tokens(c.label)) & RATE_LABEL_WORDS)
    return False


def emit(items: Sequence[Item], layout_kinds: Sequence[set[str]], result: TableResult) -> None:
    """Append the items that carry a number (amount, unit price or quantity) to ``result``."""
    for item, kinds in zip(items, layout_kinds, strict=True):
        values = item_values(item, kinds)
        if AMOUNT not in values and UNIT_PRICE not in values and QUANTITY not in values:
            continue
        idx = len(result.items)
        record: dict[str, str | None] = dict.fromkeys(LINE_ITEM_FIELDS)
        consistent = arithmetic(values)
        for name, (value, words, printed) in values.items():
            record[name] = value
            base = _MODE_CONFIDENCE[item.mode]
            if item.confidence is not None:
                # the model's probabilities can only lower the confidence the reading mode allows
                base = min(base, item.confidence.get(name, base * 0.5))
            page_words = [w for w in words if w.page == words[0].page] if words else []
            page = item.row.page
            conf = base * (sum(w.conf for w in words) / len(words) if words else 1.0)
            if name in (QUANTITY, UNIT_PRICE, AMOUNT) and consistent is not None:
                conf = min(1.0, conf + 0.05) if consistent else conf * 0.8
            if name == DESCRIPTION and (item.before or item.after):
                conf *= 0.95  # joined lines are a judgement call
            key = f"line_items.{idx}.{name}"
            result.evidence[key] = Evidence(
                page=page,
                bbox=union(w.bbox for w in page_words) if page_words else line_box(item.row.line),
                text=printed.strip(),
                score=round(sum(w.conf for w in words) / len(words), 4) if words else 1.0,
            )
            result.confidence[key] = round(max(0.0, min(1.0, conf)), 4)
        result.items.append(record)


def arithmetic(values: dict[str, Value]) -> bool | None:
    """qty x unit price = amount within rounding; None when a term is missing."""
    if not all(k in values for k in (QUANTITY, UNIT_PRICE, AMOUNT)):
        return None
    q, p, a = (Decimal(values[k][0]) for k in (QUANTITY, UNIT_PRICE, AMOUNT))
    return abs(q * p - a) <= max(Decimal("0.01"), abs(a) * Decimal("0.005"))


def grow_bbox(result: TableResult, page: int, items: Sequence[Item], header: BBox | None) -> None:
    """Widen the table box of ``page`` to cover ``items`` (and the header line, when given)."""
    boxes = [line_box(r.line) for it in items for r in it.rows() if r.page == page]
    if header is not None:
        boxes.append(header)
    if page in result.table_bbox:
        boxes.append(result.table_bbox[page])
    if boxes:
        result.table_bbox[page] = union(boxes)
