"""Text of table cells: folding, tokens, what reads as a number or money, and value formatting.

In: word texts. Out: folded strings, tokens, decisions (numeric cell? money cell?) and normalised
value strings. Nothing here looks at geometry beyond one line's words.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from docvlm.datamodel import BBox, Word
from docvlm.geometry import Line, median
from docvlm.parsers import find_amounts, parse_amount

_log = logging.getLogger(__name__)

T = TypeVar("T")

WORDS = re.compile(r"[^\W\d_]{2,}")  # runs of two or more letters
PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
QTY_UNIT = re.compile(r"^\s*([+-]?\d[\d.,' ]*)\s*([^\d\s].{0,15})?\s*$")
CURRENCY_WORD = re.compile(r"^(?:[$€£₹¥]|[A-Z]{3}|RM|Rs\.?)$")
MONEY_TEXT = re.compile(r"(?:[$€£₹¥]\s?-?\d|\d[.,]\d{2}\b)")
_NUMBER_START = re.compile(r"^[(+-]?(?:[$€£₹¥]|[A-Z]{3}\s|Rs\.?\s?|RM\s?)?\s*-?\d")
_NUMBER_WORD = re.compile(r"^[(+-]?[$€£₹¥]?\d")
_TOKEN = re.compile(r"[a-z0-9]+|[%#]")
_HAS_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case without accents, so "Qté", "Désignation" and "Übertrag" match plain terms."""
    nfkd = unicodedata.normalize("NFKD", text)
    return "".join(c for c in nfkd if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(fold(text)))


def tokens(text: str) -> list[str]:
    """Folded tokens of ``text``: runs of letters and digits, and "%" / "#" on their own."""
    return list(_tokens(text))


def word_tokens(text: str) -> tuple[str, ...]:
    """``tokens`` as a cached tuple (one word's tokens are asked for again on every line it is on)."""
    return _tokens(text)


@lru_cache(maxsize=65536)
def is_numeric_text(text: str) -> bool:
    """True for a cell that is a number: "42.00", "$ 42.00", "1.00 kg", "15.00%", "€ -9,32", "12.50-"."""
    t = text.strip()
    if not _NUMBER_START.match(t):
        return False
    if parse_amount(t) is not None or parse_amount(t.rstrip("%").strip()) is not None:
        return True
    m = QTY_UNIT.match(t)
    # a number followed by one short unit word ("1.00 kg", "2 Units", "15.00 g")
    return bool(m and m.group(2) and parse_amount(m.group(1)) is not None and len(m.group(2).split()) == 1)


def number_word(w: Word) -> bool:
    """A word that starts like a number ("12", "-3", "$9", "(4")."""
    return bool(_NUMBER_WORD.match(w.text.strip()))


def has_digit(text: str) -> bool:
    return bool(_HAS_DIGIT.search(text))


@lru_cache(maxsize=65536)
def is_amount_word(text: str) -> bool:
    """A word with a digit that parses as an amount (headers carry none)."""
    return bool(_HAS_DIGIT.search(text)) and parse_amount(text) is not None


def split_runs(words: Sequence[Word]) -> list[Word]:
    """Words with spaces inside (OCR text runs) cut into one word per token, boxes shared by characters."""
    out: list[Word] = []
    for w in words:
        text = w.text.strip()
        if " " not in text:
            out.append(w)
            continue
        n = len(text)
        x0, y0, x1, y1 = w.bbox
        for m in re.finditer(r"\S+", text):
            a, b = x0 + (x1 - x0) * m.start() / n, x0 + (x1 - x0) * m.end() / n
            out.append(
                Word(
                    text=m.group(0), bbox=(a, y0, b, y1), page=w.page, conf=w.conf, line=w.line, block=w.block
                )
            )
    return out


def word_height(words: Sequence[Word]) -> float:
    return median([w.height for w in words]) or 10.0


def line_memo(line: Line, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` for ``line`` once, kept on the line object (lines live as long as their page's words)."""
    try:
        return line.__dict__["_table_memo"][name]  # type: ignore[no-any-return]
    except KeyError:
        store: dict[str, Any] = line.__dict__.setdefault("_table_memo", {})
        store[name] = value = compute()
        return value


def line_box(line: Line) -> BBox:
    """``line.bbox`` once (the property unions the words' boxes on every read)."""
    return line_memo(line, "box", lambda: line.bbox)


def line_y(line: Line) -> float:
    """The line's centre height, from ``line_box``."""
    box = line_box(line)
    return (box[1] + box[3]) / 2


def line_height(line: Line) -> float:
    """The median word height of ``line`` (``word_height(line.words)``, once)."""
    return line_memo(line, "height", lambda: word_height(line.words))


def format_decimal(value: Decimal) -> str:
    return format(value, "f")


def format_rate(value: Decimal) -> str:
    """A rate without trailing zeros: 15.00 -> "15", 0.20 -> "0.2"."""
    normal = value.normalize()
    return format(normal, "f") if normal == normal.to_integral_value() else format(normal, "f").rstrip("0")


def money(text: str) -> Decimal | None:
    """The amount of a money cell; in a cell with words ("Rs 1939 x 1 Night") the first money-like number."""
    value = parse_amount(text)
    if value is None:
        found = find_amounts(text)
        marked = [v for v, raw in found if MONEY_TEXT.search(raw) or re.match(r"^(?:Rs|RM|[A-Z]{3})", raw)]
        value = marked[0] if marked else (found[0][0] if found else None)
    return value
