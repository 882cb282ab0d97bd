"""Credit notes read off the page: the record states them as the e-invoice XML does.

A credit note prints its amounts negative ("-233.47"), while its XML, and so the output contract
(``schemas.invoice.Invoice``), states positive amounts with ``document_type`` "credit_note". A
document whose title at the top of page 1 names a credit note ("Avoir", "Gutschrift", "Credit
note") and whose total reads negative is one: its money values are turned positive. A title alone
does not decide it: "Gutschrift" also titles a self-billed invoice, whose amounts are positive.

In: the page lines and the rules' ``HeaderResult``; the line items. Out: whether the document is a
credit note, and the values with the signs turned.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TypeGuard

from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import HeaderResult
from docvlm.engines.layout.text import PageLines

HEADER_AMOUNTS = ("subtotal", "tax_total", "total", "amount_due")
ITEM_AMOUNTS = ("unit_price", "amount")
_TITLE_SHARE = 0.3  # the title sits in the top part of page 1's text


def _negative(value: str | None) -> TypeGuard[str]:
    try:
        return value is not None and Decimal(value) < 0
    except InvalidOperation:
        return False


def has_credit_note_title(pls: Sequence[PageLines]) -> bool:
    """Whether a segment near the top of page 1 starts with a credit note's title."""
    if not pls or not pls[0].lines:
        return False
    pl = pls[0]
    top, bottom = pl.text_box[1], pl.text_box[3]
    limit = top + _TITLE_SHARE * max(1.0, bottom - top)
    for tl in pl.lines:
        if tl.bbox[1] > limit:
            break
        if any(lx.CREDIT_NOTE_TITLE.match(tl.text, a, b) for a, b in tl.segments):
            return True
    return False


def is_credit_note(pls: Sequence[PageLines], header: HeaderResult) -> bool:
    """A credit note's title, and a total (or, without one, a subtotal) that reads negative."""
    key = "total" if "total" in header.values else "subtotal"
    return _negative(header.values.get(key)) and has_credit_note_title(pls)


def _positive(value: str) -> str:
    return value[1:] if value.startswith("-") else value


def turn_positive(header: HeaderResult, items: list[dict[str, str | None]]) -> None:
    """Turn a credit note's negative money values positive, in place."""
    for path in HEADER_AMOUNTS:
        value = header.values.get(path)
        if _negative(value):
            header.values[path] = _positive(value)
    for item in items:
        for key in ITEM_AMOUNTS:
            value = item.get(key)
            if _negative(value):
                item[key] = _positive(value)


def restate_credit_note(
    pls: Sequence[PageLines], header: HeaderResult, items: list[dict[str, str | None]], is_receipt: bool
) -> bool:
    """Whether the document is a credit note; if so its money values are turned positive in place.
    The engine and the cross-validation both finish a document with it."""
    if is_receipt or not is_credit_note(pls, header):
        return False
    turn_positive(header, items)
    return True
