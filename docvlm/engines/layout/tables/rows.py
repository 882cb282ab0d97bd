"""Body rows: each line under a header classified (item, text, total, skip) until the table ends.

In: a page's lines from the first body line, the columns in force, and the document's running
furniture. Out: the classified rows, where the table ended, and whether a totals block closed it
(so it does not run on to the next page).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from docvlm.datamodel import Page
from docvlm.engines.layout.tables.cells import Chunk, Layout
from docvlm.engines.layout.tables.header import HeaderCache
from docvlm.engines.layout.tables.text import MONEY_TEXT, fold, line_box, line_height, money, word_tokens
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    CARRIED,
    CARRIED_TAIL,
    CHARGE_WORDS,
    CONTINUED,
    DESCRIPTION,
    NUMERIC_KINDS,
    PAGE_FOOTER,
    QUANTITY,
    STRONG_TOTALS,
    TAX_RATE,
    TOTALS,
    TOTALS_TAIL,
    UNIT_PRICE,
)
from docvlm.geometry import Line, median
from docvlm.parsers import MONTHS, find_amounts, parse_amount

_log = logging.getLogger(__name__)

_WORD_START = re.compile(r"(?:^|\s)\S")
_LOWER_WORD = re.compile(r"[a-z]+")
_NUMBER_OR_RATE = re.compile(r"\d+(?:[.,]\d+)?\s*%?")

ITEM, TEXT, TOTAL, SKIP = "item", "text", "total", "skip"


@dataclass
class Row:
    """One classified body line."""

    kind: str  # ITEM, TEXT, TOTAL or SKIP
    line: Line
    page: int
    cells: dict[str, list[Chunk]]
    strong: bool = False
    layout: Layout | None = None

    @property
    def top(self) -> float:
        return line_box(self.line)[1]

    @property
    def bottom(self) -> float:
        return line_box(self.line)[3]


def line_fold(line: Line) -> str:
    return " ".join(fold(w.text) for w in line.words)


def chunk_starts_totals(chunks: Sequence[Chunk]) -> bool:
    return any(TOTALS.match(fold(c.text).strip(" *:.")) for c in chunks if not c.numeric)


def opens_with_total(chunks: Sequence[Chunk]) -> bool:
    """The line's text opens with a total word, as its first or second word ("TOTAL QTY:", "TAKEOUT TOTAL")."""
    text = " ".join(fold(c.text) for c in sorted(chunks, key=lambda c: c.x0) if not c.numeric)
    starts = [m.start() for m in _WORD_START.finditer(text)][:2]  # first or second word
    return any(STRONG_TOTALS.match(text[i:].lstrip()) for i in starts)


def is_totals_label(text: str) -> bool:
    """A cell that is only a totals label: "Total", "Sous-total HT :", "TVA 20% :", "Total for this invoice"."""
    folded = fold(text).strip(" *:.")
    m = TOTALS.match(folded)
    if not m:
        return False
    rest = _LOWER_WORD.findall(_NUMBER_OR_RATE.sub(" ", folded[m.end() :]))
    return all(tok in TOTALS_TAIL or tok in MONTHS for tok in rest)


def is_carried(chunks: Sequence[Chunk]) -> bool:
    """A carried-forward line: "Carried forward", "Übertrag von Seite 1", "À reporter" (not "Transport to site")."""
    text = " ".join(fold(c.text) for c in chunks if not c.numeric).strip(" *:.")
    m = CARRIED.match(text)
    if not m:
        return False
    rest = _LOWER_WORD.findall(text[m.end() :])
    return all(tok in CARRIED_TAIL for tok in rest)


def opens_with_charge(chunks: Sequence[Chunk]) -> bool:
    """The line's text opens with an allowance or charge word ("zzgl. Versandkosten", "Discount 10%"), or has a
    totals word as its first or second word ("Sales Tax 8.25%")."""
    text = " ".join(fold(c.text) for c in sorted(chunks, key=lambda c: c.x0) if not c.numeric)
    toks = word_tokens(text)
    if toks and toks[0] in CHARGE_WORDS:
        return True
    starts = [m.start() for m in _WORD_START.finditer(text)][:2]
    return any(TOTALS.match(text[i:].lstrip()) for i in starts)


def totals_with_amount(chunks: Sequence[Chunk]) -> bool:
    """A text cell that is a totals label with its amount set close by ("Subtotal $ 112.00")."""
    for c in chunks:
        if c.numeric or not TOTALS.match(fold(c.text).strip(" *:.")):
            continue
        last = c.words[-1].text
        # OCR may glue the label to its amount: "Subtotal$112.00"
        if MONEY_TEXT.search(last) and (parse_amount(last) is not None or find_amounts(last)):
            return True
    return False


def classify(line: Line, layout: Layout, page: int) -> Row:
    """One body line as an item (it has an amount, or a quantity and a price), text, a total or furniture."""
    return layout.remembered(f"row{page}", line, lambda: _classify(line, layout, page))


