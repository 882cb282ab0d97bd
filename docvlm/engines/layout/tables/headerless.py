"""Tables without a header row: statement-style "description ... amount" lines.

In: the text lines of every page. Out: items for the blocks of such lines whose amounts add up to
a total printed on the document (a list of amounts that adds up to nothing is not a table).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from docvlm.datamodel import Page
from docvlm.engines.layout.tables.cells import chunk_words
from docvlm.engines.layout.tables.items import Item
from docvlm.engines.layout.tables.rows import ITEM, Row, line_fold
from docvlm.engines.layout.tables.text import MONEY_TEXT, fold, line_height
from docvlm.engines.layout.tables.values import TableResult, emit, grow_bbox
from docvlm.engines.layout.tables.vocab import AMOUNT, DESCRIPTION, DOCUMENT_TOTAL, TOTALS
from docvlm.geometry import Line, median
from docvlm.parsers import parse_amount

_log = logging.getLogger(__name__)

_TWO_LETTERS = re.compile(r"[^\W\d_]{2}")


@dataclass
class Charge:
    """A "description ... amount" line of a statement."""

    row: Row
    indent: float
    amount: Decimal
    total: bool


def charge_line(line: Line, page: int) -> Charge | None:
    """The line as text followed by one money amount set apart in a column, else None."""
    height = line_height(line)
    chunks = chunk_words(line.words, height)
    if len(chunks) < 2:
        return None
    last = chunks[-1]
    text_chunks = chunks[:-1]
    if not last.numeric or any(c.numeric for c in text_chunks):
        return None
    if not MONEY_TEXT.search(last.text):
        return None  # money has decimals or a currency sign; counts and ids do not
    amount = parse_amount(last.text)
    desc = " ".join(c.text for c in text_chunks)
    if amount is None or not _TWO_LETTERS.search(desc):
        return None
    if last.x0 - text_chunks[-1].x1 < 2 * height:
        return None  # the amount sits in a column, apart from the text
    cells = {DESCRIPTION: text_chunks, AMOUNT: [last]}
    row = Row(ITEM, line, page, cells)
    is_total = bool(TOTALS.match(fold(desc).strip(" *:.")))
    return Charge(row, text_chunks[0].x0, amount, is_total)


def headerless(pages: Sequence[Page], page_lines: Sequence[Sequence[Line]], result: TableResult) -> None:
    """Statement-style rows without a header, kept only when their amounts add up to a printed total."""
    doc_totals: set[Decimal] = set()
    blocks: list[list[Charge]] = []
    for page, lines in zip(pages, page_lines, strict=True):
        current: list[Charge] = []
        for line in lines:
            ch = charge_line(line, page.number)
            if ch is not None and ch.total:
                doc_totals.add(ch.amount)
            if ch is None:
                if current:
                    blocks.append(current)
                current = []
                continue
            tol = 0.5 * line_height(line)  # right edges of OCR boxes wobble by a few pixels
            if current and abs(ch.row.cells[AMOUNT][0].x1 - current[-1].row.cells[AMOUNT][0].x1) > tol:
                blocks.append(current)
                current = []
            current.append(ch)
        if current:
            blocks.append(current)
        # totals printed as "TOTAL AMOUNT DUE ... $4.11" anywhere on the page count too
        for line in lines:
            if DOCUMENT_TOTAL.search(line_fold(line)):
                amounts = [parse_amount(w.text) for w in line.words if MONEY_TEXT.search(w.text)]
                doc_totals.update(a for a in amounts if a is not None)
    accepted: list[list[Charge]] = []
    for block in blocks:
        top = top_level(block)
        if len(top) < 2:
            continue
        total = sum((c.amount for c in top), Decimal(0))
        if total not in doc_totals:
            continue
        accepted.append(top)
    accepted.sort(key=len, reverse=True)
    kept: list[list[Charge]] = []
    for top in accepted:
        total = sum((c.amount for c in top), Decimal(0))
        if any(sum((c.amount for c in k), Decimal(0)) == total for k in kept):
            continue  # a summary of a breakdown already kept
        kept.append(top)
    items = [Item(row=c.row, mode="headerless") for top in kept for c in top]
    for item in items:
        grow_bbox(result, item.row.page, [item], None)
    emit(items, [{DESCRIPTION, AMOUNT}] * len(items), result)


def top_level(block: Sequence[Charge]) -> list[Charge]:
    """The least-indented charge lines up to a totals line at that level; deeper lines are breakdowns."""
    body = [c for c in block if not c.total]
    if not body:
        return []
    indent = min(c.indent for c in body)
    tol = 0.25 * median([line_height(c.row.line) for c in block])
    out: list[Charge] = []
    for c in block:
        if c.total and c.indent <= indent + tol:
            break
        if not c.total and abs(c.indent - indent) <= tol:
            out.append(c)
    return out
