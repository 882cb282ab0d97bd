"""Labels of the table model from the truth: which body line is which item, which column is which field.

In: the pages of one document and its labelled line items (an Invoice-shaped truth). Out: the
``Examples`` of both models: column feature rows with their field classes, line feature rows with
their begin / inside / outside classes.

A body line whose numbers (amount, unit price, quantity) and words match a labelled item is that
item's anchor; the text lines set next to it whose words are in the item's description belong to
it (begin / inside); other lines are outside; the line after the document's last item ends the
table. A column is named after the field its cells equal on the anchor lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from docvlm.datamodel import Page
from docvlm.engines.layout.tables.cells import Column, Layout
from docvlm.engines.layout.tables.document import table_lines
from docvlm.engines.layout.tables.features import (
    BEGIN,
    COLUMN_CLASSES,
    INSIDE,
    NONE,
    OUTSIDE,
    ROW_CLASSES,
    cell_number,
    cells_by_column,
)
from docvlm.engines.layout.tables.header import HeaderCache, label_kind, resolve_columns
from docvlm.engines.layout.tables.learned import column_inputs, regions
from docvlm.engines.layout.tables.line_features import row_features
from docvlm.engines.layout.tables.rows import ITEM, running_furniture
from docvlm.engines.layout.tables.text import fold, word_tokens
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    DESCRIPTION,
    OTHER,
    PRODUCT_CODE,
    QUANTITY,
    TAX_RATE,
    UNIT,
    UNIT_PRICE,
    UNKNOWN,
)
from schemas.invoice import LINE_ITEM_FIELDS

_log = logging.getLogger(__name__)

_CENT = Decimal("0.01")
_NUMERIC_FIELDS = (AMOUNT, UNIT_PRICE, QUANTITY, TAX_RATE)
# the order fields pick their column in, and which column wins a tie (rightmost for the amount)
_FIELD_ORDER = (AMOUNT, DESCRIPTION, QUANTITY, UNIT_PRICE, TAX_RATE, PRODUCT_CODE, UNIT)
_ANCHOR_MIN = 3.0  # an amount (3), or two of unit price / quantity / description (1 + 1 + 2)


@dataclass
class Examples:
    """Feature rows and class labels of one document, for both models."""

    col_x: list[list[float]] = field(default_factory=list)
    col_y: list[int] = field(default_factory=list)
    row_x: list[list[float]] = field(default_factory=list)
    row_y: list[int] = field(default_factory=list)


def doc_attr(doc: Any, name: str) -> Any:
    """A training document's ``name``: a key of a dict or an attribute of a ``TrainingDoc``."""
    return doc[name] if isinstance(doc, Mapping) else getattr(doc, name)


