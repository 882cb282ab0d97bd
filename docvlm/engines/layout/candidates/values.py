"""Typed value readers: text after a label -> (value, start, end); amount spans on a line."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from docvlm import parsers
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import _DATE_NUMERIC, _HAS_DIGIT, _LETTERS

_log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Typed value readers: text after a label -> (value, start, end) relative to that text


Reader = Callable[[str, bool], "tuple[str, int, int] | None"]


def read_id(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    """The first identifier-like token (has a digit or an underscore, not a date or an amount with decimals)."""
    for m in list(re.finditer(r"\S+", text))[:3]:
        tok = m.group(0).strip(":;,.()[]")
        tok = tok.lstrip("#")
        if len(tok) < 2 and not tok.isdigit():
            continue
        if not (_HAS_DIGIT.search(tok) or "_" in tok):
            if _LETTERS.search(tok) and tok.lower() not in lx.DOC_TITLE_WORDS:
                # a plain word first (e.g. "Summary") means this is not an identifier field
                return None
            continue
        if parsers.find_dates(tok) or re.fullmatch(r"\d+[.,]\d{2}", tok):
            return None
        start = m.start() + m.group(0).index(tok)
        return tok, start, start + len(tok)
    return None


def read_date(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    """The first date, as ISO ``YYYY-MM-DD``."""
    found = parsers.find_dates(text, dayfirst=dayfirst)
    if not found:
        return None
    d, raw = found[0]
    start = text.find(raw)
    return d.isoformat(), max(0, start), max(0, start) + len(raw)


def read_tax_id(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    """A tax identifier: up to three alphanumeric groups holding at least five digits (up to five
    when a country code stands alone before groups of digits)."""
    toks = list(re.finditer(r"[A-Za-z0-9][A-Za-z0-9./-]*", text))[:6]
    best: tuple[str, int, int] | None = None
    # a VAT id may be printed in groups after its country code ("FR 34 999 888 779"): then more
    # groups of digits may follow
    spaced = bool(toks) and re.fullmatch(r"[A-Za-z]{2}", toks[0].group(0)) is not None
    most = 3
    if spaced:
        most = 1 + next((i for i, t in enumerate(toks[1:]) if not t.group(0).isdigit()), len(toks) - 1)
        most = max(1, min(5, most))
    for n in range(1, min(most, len(toks)) + 1):
        span = toks[:n]
        raw = text[span[0].start() : span[-1].end()].rstrip(".-/")
        compact = re.sub(r"[\s.\-/]", "", raw)
        digits = sum(ch.isdigit() for ch in compact)
        if digits < 5 or not re.fullmatch(r"[A-Za-z0-9]{6,20}", compact):
            continue
        if parsers.find_dates(raw) or "%" in text[span[-1].end() : span[-1].end() + 1]:
            return None
        best = (raw, span[0].start(), span[0].start() + len(raw))
        if n == 1 and (sum(c.isalpha() for c in compact) >= 2 or len(compact) >= 9):
            break
    return best


def read_iban(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    """An IBAN: the longest run of groups with a valid checksum, else an IBAN-shaped run."""
    toks = list(re.finditer(r"[A-Za-z0-9]+", text))[:10]
    if not toks or not re.match(r"[A-Za-z]{2}\d{2}", toks[0].group(0)):
        return None
    valid: tuple[str, int, int] | None = None
    shaped: tuple[str, int, int] | None = None
    for n in range(1, len(toks) + 1):
        raw = text[toks[0].start() : toks[n - 1].end()]
        if re.search(r"[^A-Za-z0-9 ]", raw):
            break
        compact = raw.replace(" ", "").upper()
        if len(compact) > 34:
            break
        if parsers.iban_is_valid(compact):
            valid = (compact, toks[0].start(), toks[n - 1].end())
        elif len(compact) >= 10 and re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", compact) and shaped is None:
            shaped = (compact, toks[0].start(), toks[n - 1].end())
    return valid or shaped


def read_email(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    m = parsers.EMAIL_PATTERN.search(text)
    return (m.group(0), m.start(), m.end()) if m else None


def read_phone(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    m = parsers.PHONE_PATTERN.search(text)
    if not m:
        return None
    raw = m.group(0).strip()
    if sum(ch.isdigit() for ch in raw) < 7:
        return None
    start = m.start()
    if start > 0 and text[start - 1] in "(+":
        start -= 1  # "(303) 555-0147": the pattern starts at a digit
        raw = text[start] + raw
    return raw, start, start + len(raw)


def read_text(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    t = text.strip(" :-")
    if len(_LETTERS.findall(t)) < 2:
        return None
    start = text.find(t)
    return t, start, start + len(t)


# ---------------------------------------------------------------------------------------------
# Amount spans on a line


@dataclass(frozen=True)
class AmountSpan:
    value: Decimal
    start: int
    end: int
    has_decimals: bool
    has_currency: bool
    raw: str


# money as it is printed right after a label's colon: with cents or a currency ("TOTAL:RM 8.40")
_GLUED_MONEY = re.compile(r"[.,]\d{1,2}[-)]?$|RM|Rs|[$€£₹¥]")


@functools.lru_cache(maxsize=8192)
def amount_spans(text: str) -> tuple[AmountSpan, ...]:
    """Amounts on a line, left to right, without percentages, dates, times or long digit runs."""
    out: list[AmountSpan] = []
    date_spans = [(m.start(), m.end()) for m in _DATE_NUMERIC.finditer(text)]
    for value, raw, start, end in parsers.find_amount_spans(text):
        code = re.match(r"([A-Z]{3})\s?", raw)
        if code and code.group(1) not in _iso():
            # "TVA 20": a label word glued to a number is no currency prefix
            start += code.end()
            raw = raw[code.end() :]
        before = text[start - 1] if start > 0 else " "
        after = text[end:].lstrip()[:1]
        if after in ("%", "/", ":") or before in ("/", "@", "#", "x", "X"):
            continue
        if before == ":" and not (start >= 2 and text[start - 2].isalpha() and _GLUED_MONEY.search(raw)):
            continue  # "12:30", a time or a ratio; money glued to its label's colon is kept ("TOTAL:RM 8.40")
        if any(a <= start < b for a, b in date_spans):
            continue
        suffix = re.match(r"\s?(?:[€$£₹¥]|[A-Z]{3}\b)", text[end:])
        if suffix and (suffix.group(0).strip() in "€$£₹¥" or suffix.group(0).strip() in _iso()):
            end += suffix.end()  # "1.234,56 €": the symbol is part of the printed amount
            raw = text[start:end]
        digits = re.sub(r"\D", "", raw)
        has_dec = bool(re.search(r"[.,]\d{1,2}[-)]?$", raw.strip()))
        has_cur = bool(re.search(r"[$€£₹¥]|RM|Rs|[A-Z]{3}", raw))
        if len(digits) > 9 and not has_dec:
            continue  # account numbers, phone numbers
        out.append(AmountSpan(value, start, end, has_dec, has_cur, raw))
    return tuple(out)


def _is_money(a: AmountSpan) -> bool:
    return a.has_decimals or a.has_currency


_STANDALONE_CURRENCY = re.compile(r"(?<![\w$])(?:\(\s*)?(RM|Rs\.?|[A-Z]{3})(?:\s*\))?(?![\w$])")
_NOT_CURRENCY = frozenset({"ALL", "TOP", "CUP", "BOB", "PEN", "MOP", "SOS"})


def _iso() -> frozenset[str]:
    from schemas.invoice import ISO_4217

    return ISO_4217


def _currency_of(text: str, a: AmountSpan) -> str | None:
    """Currency printed inside or right next to an amount."""
    window = text[max(0, a.start - 4) : a.end + 4]
    m = re.search(r"\b([A-Z]{3})\b", window)
    if m and m.group(1) in _iso() and m.group(1) not in {"ALL", "TOP", "CUP", "BOB", "PEN", "MOP", "SOS"}:
        return m.group(1)
    low = window.lower()
    for sym in ("€", "£", "₹", "¥"):
        if sym in window:
            return parsers.CURRENCY_SYMBOLS[sym]
    if re.search(r"(?<![a-z])rm\s?\d|\d\s?rm\b", low):
        return "MYR"
    if re.search(r"(?<![a-z])rs\.?\s?-?\d", low):
        return "INR"
    for abbr in ("us$", "s$", "a$", "c$", "hk$", "nz$", "r$"):
        if abbr in low:
            return parsers.CURRENCY_SYMBOLS[abbr]
    if "$" in window:
        return "USD"
    return None
