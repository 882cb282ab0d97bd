"""Generated line-item tables as word layouts: pages plus their truth, for training and reading tests.

Each document is one page: a title, a header row (column terms of one of several languages, in
one of several column orders), item rows (some with a second description line), and a totals
block. Boxes are in PDF points of a 10 pt font, as a text layer would give them.
"""

from __future__ import annotations

import random
from decimal import Decimal

from docvlm.datamodel import Page, Word

CHAR_W = 5.0
SPACE = 2.5

HEADERS = {
    "en": {"description": "Description", "quantity": "Qty", "unit_price": "Unit Price", "amount": "Amount"},
    "de": {
        "description": "Bezeichnung",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "amount": "Betrag",
    },
    "fr": {
        "description": "Désignation",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire",
        "amount": "Montant",
    },
    "nl": {"description": "Omschrijving", "quantity": "Aantal", "unit_price": "Prijs", "amount": "Bedrag"},
}
TOTALS = {"en": "Total", "de": "Gesamtbetrag", "fr": "Total TTC", "nl": "Totaal"}
ITEMS = (
    "Oak shelf",
    "Brass hinge set",
    "Consulting hours",
    "Paint 5 l",
    "Cable reel",
    "Desk lamp",
    "Transport",
)
DETAILS = ("delivered on site", "colour: white", "incl. assembly", "order 4711")


def words_at(y: float, x: float, text: str, right: bool = False) -> list[Word]:
    """The words of ``text`` on one line, starting at ``x`` (or ending there when ``right``)."""
    parts = text.split()
    width = sum(len(p) * CHAR_W for p in parts) + SPACE * (len(parts) - 1)
    cur = x - width if right else x
    out = []
    for p in parts:
        out.append(Word(text=p, bbox=(cur, y, cur + len(p) * CHAR_W, y + 10.0)))
        cur += len(p) * CHAR_W + SPACE
    return out


def _money(value: Decimal, lang: str) -> str:
    text = f"{value:,.2f}"
    return text.replace(",", " ").replace(".", ",") if lang in ("de", "fr", "nl") else text


def generated_table(rng: random.Random) -> tuple[list[Page], list[dict[str, str]]]:
    """One generated invoice page with a line-item table, and its items as the truth."""
    lang = rng.choice(sorted(HEADERS))
    head = HEADERS[lang]
    # numeric columns right-aligned at these right edges; the description left-aligned at 40
    right = {"quantity": 330.0, "unit_price": 430.0, "amount": 545.0}
    words = words_at(60, 40, rng.choice(("INVOICE 2024-17", "Rechnung 88", "Facture F-3")))
    words += words_at(200, 40, head["description"])
    for name, x in right.items():
        words += words_at(200, x, head[name], right=True)
    y = 222.0
    items: list[dict[str, str]] = []
    for _ in range(rng.randint(2, 6)):
        qty = Decimal(rng.choice((1, 2, 3, 5, 10, 12)))
        price = Decimal(rng.randint(150, 99000)) / 100
        amount = qty * price
        desc = rng.choice(ITEMS)
        words += words_at(y, 40, desc)
        words += words_at(y, right["quantity"], str(qty), right=True)
        words += words_at(y, right["unit_price"], _money(price, lang), right=True)
        words += words_at(y, right["amount"], _money(amount, lang), right=True)
        if rng.random() < 0.3:
            detail = rng.choice(DETAILS)
            y += 11.0
            words += words_at(y, 40, detail)
            desc = f"{desc} {detail}"
        items.append(
            {
                "description": desc,
                "quantity": str(qty),
                "unit_price": f"{price:.2f}",
                "amount": f"{amount:.2f}",
            }
        )
        y += 20.0
    total = sum((Decimal(it["amount"]) for it in items), Decimal(0))
    words += words_at(y + 20, 400, TOTALS[lang]) + words_at(
        y + 20, right["amount"], _money(total, lang), right=True
    )
    return [Page(number=1, width=595, height=842, unit="pt", words=words)], items
