"""Typed value parsers shared by the engines, validation and evaluation: amounts, dates, currencies.

All functions take printed text and return a typed value or ``None``; none of them raise on
bad input.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

# ISO 4217 active alphabetic codes (the schemas validate currencies against this set).
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
    KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD
    SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
    USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT
    XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL""".split()
)

# Currency symbols and local abbreviations -> ISO 4217. "$" alone is resolved to USD by default.
CURRENCY_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "¥": "JPY",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
    "₱": "PHP",
    "zł": "PLN",
    "kč": "CZK",
    "rm": "MYR",
    "rs": "INR",
    "rs.": "INR",
    "inr": "INR",
    "us$": "USD",
    "usd": "USD",
    "s$": "SGD",
    "a$": "AUD",
    "au$": "AUD",
    "c$": "CAD",
    "ca$": "CAD",
    "hk$": "HKD",
    "nz$": "NZD",
    "r$": "BRL",
    "fr.": "CHF",
    "sfr": "CHF",
    "$": "USD",
}

# ISO 4217 codes that are words of a text more often than currencies ("SVC", a receipt's service
# charge), the codes of no currency (XXX, XTS), and the WIR units (CHE is also the prefix of a Swiss
# company id: "CHE-123.456.789 MWST")
NOT_CURRENCY_CODES = frozenset(
    {"ALL", "TOP", "CUP", "BOB", "PEN", "MOP", "SOS", "SVC", "CHE", "CHW", "XXX", "XTS"}
)
# "kr" is the crown of Sweden, Norway, Denmark and Iceland: the country of the page's IBAN or VAT id says which
CROWNS = {"SE": "SEK", "NO": "NOK", "DK": "DKK", "IS": "ISK"}

_CURRENCY_PREFIX = re.compile(
    r"^(?:[A-Z]{3}|US\$|S\$|A\$|AU\$|C\$|CA\$|HK\$|NZ\$|R\$|RM|Rs\.?|Fr\.|SFr|zł|Kč|[$€£₹¥₩₽₺₪₫฿₱])\s*",
    re.IGNORECASE,
)
_CURRENCY_SUFFIX = re.compile(
    r"\s*(?:[A-Z]{3}|RM|Rs\.?|zł|Kč|kr\.?|[$€£₹¥₩₽₺₪₫฿₱])$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^[+-]?\d[\d.,' \u00a0\u202f]*$")

_DIGIT_GROUPING = re.compile(r"[ '\u00a0\u202f]")
_SPACES = re.compile(r"\s+")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_ISO_CODE = re.compile(r"\b[A-Z]{3}\b")
_RINGGIT_AMOUNT = re.compile(r"(?<![a-z])rm\s?\d")
_RINGGIT_WORD = re.compile(r"\brm\b")
_RUPEES = re.compile(r"(?<![a-z])rs\.?\s?\d")
_AMOUNT_IN_TEXT = re.compile(
    r"(?<![\w.,])[-(]?(?:[$€£₹¥]|RM|Rs\.?|[A-Z]{3})?\s?"
    r"\d{1,3}(?:[.,' \u00a0\u202f]\d{3})*(?:[.,]\d{1,2})?[-)]?(?![\w]|[.,]\d)"
    r"|(?<![\w.,])[-(]?(?:[$€£₹¥]|RM|Rs\.?)?\s?\d+(?:[.,]\d{1,2})?[-)]?(?![\w]|[.,]\d)"
)


def normalize_text(text: str) -> str:
    """NFKC plus whitespace collapsing; OCR text goes through this."""
    if text.isascii() and text.isprintable() and " " not in text:
        return text  # what most words are: NFKC and the collapse leave it as it is
    return " ".join(unicodedata.normalize("NFKC", text).split())


def detect_currency(text: str) -> str | None:
    """Find an ISO 4217 code or a currency symbol in ``text``."""
    t = normalize_text(text)
    for tok in _ISO_CODE.findall(t):
        if tok in ISO_4217 and tok not in NOT_CURRENCY_CODES:
            return tok
    low = t.lower()
    for sym in ("€", "£", "₹", "¥", "₩", "₽", "₺", "₪", "₫", "฿", "₱"):
        if sym in t:
            return CURRENCY_SYMBOLS[sym]
    for abbr in ("us$", "s$", "a$", "au$", "c$", "ca$", "hk$", "nz$", "r$"):
        if abbr in low:
            return CURRENCY_SYMBOLS[abbr]
    if _RINGGIT_AMOUNT.search(low) or _RINGGIT_WORD.search(low):
        return "MYR"
    if _RUPEES.search(low):
        return "INR"
    if "$" in t:
        return "USD"
    return None


