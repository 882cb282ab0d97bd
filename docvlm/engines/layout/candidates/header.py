"""All header fields of one document by the rules (each rule module fills the ``HeaderResult``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from docvlm.datamodel import BBox
from docvlm.engines.layout.candidates.amounts import (
    amount_candidates,
    choose_amounts,
    detect_document_currency,
)
from docvlm.engines.layout.candidates.base import Candidate, HeaderResult
from docvlm.engines.layout.candidates.dates import infer_dayfirst
from docvlm.engines.layout.candidates.ids import extract_party_ids
from docvlm.engines.layout.candidates.keyed import extract_keyed_fields
from docvlm.engines.layout.candidates.parties import extract_customer, extract_unlabelled_customer
from docvlm.engines.layout.candidates.sender import extract_window_customer, read_addresses
from docvlm.engines.layout.candidates.terms import due_from_terms
from docvlm.engines.layout.candidates.vendor import extract_vendor
from docvlm.engines.layout.text import PageLines

_log = logging.getLogger(__name__)


def extract_header(
    pls: Sequence[PageLines],
    dayfirst: bool | None = None,
    table_boxes: dict[int, BBox] | None = None,
    line_sum: Decimal | None = None,
) -> HeaderResult:
    """All header fields of one document.

    ``dayfirst`` None infers the date order from the document; ``table_boxes`` (page -> box of
    the line-item table) keeps header amounts out of the table; ``line_sum`` (sum of line
    amounts) helps choose the subtotal.
    """
    res = HeaderResult()
    if not pls or not any(pl.lines for pl in pls):
        return res
    cur = detect_document_currency(pls)
    full_text = "\n".join(tl.text for pl in pls for tl in pl.lines)
    res.dayfirst = infer_dayfirst(full_text, cur[0] if cur else None) if dayfirst is None else dayfirst
    if cur is not None:
        res.put(Candidate("currency", cur[0], cur[1], 0.85))
    extract_keyed_fields(pls, res, res.dayfirst)
    due_from_terms(pls, res)
    addresses = read_addresses(pls)  # one-line addresses: the seller's, and the buyer's window under it
    extract_window_customer(addresses, res, res.dayfirst)
    extract_customer(pls, res, res.dayfirst)
    extract_party_ids(pls, res, res.dayfirst)
    extract_vendor(pls, res, res.dayfirst, addresses)
    extract_unlabelled_customer(pls, res, res.dayfirst)
    choose_amounts(amount_candidates(pls, table_boxes), res, line_sum, pls)
    return res
