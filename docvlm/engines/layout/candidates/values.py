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

_TOKEN = re.compile(r"\S+")
_DECIMAL_AMOUNT = re.compile(r"\d+[.,]\d{2}")
_TAX_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9./-]*")
_COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
_ID_SEPARATORS = re.compile(r"[\s.\-/]")
_COMPACT_TAX_ID = re.compile(r"[A-Za-z0-9]{6,20}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_IBAN_START = re.compile(r"[A-Za-z]{2}\d{2}")
_NOT_IBAN_CHAR = re.compile(r"[^A-Za-z0-9 ]")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]+")
_CODE_PREFIX = re.compile(r"([A-Z]{3})\s?")
_CURRENCY_AFTER = re.compile(r"\s?(?:[€$£₹¥]|[A-Z]{3}\b)")
_NON_DIGIT = re.compile(r"\D")
_DECIMALS_AT_END = re.compile(r"[.,]\d{1,2}[-)]?$")
_CURRENCY_MARK = re.compile(r"[$€£₹¥]|RM|Rs|[A-Z]{3}")
_ISO_CODE = re.compile(r"\b([A-Z]{3})\b")
_RINGGIT = re.compile(r"(?<![a-z])rm\s?\d|\d\s?rm\b")
_RUPEES = re.compile(r"(?<![a-z])rs\.?\s?-?\d")

# ---------------------------------------------------------------------------------------------
# Typed value readers: text after a label -> (value, start, end) relative to that text


Reader = Callable[[str, bool], "tuple[str, int, int] | None"]


# what an identifier holds around a date in it: letters or digits joined by separators ("FV/", "-1")
_ID_AROUND_DATE = re.compile(r"(?=.*[^\W_])[\w/.\- ]+")