def gold_items(gold: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The labelled line items of an Invoice-shaped truth (None when it labels none)."""
    items = gold.get("line_items")
    if not isinstance(items, list):
        return None
    return [{k: it.get(k) for k in LINE_ITEM_FIELDS if k in it} for it in items if isinstance(it, Mapping)]


# ---------------------------------------------------------------------------------------------
# Labels from the truth


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip().replace(",", ".")).quantize(_CENT)
    except (InvalidOperation, ValueError):
        return None


def _text_tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[^\W_]+", fold(text)) if len(t) >= 2 or t.isdigit()}


@dataclass
class _Gold:
    numbers: dict[str, Decimal | None]
    desc: set[str]
    code: str | None
    unit: str | None


def _golds(items: Sequence[Mapping[str, Any]]) -> list[_Gold]:
    return [
        _Gold(
            numbers={k: _dec(it.get(k)) for k in _NUMERIC_FIELDS},
            desc=_text_tokens(str(it.get(DESCRIPTION) or "")),
            code=str(it[PRODUCT_CODE]).strip().casefold() if it.get(PRODUCT_CODE) else None,
            unit=str(it[UNIT]).strip().casefold() if it.get(UNIT) else None,
        )
        for it in items
    ]


def _desc_share(text: str, gold: _Gold, digits: bool = False) -> float:
    """Share of the line's words (with ``digits``, its numbers too) that are words of the labelled description."""
    toks = {t for t in _text_tokens(text) if digits or not t.isdigit()}
    if not toks or not gold.desc:
        return 0.0
    return len(toks & gold.desc) / len(toks)


def _cell_values(cells: list[list[Any]]) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    for cs in cells:
        if cs and cs[0].numeric:
            v = cell_number(" ".join(c.text for c in cs))
            out.append(v.quantize(_CENT) if v is not None else None)
        else:
            out.append(None)
    return out


def _anchor_score(values: list[Decimal | None], text: str, gold: _Gold) -> float:
    present = {v for v in values if v is not None}
    score = 0.0
    for name, weight in ((AMOUNT, 3.0), (UNIT_PRICE, 1.0), (QUANTITY, 1.0)):
        g = gold.numbers.get(name)
        if g is not None and g in present:
            score += weight
    toks = {t for t in _text_tokens(text) if not t.isdigit()}
    recall = len(toks & gold.desc) / len(gold.desc) if gold.desc else 0.0
    if _desc_share(text, gold) >= 0.5 or recall >= 0.5:
        score += 2.0
    return score


@dataclass
class _Line:
    region: int
    k: int  # index in the region's body
    cells: list[list[Any]]
    values: list[Decimal | None]
    text: str


def _anchors(lines: list[_Line], golds: list[_Gold]) -> dict[int, int]:
    """Line (index into ``lines``) -> gold item, one to one, by the best total match."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    if not lines or not golds:
        return {}
    score = np.zeros((len(lines), len(golds)))
    for i, ln in enumerate(lines):
        if not any(v is not None for v in ln.values):
            continue
        for j, g in enumerate(golds):
            score[i, j] = _anchor_score(ln.values, ln.text, g)
    rows, cols = linear_sum_assignment(score, maximize=True)
    return {int(i): int(j) for i, j in zip(rows, cols, strict=True) if score[i, j] >= _ANCHOR_MIN}


def _column_labels(
    columns: Sequence[Column], anchored: list[tuple[_Line, _Gold]], labelled: set[str]
) -> list[str | None]:
    """The field each column holds on the anchor lines; None where the truth cannot tell."""
    n = len(columns)
    counts = [dict.fromkeys(_FIELD_ORDER, 0) for _ in range(n)]
    need = dict.fromkeys(_FIELD_ORDER, 0)
    for ln, g in anchored:
        for name in _NUMERIC_FIELDS:
            need[name] += g.numbers.get(name) is not None
        need[DESCRIPTION] += bool(g.desc)
        need[PRODUCT_CODE] += g.code is not None
        need[UNIT] += g.unit is not None
        for i in range(n):
            v = ln.values[i]
            text = " ".join(c.text for c in ln.cells[i]).strip()
            for name in _NUMERIC_FIELDS:
                if v is not None and g.numbers.get(name) == v:
                    counts[i][name] += 1
            if text and v is None and _desc_share(text, g) >= 0.6:
                counts[i][DESCRIPTION] += 1
            if g.code and text and text.casefold() == g.code:
                counts[i][PRODUCT_CODE] += 1
            if g.unit and text and (text.casefold() == g.unit or text.casefold().endswith(" " + g.unit)):
                counts[i][UNIT] += 1
    labels: list[str | None] = [None] * n
    for name in _FIELD_ORDER:
        free = [i for i in range(n) if labels[i] is None and counts[i][name] > 0]
        if not free:
            continue
        best = max(free, key=lambda i: (counts[i][name], i if name == AMOUNT else -i))
        if counts[best][name] >= max(1, 0.5 * need[name]):
            labels[best] = name
    out: list[str | None] = []
    for i, c in enumerate(columns):
        if labels[i] is not None:
            out.append(labels[i])
        elif label_kind(word_tokens(c.label)) in (set(LINE_ITEM_FIELDS) - labelled):
            out.append(None)  # a column of a field the truth does not label: no lesson either way
        else:
            out.append(NONE)
    return out


def _groups(region_lines: list[_Line], anchors: dict[int, int], golds: list[_Gold]) -> dict[int, int]:
    """Line -> gold item: the anchors plus the description lines set next to them."""
    member = dict(anchors)
    for i, j in anchors.items():
        for step in (-1, 1):
            k = i + step
            while 0 <= k < len(region_lines) and k not in member:
                ln = region_lines[k]
                if ln.region != region_lines[i].region or _desc_share(ln.text, golds[j], digits=True) < 0.6:
                    break
                member[k] = j
                k += step
    return member


def doc_examples(pages: Sequence[Page], items: Sequence[Mapping[str, Any]]) -> Examples:
    """Feature rows and labels of one document (labels derived from its truth, see the module doc)."""
    ex = Examples()
    page_lines = [table_lines(p) for p in pages]
    headers = HeaderCache()
    furniture = running_furniture(pages, page_lines)
    regs = regions(pages, page_lines, headers)
    golds = _golds(items)
    labelled = {k for it in items for k in it}
    # the columns each region is read with: its band's, or the last band's for a page that goes on
    cols_of: list[list[Column] | None] = []
    last: list[Column] | None = None
    for r in regs:
        if r.band is not None:
            last = r.band.columns
        cols_of.append(r.band.columns if r.band is not None else last)
    lines: list[_Line] = []
    for ri, (r, cols) in enumerate(zip(regs, cols_of, strict=True)):
        if cols is None:
            continue
        for k, line in enumerate(r.body):
            cells = cells_by_column(line, cols)
            lines.append(_Line(ri, k, cells, _cell_values(cells), line.text))
    anchors = _anchors(lines, golds)
    if not anchors:
        return ex  # the page and the truth do not meet: nothing to learn from this document
    member = _groups(lines, anchors, golds)
    unmatched = len(set(anchors.values())) < len(golds)
    # columns: named after the anchor lines of their band's region
    kinds_of: dict[int, list[str]] = {}
    for ri, (r, cols) in enumerate(zip(regs, cols_of, strict=True)):
        if r.band is None or cols is None:
            continue
        anchored = [(lines[i], golds[j]) for i, j in anchors.items() if lines[i].region == ri]
        feats = column_inputs(r)
        if not anchored:
            # a header band with no labelled item under it (a tax breakdown, a payment table): no item columns
            ex.col_x += feats
            ex.col_y += [COLUMN_CLASSES.index(NONE)] * len(feats)
            continue
        labels = _column_labels(cols, anchored, labelled)
        for f, lab in zip(feats, labels, strict=True):
            if lab is not None:
                ex.col_x.append(f)
                ex.col_y.append(COLUMN_CLASSES.index(lab))
        # the rows learn with the columns named as the truth names them (the rules' name where it cannot tell)
        resolved = resolve_columns(cols, r.body[:8])
        kinds_of[ri] = [
            res.kind if lab is None else (OTHER if lab == NONE else lab)
            for lab, res in zip(labels, resolved, strict=True)
        ]
    # rows: begin / inside / outside, up to where the rules end each table
    index = {(ln.region, ln.k): i for i, ln in enumerate(lines)}
    last_kinds: list[str] | None = None
    for ri, (r, cols) in enumerate(zip(regs, cols_of, strict=True)):
        if cols is None:
            continue
        kinds = kinds_of.get(ri) if r.band is not None else last_kinds
        if r.band is not None:
            last_kinds = kinds
        if kinds is None:
            continue
        named = [
            Column(OTHER if kd == UNKNOWN else kd, c.x0, c.x1, c.label)
            for kd, c in zip(kinds, cols, strict=True)
        ]
        inputs = row_features(
            r.body, Layout(named), r.page.number, r.page.height, headers, furniture, r.band is None
        )
        for k, f in enumerate(inputs.features):
            i = index[(ri, k)]
            j = member.get(i)
            if j is None and unmatched and inputs.rows[k].kind == ITEM:
                continue  # reads as an item, and a labelled item found no line: no lesson either way
            if j is None:
                label = OUTSIDE
            else:
                label = BEGIN if member.get(i - 1) != j or lines[i - 1].region != ri else INSIDE
            ex.row_x.append(f)
            ex.row_y.append(ROW_CLASSES.index(label))
    return ex


def examples_of(doc: Any) -> Examples:
    """``doc_examples`` of a training document, kept in its ``cache`` (when it has one) across fits."""
    cache = getattr(doc, "cache", None)
    if isinstance(cache, dict) and "tables" in cache:
        return cache["tables"]  # type: ignore[no-any-return]
    ex = doc_examples(doc_attr(doc, "pages"), gold_items(doc_attr(doc, "gold")) or [])
    if isinstance(cache, dict):
        cache["tables"] = ex
    return ex
