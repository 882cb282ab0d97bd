"""Named, versioned features of header-band columns and table body lines, for the trained table model.

In: a ``HeaderBand`` with the body lines under it. Out: one row of floats per column, in the order of
``COLUMN_FEATURES``, and the cell helpers that the row features share. ``FEATURE_SET`` names this set; a model trained on another set does not load.

Row features are ``line_features``. Column features: what the label says (its vocabulary kind, the rules' resolved kind, hashed
character trigrams so that unseen synonyms can still be learned), where the column stands, and
what its cells hold (numbers, money, percentages, words; whether its values are the product of
two other columns, or a factor of one; whether they add up to a number printed under the table).
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from docvlm.engines.layout.tables.band import HeaderBand
from docvlm.engines.layout.tables.cells import Chunk, Column, Layout
from docvlm.engines.layout.tables.header import label_kind, resolve_columns
from docvlm.engines.layout.tables.text import (
    CURRENCY_WORD,
    MONEY_TEXT,
    PERCENT,
    QTY_UNIT,
    WORDS,
    line_height,
    money,
    word_tokens,
)
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    DESCRIPTION,
    LABEL_UNIT_TOKENS,
    MODIFIERS,
    OTHER,
    PRODUCT_CODE,
    QUANTITY,
    TAX_RATE,
    UNIT,
    UNIT_PRICE,
    UNKNOWN,
)
from docvlm.geometry import Line, median
from docvlm.parsers import parse_amount

_log = logging.getLogger(__name__)

_HYPHEN_BREAK = re.compile(r"-\s+")
_INTEGER = re.compile(r"[+-]?\d+")
_CURRENCY_SYMBOL = re.compile(r"[$€£₹¥]")
_LONG_DECIMALS = re.compile(r"\d[.,]\d{3,}\b")
_GROUPED_THOUSANDS = re.compile(r"\d[.,]\d{3}[.,]")

FEATURE_SET = "tables-v1"

# the classes of the two models, in the order of their probability columns
NONE = "none"
COLUMN_CLASSES: tuple[str, ...] = (
    DESCRIPTION,
    QUANTITY,
    UNIT,
    UNIT_PRICE,
    AMOUNT,
    TAX_RATE,
    PRODUCT_CODE,
    NONE,
)
BEGIN, INSIDE, OUTSIDE = "begin", "inside", "outside"
ROW_CLASSES: tuple[str, ...] = (BEGIN, INSIDE, OUTSIDE)

_LABEL_KINDS = (DESCRIPTION, QUANTITY, UNIT, UNIT_PRICE, AMOUNT, TAX_RATE, PRODUCT_CODE, OTHER, UNKNOWN)
_NGRAM_BUCKETS = 24
_MAX_BODY_LINES = 12
SIMPLE_SKIP = True

COLUMN_FEATURES: tuple[str, ...] = (
    *(f"label_kind_{k}" for k in _LABEL_KINDS),
    *(f"rule_kind_{k}" for k in _LABEL_KINDS),
    "label_tokens",
    "label_percent",
    "label_unit_token",
    "label_modifier",
    *(f"label_trigram_{i}" for i in range(_NGRAM_BUCKETS)),
    "col_index",
    "col_rel_index",
    "col_first",
    "col_last",
    "n_columns",
    "col_center",
    "col_width",
    "fill",
    "numeric",
    "money",
    "integer",
    "percent",
    "currency",
    "wordy",
    "unit_suffix",
    "four_decimals",
    "mean_chars",
    "mean_words",
    "log_value",
    "small_values",
    "product_of_two",
    "factor_of_product",
    "magnitude_rank",
    "rightmost_numeric",
    "numeric_right",
    "right_aligned",
    "distinct_share",
    "sums_to_printed",
    "sequential",
    "band_strict",
    "band_rank",
)


# ---------------------------------------------------------------------------------------------
# Cells by column position (no kinds: what the classifier looks at)


def cells_by_column(line: Line, columns: Sequence[Column], layout: Layout | None = None) -> list[list[Chunk]]:
    """The line's cells under each column: numbers by overlap with the label, text by its left edge.

    ``layout``: ``Layout(columns)`` when the caller has built it once for many lines.
    """
    layout = layout if layout is not None else Layout(list(columns))
    index = {id(c): i for i, c in enumerate(layout.columns)}
    out: list[list[Chunk]] = [[] for _ in columns]
    for ch in layout.chunks(line):
        col = layout.column_for_number(ch) if ch.numeric else layout.column_for_text(ch)
        out[index[id(col)]].append(ch)
    return out


@lru_cache(maxsize=65536)
def cell_number(text: str) -> Decimal | None:
    """The number of a cell: a money amount, a percentage, or the quantity of "3 Stk"."""
    t = text.strip()
    value = parse_amount(t)
    if value is None:
        pm = PERCENT.search(t)
        if pm:
            value = parse_amount(pm.group(1))
    if value is None:
        m = QTY_UNIT.match(t)
        if m:
            value = parse_amount(m.group(1).strip())
    if value is None and MONEY_TEXT.search(t):
        value = money(t)
    return value


def body_lines(lines: Sequence[Line], band: HeaderBand | None, end: int) -> list[Line]:
    """The lines under a band (or from the top of a continued page) up to ``end``, at most a few dozen."""
    start = band.last + 1 if band is not None else 0
    return list(lines[start : min(end, start + _MAX_BODY_LINES)])


# ---------------------------------------------------------------------------------------------
# Columns


def _trigrams(label: str) -> list[float]:
    """Hashed character trigrams of the folded label letters, as shares of the label's trigrams."""
    out = [0.0] * _NGRAM_BUCKETS
    grams = []
    for tok in word_tokens(_HYPHEN_BREAK.sub("", label)):
        if not tok.isalpha():
            continue
        padded = f"<{tok}>"
        grams += [padded[i : i + 3] for i in range(len(padded) - 2)]
    for g in grams:
        out[zlib.crc32(g.encode()) % _NGRAM_BUCKETS] += 1.0 / len(grams)
    return out