def parse_amount(text: str | float | int | Decimal | None) -> Decimal | None:
    """Parse a printed amount in any common locale.

    Handles "1.234,56", "1,234.56", "1 234,56", "1'234.56", "RM 9.00", "$8.20", "12.50-",
    "(12.50)" and "-12.50". A lone separator followed by exactly three digits is read as a
    thousands separator ("1,234" -> 1234); otherwise the last separator is the decimal point.
    """
    if text is None:
        return None
    if isinstance(text, Decimal):
        return text
    if isinstance(text, (int, float)):
        return Decimal(repr(text)) if isinstance(text, float) else Decimal(text)
    t = normalize_text(text).strip()
    if not t:
        return None
    negative = False
    if t.startswith("(") and t.endswith(")"):
        negative, t = True, t[1:-1].strip()
    if t.endswith("-") and not t.startswith("-"):
        negative, t = True, t[:-1].strip()
    if t.startswith("-"):
        negative, t = True, t[1:].strip()
    elif t.startswith("+"):
        t = t[1:].strip()
    t = _CURRENCY_PREFIX.sub("", t)
    t = _CURRENCY_SUFFIX.sub("", t)
    if t.startswith("-"):
        negative, t = True, t[1:].strip()
    if t.endswith("-"):
        negative, t = True, t[:-1].strip()
    if not _NUMBER.match(t):
        return None
    t = _DIGIT_GROUPING.sub("", t)
    plain = _resolve_separators(t)
    if plain is None:
        return None
    try:
        value = Decimal(plain)
    except InvalidOperation:
        return None
    return -value if negative else value


def _resolve_separators(t: str) -> str | None:
    dots, commas = t.count("."), t.count(",")
    if dots and commas:
        dec = "." if t.rfind(".") > t.rfind(",") else ","
        thou = "," if dec == "." else "."
        if t.count(dec) > 1:
            return None
        return t.replace(thou, "").replace(dec, ".")
    sep = "." if dots else "," if commas else ""
    if not sep:
        return t
    parts = t.split(sep)
    if len(parts) > 2:  # repeated separator can only be grouping
        if all(len(p) == 3 for p in parts[1:]):
            return "".join(parts)
        return None
    head, tail = parts
    if len(tail) == 3 and head and head != "0" and len(head) <= 3:
        return head + tail  # "1,234" / "1.234" -> thousands
    return f"{head or '0'}.{tail}"


def find_amounts(text: str) -> list[tuple[Decimal, str]]:
    """All amount-like tokens in ``text`` with the text they were read from, left to right."""
    out: list[tuple[Decimal, str]] = []
    for m in _AMOUNT_IN_TEXT.finditer(normalize_text(text)):
        raw = m.group(0).strip()
        val = parse_amount(raw)
        if val is not None:
            out.append((val, raw))
    return out


def find_amount_spans(text: str) -> list[tuple[Decimal, str, int, int]]:
    """Amount-like tokens with their character span: (value, raw text, start, end), left to right.

    ``text`` is used as given (no normalisation), so the spans index into it; pass text that has
    already been through ``normalize_text`` for the same matching as ``find_amounts``.
    """
    out: list[tuple[Decimal, str, int, int]] = []
    for m in _AMOUNT_IN_TEXT.finditer(text):
        raw = m.group(0)
        start = m.start() + (len(raw) - len(raw.lstrip()))
        raw = raw.strip()
        val = parse_amount(raw)
        if val is not None:
            out.append((val, raw, start, start + len(raw)))
    return out


# ---------------------------------------------------------------------------------------------
# Dates

MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    [
        "january jan januar janv janvier januari enero ene gennaio genn janeiro",
        "february feb februar fev fevr fevrier février févr februari febrero febbraio fevereiro",
        "march mar marz märz maerz mars maart marzo mac marco março",
        "april apr avril avr abril aprile",
        "may mai mei mayo maggio maio",
        "june jun juni juin junio giugno junho",
        "july jul juli juillet juil julio luglio julho",
        "august aug aout août augustus agosto ago ogos",
        "september sep sept septembre septiembre settembre setembro set",
        "october oct oktober octobre okt octubre ottobre outubro out okt",
        "november nov novembre noviembre novembro",
        "december dec dez dezember decembre décembre déc december diciembre dic dicembre dezembro dis",
    ],
    start=1,
):
    for _n in _names.split():
        MONTHS.setdefault(_n, _num)

_MONTH_ALT = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
# d-m-y with one separator used twice: "08.30 - 12.30" (opening hours) is no date
NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})\s?([-/.])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})")
_DAY_MONTH_NAME = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er|\.)?[\s\-/.]*({_MONTH_ALT})\.?[\s\-/.,]*(\d{{4}}|\d{{2}})(?!\d)",
    re.IGNORECASE,
)
_MONTH_NAME_DAY = re.compile(
    rf"\b({_MONTH_ALT})\.?[\s\-/.]*(\d{{1,2}})(?:st|nd|rd|th)?\s*,?[\s\-/.]*(\d{{4}})(?!\d)",
    re.IGNORECASE,
)


def _year(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        return 2000 + n if n < 70 else 1900 + n
    return n


def _make(y: int, m: int, d: int) -> dt.date | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def find_dates(text: str, dayfirst: bool = True) -> list[tuple[dt.date, str]]:
    """All dates in ``text`` with their printed text, in order of appearance.

    ISO forms are tried first (dateutil's dayfirst misreads them). Numeric dates are day-first
    unless ``dayfirst`` is False or the first number cannot be a month. A four-digit year glued to
    a following time ("14/03/20185:57PM") is still read.
    """
    t = unicodedata.normalize("NFKC", text)
    # what each form needs at least (``\d`` is a decimal digit; a month name is letters): most
    # lines of a page hold too few digits, or no letter, for most of the four searches
    digits = sum(map(str.isdecimal, t))
    if digits < 3:
        return []
    named = any(map(str.isalpha, t))
    found: list[tuple[int, dt.date, str]] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], d: dt.date | None, end: int | None = None) -> None:
        if d is None:
            return
        span = (m.start(), end if end is not None else m.end())
        if any(s < span[1] and span[0] < e for s, e in taken):
            return
        taken.append(span)
        found.append((span[0], d, t[span[0] : span[1]].strip()))

    if digits >= 6:  # yyyy-m-d
        for m in _ISO.finditer(t):
            add(m, _make(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    if named:  # d month yy
        for m in _DAY_MONTH_NAME.finditer(t):
            add(m, _make(_year(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1))))
    if named and digits >= 5:  # month d yyyy
        for m in _MONTH_NAME_DAY.finditer(t):
            add(m, _make(_year(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2))))
    pos = 0
    while digits >= 4:  # d-m-yy
        nm = NUMERIC_DATE.search(t, pos)
        if nm is None:
            break
        # a match that is no date ("#19- 18/01") must not hide the date that overlaps it
        pos = nm.start() + 1
        a, b, y = int(nm.group(1)), int(nm.group(3)), nm.group(4)
        end = nm.end()
        if len(y) == 4 and not 1900 <= int(y) <= 2100:
            continue
        if len(y) == 2 and end < len(t) and t[end].isdigit():
            # "14/03/20185:57" style: a 2-digit match glued to more digits is a 4-digit year cut short
            continue
        year = _year(y)
        d = _make(year, b, a) if a > 12 or (dayfirst and b <= 12) else _make(year, a, b) or _make(year, b, a)
        if d is not None:
            add(nm, d, end)
            pos = end
    found.sort(key=lambda x: x[0])
    return [(d, raw) for _, d, raw in found]


def parse_date(text: str | dt.date | None, dayfirst: bool = True) -> dt.date | None:
    """Parse one printed date; returns the first date found in ``text``."""
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    dates = find_dates(text, dayfirst=dayfirst)
    return dates[0][0] if dates else None


# ---------------------------------------------------------------------------------------------
# Identifiers


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 checksum."""
    s = _SPACES.sub("", iban).upper()
    if not _IBAN_SHAPE.fullmatch(s):
        return False
    rearranged = s[4:] + s[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


IBAN_PATTERN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b")
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_PATTERN = re.compile(r"(?:\+?\d[\d\s().-]{6,}\d)")