def read_id(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    """The first identifier-like token (has a digit or an underscore, not a date or an amount with decimals)."""
    for m in list(_TOKEN.finditer(text))[:3]:
        tok = m.group(0).strip(":;,.()[]")
        tok = tok.lstrip("#")
        if len(tok) < 2 and not tok.isdigit():
            continue
        if not (_HAS_DIGIT.search(tok) or "_" in tok):
            if _LETTERS.search(tok) and tok.lower() not in lx.DOC_TITLE_WORDS:
                # a plain word first (e.g. "Summary") means this is not an identifier field
                return None
            continue
        if _DECIMAL_AMOUNT.fullmatch(tok) or any(
            not _ID_AROUND_DATE.fullmatch(tok.replace(raw, " ", 1)) for _, raw in parsers.find_dates(tok)
        ):
            return None  # a date, or an amount; a number that holds a date ("FV/2024/03/17") is kept
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
    toks = list(_TAX_TOKEN.finditer(text))[:6]
    best: tuple[str, int, int] | None = None
    # a VAT id may be printed in groups after its country code ("FR 34 999 888 779"): then more
    # groups of digits may follow
    spaced = bool(toks) and _COUNTRY_CODE.fullmatch(toks[0].group(0)) is not None
    most = 3
    if spaced:
        most = 1 + next((i for i, t in enumerate(toks[1:]) if not t.group(0).isdigit()), len(toks) - 1)
        most = max(1, min(5, most))
    for n in range(1, min(most, len(toks)) + 1):
        span = toks[:n]
        raw = text[span[0].start() : span[-1].end()].rstrip(".-/")
        compact = _ID_SEPARATORS.sub("", raw)
        digits = sum(ch.isdigit() for ch in compact)
        if digits < 5 or not _COMPACT_TAX_ID.fullmatch(compact):
            continue
        if parsers.find_dates(raw) or "%" in text[span[-1].end() : span[-1].end() + 1]:
            return None
        best = (raw, span[0].start(), span[0].start() + len(raw))
        if n == 1 and (sum(c.isalpha() for c in compact) >= 2 or len(compact) >= 9):
            break
    return best


def read_iban(text: str, dayfirst: bool = True) -> tuple[str, int, int] | None:
    """An IBAN: the longest run of groups with a valid checksum, else an IBAN-shaped run.

    Without a valid checksum (a typo, or a made-up number) the run is the one printed in groups of four,
    up to its short last group ("DE12 3456 ... 78"), and else the shortest shaped run."""
    toks = list(_ALNUM_RUN.finditer(text))[:10]
    if not toks or not _IBAN_START.match(toks[0].group(0)):
        return None
    valid: tuple[str, int, int] | None = None
    shaped: tuple[str, int, int] | None = None
    grouped: tuple[str, int, int] | None = None
    for n in range(1, len(toks) + 1):
        raw = text[toks[0].start() : toks[n - 1].end()]
        if _NOT_IBAN_CHAR.search(raw):
            break
        compact = raw.replace(" ", "").upper()
        if len(compact) > 34:
            break
        if parsers.iban_is_valid(compact):
            valid = (compact, toks[0].start(), toks[n - 1].end())
        elif len(compact) >= 10 and _IBAN_SHAPE.fullmatch(compact):
            shaped = shaped or (compact, toks[0].start(), toks[n - 1].end())
            in_fours = all(len(t.group(0)) == 4 for t in toks[: n - 1]) and len(toks[n - 1].group(0)) <= 4
            if n > 1 and in_fours:
                grouped = (compact, toks[0].start(), toks[n - 1].end())
    return valid or grouped or shaped


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
        code = _CODE_PREFIX.match(raw)
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
        suffix = _CURRENCY_AFTER.match(text[end:])
        if suffix and (suffix.group(0).strip() in "€$£₹¥" or suffix.group(0).strip() in _iso()):
            end += suffix.end()  # "1.234,56 €": the symbol is part of the printed amount
            raw = text[start:end]
        digits = _NON_DIGIT.sub("", raw)
        has_dec = bool(_DECIMALS_AT_END.search(raw.strip()))
        has_cur = bool(_CURRENCY_MARK.search(raw))
        if len(digits) > 9 and not has_dec:
            continue  # account numbers, phone numbers
        out.append(AmountSpan(value, start, end, has_dec, has_cur, raw))
    return tuple(out)


def _is_money(a: AmountSpan) -> bool:
    return a.has_decimals or a.has_currency


_STANDALONE_CURRENCY = re.compile(r"(?<![\w$])(?:\(\s*)?(RM|Rs\.?|[A-Z]{3})(?:\s*\))?(?![\w$])")
_NOT_CURRENCY = parsers.NOT_CURRENCY_CODES


def _iso() -> frozenset[str]:
    from schemas.invoice import ISO_4217

    return ISO_4217


def _currency_of(text: str, a: AmountSpan) -> str | None:
    """Currency printed inside or right next to an amount."""
    lo, hi = max(0, a.start - 4), a.end + 4
    window = text[lo:hi]
    # a code is a whole word of the line: "MWST" or "CHE-123..." hold no currency
    for m in _ISO_CODE.finditer(text, lo):
        if m.start() >= hi:
            break
        if m.end() <= hi and m.group(1) in _iso() and m.group(1) not in _NOT_CURRENCY:
            return m.group(1)
    low = window.lower()
    for sym in ("€", "£", "₹", "¥"):
        if sym in window:
            return parsers.CURRENCY_SYMBOLS[sym]
    for sym in ("zł", "kč"):
        if sym in low:
            return parsers.CURRENCY_SYMBOLS[sym]
    if _RINGGIT.search(low):
        return "MYR"
    if _RUPEES.search(low):
        return "INR"
    for abbr in ("us$", "s$", "a$", "c$", "hk$", "nz$", "r$"):
        if abbr in low:
            return parsers.CURRENCY_SYMBOLS[abbr]
    if "$" in window:
        return "USD"
    return None