def one_hot(value: str, options: Sequence[str]) -> list[float]:
    return [1.0 if value == o else 0.0 for o in options]


def near_equal(a: Decimal, b: Decimal) -> bool:
    """Equal within a cent or half a percent (printed rounding)."""
    return abs(a - b) <= max(Decimal("0.011"), abs(b) * Decimal("0.005"))


@dataclass
class _ColumnCells:
    texts: list[str]
    values: list[Decimal | None]
    x1s: list[float]
    x0s: list[float]


def column_features(
    band: HeaderBand, body: Sequence[Line], after: Sequence[Line] = (), rank: int = 0
) -> list[list[float]]:
    """One feature row per column of ``band`` (``COLUMN_FEATURES``), from its label and the cells of ``body``.

    ``after`` are lines printed under the body (a subtotal there that a column adds up to); ``rank``
    counts the header bands before this one in the document.
    """
    cols = band.columns
    n = len(cols)
    resolved = resolve_columns(cols, body[:8])
    placing = Layout(list(cols))
    rows = [cells_by_column(line, cols, placing) for line in body]
    rows = [r for r in rows if sum(1 for cs in r if cs) >= 2]
    per_col: list[_ColumnCells] = []
    for i in range(n):
        cells = [r[i] for r in rows if r[i]]
        texts = [" ".join(c.text for c in cs) for cs in cells]
        values = [cell_number(t) if cs[0].numeric else None for t, cs in zip(texts, cells, strict=True)]
        per_col.append(_ColumnCells(texts, values, [cs[-1].x1 for cs in cells], [cs[0].x0 for cs in cells]))
    numeric_cols = [i for i in range(n) if _share(per_col[i].values, lambda v: v is not None) >= 0.5]
    medians = {i: median([float(abs(v)) for v in per_col[i].values if v is not None]) for i in numeric_cols}
    ranked = sorted(numeric_cols, key=lambda i: medians[i])
    row_values = [{j: _row_value(r, j) for j in numeric_cols} for r in rows] if len(numeric_cols) >= 3 else []
    printed_after = _printed_numbers(after)
    span_x0, span_x1 = cols[0].x0, max(c.x1 for c in cols)
    width = max(span_x1 - span_x0, 1.0)
    height = median([line_height(line) for line in body]) if body else 10.0
    out: list[list[float]] = []
    for i, c in enumerate(cols):
        toks = word_tokens(_HYPHEN_BREAK.sub("", c.label))
        cc = per_col[i]
        vals = [v for v in cc.values if v is not None]
        feats: list[float] = []
        feats += one_hot(label_kind(toks), _LABEL_KINDS)
        feats += one_hot(resolved[i].kind, _LABEL_KINDS)
        feats += [
            float(len(toks)),
            float("%" in toks),
            float(any(t in LABEL_UNIT_TOKENS for t in toks)),
            float(any(t in MODIFIERS for t in toks)),
        ]
        feats += _trigrams(c.label)
        feats += [
            float(i),
            i / (n - 1) if n > 1 else 0.0,
            float(i == 0),
            float(i == n - 1),
            float(n),
            ((c.x0 + c.x1) / 2 - span_x0) / width,
            (c.x1 - c.x0) / width,
        ]
        texts = cc.texts
        feats += [
            len(texts) / len(rows) if rows else 0.0,
            _share(cc.values, lambda v: v is not None),
            _share(texts, lambda t: bool(MONEY_TEXT.search(t))),
            _share(texts, lambda t: bool(_INTEGER.fullmatch(t.strip()))),
            _share(texts, lambda t: "%" in t),
            _share(
                texts,
                lambda t: any(CURRENCY_WORD.match(p) for p in t.split()) or bool(_CURRENCY_SYMBOL.search(t)),
            ),
            _share(texts, lambda t: len(WORDS.findall(t)) >= 1 and cell_number(t) is None),
            _share(texts, _unit_suffix),
            _share(
                texts,
                lambda t: bool(_LONG_DECIMALS.search(t)) and not _GROUPED_THOUSANDS.search(t),
            ),
            math.log1p(sum(len(t) for t in texts) / len(texts)) if texts else 0.0,
            sum(len(t.split()) for t in texts) / len(texts) if texts else 0.0,
            math.log10(1.0 + medians[i]) if i in medians else -1.0,
            _share(vals, lambda v: 0 <= v <= 100) if vals else 0.0,
            _product_share(i, row_values, numeric_cols, as_product=True),
            _product_share(i, row_values, numeric_cols, as_product=False),
            ranked.index(i) / max(len(ranked) - 1, 1) if i in ranked else -1.0,
            float(bool(numeric_cols) and i == numeric_cols[-1]),
            float(sum(1 for j in numeric_cols if j > i)),
            _right_aligned(cc, height),
            len(set(texts)) / len(texts) if texts else 0.0,
            float(len(vals) >= 2 and any(near_equal(sum(vals, Decimal(0)), p) for p in printed_after)),
            float(len(vals) >= 2 and vals == [Decimal(k) for k in range(1, len(vals) + 1)]),
            float(band.strict),
            float(min(rank, 3)),
        ]
        out.append(feats)
    return out


