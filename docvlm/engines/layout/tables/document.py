"""A document's line items: the table runs of every page, in order, read into one ``TableResult``.

In: the pages of one document (``Page.words`` in page units). Out: the ``TableResult``. A table
continues on the next page with the last columns when that page has no header of its own; a
document without a header row falls back to the statement-style reader.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from docvlm.datamodel import Page, Word
from docvlm.engines.layout.tables.cells import Layout
from docvlm.engines.layout.tables.header import HeaderCache, find_start
from docvlm.engines.layout.tables.headerless import headerless
from docvlm.engines.layout.tables.items import Item, attach
from docvlm.engines.layout.tables.learned import read_with_model
from docvlm.engines.layout.tables.model import TableModel, load_model
from docvlm.engines.layout.tables.rows import body_rows, running_furniture
from docvlm.engines.layout.tables.text import MONEY_TEXT, line_box, split_runs
from docvlm.engines.layout.tables.values import TableResult, emit, grow_bbox
from docvlm.geometry import Line, group_lines, union

_log = logging.getLogger(__name__)


def table_lines(page: Page) -> list[Line]:
    """The page's text lines with OCR text runs cut into words and sideways text left out.

    The cached ``page.lines`` when no word is a text run and none is set sideways.
    """
    sideways = sideways_words(page.words)
    if not sideways and not any(" " in w.text.strip() for w in page.words):
        return page.lines
    return group_lines(split_runs([w for w in page.words if id(w) not in sideways]))


def sideways_words(words: Sequence[Word]) -> set[int]:
    """ids of the words printed sideways (a margin note running up the page): never table cells.

    A text line whose words stand one above the other, or a word much taller than wide. Only words
    taller than wide can be either, so most pages are done after one pass over their boxes.
    """
    tall = [w for w in words if len(w.text) >= 2 and w.y1 - w.y0 > w.x1 - w.x0]
    if not tall:
        return set()
    out = {id(w) for w in tall if len(w.text) >= 3 and w.y1 - w.y0 > 2.0 * (w.x1 - w.x0)}
    by_line: dict[tuple[int, int], list[Word]] = {}
    for w in tall:
        if w.line >= 0:
            by_line.setdefault((w.block, w.line), []).append(w)
    for ws in by_line.values():
        if len(ws) < 2:
            continue
        one_column = max(w.x0 for w in ws) - min(w.x0 for w in ws) < 0.5 * min(w.height for w in ws)
        if one_column and max(w.y0 for w in ws) - min(w.y0 for w in ws) > max(w.height for w in ws):
            out.update(id(w) for w in ws)
    return out


def extract_line_items(
    pages: Sequence[Page],
    model_dir: str | Path | None = None,
    use_model: bool = True,
    model: TableModel | None = None,
) -> TableResult:
    """Read the line-item table(s) of one document.

    ``pages`` are the document's pages in order, with words in page coordinates. Returns the
    items (keys ``schemas.invoice.LINE_ITEM_FIELDS``; money as decimal strings, tax rates as
    percent numbers, text as printed), evidence and confidence per ``line_items.{i}.{field}``,
    and the table region per page number. A document without a table gives an empty result.

    With a trained table model (``model``, or the one in ``model_dir``, else the package's;
    ``use_model=False`` for the rules alone) the model names the columns and cuts the rows into
    items; where it finds no item, or there is no model, the rules read the table.
    """
    result = TableResult()
    # a page with no money on it, or on the page after (a header at a page foot), holds no table body
    money = [any(MONEY_TEXT.search(w.text) for w in page.words) for page in pages]
    wanted = [m or (n + 1 < len(money) and money[n + 1]) for n, m in enumerate(money)]
    if not any(wanted):
        return result
    page_lines = [table_lines(page) if want else [] for page, want in zip(pages, wanted, strict=True)]
    furniture = running_furniture(pages, page_lines)
    headers = HeaderCache()
    if use_model and model is None:
        model = load_model(model_dir)
        if model is None and model_dir is not None:
            model = load_model(None)  # a model folder without a table model: the package's reads the tables
    elif not use_model:
        model = None
    if model is not None:
        learned = read_with_model(pages, page_lines, model, headers, furniture)
        emit(learned.items, learned.kinds, result)
        for number, boxes in learned.boxes.items():
            result.table_bbox[number] = union(boxes)
    if not result.items:
        _read_with_rules(pages, page_lines, headers, furniture, result)
    if not result.items:
        headerless(pages, page_lines, result)
    _log.debug("line items: %d on %d pages", len(result.items), len(result.table_bbox))
    return result


def _read_with_rules(
    pages: Sequence[Page],
    page_lines: Sequence[Sequence[Line]],
    headers: HeaderCache,
    furniture: frozenset[str],
    result: TableResult,
) -> None:
    """The rules alone: columns by the header vocabulary, rows by the item / text / total reading."""
    all_items: list[Item] = []
    kinds_per_item: list[set[str]] = []
    carry: Layout | None = None
    for page, lines in zip(pages, page_lines, strict=True):
        pos = 0
        while pos < len(lines):
            start, layout, mode, need_strong, _header_at = find_start(lines, pos, carry, headers)
            if layout is None:
                break
            rows, end, final, layout_end = body_rows(
                lines, start, layout, page.number, need_strong, headers, furniture
            )
            items = attach(rows, mode)
            if items:
                header_top = line_box(lines[start - 1]) if start > 0 and mode == "header" else None
                grow_bbox(result, page.number, items, header_top)
            all_items.extend(items)
            kinds_per_item.extend(layout_end.kinds() for _ in items)
            carry = None if final else layout_end
            pos = max(end, start + 1)
            if not final:
                break  # the table runs to the end of this page
            carry = None
    emit(all_items, kinds_per_item, result)
