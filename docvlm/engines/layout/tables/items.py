"""Items from rows: an item line plus the text lines that belong to it (multi-line descriptions).

In: the classified rows of one table run. Out: ``Item``s, each an item line with the text lines
set tight above it (its description when the numbers sit on a later line), under it (the
description running on) and its attribute lines ("Serial no: X"), which are not description.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from docvlm.engines.layout.tables.cells import Chunk
from docvlm.engines.layout.tables.rows import ITEM, TEXT, TOTAL, Row
from docvlm.engines.layout.tables.text import MONEY_TEXT, line_height, line_y, word_height
from docvlm.engines.layout.tables.vocab import DESCRIPTION
from docvlm.geometry import median

_log = logging.getLogger(__name__)

# "Serial no: X", "Notes: ..." under a row: an attribute of the item, not part of its description
ATTRIBUTE = re.compile(r"^[^\W\d_][\w .'/-]{0,30}:\s*\S")
_SECTION = re.compile(r"^[-=*_~#\s]{2,}.*[-=*_~#\s]{2,}$")


@dataclass
class Item:
    """An item line plus the text lines that belong to it."""

    row: Row
    mode: str  # "header", "continued" or "headerless"
    before: list[Row] = field(default_factory=list)
    after: list[Row] = field(default_factory=list)
    attributes: list[Row] = field(default_factory=list)
    confidence: dict[str, float] | None = None  # per field, from a trained model (None: by ``mode``)

    @property
    def last_y(self) -> float:
        """Centre of the lowest line that belongs to the item."""
        rows = [self.row, *self.after, *self.attributes]
        return max(line_y(r.line) for r in rows)

    def rows(self) -> list[Row]:
        return [*self.before, self.row, *self.after, *self.attributes]


def desc_chunks(row: Row, whole_line: bool) -> list[Chunk]:
    """The description cells of a row; with ``whole_line``, all its cells when it has none."""
    chunks = row.cells.get(DESCRIPTION, [])
    if not chunks and whole_line:
        # a line with no words under the description: its words, but no prices ("- 2,00 €", "= 18,00 €")
        chunks = [c for cs in row.cells.values() for c in cs if not (c.numeric and MONEY_TEXT.search(c.text))]
    return sorted(chunks, key=lambda c: c.x0)


def leading(rows: Sequence[Row]) -> float:
    """The tightest centre-to-centre distance between consecutive body lines: the text leading."""
    centres = sorted(line_y(r.line) for r in rows)
    heights = [line_height(r.line) for r in rows]
    floor = 0.5 * (median(heights) or 1.0)
    steps = [b - a for a, b in itertools.pairwise(centres) if b - a > floor]
    return min(steps) if steps else float("inf")


def attach(rows: Sequence[Row], mode: str) -> list[Item]:
    """Turn classified rows into items, giving each text line to the item it is set tight against.

    "Tight" is measured on line centres against the table's own leading (the closest two body
    lines), so it holds for PDF word boxes and for the taller boxes of OCR alike.
    """
    items: list[Item] = []
    pending: list[Row] = []
    prev: Item | None = None
    lead = leading(rows)

    def tight(dist: float, h: float, slack: float) -> bool:
        # within one line height is tight whatever the leading estimate: OCR'd line centres
        # jitter by a few pixels, and the leading is the smallest distance between any two lines
        return dist <= min(1.7 * h, max(slack * lead, h))

    def flush(next_row: Row | None) -> list[Row]:
        """Hand the pending text lines out; returns those that start ``next_row``'s item."""
        remaining = list(pending)
        pending.clear()
        # forward: text lines tight under the previous item continue it
        while remaining and prev is not None:
            t = remaining[0]
            h = line_height(t.line)
            dist_prev = line_y(t.line) - prev.last_y
            last = len(remaining) == 1 and next_row is not None
            dist_next = (
                line_y(next_row.line) - line_y(t.line) if (last and next_row is not None) else float("inf")
            )
            if tight(dist_prev, h, 1.25) and dist_prev <= dist_next + 0.1 * h:
                add_text(prev, t)
                remaining.pop(0)
            else:
                break
        # backward: text over an item line without a description is that item's description
        before: list[Row] = []
        if next_row is not None and not has_description(next_row):
            y = line_y(next_row.line)
            for t in reversed(remaining):
                h = line_height(t.line)
                desc = " ".join(c.text for c in desc_chunks(t, whole_line=True))
                if tight(y - line_y(t.line), h, 1.5) and not ATTRIBUTE.match(desc) and not is_section(t):
                    before.insert(0, t)
                    y = line_y(t.line)
                else:
                    break
        # whatever is left are notes and section headers: not items
        return before

    for row in rows:
        if row.kind == TEXT:
            pending.append(row)
            continue
        if row.kind == TOTAL:
            flush(None)
            prev = None  # nothing joins an item across a subtotal
            continue
        if row.kind != ITEM:
            continue
        before = flush(row)
        item = Item(row=row, mode=mode, before=before)
        items.append(item)
        prev = item
    flush(None)
    return items


def has_description(row: Row) -> bool:
    """Whether an item line prints words in its description column (not just a price there)."""
    return any(not (c.numeric and MONEY_TEXT.search(c.text)) for c in row.cells.get(DESCRIPTION, []))


def is_section(row: Row) -> bool:
    return bool(_SECTION.match(row.line.text.strip()))


def add_text(item: Item, row: Row) -> None:
    """Append a text line under ``item``: to its description, or as an attribute line."""
    chunks = desc_chunks(row, whole_line=True)
    desc = " ".join(c.text for c in chunks)
    own = [w for c in desc_chunks(item.row, whole_line=True) for w in c.words]
    # a line in a clearly smaller type than the item's own text is a note ("Price is inclusive of ...")
    smaller = bool(own) and word_height([w for c in chunks for w in c.words]) < 0.75 * word_height(own)
    if ATTRIBUTE.match(desc.strip()) or is_section(row) or smaller:
        item.attributes.append(row)  # part of the row's extent, not of its description
    else:
        item.after.append(row)