def _share(xs: Sequence[Any], test: Callable[[Any], bool]) -> float:
    if not xs:
        return 0.0
    return sum(1 for x in xs if test(x)) / len(xs)


def _unit_suffix(text: str) -> bool:
    m = QTY_UNIT.match(text)
    return bool(
        m and m.group(2) and parse_amount(m.group(1).strip()) is not None and not PERCENT.search(text)
    )


def _right_aligned(cc: _ColumnCells, height: float) -> float:
    """1 when the cells' right edges line up more closely than their left edges (numbers set flush right)."""
    if len(cc.x1s) < 2:
        return 0.5
    spread_right = max(cc.x1s) - min(cc.x1s)
    spread_left = max(cc.x0s) - min(cc.x0s)
    if spread_right < 0.3 * height and spread_left < 0.3 * height:
        return 0.5
    return 1.0 if spread_right < spread_left else 0.0


def _row_value(row: list[list[Chunk]], i: int) -> Decimal | None:
    if not row[i] or not row[i][0].numeric:
        return None
    return cell_number(" ".join(c.text for c in row[i]))


def _product_share(
    i: int, row_values: list[dict[int, Decimal | None]], numeric_cols: list[int], as_product: bool
) -> float:
    """Share of rows where column ``i`` is the product of two other columns (or a factor of such a product)."""
    if i not in numeric_cols or len(numeric_cols) < 3:
        return 0.0
    hits = tried = 0
    for vals in row_values:
        v = vals.get(i)
        if v is None or v == 0:
            continue
        tried += 1
        others = [(j, x) for j, x in vals.items() if j != i and x is not None]
        found = False
        for (ja, a), (jb, b) in itertools.permutations(others, 2):
            try:
                if (as_product and ja < jb and a != 1 and b != 1 and near_equal(a * b, v)) or (
                    not as_product and v != 1 and a != 1 and near_equal(v * a, b)
                ):
                    found = True
            except InvalidOperation:
                continue
            if found:
                break
        hits += int(found)
    return hits / tried if tried else 0.0


def _printed_numbers(lines: Sequence[Line]) -> list[Decimal]:
    out: list[Decimal] = []
    for line in lines:
        for w in line.words:
            if MONEY_TEXT.search(w.text):
                v = parse_amount(w.text)
                if v is not None:
                    out.append(v)
    return out
