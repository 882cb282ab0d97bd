"""Line-item tables of the layout engine: columns from a header row, rows across pages.

In: the pages of one document (``Page.words`` with boxes in page units). Out: a ``TableResult``
with the items shaped like ``schemas.invoice.LineItem`` (values as normalised strings), the
evidence and confidence of every item field (keyed ``line_items.{i}.{field}``) and the region
the table covers per page.

One job a module:
- ``vocab``: the vocabulary (``lexicon/tables.json``) indexed for one-pass lookups;
- ``text``: cell text (folding, tokens, numbers, money, formatting);
- ``cells``: a line cut into cells, each cell given to a column;
- ``header``: which line is the header row and what its labels name;
- ``rows``: body lines classified (item, text, total, furniture) until the table ends;
- ``items``: text lines attached to their item (multi-line descriptions, attribute lines);
- ``values``: an item's cells read as line-item fields, with evidence and confidence;
- ``headerless``: statement-style rows without a header, kept when they add up to a total;
- ``document``: the runs of every page read in order into one result.

How it reads a table, with general rules only (no vendor templates):
- a header row is a line whose words are mostly column terms (EN, DE, FR, NL, ES) naming a
  description column and at least one of quantity / unit price / amount, spread over the width;
- body words are cut into chunks at column gaps and given to the column whose header they sit
  under (numbers by overlap with the header, text by its left edge);
- an item starts at a line with an amount (or a quantity and a unit price); lines with text
  only join the item they are set tight against, "Label: value" lines and loose notes do not;
- the table stops at the totals block, skips page footers, carried-forward lines and repeated
  headers, and continues on the next page with the last columns when there is no new header;
- a document without a header row may still list "description ... amount" rows: such a block
  is kept only when its amounts add up to a total printed on the document.
"""

from __future__ import annotations

import logging

from docvlm.engines.layout.tables.document import extract_line_items
from docvlm.engines.layout.tables.values import TableResult

_log = logging.getLogger(__name__)

__all__ = ["TableResult", "extract_line_items"]