def _classify(line: Line, layout: Layout, page: int) -> Row:
    cells = layout.cells(line)
    text_chunks = [c for cs in cells.values() for c in cs if not c.numeric]
    numbers = {k: [c for c in cs if c.numeric] for k, cs in cells.items() if k in NUMERIC_KINDS}
    numbers = {k: cs for k, cs in numbers.items() if cs}
    folded = line_fold(line)
    has_qty_price = bool(numbers.get(QUANTITY)) and bool(numbers.get(UNIT_PRICE))
    monies = [c for k in (AMOUNT, UNIT_PRICE) for c in numbers.get(k, []) if money(c.text) is not None]
    furniture = PAGE_FOOTER.search(folded) or (CONTINUED.search(folded) and not monies)
    if (furniture or is_carried(text_chunks)) and not has_qty_price:
        return Row(SKIP, line, page, cells, layout=layout)
    labelled = bool(text_chunks) and all(is_totals_label(c.text) for c in text_chunks)
    # a totals word that opens a description ("Tax consulting") is an item; set under the numbers it is a total
    # text in the tax column ("0 % VAT (E)") is the item's tax category, no totals label
    tax_text = {id(c) for c in cells.get(TAX_RATE, [])}
    right = [c for c in text_chunks if c.x0 >= layout.description_right and id(c) not in tax_text]
    right_label = chunk_starts_totals(right)
    # "Total 1 278.61 319.00" sums the columns: a bare totals label wins even over qty and price
    if (monies and labelled) or (
        ((monies and (right_label or opens_with_total(text_chunks))) or totals_with_amount(text_chunks))
        and not has_qty_price
    ):
        return Row(TOTAL, line, page, cells, layout=layout)
    amount_ok = any(money(c.text) is not None for c in numbers.get(AMOUNT, []))
    # a row with quantity and price but no printed amount ("incl.", "-") is still an item
    is_item = amount_ok or has_qty_price or (not layout.has(AMOUNT) and bool(monies))
    if is_item:
        desc = cells.get(DESCRIPTION, [])
        strong = bool(desc) and sum(1 for cs in numbers.values() if cs) >= 2
        return Row(ITEM, line, page, cells, strong=strong, layout=layout)
    return Row(TEXT, line, page, cells, layout=layout)


def running_furniture(pages: Sequence[Page], page_lines: Sequence[Sequence[Line]]) -> frozenset[str]:
    """Lines printed alike on two or more pages near their top or bottom edge: running heads and
    footers (the seller's address and bank details under every page), never table rows."""
    if len(pages) < 2:
        return frozenset()
    seen: dict[str, set[int]] = {}
    for page, lines in zip(pages, page_lines, strict=True):
        for line in lines:
            y0, y1 = line_box(line)[1], line_box(line)[3]
            if y1 < 0.12 * page.height or y0 > 0.85 * page.height:
                seen.setdefault(line_fold(line), set()).add(page.number)
    return frozenset(text for text, on in seen.items() if len(on) >= 2)


def body_rows(
    lines: Sequence[Line],
    start: int,
    layout: Layout,
    page: int,
    need_strong_start: bool,
    headers: HeaderCache,
    furniture: frozenset[str] = frozenset(),
) -> tuple[list[Row], int, bool, Layout]:
    """Classify the lines of one page from ``start`` until the table ends.

    Returns the rows (items, text and barriers), the index of the first line after the table,
    whether the table was closed by a totals block (so it does not run on to the next page),
    and the columns in force at the end (a repeated header may redefine them).
    """
    rows: list[Row] = []
    closed = False
    since_close = 0
    last_bottom: float | None = None
    item_tops: list[float] = []
    i = start
    while i < len(lines):
        line = lines[i]
        height = line_height(line)
        header_cols = headers.columns(line)
        if header_cols is not None:
            if rows and any(r.kind == ITEM for r in rows) and closed:
                return rows, i, True, layout  # a new table starts here
            layout = Layout(header_cols)  # a repeated header re-establishes the columns
            last_bottom = line_box(line)[3]
            i += 1
            continue
        if furniture and line_fold(line) in furniture:
            i += 1
            continue  # a running head or footer
        row = classify(line, layout, page)
        if row.kind == SKIP:
            i += 1
            continue
        if need_strong_start and not (row.kind == ITEM and row.strong):
            i += 1
            continue
        need_strong_start = False
        if last_bottom is not None:
            pitch = median([b - a for a, b in itertools.pairwise(item_tops)]) if len(item_tops) > 2 else 0
            if row.top - last_bottom > max(5 * height, 2.5 * pitch):
                return rows, i, False, layout  # a wide gap: whatever follows is not this table
        if row.kind == TOTAL:
            if closed:
                return rows, i, True, layout  # two totals lines: the totals block
            closed, since_close = True, 0
            rows.append(row)
            last_bottom = row.bottom
            i += 1
            continue
        if closed:
            since_close += 1
            text = [c for cs in row.cells.values() for c in cs if not c.numeric]
            if row.kind == ITEM and row.strong and since_close <= 3 and not opens_with_charge(text):
                closed = False  # a section subtotal inside the table; the items go on
            elif since_close > 3 or row.kind == ITEM:
                return rows, i, True, layout
            else:
                rows.append(row)
                last_bottom = row.bottom
                i += 1
                continue
        rows.append(row)
        if row.kind == ITEM:
            item_tops.append(row.top)
        last_bottom = row.bottom
        i += 1
    # a single total as the last thing on a page may be a page subtotal: the table may go on
    return rows, i, closed and since_close > 0, layout
