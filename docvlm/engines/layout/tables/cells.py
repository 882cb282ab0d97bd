"""Cells and columns: a body line's words cut into cells, and each cell given to a column.

In: the words of one line and the table's columns (kind plus the x-extent of the header label).
Out: ``{kind: [Chunk]}`` for the line (numbers by overlap with their header, text by its left
edge, a long description running on under the next header kept with the description).
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from docvlm.datamodel import BBox, Word
from docvlm.engines.layout.tables.text import (
    CURRENCY_WORD,
    MONEY_TEXT,
    WORDS,
    is_numeric_text,
    line_height,
    line_memo,
    number_word,
)
from docvlm.engines.layout.tables.vocab import DESCRIPTION, MONEY_KINDS, NUMERIC_KINDS
from docvlm.geometry import Line, union

_log = logging.getLogger(__name__)

_LETTER = re.compile(r"[^\W\d_]")

T = TypeVar("T")

_THOUSANDS_HEAD = re.compile(r"[(+-]?[$€£₹¥]?\d{1,3}")
_THOUSANDS_TAIL = re.compile(r"^\d{3}(?:[.,]\d+)?\D*$")


@dataclass
class Column:
    """One table column: what it holds and the x-extent of its header label."""

    kind: str
    x0: float
    x1: float
    label: str


class Chunk:
    """Words of one cell on one line: neighbours closer than a column gap (never edited once made)."""

    __slots__ = ("_numeric", "_text", "words")

    def __init__(self, words: list[Word]) -> None:
        self.words = words
        self._text: str | None = None
        self._numeric: bool | None = None

    def __repr__(self) -> str:
        return f"Chunk({self.text!r})"

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = " ".join(w.text for w in self.words)
        return self._text

    @property
    def bbox(self) -> BBox:
        return union(w.bbox for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def numeric(self) -> bool:
        if self._numeric is None:
            self._numeric = is_numeric_text(self.text)
        return self._numeric


def chunk_words(words: Sequence[Word], height: float) -> list[Chunk]:
    """Cut a line's words (left to right) into cells at gaps wider than a word space.

    Two numbers next to each other are two cells even at a word space ("0.00 15.00%"), except
    for a space used as a thousands separator ("1 234,56").
    """
    ws = sorted(words, key=lambda w: w.x0)
    if not ws:
        return []
    chunks: list[list[Word]] = [[ws[0]]]
    for prev, w in itertools.pairwise(ws):
        gap = w.x0 - prev.x1
        split = gap > 0.6 * height
        if not split and number_word(prev) and number_word(w) and gap > 0.15 * height:
            thousands = _THOUSANDS_HEAD.fullmatch(prev.text) and _THOUSANDS_TAIL.match(w.text)
            split = not thousands
        if split:
            chunks.append([w])
        else:
            chunks[-1].append(w)
    return [Chunk(c) for c in chunks]


def line_chunks(line: Line) -> list[Chunk]:
    """``chunk_words`` of a line, computed once per line; fresh ``Chunk`` objects each call (callers edit them)."""
    cached = line_memo(line, "chunks", lambda: [c.words for c in chunk_words(line.words, line_height(line))])
    return [Chunk(list(ws)) for ws in cached]


@dataclass
class Layout:
    """Columns of the running table and the boundaries derived from them.

    ``memo`` keeps what was read off each line under these columns (the rules and the features ask again).
    """

    columns: list[Column]
    memo: dict[tuple[str, int], tuple[Line, Any]] = field(default_factory=dict, repr=False, compare=False)
    _starts: list[float] | None = field(default=None, repr=False, compare=False)

    def remembered(self, name: str, line: Line, compute: Callable[[], T]) -> T:
        """``compute()`` for ``line`` once per layout (keyed by the line object)."""
        hit = self.memo.get((name, id(line)))
        if hit is None or hit[0] is not line:
            hit = (line, compute())
            self.memo[(name, id(line))] = hit
        return hit[1]  # type: ignore[no-any-return]

    def zone_of(self, x: float) -> Column:
        """The column whose zone (header extent up to the midpoints with its neighbours) holds x."""
        cols = self.columns
        for i, c in enumerate(cols):
            right = (c.x1 + cols[i + 1].x0) / 2 if i + 1 < len(cols) else float("inf")
            if x < right:
                return c
        return cols[-1]

    def column_for_number(self, chunk: Chunk) -> Column:
        """Numbers go to the column they overlap most; otherwise the zone of their centre."""
        best, best_ov = None, 0.0
        for c in self.columns:
            ov = min(c.x1, chunk.x1) - max(c.x0, chunk.x0)
            if ov > best_ov:
                best, best_ov = c, ov
        if best is not None:
            return best
        return self.zone_of((chunk.x0 + chunk.x1) / 2)

    def column_for_text(self, chunk: Chunk) -> Column:
        """Text goes to the zone of its left edge, unless it hardly reaches under that column's label and
        sits mostly under the next one (a cell set a little left of its label)."""
        col = self.zone_of(chunk.x0 + 0.5)
        x0, x1 = chunk.x0, chunk.x1
        width = max(x1 - x0, 1e-6)
        if min(col.x1, x1) - max(col.x0, x0) >= 0.2 * width:
            return col
        best = max(self.columns, key=lambda c: min(c.x1, x1) - max(c.x0, x0))
        if best is not col and min(best.x1, x1) - max(best.x0, x0) > 0.5 * width and best.x0 > x0:
            return best
        return col

    def cells(self, line: Line) -> dict[str, list[Chunk]]:
        """The line's cells by column kind."""
        return self.remembered(
            "cells",
            line,
            lambda: {kind: [ch for _col, ch in pairs] for kind, pairs in self.placed(line).items()},
        )

    def chunks(self, line: Line) -> list[Chunk]:
        """The line's cells, also cut where a word starts flush with a column label ("LINE-001 Premium ...")."""
        height = line_height(line)
        starts = self._label_starts()
        out: list[Chunk] = []
        for ch in line_chunks(line):
            start = 0
            for k in range(1, len(ch.words)):
                w, prev = ch.words[k], ch.words[k - 1]
                if number_word(w):
                    continue  # numbers are placed by their overlap with a label, wherever they start
                i = bisect.bisect_left(starts, w.x0 - 0.3 * height)
                if i < len(starts) and starts[i] < w.x0 + 0.3 * height and prev.x0 < starts[i]:
                    out.append(Chunk(ch.words[start:k]))
                    start = k
            out.append(Chunk(ch.words[start:]) if start else ch)
        return out

    def _label_starts(self) -> list[float]:
        if self._starts is None:
            self._starts = sorted(c.x0 for c in self.columns[1:])
        return self._starts

    def placed(self, line: Line) -> dict[str, list[tuple[Column, Chunk]]]:
        """The line's cells by column kind, each with the column it sits under."""
        height = line_height(line)
        out: dict[str, list[tuple[Column, Chunk]]] = {}
        prev_kind, prev_x1 = "", float("-inf")
        for ch, forced in self._split_at_columns(self.chunks(line)):
            col = self.column_for_number(ch) if ch.numeric else self.column_for_text(ch)
            if ch.numeric and col.kind == DESCRIPTION:
                col = self.zone_of(ch.x0 + 0.5)
            kind = forced or col.kind
            wordy = not ch.numeric or (_LETTER.search(ch.text) and not MONEY_TEXT.search(ch.text))
            if wordy and prev_kind == DESCRIPTION and ch.x0 - prev_x1 < 1.2 * height:
                kind = DESCRIPTION  # a long description running on under the next column's header
            elif (
                ch.numeric
                and prev_kind == DESCRIPTION
                and ch.x0 - prev_x1 < 0.6 * height
                and not self._under_label(ch)
            ):
                kind = (
                    DESCRIPTION  # a number set tight after the description's words, under no label ("1kg (1")
                )
            elif (
                not ch.numeric
                and forced is None
                and kind in NUMERIC_KINDS
                and self.has(DESCRIPTION)
                and len(WORDS.findall(ch.text)) >= 2
            ):
                # words of text left of the description's header, under a narrow number column
                # ("QUANTITY  DESCRIPTION" over "1  Test for 23 fields"), are the description
                kind = DESCRIPTION
            out.setdefault(kind, []).append((col, ch))
            prev_kind, prev_x1 = kind, ch.x1
        # a lone currency sign left of a number belongs to the number's cell
        for kind, pairs in list(out.items()):
            if kind in NUMERIC_KINDS:
                continue
            for pair in list(pairs):
                ch = pair[1]
                if CURRENCY_WORD.match(ch.text):
                    right = [
                        (ps, i)
                        for k2, ps in out.items()
                        if k2 in MONEY_KINDS
                        for i, p in enumerate(ps)
                        if p[1].x0 >= ch.x1
                    ]
                    if right:
                        ps, i = min(right, key=lambda t: t[0][t[1]][1].x0)
                        col, c2 = ps[i]
                        ps[i] = (col, Chunk([*ch.words, *c2.words]))
                        pairs.remove(pair)
            if not pairs:
                del out[kind]
        return out

    def _under_label(self, chunk: Chunk) -> bool:
        return any(min(c.x1, chunk.x1) - max(c.x0, chunk.x0) > 0 for c in self.columns)

    def _split_at_columns(self, chunks: Sequence[Chunk]) -> list[tuple[Chunk, str | None]]:
        """Cut "2 CHICKEN MUFFIN" where a quantity column ends and the description column starts.

        Returns the chunks, each with the column kind it must go to (None: decide by position).
        """
        cols = self.columns
        bounds = [(a.x1 + b.x0) / 2 for a, b in itertools.pairwise(cols) if b.kind == DESCRIPTION]
        out: list[tuple[Chunk, str | None]] = []
        for ch in chunks:
            cut = None
            if bounds:
                for k in range(1, len(ch.words)):
                    left, right = ch.words[:k], ch.words[k:]
                    lc, rc = (left[0].x0 + left[-1].x1) / 2, (right[0].x0 + right[-1].x1) / 2
                    if any(lc < x < rc for x in bounds) and is_numeric_text(" ".join(w.text for w in left)):
                        cut = k
                        break
            if cut:
                out.extend([(Chunk(ch.words[:cut]), None), (Chunk(ch.words[cut:]), DESCRIPTION)])
            else:
                out.append((ch, None))
        return out

    @property
    def description_right(self) -> float:
        """Where the description zone ends (midpoint to the next column)."""
        cols = self.columns
        for i, c in enumerate(cols):
            if c.kind == DESCRIPTION:
                return (c.x1 + cols[i + 1].x0) / 2 if i + 1 < len(cols) else float("inf")
        return cols[0].x1

    def has(self, kind: str) -> bool:
        return any(c.kind == kind for c in self.columns)

    def kinds(self) -> set[str]:
        return {c.kind for c in self.columns}
