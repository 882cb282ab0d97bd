"""Tables read with the trained model: header bands give the columns, the classifier names them, the
segmenter cuts the body lines into items.

In: a document's pages with their table lines, the header tests and a ``TableModel``. Out: the
``Item``s (each with a confidence per field: the column's class probability times the rows' own)
and the column kinds of each item's table, for ``values.emit``; the table box per page.

The regions are the same for training and for reading (``regions``): the lines under each header
band up to the next band, and, on a page without a band, the whole page (a table that goes on
from the page before).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from docvlm.datamodel import BBox, Page
from docvlm.engines.layout.tables.band import HeaderBand, find_bands
from docvlm.engines.layout.tables.cells import Column, Layout
from docvlm.engines.layout.tables.features import (
    BEGIN,
    COLUMN_CLASSES,
    INSIDE,
    NONE,
    ROW_CLASSES,
    body_lines,
    column_features,
)
from docvlm.engines.layout.tables.header import HeaderCache, resolve_columns
from docvlm.engines.layout.tables.items import Item, has_description
from docvlm.engines.layout.tables.line_features import RowInputs, row_features
from docvlm.engines.layout.tables.model import TableModel
from docvlm.engines.layout.tables.text import line_box
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    DESCRIPTION,
    NUMERIC_KINDS,
    OTHER,
    QUANTITY,
    UNIT_PRICE,
)
from docvlm.geometry import Line, union

_log = logging.getLogger(__name__)

_MIN_CLASS_PROB = 0.25  # a column takes a field's name when the classifier gives it at least this
_MIN_DESCRIPTION_PROB = 0.1  # the best remaining text column is the description down to this
_PRICED = (AMOUNT, UNIT_PRICE, QUANTITY)
# the rules' reading as a prior on the model's: p' = (p + RULE_PRIOR * [class = the rules' class]) / (1 + RULE_PRIOR);
# the model overrules the vocabulary and the row rules only where it is sure (it learned from a few dozen layouts)
RULE_PRIOR = 0.5


def with_prior(probs: Sequence[dict[str, float]], rule_classes: Sequence[str]) -> list[dict[str, float]]:
    """The model's class probabilities blended with the rules' class (see ``RULE_PRIOR``)."""
    out = []
    for p, rule in zip(probs, rule_classes, strict=True):
        out.append({k: (v + (RULE_PRIOR if k == rule else 0.0)) / (1.0 + RULE_PRIOR) for k, v in p.items()})
    return out


@dataclass
class Region:
    """Body lines ``start..end`` (exclusive) of one page, under ``band`` (None: the page goes on a table)."""

    page: Page
    lines: Sequence[Line]
    band: HeaderBand | None
    start: int
    end: int
    rank: int = 0  # header bands before this region's in the document
    following: Sequence[Line] = ()  # the next page's lines, when the band stands at the foot of its page

    @property
    def body(self) -> list[Line]:
        return list(self.lines[self.start : self.end])


def regions(
    pages: Sequence[Page], page_lines: Sequence[Sequence[Line]], headers: HeaderCache
) -> list[Region]:
    """The table regions of a document, in reading order."""
    out: list[Region] = []
    rank = 0
    for n, (page, lines) in enumerate(zip(pages, page_lines, strict=True)):
        bands = find_bands(lines, headers)
        top_end = bands[0].first if bands else len(lines)
        if top_end > 0:
            out.append(Region(page, lines, None, 0, top_end, rank))
        for k, band in enumerate(bands):
            end = bands[k + 1].first if k + 1 < len(bands) else len(lines)
            following = page_lines[n + 1] if end - band.last <= 2 and n + 1 < len(page_lines) else ()
            out.append(Region(page, lines, band, band.last + 1, end, rank, following))
            rank += 1
    return out


def column_inputs(region: Region) -> list[list[float]]:
    """The column feature rows of a band region."""
    if region.band is None:
        return []
    body = body_lines(region.lines, region.band, region.end)
    after = list(region.lines[region.start + len(body) : region.start + len(body) + 15])
    if len(body) < 2 and region.following:
        # a header at the foot of a page: its cells are on the next one
        body = body + list(region.following[:40])
        after = []
    return column_features(region.band, body, after, region.rank)


def assign_kinds(
    columns: Sequence[Column], probs: Sequence[dict[str, float]]
) -> tuple[list[Column], list[float]]:
    """Columns named by the classifier (each field at most once, most confident first) and each one's probability."""
    named = [Column(OTHER, c.x0, c.x1, c.label) for c in columns]
    conf = [p.get(NONE, 0.0) for p in probs]
    ranked = sorted(
        ((p[k], i, k) for i, p in enumerate(probs) for k in COLUMN_CLASSES if k != NONE),
        key=lambda t: (-t[0], t[1]),
    )
    taken_cols: set[int] = set()
    taken_kinds: set[str] = set()
    for p, i, kind in ranked:
        if p < _MIN_CLASS_PROB:
            break
        if i in taken_cols or kind in taken_kinds or p < min(probs[i].get(NONE, 0.0), 0.5):
            continue
        named[i].kind, conf[i] = kind, p
        taken_cols.add(i)
        taken_kinds.add(kind)
    if DESCRIPTION not in taken_kinds:
        free = [i for i in range(len(columns)) if i not in taken_cols]
        best = max(free, key=lambda i: probs[i].get(DESCRIPTION, 0.0), default=None)
        if best is not None and probs[best].get(DESCRIPTION, 0.0) >= _MIN_DESCRIPTION_PROB:
            named[best].kind, conf[best] = DESCRIPTION, probs[best][DESCRIPTION]
    return named, conf


