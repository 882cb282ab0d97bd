"""Receipt or invoice from content as well as shape (``receipts.receipt_signal``)."""

from __future__ import annotations

from docvlm.engines.layout.receipts import receipt_signal
from docvlm.engines.layout.text import page_lines
from tests.helpers.pages import make_page

# a short card slip on an A4-wide page: the shape alone says "invoice"
SLIP = [
    (40, 40, "CORNER CAFE"),
    (40, 56, "12 High Street"),
    (40, 80, "Date: 05/03/2024   14:32"),
    (40, 100, "Flat white          3.20"),
    (40, 116, "Croissant           2.10"),
    (40, 140, "TOTAL               5.30"),
    (40, 156, "VISA ************1234"),
    (40, 172, "AUTH CODE: 0A1B2C   TID: 4455"),
    (40, 196, "Thank you, come again"),
]
INVOICE = [
    (40, 40, "Widget Works Ltd"),
    (40, 80, "Invoice No: 2024-17   Date: 05/03/2024"),
    (40, 100, "Bill to: Acme Corp, 1 Main St"),
    (40, 140, "Widgets   10   5.00   50.00"),
    (40, 170, "Total 50.00   Payment terms: 30 days"),
    (40, 190, "Thank you for your business"),
]


def test_a_short_card_slip_is_a_receipt_by_content() -> None:
    sig = receipt_signal([page_lines(make_page(SLIP))])
    assert sig.aspect < 1.4  # not a tall strip
    assert sig.is_receipt and not sig.customer_block
    assert {"card_terminal", "thanks", "till_time"} <= set(sig.content)


def test_an_invoice_with_a_customer_block_stays_an_invoice() -> None:
    sig = receipt_signal([page_lines(make_page(INVOICE))])
    assert not sig.is_receipt and sig.customer_block
