"""Named features of table body lines, for the trained row segmenter (one set with the column features).

In: the body lines of a table with the columns in force. Out: one row of floats per line, in the
order of ``ROW_FEATURES`` (versioned with ``features.FEATURE_SET``), and the rules' own reading of each
line. Row features: what the line holds under each column kind, what the rules make of it (item,
text, total, furniture), its type size, indent and spacing against the table's leading, and the same
for its neighbours.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from docvlm.engines.layout.tables.cells import Layout
from docvlm.engines.layout.tables.features import (
    BEGIN,
    INSIDE,
    OUTSIDE,
    SIMPLE_SKIP,
    cell_number,
    near_equal,
    one_hot,
)
from docvlm.engines.layout.tables.header import HeaderCache
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
    line_box,
    line_height,
    line_y,
    money,
)
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    CONTINUED,
    DESCRIPTION,
    PAGE_FOOTER,
    QUANTITY,
    TAX_RATE,
    UNIT_PRICE,
)
from docvlm.geometry import Line, median

_log = logging.getLogger(__name__)

_RULE_KINDS = (ITEM, TEXT, TOTAL, SKIP)
_ROLES = ("anchor", "before", "after", "attribute", "none")

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
            *one_hot(r.kind, _RULE_KINDS),
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
            *one_hot(roles.get(id(line), "none"), _ROLES),
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
    return near_equal(vals[QUANTITY] * vals[UNIT_PRICE], vals[AMOUNT])
