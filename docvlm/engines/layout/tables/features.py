"""Named, versioned features of header-band columns and table body lines, for the trained table model.

In: a ``HeaderBand`` with the body lines under it (columns), or the body lines with the columns in
force (rows). Out: one row of floats per column / per line, in the order of ``COLUMN_FEATURES`` /
``ROW_FEATURES``. ``FEATURE_SET`` names this set; a model trained on another set does not load.

Column features: what the label says (its vocabulary kind, the rules' resolved kind, hashed
character trigrams so that unseen synonyms can still be learned), where the column stands, and
what its cells hold (numbers, money, percentages, words; whether its values are the product of
two other columns, or a factor of one; whether they add up to a number printed under the table).
Row features: what the line holds under each column kind, what the rules make of it (item, text,
total, furniture), its type size, indent and spacing against the table's leading, and the same
for its neighbours.
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
from docvlm.engines.layout.tables.header import HeaderCache, label_kind, resolve_columns
from docvlm.engines.layout.tables.items import ATTRIBUTE, attach, is_section, leading
from docvlm.engines.layout.tables.rows import (
    ITEM,
    SKIP,
    TEXT,
    TOTAL,
    Row,
    body_rows,
    chunk_starts_totals,
    classify,
    is_carried,
    is_totals_label,
    line_fold,
    opens_with_charge,
    opens_with_total,
    totals_with_amount,
)
from docvlm.engines.layout.tables.text import (
    CURRENCY_WORD,
    MONEY_TEXT,
    PERCENT,
    QTY_UNIT,
    WORDS,
    line_box,
    line_height,
    line_y,
    money,
    word_tokens,
)
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    CONTINUED,
    DESCRIPTION,
    LABEL_UNIT_TOKENS,
    MODIFIERS,
    OTHER,
    PAGE_FOOTER,
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
_RULE_KINDS = (ITEM, TEXT, TOTAL, SKIP)
_ROLES = ("anchor", "before", "after", "attribute", "none")

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

ROW_FEATURES: tuple[str, ...] = (
    "n_amount",
    "n_price",
    "n_qty",
    "n_tax",
    "n_numeric",
    "money_amount",
    "n_text",
    "desc_chars",
    "other_chars",
    "n_words",
    *(f"rule_{k}" for k in _RULE_KINDS),
    "rule_strong",
    "totals_label",
    "opens_total",
    "total_with_amount",
    "right_total",
    "carried",
    "footer",
    "continued_word",
    "header_row",
    "header_candidate",
    "attribute",
    "section",
    "arith_ok",
    "arith_bad",
    "height_ratio",
    "indent",
    "left_of_desc",
    "gap_prev",
    "gap_next",
    "gap_prev_lead",
    "gap_next_lead",
    "prev_amount",
    "prev_text",
    "next_amount",
    "next_text",
    "next_total",
    "next2_amount",
    "index",
    "since_amount",
    "to_next_amount",
    "amounts_above",
    "amounts_below",
    "starts_lower",
    "starts_digit",
    "prev_ends_open",
    "smaller_than_item",
    "furniture",
    "page_y",
    "continued_mode",
    *(f"rule_role_{r}" for r in _ROLES),
    "to_rule_end",
    "any_totals_word",
    "totals_above",
    "since_total",
    "desc_percent",
    "charge_word",
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
    for tok in word_tokens(re.sub(r"-\s+", "", label)):
        if not tok.isalpha():
            continue
        padded = f"<{tok}>"
        grams += [padded[i : i + 3] for i in range(len(padded) - 2)]
    for g in grams:
        out[zlib.crc32(g.encode()) % _NGRAM_BUCKETS] += 1.0 / len(grams)
    return out


def _one_hot(value: str, options: Sequence[str]) -> list[float]:
    return [1.0 if value == o else 0.0 for o in options]


def _close(a: Decimal, b: Decimal) -> bool:
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
        toks = word_tokens(re.sub(r"-\s+", "", c.label))
        cc = per_col[i]
        vals = [v for v in cc.values if v is not None]
        feats: list[float] = []
        feats += _one_hot(label_kind(toks), _LABEL_KINDS)
        feats += _one_hot(resolved[i].kind, _LABEL_KINDS)
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
            _share(texts, lambda t: bool(re.fullmatch(r"[+-]?\d+", t.strip()))),
            _share(texts, lambda t: "%" in t),
            _share(
                texts,
                lambda t: any(CURRENCY_WORD.match(p) for p in t.split()) or bool(re.search(r"[$€£₹¥]", t)),
            ),
            _share(texts, lambda t: len(WORDS.findall(t)) >= 1 and cell_number(t) is None),
            _share(texts, _unit_suffix),
            _share(
                texts,
                lambda t: bool(re.search(r"\d[.,]\d{3,}\b", t)) and not re.search(r"\d[.,]\d{3}[.,]", t),
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
            float(len(vals) >= 2 and any(_close(sum(vals, Decimal(0)), p) for p in printed_after)),
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
                if (as_product and ja < jb and a != 1 and b != 1 and _close(a * b, v)) or (
                    not as_product and v != 1 and a != 1 and _close(v * a, b)
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


# ---------------------------------------------------------------------------------------------
# Rows


@dataclass
class RowInputs:
    """The body lines up to where the rules end the table: their features, the rules' rows, and whether a
    totals block closed the table (else it may go on on the next page)."""

    features: list[list[float]]
    rows: list[Row]
    closed: bool
    rule_labels: list[str]  # the rules' own reading of each line as ``ROW_CLASSES``


@dataclass
class _LineFacts:
    row: Row
    amount: bool
    text: bool
    total: bool


def row_features(
    lines: Sequence[Line],
    layout: Layout,
    page: int,
    page_height: float,
    headers: HeaderCache,
    furniture: frozenset[str],
    continued: bool,
) -> RowInputs:
    """One feature row per body line (``ROW_FEATURES``) up to the rules' end of the table, and the rules' rows.

    Where the table ends (a totals block, a wide gap, a new table) is the rules' call; the model
    decides which of the lines before it begin an item, continue one, or are no part of any.
    """
    roles, rule_end, closed, labels = rule_roles(lines, layout, page, headers, furniture, continued)
    lines = lines[:rule_end]
    rows = [classify(line, layout, page) for line in lines]
    rule_labels = [labels.get(id(line), OUTSIDE) for line in lines]
    if SIMPLE_SKIP and rows and all(r.kind == ITEM and r.strong for r in rows):
        # one full item row a line, nothing between: there is nothing to segment
        return RowInputs([], rows, closed, rule_labels)
    facts = []
    for r in rows:
        amount = any(money(c.text) is not None for c in r.cells.get(AMOUNT, []) if c.numeric)
        facts.append(_LineFacts(r, amount, r.kind == TEXT, r.kind == TOTAL))
    lead = leading(rows) if len(rows) >= 2 else float("inf")
    heights = [line_height(line) for line in lines]
    table_height = median(heights) or 10.0
    desc_cols = [c for c in layout.columns if c.kind == DESCRIPTION]
    desc_x0 = desc_cols[0].x0 if desc_cols else layout.columns[0].x0
    amount_idx = [k for k, f in enumerate(facts) if f.amount]
    last_item_height = table_height
    total_idx = [k for k, f in enumerate(facts) if f.total]
    out: list[list[float]] = []
    for k, (line, r, f) in enumerate(zip(lines, rows, facts, strict=True)):
        h = heights[k]
        cells = r.cells
        numbers = {
            kind: [c for c in cells.get(kind, []) if c.numeric]
            for kind in (AMOUNT, UNIT_PRICE, QUANTITY, TAX_RATE)
        }
        text_chunks = [c for cs in cells.values() for c in cs if not c.numeric]
        desc = [c for c in cells.get(DESCRIPTION, []) if not c.numeric]
        desc_text = " ".join(c.text for c in desc)
        other_text = [c for kind, cs in cells.items() if kind != DESCRIPTION for c in cs if not c.numeric]
        folded = line_fold(line)
        arith = _arith(r)
        prev = facts[k - 1] if k > 0 else None
        nxt = facts[k + 1] if k + 1 < len(facts) else None
        nxt2 = facts[k + 2] if k + 2 < len(facts) else None
        gap_prev = (line_box(line)[1] - line_box(lines[k - 1])[3]) / h if k > 0 else 5.0
        gap_next = (line_box(lines[k + 1])[1] - line_box(line)[3]) / h if k + 1 < len(lines) else 5.0
        step_prev = (line_y(line) - line_y(lines[k - 1])) / lead if k > 0 and lead != float("inf") else 5.0
        step_next = (
            (line_y(lines[k + 1]) - line_y(line)) / lead
            if k + 1 < len(lines) and lead != float("inf")
            else 5.0
        )
        above = [j for j in amount_idx if j < k]
        below = [j for j in amount_idx if j > k]
        first = text_chunks[0].text if text_chunks else ""
        prev_desc = " ".join(c.text for c in rows[k - 1].cells.get(DESCRIPTION, [])) if k > 0 else ""
        x0 = min(w.x0 for w in line.words)
        feats = [
            float(len(numbers[AMOUNT])),
            float(len(numbers[UNIT_PRICE])),
            float(len(numbers[QUANTITY])),
            float(len(numbers[TAX_RATE])),
            float(sum(1 for cs in cells.values() for c in cs if c.numeric)),
            float(f.amount),
            float(len(text_chunks)),
            math.log1p(len(desc_text)),
            math.log1p(sum(len(c.text) for c in other_text)),
            float(len(line.words)),
            *_one_hot(r.kind, _RULE_KINDS),
            float(r.strong),
            float(bool(text_chunks) and all(is_totals_label(c.text) for c in text_chunks)),
            float(opens_with_total(text_chunks)),
            float(totals_with_amount(text_chunks)),
            float(chunk_starts_totals([c for c in text_chunks if c.x0 >= layout.description_right])),
            float(is_carried(text_chunks)),
            float(bool(PAGE_FOOTER.search(folded))),
            float(bool(CONTINUED.search(folded))),
            float(headers.columns(line) is not None),
            float(headers.candidate(line) is not None),
            float(bool(ATTRIBUTE.match(desc_text.strip() or first))),
            float(is_section(r)),
            float(arith is True),
            float(arith is False),
            h / table_height,
            (x0 - desc_x0) / h,
            float(x0 < desc_x0 - 0.5 * h),
            min(gap_prev, 5.0),
            min(gap_next, 5.0),
            min(step_prev, 5.0),
            min(step_next, 5.0),
            float(prev.amount) if prev else -1.0,
            float(prev.text) if prev else -1.0,
            float(nxt.amount) if nxt else -1.0,
            float(nxt.text) if nxt else -1.0,
            float(nxt.total) if nxt else -1.0,
            float(nxt2.amount) if nxt2 else -1.0,
            math.log1p(k),
            float(min(k - above[-1], 10)) if above else 11.0,
            float(min(below[0] - k, 10)) if below else 11.0,
            float(min(len(above), 10)),
            float(min(len(below), 10)),
            float(bool(first) and first[:1].islower()),
            float(bool(first) and first[:1].isdigit()),
            float(prev_desc.rstrip().endswith(("-", ",", "/", "&"))),
            float(h < 0.8 * last_item_height),
            float(folded in furniture),
            line_box(line)[1] / page_height if page_height else 0.0,
            float(continued),
            *_one_hot(roles.get(id(line), "none"), _ROLES),
            float(min(rule_end - k, 10)),
            float(chunk_starts_totals(text_chunks)),
            float(min(sum(1 for j in total_idx if j < k), 5)),
            float(min(k - max(j for j in total_idx if j < k), 10)) if any(j < k for j in total_idx) else 11.0,
            float("%" in desc_text),
            float(opens_with_charge(text_chunks)),
        ]
        if f.amount or r.kind == ITEM:
            last_item_height = h
        out.append(feats)
    return RowInputs(out, rows, closed, rule_labels)


def rule_roles(
    lines: Sequence[Line],
    layout: Layout,
    page: int,
    headers: HeaderCache,
    furniture: frozenset[str],
    continued: bool,
) -> tuple[dict[int, str], int, bool, dict[int, str]]:
    """How the rules read the lines: each line's role in its item and its row class (both by ``id``), where
    they end the table, and whether a totals block closed it."""
    rows, end, closed, _layout = body_rows(lines, 0, layout, page, continued, headers, furniture)
    roles: dict[int, str] = {}
    labels: dict[int, str] = {}
    for item in attach(rows, "continued" if continued else "header"):
        roles[id(item.row.line)] = "anchor"
        for name, part in (("before", item.before), ("after", item.after), ("attribute", item.attributes)):
            for r in part:
                roles[id(r.line)] = name
        for k, r in enumerate(sorted([*item.before, item.row, *item.after], key=lambda r: line_y(r.line))):
            labels[id(r.line)] = BEGIN if k == 0 else INSIDE
    return roles, end, closed, labels


def _arith(row: Row) -> bool | None:
    """qty x unit price = amount on this line; None when a term is missing."""
    vals = {}
    for kind in (QUANTITY, UNIT_PRICE, AMOUNT):
        cs = [c for c in row.cells.get(kind, []) if c.numeric]
        if not cs:
            return None
        v = cell_number(" ".join(c.text for c in cs))
        if v is None:
            return None
        vals[kind] = v
    return _close(vals[QUANTITY] * vals[UNIT_PRICE], vals[AMOUNT])
