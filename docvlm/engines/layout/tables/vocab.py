"""The table reader's vocabulary, loaded once from ``lexicon/tables.json`` and indexed for linear lookups.

In: the data file (column header terms per line-item field, label glue words, totals / furniture /
carried-forward labels). Out: the compiled patterns and the ``PHRASE_INDEX`` (first token -> the
terms that start with it, longest first), so a header line is read in one pass over its tokens.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

LEXICON_FILE = Path(__file__).resolve().parent.parent / "lexicon" / "tables.json"

DESCRIPTION = "description"
QUANTITY = "quantity"
UNIT = "unit"
UNIT_PRICE = "unit_price"
AMOUNT = "amount"
TAX_RATE = "tax_rate"
PRODUCT_CODE = "product_code"
OTHER = "other"  # a known column that is not a line-item field (discount, position, date...)
UNKNOWN = "unknown"  # a header word that is no column term

NUMERIC_KINDS = frozenset({QUANTITY, UNIT_PRICE, AMOUNT, TAX_RATE})
MONEY_KINDS = frozenset({UNIT_PRICE, AMOUNT})


def _load() -> dict[str, Any]:
    with LEXICON_FILE.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _starts_with_any(labels: list[str]) -> re.Pattern[str]:
    return re.compile("^(?:" + "|".join(labels) + r")\b")


_DATA = _load()

TERMS: dict[str, tuple[str, ...]] = {kind: tuple(terms) for kind, terms in _DATA["columns"].items()}
STRONG_DESCRIPTION = frozenset(_DATA["strong_description"])
# a header word after which the next word still belongs to the same column label ("Prijs incl. BTW")
MODIFIERS = frozenset(_DATA["label_modifiers"])
# currency and unit words that stay with the label before them ("Amount (EUR)", "Prix HT")
LABEL_UNIT_TOKENS = frozenset(_DATA["label_unit_tokens"])
RATE_LABEL_WORDS = frozenset(_DATA["rate_label_words"])

PHRASES: list[tuple[tuple[str, ...], str]] = sorted(
    ((tuple(term.split()), kind) for kind, terms in TERMS.items() for term in terms),
    key=lambda p: -len(p[0]),
)
# first token -> [(phrase, kind)], longest first, ties in lexicon order (the order PHRASES tries them)
PHRASE_INDEX: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _phrase, _kind in PHRASES:
    PHRASE_INDEX.setdefault(_phrase[0], []).append((_phrase, _kind))

# one-word terms a compound header word may end in ("Nettopreis" -> "preis"), longest first
_SUFFIX_MIN = 4
SUFFIX_TERMS: list[tuple[str, str]] = sorted(
    ((p[0], kind) for p, kind in PHRASES if len(p) == 1 and len(p[0]) >= _SUFFIX_MIN and p[0].isalpha()),
    key=lambda t: -len(t[0]),
)
_SUFFIX_KIND: dict[str, str] = {}
for _term, _kind in SUFFIX_TERMS:
    _SUFFIX_KIND.setdefault(_term, _kind)


@lru_cache(maxsize=65536)
def compound_kind(token: str) -> str | None:
    """The kind of a compound word ending in a one-word term ("positionsbetrag" -> amount), else None."""
    if len(token) <= _SUFFIX_MIN or not token.isalpha():
        return None
    for cut in range(1, len(token) - _SUFFIX_MIN + 1):  # longest suffix first
        kind = _SUFFIX_KIND.get(token[cut:])
        if kind is not None:
            return kind
    return None


# lines that close the item table: totals, tax and amount-due labels
TOTALS = _starts_with_any(_DATA["totals_labels"])
# the words that always mean a total, even with more words after them ("TOTAL QTY", "Subtotal excl. VAT")
STRONG_TOTALS = _starts_with_any(_DATA["strong_totals_labels"])
# words that may follow a totals label in the same cell ("Total HT :", "Total for this invoice")
TOTALS_TAIL = frozenset(_DATA["totals_tail"])
PAGE_FOOTER = re.compile(_DATA["page_footer_regex"])
# "(continued)", "Suite": only on lines without an amount (a description may say "suite")
CONTINUED = re.compile(_DATA["continued_regex"])
CARRIED = _starts_with_any(_DATA["carried_labels"])
# words that may follow a carried-forward label: "Ubertrag von Seite 1", "Report page 2"
CARRIED_TAIL = frozenset(_DATA["carried_tail"])
# words that open an allowance or charge line of the totals block ("zzgl. Versandkosten", "abzgl. Skonto")
CHARGE_WORDS = frozenset(_DATA["charge_words"])
# a line that prints a document total anywhere ("TOTAL AMOUNT DUE ... $4.11"): headerless tables add up to it
DOCUMENT_TOTAL = re.compile(_DATA["document_total_regex"])