def is_item_table(columns: Sequence[Column]) -> bool:
    kinds = {c.kind for c in columns}
    return DESCRIPTION in kinds and bool(kinds & set(_PRICED))


@dataclass
class LearnedTables:
    """What the model read: items, the column kinds of each item's table, the table box per page."""

    items: list[Item] = field(default_factory=list)
    kinds: list[set[str]] = field(default_factory=list)
    boxes: dict[int, list[BBox]] = field(default_factory=dict)


def read_with_model(
    pages: Sequence[Page],
    page_lines: Sequence[Sequence[Line]],
    model: TableModel,
    headers: HeaderCache,
    furniture: frozenset[str],
) -> LearnedTables:
    """Read every table region of the document with ``model``.

    The model is asked twice a document, whatever its size: once for the columns of every header
    band, once for every body line (a call costs about the same for one row as for a hundred).
    """
    regs = regions(pages, page_lines, headers)
    bands = [r for r in regs if r.band is not None]
    feats = [column_inputs(r) for r in bands]
    flat = model.columns([f for fs in feats for f in fs])
    col_probs: dict[int, list[dict[str, float]]] = {}
    at = 0
    for r, fs in zip(bands, feats, strict=True):
        col_probs[id(r)], at = flat[at : at + len(fs)], at + len(fs)
    runs: list[tuple[Region, Layout, dict[str, float], str, RowInputs]] = []
    carry: tuple[Layout, dict[str, float]] | None = None
    for region in regs:
        if region.band is None:
            if carry is None:
                continue  # text above the first header of a page, and no table going on
            layout, col_conf = carry
            mode = "continued"
        else:
            resolved = resolve_columns(region.band.columns, region.body[:8])
            rule_kinds = [c.kind if c.kind in COLUMN_CLASSES else NONE for c in resolved]
            named, probs = assign_kinds(region.band.columns, with_prior(col_probs[id(region)], rule_kinds))
            if not is_item_table(named):
                continue
            layout = Layout(named)
            col_conf = {c.kind: p for c, p in zip(named, probs, strict=True) if c.kind != OTHER}
            mode = "header"
        body = region.body
        if not body:
            carry = (layout, col_conf)
            continue
        inputs = row_features(
            body, layout, region.page.number, region.page.height, headers, furniture, region.band is None
        )
        runs.append((region, layout, col_conf, mode, inputs))
        carry = None if inputs.closed else (layout, col_conf)
    row_probs = model.rows([f for run in runs for f in run[4].features])
    out = LearnedTables()
    at = 0
    for region, layout, col_conf, mode, inputs in runs:
        if inputs.features:
            line_probs, at = row_probs[at : at + len(inputs.features)], at + len(inputs.features)
            groups = segment(with_prior(line_probs, inputs.rule_labels))
        else:  # a table of full item rows only: the rules' reading stands
            groups = segment([{c: float(c == label) for c in ROW_CLASSES} for label in inputs.rule_labels])
        taken = {k for g in groups for k, _ in g}
        items = [it for g in groups if (it := _item(g, inputs, taken, mode, col_conf)) is not None]
        out.items.extend(items)
        out.kinds.extend(layout.kinds() for _ in items)
        if items:
            boxes = [line_box(r.line) for it in items for r in it.rows()]
            if region.band is not None:
                boxes += [line_box(ln) for ln in region.lines[region.band.first : region.band.last + 1]]
            out.boxes.setdefault(region.page.number, []).append(union(boxes))
    return out


def segment(probs: Sequence[dict[str, float]]) -> list[list[tuple[int, float]]]:
    """Body lines cut into items by the row classes: (line index, probability) per item."""
    groups: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] | None = None
    for k, p in enumerate(probs):
        label = max(ROW_CLASSES, key=lambda c: p[c])
        if label == BEGIN or (label == INSIDE and current is None):
            current = [(k, p[label])]
            groups.append(current)
        elif label == INSIDE and current is not None:
            current.append((k, p[label]))
    return groups


def _item(
    group: list[tuple[int, float]], inputs: RowInputs, taken: set[int], mode: str, col_conf: dict[str, float]
) -> Item | None:
    """An item of the grouped lines: the line with the most numbers carries the values.

    An item left without any description takes the lines the rules set over it as its description
    (the name printed on the line above the numbers), when no other item has them.
    """
    rows = inputs.rows
    idx = [k for k, _ in group]

    def numbers(k: int) -> tuple[int, int]:
        cells = rows[k].cells
        n = sum(1 for kind in NUMERIC_KINDS for c in cells.get(kind, []) if c.numeric)
        return (int(any(c.numeric for c in cells.get(AMOUNT, []))), n)

    anchor = max(idx, key=lambda k: (numbers(k), -k))
    if numbers(anchor)[1] == 0:
        return None
    if not any(has_description(rows[k]) for k in idx):
        k = anchor
        while k > 0 and inputs.rule_labels[k] == INSIDE and k - 1 not in taken:
            k -= 1
            idx.append(k)
            if inputs.rule_labels[k] == BEGIN:
                break
        idx.sort()
    row_conf = sum(p for _, p in group) / len(group)
    return Item(
        row=rows[anchor],
        mode=mode,
        before=[rows[k] for k in idx if k < anchor],
        after=[rows[k] for k in idx if k > anchor],
        confidence={kind: round(p * row_conf, 4) for kind, p in col_conf.items()},
    )
