"""Header-field extraction by key-value geometry: labelled values right of or below their label.

Input: the pages of one document (words with boxes). Output: a ``HeaderResult`` holding header
values keyed by dotted paths (``invoice_number``, ``vendor.name``...), each with its ``Evidence``
and a confidence in [0, 1]. Lines are grouped once per page with ``docvlm.geometry.group_lines``;
every rule below is a linear scan over those lines.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from docvlm import parsers
from docvlm.datamodel import BBox, Evidence, Page, Word
from docvlm.engines.layout import lexicon as lx
from docvlm.geometry import Line, h_overlap, median, union, v_overlap

_log = logging.getLogger(__name__)

_CENT = Decimal("0.01")
_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})\s?[-/.]\s?(\d{1,2})\s?[-/.]\s?(\d{4}|\d{2})(?!\d)")
_HAS_DIGIT = re.compile(r"\d")
_LETTERS = re.compile(r"[^\W\d_]")
_CURRENCY_WORDS = re.compile(r"^(?:RM|Rs\.?|US\$|[$€£₹¥])$", re.IGNORECASE)
_URL = re.compile(
    r"(?:https?://|www\.)[\w.-]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|de|fr|nl|es|it|be|uk|in|my|io|co)\b",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------
# Text lines with character offsets


@dataclass
class TextLine:
    """A visual line as one string, with the character span of each word and each segment."""

    page: int
    index: int  # position of the line on its page, top to bottom
    text: str
    words: list[Word]
    starts: list[int]  # character offset of each word in ``text``
    segments: list[tuple[int, int]]  # character span of each segment
    bbox: BBox
    height: float

    def seg_at(self, pos: int) -> int:
        """Index of the segment holding character ``pos`` (the last one if past the end)."""
        for i, (a, b) in enumerate(self.segments):
            if pos < b:
                return i if pos >= a else max(0, i - 1)
        return len(self.segments) - 1

    def box(self, start: int, end: int) -> BBox:
        """Box of the characters [start, end); a word cut by the span gets a proportional share."""
        boxes: list[BBox] = []
        for w, s in zip(self.words, self.starts, strict=True):
            e = s + len(w.text)
            if e <= start or s >= end:
                continue
            n = max(1, len(w.text))
            a, b = max(start, s) - s, min(end, e) - s
            width = w.x1 - w.x0
            boxes.append((w.x0 + width * a / n, w.y0, w.x0 + width * b / n, w.y1))
        return union(boxes) if boxes else self.bbox

    def evidence(self, start: int, end: int, score: float = 1.0) -> Evidence:
        return Evidence(
            page=self.page, bbox=self.box(start, end), text=self.text[start:end].strip(), score=score
        )


def build_text_lines(lines: Sequence[Line]) -> list[TextLine]:
    """Turn geometry lines into ``TextLine``s (word text NFKC-normalised so offsets are stable)."""
    out: list[TextLine] = []
    for ln in lines:
        parts: list[str] = []
        starts: list[int] = []
        words: list[Word] = []
        segs: list[tuple[int, int]] = []
        pos = 0
        for seg in ln.segments:
            seg_first: int | None = None
            for w in seg:
                t = parsers.normalize_text(w.text)
                if not t:
                    continue
                if parts:
                    pos += 1  # the joining space
                if seg_first is None:
                    seg_first = pos
                starts.append(pos)
                parts.append(t)
                words.append(Word(t, w.bbox, w.page, w.conf, w.line, w.block))
                pos += len(t)
            if seg_first is not None:
                segs.append((seg_first, pos))
        if not words:
            continue
        text = " ".join(parts)
        out.append(
            TextLine(
                page=ln.page,
                index=len(out),
                text=text,
                words=words,
                starts=starts,
                segments=segs,
                bbox=union(w.bbox for w in words),
                height=median([w.height for w in words]) or 1.0,
            )
        )
    return out


@dataclass
class PageLines:
    """One page's text lines plus the measures the rules need."""

    page: Page
    lines: list[TextLine]
    median_height: float
    text_box: BBox  # union of all word boxes (the printed area)


def page_lines(page: Page) -> PageLines:
    """Group a page's words into text lines once."""
    lines = build_text_lines(page.lines)
    mh = median([ln.height for ln in lines]) or 1.0
    tb = union(ln.bbox for ln in lines) if lines else (0.0, 0.0, page.width, page.height)
    return PageLines(page=page, lines=lines, median_height=mh, text_box=tb)


# ---------------------------------------------------------------------------------------------
# Candidates and results


@dataclass
class Candidate:
    """A value for one field with its evidence and how sure the rule that found it is."""

    path: str
    value: str
    evidence: Evidence
    score: float
    line: TextLine | None = None
    number: Decimal | None = None


@dataclass
class HeaderResult:
    """Header values keyed by dotted path, with evidence and confidence for each."""

    values: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    dayfirst: bool = True
    customer_regions: list[tuple[int, BBox]] = field(default_factory=list)

    def put(self, c: Candidate, confidence: float | None = None) -> None:
        self.values[c.path] = c.value
        self.evidence[c.path] = c.evidence
        self.confidence[c.path] = round(max(0.0, min(1.0, c.score if confidence is None else confidence)), 4)

    def drop(self, path: str) -> None:
        self.values.pop(path, None)
        self.evidence.pop(path, None)
        self.confidence.pop(path, None)


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
    """A tax identifier: up to three alphanumeric groups holding at least five digits."""
    toks = list(re.finditer(r"[A-Za-z0-9][A-Za-z0-9./-]*", text))[:4]
    best: tuple[str, int, int] | None = None
    for n in range(1, min(3, len(toks)) + 1):
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
        if after in ("%", "/", ":") or before in ("/", ":", "@", "#", "x", "X"):
            continue
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


# ---------------------------------------------------------------------------------------------
# Label search


def _is_label_segment(text: str) -> bool:
    """A segment that is only a label (ends with ':' or is a known label phrase)."""
    t = text.strip()
    if not t:
        return False
    if t.endswith(":") and len(t) < 40:
        return True
    m = lx.ANY_HEADER_LABEL_RE.fullmatch(t.rstrip(":#. "))
    return m is not None


def find_value(
    pl: PageLines,
    tl: TextLine,
    label_start: int,
    label_end: int,
    reader: Reader,
    dayfirst: bool,
    allow_below: bool = True,
    below_lines: int = 1,
) -> tuple[str, Evidence, str] | None:
    """The value of a label: rest of its segment, else the next segment, else the line(s) below.

    Returns (value, evidence, where) with where in {"right", "next", "below"}.
    """
    si = tl.seg_at(label_start)
    seg_end = tl.segments[si][1]
    rest = tl.text[label_end:seg_end]
    if rest.strip():
        r = reader(rest, dayfirst)
        if r is not None:
            v, a, b = r
            return v, tl.evidence(label_end + a, label_end + b), "right"
        return None
    if si + 1 < len(tl.segments):
        a0, b0 = tl.segments[si + 1]
        seg_text = tl.text[a0:b0]
        if not _is_label_segment(seg_text):
            r = reader(seg_text, dayfirst)
            if r is not None:
                v, a, b = r
                return v, tl.evidence(a0 + a, a0 + b), "next"
    if not allow_below:
        return None
    lbox = tl.box(label_start, label_end)
    tol = tl.height
    seen = 0
    for nxt in pl.lines[tl.index + 1 : tl.index + 6]:
        if nxt.bbox[1] - tl.bbox[3] > 2.5 * max(tl.height, nxt.height):
            break
        # the segment under the label: the one overlapping the label's column most, nearest left edge on ties
        best_seg: tuple[float, float, int, int] | None = None
        for a0, b0 in nxt.segments:
            sbox = nxt.box(a0, b0)
            overlap = min(sbox[2], lbox[2] + 2 * tol) - max(sbox[0], lbox[0] - tol)
            if overlap <= 0:
                continue
            key = (overlap, -abs(sbox[0] - lbox[0]))
            if best_seg is None or key > best_seg[:2]:
                best_seg = (key[0], key[1], a0, b0)
        if best_seg is not None:
            a0, b0 = best_seg[2], best_seg[3]
            r = reader(nxt.text[a0:b0], dayfirst)
            if r is not None:
                v, a, b = r
                return v, nxt.evidence(a0 + a, a0 + b), "below"
            seen += 1
        if seen >= below_lines:
            return None
    return None


def _in_regions(page: int, box: BBox, regions: Sequence[tuple[int, BBox]]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(p == page and r[0] - 2 <= cx <= r[2] + 2 and r[1] - 2 <= cy <= r[3] + 2 for p, r in regions)


# ---------------------------------------------------------------------------------------------
# Document-level inference


_OTHER_DOLLAR = re.compile(
    r"\b(?:GST|HST|PST|QST|ABN|ACN|NZBN|SST|RM|Malaysia|Singapore|Australia|Canada|New Zealand|Hong Kong|"
    r"Jalan|Sdn\.?\s*Bhd|Pte\.?\s*Ltd|Pty\.?\s*Ltd)\b",
    re.IGNORECASE,
)


def infer_dayfirst(text: str, currency: str | None) -> bool:
    """Day-first unless an unambiguous month-first date, a US address or US dollars say otherwise.

    Unambiguous dates on the page (13/04 vs 04/13) decide first; then a US state + ZIP, "USA" or
    "USD"/"US$"; a bare "$" counts as US unless the page shows another dollar country.
    """
    day, month = 0, 0
    for m in _DATE_NUMERIC.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if 12 < a <= 31 and 1 <= b <= 12:
            day += 1
        elif 12 < b <= 31 and 1 <= a <= 12:
            month += 1
    if day != month:
        return day > month
    if lx.US_STATE_ZIP.search(text) or re.search(r"\b(?:USA|United States|U\.S\.A\.|US Dollars?)\b", text):
        return False
    if currency != "USD":
        return True
    if re.search(r"\bUSD\b|US\$", text):
        return False
    # a bare "$" is US unless the page shows another dollar country (GST/HST/ABN, RM, place names)
    return bool(_OTHER_DOLLAR.search(text))


def detect_document_currency(pls: Sequence[PageLines]) -> tuple[str, Evidence] | None:
    """Currency from a 'Currency:' label, else ISO codes and symbols printed with amounts, else page text."""
    votes: dict[str, float] = {}
    first: dict[str, Evidence] = {}
    for pl in pls:
        for tl in pl.lines:
            m = lx.CURRENCY_LABEL_RE.search(tl.text)
            if m:
                rest = tl.text[m.end() : m.end() + 12]
                code = re.match(r"\s*([A-Z]{3})\b", rest)
                if code and code.group(1) in _iso():
                    ev = tl.evidence(m.end() + code.start(1), m.end() + code.end(1))
                    return code.group(1), ev
            for a in amount_spans(tl.text):
                sym = _currency_of(tl.text, a)
                if sym:
                    w = 0.5 if sym == "USD" and "$" in a.raw and "US" not in a.raw else 1.0
                    votes[sym] = votes.get(sym, 0.0) + w
                    first.setdefault(sym, tl.evidence(a.start, a.end))
    if votes:
        best = max(votes.items(), key=lambda kv: kv[1])[0]
        # a lone "$" is ambiguous: an explicit other currency elsewhere wins
        if best == "USD" and len(votes) > 1:
            others = {k: v for k, v in votes.items() if k != "USD"}
            best = max(others.items(), key=lambda kv: kv[1])[0]
        return best, first[best]
    names = {"dollar": "USD", "euro": "EUR", "rupee": "INR", "ringgit": "MYR", "pound": "GBP"}
    for pl in pls:
        for tl in pl.lines:
            m = re.search(
                r"\b(?:US\s+Dollars?|euros?|rupees?|ringgit|pounds?\s+sterling)\b", tl.text, re.IGNORECASE
            )
            if m:
                word = m.group(0).lower()
                named = next(c for k, c in names.items() if k in word)
                return named, tl.evidence(m.start(), m.end(), 0.8)
            # a currency printed on its own, e.g. a column header "Amount (RM)" or "Total (EUR)"
            for cm in _STANDALONE_CURRENCY.finditer(tl.text):
                tok = cm.group(1)
                local = tok in ("RM", "Rs", "Rs.")
                iso = parsers.CURRENCY_SYMBOLS.get(tok.lower()) if local else tok
                if (
                    iso is not None
                    and iso in _iso()
                    and iso not in _NOT_CURRENCY
                    and (local or "(" in cm.group(0))
                ):
                    return iso, tl.evidence(cm.start(1), cm.end(1), 0.7)
    return None


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


# ---------------------------------------------------------------------------------------------
# Identifier, date and reference fields


_FIELD_READERS: dict[str, Reader] = {
    "invoice_number": read_id,
    "invoice_date": read_date,
    "due_date": read_date,
    "purchase_order": read_id,
}


_TITLE_NUMBER = re.compile(
    r"(?:invoice|factuur|facture|rechnung|factura|fattura|#)\s*[:#]?\s*", re.IGNORECASE
)


def extract_keyed_fields(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """invoice_number, invoice_date, due_date and purchase_order from their labels."""
    best: dict[str, Candidate] = {}
    # (page, line) -> label spans already used by another field ("DUE DATE" is not an "INVOICE DATE")
    taken: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for path in ("due_date", "invoice_number", "purchase_order", "invoice_date"):
        reader = _FIELD_READERS[path]
        for pl in pls:
            for tl in pl.lines:
                used = taken.setdefault((tl.page, tl.index), [])
                for a0, b0 in tl.segments:  # a label never spans two segments
                    for pat, strength in lx.HEADER_PATTERNS[path]:
                        for m in pat.finditer(tl.text, a0, b0):
                            if any(s < m.end() and m.start() < e for s, e in used):
                                continue
                            if path == "invoice_date" and _inside_other_label(
                                tl.text, m.start(), m.end(), m.group(0)
                            ):
                                continue
                            found = find_value(pl, tl, m.start(), m.end(), reader, dayfirst)
                            if found is None:
                                continue
                            value, ev, where = found
                            pos_bonus = 0.05 if tl.page == 1 else 0.0
                            score = 0.55 + 0.35 * strength + pos_bonus + (0.04 if where == "right" else 0.0)
                            cand = Candidate(path, value, ev, score, tl)
                            if path not in best or cand.score > best[path].score:
                                best[path] = cand
                            used.append((m.start(), m.end()))
                            break
    # an invoice title followed by an identifier ("Invoice INV/2023/0008"), or a lone "# 123" near the title
    if "invoice_number" not in best:
        for pl in pls[:1]:
            for tl in pl.lines:
                for a0, _b0 in tl.segments:
                    tm = _TITLE_NUMBER.match(tl.text, a0)
                    if not tm:
                        continue
                    found = find_value(pl, tl, a0, tm.end(), read_id, dayfirst, allow_below=False)
                    if found:
                        value, ev, _ = found
                        best["invoice_number"] = Candidate("invoice_number", value, ev, 0.6, tl)
                        break
                if "invoice_number" in best:
                    break
    if "invoice_date" not in best:
        # unlabelled: the first date in the top half of page 1 that is not the due date
        due = best.get("due_date")
        for pl in pls[:1]:
            for tl in pl.lines:
                if tl.bbox[1] > pl.page.height * 0.5 and pl.page.height > 0:
                    break
                r = read_date(tl.text, dayfirst)
                if r is None or (due is not None and r[0] == due.value):
                    continue
                best["invoice_date"] = Candidate("invoice_date", r[0], tl.evidence(r[1], r[2]), 0.45, tl)
                break
    for cand in best.values():
        res.put(cand)


def _inside_other_label(text: str, start: int, end: int, label: str) -> bool:
    """'Date' inside 'Due Date', 'Order Date', 'Date of birth'... is not the invoice date."""
    before = text[max(0, start - 12) : start].lower()
    if re.search(
        r"(?:due|order|delivery|ship\w*|check[\s-]?(?:in|out)|start|end|print\w*|lever\w*|liefer\w*|bestell\w*|"
        r"payment|paid|service|supply|leistungs|birth|expiry|valid\w*)\s*$",
        before,
    ):
        return True
    # a label closed by ':' cannot continue into the next words
    return ":" not in label and bool(re.match(r"(?:of\s+birth|due)\b", text[end : end + 10].lower()))


# ---------------------------------------------------------------------------------------------
# Amounts


@dataclass
class AmountCandidate:
    path: str
    value: Decimal
    strength: float
    evidence: Evidence
    page: int
    y: float
    line_text: str


def amount_candidates(
    pls: Sequence[PageLines], table_boxes: dict[int, BBox] | None = None
) -> list[AmountCandidate]:
    """Labelled amounts: each label on a line takes the last amount before the next label."""
    out: list[AmountCandidate] = []
    for pl in pls:
        tbox = (table_boxes or {}).get(pl.page.number)
        for tl in pl.lines:
            amts = [
                a
                for a in amount_spans(tl.text)
                if _is_money(a) or a.value == 0 or len(str(abs(a.value))) <= 6
            ]
            for label_text, label_start, group in _label_groups(tl, amts):
                # inside the line-item table a "Total" is more likely a column or a row total
                in_table = tbox is not None and _in_regions(
                    tl.page, tl.box(label_start, label_start + 1), [(tl.page, tbox)]
                )
                factor = 0.8 if in_table else 1.0
                chosen = group[-1]
                # integers only on this line: accept them only when a currency is printed
                if (
                    not _is_money(chosen)
                    and not any(_is_money(a) for a in amts)
                    and not re.search(r"[$€£₹¥]|\bRM\b|\bRs\b", tl.text)
                ):
                    continue
                for path, strength in classify_amount_label(label_text):
                    ev = tl.evidence(chosen.start, chosen.end)
                    out.append(
                        AmountCandidate(
                            path, chosen.value, strength * factor, ev, tl.page, tl.bbox[1], tl.text
                        )
                    )
    return out


def _label_groups(tl: TextLine, amts: list[AmountSpan]) -> list[tuple[str, int, list[AmountSpan]]]:
    """Pair label text with the amounts that follow it on the line, segment by segment."""
    groups: list[tuple[str, int, list[AmountSpan]]] = []
    cur_label: str | None = None
    cur_start = 0
    cur: list[AmountSpan] = []
    for a0, b0 in tl.segments:
        seg_amts = [a for a in amts if a0 <= a.start < b0]
        # words of the segment outside its amounts
        stripped = tl.text[a0:b0]
        for a in reversed(seg_amts):
            stripped = stripped[: a.start - a0] + " " * (a.end - a.start) + stripped[a.end - a0 :]
        words = [w for w in stripped.split() if _LETTERS.search(w) and not _is_currency_word(w)]
        if words:
            if cur_label is not None and cur:
                groups.append((cur_label, cur_start, cur))
            # the label's amounts follow its words; a count before them ("4 SubTotal") is not one
            first_word = a0 + stripped.index(words[0])
            seg_amts = [a for a in seg_amts if a.start > first_word]
            # label text is what precedes the segment's last amount
            last_end = seg_amts[-1].start if seg_amts else b0
            cur_label = tl.text[a0:last_end]
            cur_start = a0
            cur = list(seg_amts)
        elif cur_label is not None:
            cur.extend(seg_amts)
    if cur_label is not None and cur:
        groups.append((cur_label, cur_start, cur))
    return groups


def _is_currency_word(w: str) -> bool:
    return bool(_CURRENCY_WORDS.match(w)) or (len(w) == 3 and w.isupper() and w in _iso())


def classify_amount_label(label: str) -> list[tuple[str, float]]:
    """Which amount fields a label announces, with strength; empty when it announces none."""
    excluded = lx.AMOUNT_EXCLUDE.search(label) and not re.search(
        r"\b(?:total|totaal|subtotal|tax|vat|btw|tva|gst)\b.*\b(?:incl|excl)", label, re.IGNORECASE
    )
    # "Total qty", "Cash", "Change"... are not money fields of the invoice
    if excluded and not re.search(r"\b(?:amount\s+due|balance\s+due|total\s+due)\b", label, re.IGNORECASE):
        return []
    for path, pat, strength in lx.AMOUNT_LABELS:
        if pat.search(label):
            if path == "amount_due":
                return [("amount_due", strength), ("total", 0.5)]
            return [(path, strength)]
    return []


def sum_line_amounts(items: Sequence[dict[str, str | None]]) -> Decimal | None:
    """Sum of the line amounts, or None when there are no items or an amount is missing."""
    if not items:
        return None
    total = Decimal(0)
    for it in items:
        v = parsers.parse_amount(it.get("amount"))
        if v is None:
            return None
        total += v
    return total


_ROUNDING = re.compile(
    r"\b(?:round(?:ing)?\s*(?:adj\w*|diff\w*)?|rundung\w*|arrondi\w*|redondeo|afronding|pembundaran)\b",
    re.IGNORECASE,
)


def _rounding_adjustments(pls: Sequence[PageLines]) -> set[Decimal]:
    """Amounts of a few cents on rounding-adjustment lines ("Rounding Adj  -0.02"), both signs."""
    out: set[Decimal] = set()
    for pl in pls:
        for tl in pl.lines:
            m = _ROUNDING.search(tl.text)
            if m is None or re.search(r"\btotal\b", tl.text, re.IGNORECASE):
                continue
            for a in amount_spans(tl.text[m.end() :]):
                if abs(a.value) <= Decimal("0.10"):
                    out.update({a.value, -a.value})
    return out


def choose_amounts(
    cands: list[AmountCandidate], res: HeaderResult, line_sum: Decimal | None, pls: Sequence[PageLines]
) -> None:
    """Pick subtotal, tax_total, total and amount_due by label strength and arithmetic consistency."""
    by: dict[str, list[AmountCandidate]] = {"subtotal": [], "tax_total": [], "total": [], "amount_due": []}
    for c in cands:
        lst = by[c.path]
        same = next((o for o in lst if o.value == c.value), None)
        if same is None:
            lst.append(c)
        elif c.strength > same.strength or (c.strength == same.strength and c.y > same.y):
            lst[lst.index(same)] = c
    totals: list[AmountCandidate | None] = [*sorted(by["total"], key=lambda c: -c.strength)[:8]] or [None]
    subs: list[AmountCandidate | None] = [None, *sorted(by["subtotal"], key=lambda c: -c.strength)[:8]]
    taxes: list[AmountCandidate | None] = [None, *sorted(by["tax_total"], key=lambda c: -c.strength)[:8]]
    best: tuple[float, AmountCandidate | None, AmountCandidate | None, AmountCandidate | None] | None = None
    max_total = max((c.value for c in totals if c is not None), default=None)
    # a printed rounding adjustment (cash rounded to 5 cents) also closes subtotal + tax = total
    offsets = {Decimal(0), *_rounding_adjustments(pls)}

    def adds_up(s: AmountCandidate, x: AmountCandidate, t: AmountCandidate) -> bool:
        return any(abs(s.value + x.value + r - t.value) <= _CENT for r in offsets)

    for t in totals:
        for s in subs:
            for x in taxes:
                score = (
                    (t.strength if t else 0.0)
                    + (s.strength * 0.8 if s else 0.0)
                    + (x.strength * 0.8 if x else 0.0)
                )
                if t is not None:
                    if t.value == max_total:
                        score += 0.15
                    if s is not None and s.value > t.value:
                        score -= 2.0
                    if x is not None and x.value >= t.value and t.value > 0:
                        score -= 2.0
                    if s is not None and x is not None:
                        score += 2.0 if adds_up(s, x, t) else -1.0
                    elif s is not None and s.value == t.value:
                        score += 0.3
                if s is not None and line_sum is not None and abs(line_sum - s.value) <= _CENT:
                    score += 1.0
                elif (
                    s is None and t is not None and line_sum is not None and abs(line_sum - t.value) <= _CENT
                ):
                    score += 0.5
                if best is None or score > best[0]:
                    best = (score, t, s, x)
    if best is None:
        return
    _, bt, bs, bx = best
    consistent = bt is not None and bs is not None and bx is not None and adds_up(bs, bx, bt)
    for path, chosen in (("total", bt), ("subtotal", bs), ("tax_total", bx)):
        if chosen is None:
            continue
        conf = 0.55 + 0.3 * chosen.strength + (0.12 if consistent else 0.0)
        res.put(Candidate(path, _fmt(chosen.value), chosen.evidence, conf, number=chosen.value))
    if bt is not None and bs is None and bx is not None:
        _derive_subtotal(bt, [c for c in cands if c.path == "tax_total" and c.value == bx.value], pls, res)
    if bt is None:
        _fallback_total(pls, res)
    dues = sorted(by["amount_due"], key=lambda c: (-c.strength, -c.y))
    if dues:
        d = dues[0]
        res.put(Candidate("amount_due", _fmt(d.value), d.evidence, 0.55 + 0.3 * d.strength, number=d.value))


def _derive_subtotal(
    t: AmountCandidate, taxes: list[AmountCandidate], pls: Sequence[PageLines], res: HeaderResult
) -> None:
    """No subtotal label: a printed amount equal to total - tax just above a tax line is the subtotal."""
    target = t.value - taxes[0].value
    best: tuple[float, Evidence] | None = None
    for x in taxes:
        for pl in pls:
            if pl.page.number != x.page:
                continue
            for tl in pl.lines:
                if tl.bbox[1] >= x.y or x.y - tl.bbox[1] > 6 * tl.height:
                    continue
                for a in amount_spans(tl.text):
                    if (
                        _is_money(a)
                        and a.value == target
                        and not lx.AMOUNT_EXCLUDE.search(tl.text[: a.start])
                    ):
                        dist = x.y - tl.bbox[1]
                        if best is None or dist < best[0]:
                            best = (dist, tl.evidence(a.start, a.end, 0.8))
    if best is not None:
        res.put(Candidate("subtotal", _fmt(target), best[1], 0.5, number=target))


def _fallback_total(pls: Sequence[PageLines], res: HeaderResult) -> None:
    """No total label: the largest money amount in the lower half of the last page."""
    pl = pls[-1]
    best: tuple[Decimal, Evidence] | None = None
    for tl in pl.lines:
        if tl.bbox[1] < pl.text_box[1] + (pl.text_box[3] - pl.text_box[1]) * 0.4:
            continue
        for a in amount_spans(tl.text):
            if _is_money(a) and (best is None or a.value > best[0]):
                best = (a.value, tl.evidence(a.start, a.end, 0.6))
    if best is not None:
        res.put(Candidate("total", _fmt(best[0]), best[1], 0.35, number=best[0]))


def _fmt(v: Decimal) -> str:
    """Money as a plain decimal string with two places ("1234.50")."""
    q = v.quantize(_CENT) if v == v.quantize(_CENT) else v
    return format(q, "f")


# ---------------------------------------------------------------------------------------------
# Parties


@dataclass
class Block:
    """A stack of lines under (or right of) a party label, or around a vendor name."""

    lines: list[tuple[TextLine, int, int]]  # (line, start, end) of the block's text on each line
    label: str = ""

    def region(self) -> tuple[int, BBox]:
        tl0 = self.lines[0][0]
        return tl0.page, union(tl.box(a, b) for tl, a, b in self.lines)


def _label_value_span(tl: TextLine, label_end: int, seg_end: int) -> tuple[int, int] | None:
    """Where a party label's value starts on its own line: rest of its segment, else the next segment."""
    if tl.text[label_end:seg_end].strip():
        return label_end, seg_end
    si = tl.seg_at(label_end - 1)
    if si + 1 < len(tl.segments):
        a0, b0 = tl.segments[si + 1]
        text = tl.text[a0:b0]
        # without a colon the label may be one of several column headers ("BILL TO   PAYMENT DETAILS")
        colon = ":" in tl.text[tl.segments[si][0] : label_end]
        # a date, or an amount label with its amount, there is another column's field
        # ("TOTAL AMOUNT DUE ON August 3, 2014", "Amount due   $4.11")
        rest = tl.text[a0:]
        other_field = bool(
            parsers.find_dates(text)
            or (classify_amount_label(text) and amount_spans(rest))
            or len(_LETTERS.findall(text)) < 2  # a bare amount or number ("$4.11")
        )
        if not _is_label_segment(text) and not other_field and (colon or not text.isupper()):
            return a0, b0
    return None


def _block_below(
    pl: PageLines, tl: TextLine, x0: float, x1: float, first: tuple[int, int] | None, max_lines: int = 6
) -> Block:
    """Lines stacked under a label (same column, small gaps), stopping at a gap or another label."""
    lines: list[tuple[TextLine, int, int]] = []
    if first is not None and tl.text[first[0] : first[1]].strip():
        lines.append((tl, first[0], first[1]))
    prev_bottom = tl.bbox[3]
    h = tl.height
    for nxt in pl.lines[tl.index + 1 :]:
        if len(lines) >= max_lines:
            break
        # a label may sit a little further above its block, and a letterhead name (larger type)
        # above its address, than the lines of a block sit apart
        if not lines:
            limit = 2.2
        elif lines[-1][0] is tl:
            limit = 2.2 if tl.height > 1.15 * nxt.height else 1.6
        else:
            limit = 1.6
        if nxt.bbox[1] - prev_bottom > limit * max(h, nxt.height):
            break
        seg = None
        for a0, b0 in nxt.segments:
            sbox = nxt.box(a0, b0)
            if sbox[0] <= x1 + h and sbox[2] >= x0 - h and abs(sbox[0] - x0) < max(6 * h, (x1 - x0)):
                seg = (a0, b0)
                break
        if seg is None:
            continue  # a line of another column
        text = nxt.text[seg[0] : seg[1]]
        if _is_label_segment(text) and lines:
            break
        if lx.CUSTOMER_LABEL_RE.match(text) or lx.VENDOR_LABEL_RE.match(text):
            break
        lines.append((nxt, seg[0], seg[1]))
        prev_bottom = nxt.bbox[3]
    return Block(lines)


def _party_from_block(block: Block, prefix: str, score: float, res: HeaderResult, dayfirst: bool) -> None:
    """Name = first usable line of the block; address = following address lines; plus contacts."""
    name_done = False
    addr: list[tuple[TextLine, int, int]] = []
    for tl, a, b in block.lines:
        text = tl.text[a:b].strip()
        if not text:
            continue
        low = text.lower()
        if not name_done:
            if text.startswith("(") and text.endswith(")"):
                continue  # a parenthesised remark, not the name
            t2 = re.sub(r"^(?:attn|c/o|z\.?\s?hd\.?)\s*[:.]?\s*", "", text, flags=re.IGNORECASE)
            off = a + (len(text) - len(t2)) + (len(tl.text[a:b]) - len(tl.text[a:b].lstrip()))
            if len(_LETTERS.findall(t2)) < 2:
                continue
            name = t2.rstrip(" ,;:")
            res.put(Candidate(f"{prefix}.name", name, tl.evidence(off, off + len(name)), score))
            name_done = True
            continue
        if parsers.EMAIL_PATTERN.search(text):
            r = read_email(text)
            if r and f"{prefix}.email" not in res.values and prefix == "vendor":
                res.put(Candidate(f"{prefix}.email", r[0], tl.evidence(a + r[1], a + r[2]), 0.8))
            break
        if re.match(r"(?:" + lx.PHONE_LABELS + r")\b", low) or _URL.search(text):
            break
        if not _LETTERS.search(text) and (r := read_phone(text)) is not None:
            # a bare phone number under the name belongs to the party, not to its address
            if f"{prefix}.phone" not in res.values:
                res.put(Candidate(f"{prefix}.phone", r[0], tl.evidence(a + r[1], a + r[2]), 0.7))
            break
        if lx.TAX_ID_LABEL_RE.match(text) or re.match(r"(?:iban|bic|swift)\b", low):
            break
        if lx.FIELD_LABEL_RE.search(text):
            break  # "Order ID: ...", "Invoice Date: ..." end the address
        if (
            prefix == "vendor"
            and not addr
            and _sentence_like(text)
            and not (_HAS_DIGIT.search(text) or lx.ADDRESS_WORDS.search(text))
        ):
            break  # a slogan right under the seller's logo ("Annonces légales et formalités en ligne")
        m = re.match(
            r"[\w ]{0,20}(?:address|adresse|adres|anschrift|direcci[óo]n)\s*:\s*", text, re.IGNORECASE
        )
        if m:
            a += m.end() + (len(tl.text[a:b]) - len(tl.text[a:b].lstrip()))
        addr.append((tl, a, b))
    # an address has a house number, a postcode or a street word somewhere
    if addr and not any(
        _HAS_DIGIT.search(tl.text[a:b]) or lx.ADDRESS_WORDS.search(tl.text[a:b]) for tl, a, b in addr
    ):
        addr = []
    if addr:
        text = ", ".join(tl.text[a:b].strip().rstrip(",") for tl, a, b in addr)
        box = union(tl.box(a, b) for tl, a, b in addr)
        ev = Evidence(page=addr[0][0].page, bbox=box, text=text, score=1.0)
        res.put(Candidate(f"{prefix}.address", text, ev, score - 0.1))


def extract_customer(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """The buyer: the block under the first bill-to style label (ship-to only when no bill-to)."""
    found: list[tuple[int, Block]] = []
    for pl in pls[:1]:
        for tl in pl.lines:
            for a0, b0 in tl.segments:
                m = lx.CUSTOMER_LABEL_RE.match(tl.text, a0, b0)
                if not m:
                    continue
                label_end = m.end()
                # the rest of the label phrase ("Address:") is part of the label
                extra = re.match(
                    r"(?:address|adresse|adres|details?|name|nom|naam|nombre)\s*:?\s*",
                    tl.text[label_end:b0],
                    re.IGNORECASE,
                )
                if extra:
                    label_end += extra.end()
                lbox = tl.box(a0, label_end)
                first = _label_value_span(tl, label_end, b0)
                block = _block_below(pl, tl, lbox[0], max(lbox[2], lbox[0] + 8 * tl.height), first)
                if not block.lines:
                    continue
                is_ship = bool(lx.SHIP_LABEL_RE.match(tl.text, a0, b0))
                found.append((1 if is_ship else 0, block))
                res.customer_regions.append(block.region())
                res.customer_regions.append((tl.page, tl.box(a0, label_end)))
    if not found:
        return
    found.sort(key=lambda x: x[0])
    _party_from_block(found[0][1], "customer", 0.7, res, dayfirst)
    if "customer.address" not in res.values:
        # a "Customer name:" line has no address under it; take the bill-to (else ship-to) block's
        for _, block in found[1:]:
            tmp = HeaderResult()
            _party_from_block(block, "customer", 0.6, tmp, dayfirst)
            if "customer.address" in tmp.values:
                res.values["customer.address"] = tmp.values["customer.address"]
                res.evidence["customer.address"] = tmp.evidence["customer.address"]
                res.confidence["customer.address"] = tmp.confidence["customer.address"]
                break


def _field_or_contact(text: str) -> bool:
    return bool(
        _is_label_segment(text)
        or lx.FIELD_LABEL_RE.search(text)
        or ":" in text
        or parsers.EMAIL_PATTERN.search(text)
        or _URL.search(text)
    )


def _postal_line(text: str) -> bool:
    """A postcode-and-town line ("69100 Villeurbanne", "Scranton PA 18503", "1025 RX Amsterdam")."""
    if parsers.find_dates(text) or any(a.has_currency for a in amount_spans(text)):
        return False
    m = lx.US_STATE_ZIP.search(text) or lx.POSTCODE.search(text)
    return m is not None and len(_LETTERS.findall(text.replace(m.group(0), ""))) >= 3


def extract_unlabelled_customer(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """The addressee block of a letter-style invoice that names no "Bill to": a stack of 3-6
    lines in the upper half of page 1 that starts with a name and holds a postcode-and-town line,
    carries no labels, dates or amounts, and is not the seller's block (run after the vendor).
    """
    if "customer.name" in res.values or not pls or not pls[0].lines:
        return
    pl = pls[0]
    top, bottom = pl.text_box[1], pl.text_box[3]
    limit = top + 0.5 * (bottom - top)
    seller = [res.evidence[k] for k in ("vendor.name", "vendor.address") if k in res.evidence]
    for tl in pl.lines:
        if tl.bbox[1] > limit:
            break
        for a, b in tl.segments:
            box = tl.box(a, b)
            # every segment may start the block: a slogan or title may sit right above the name
            block = _block_below(pl, tl, box[0], box[2], (a, b))
            texts = [line.text[s:e].strip() for line, s, e in block.lines]
            # the block ends at the first label, field, contact or sentence under it, or where
            # the type size changes (a slogan, a title)
            h0 = block.lines[0][0].height
            n = next(
                (
                    i
                    for i, (t, (line, _, _)) in enumerate(zip(texts, block.lines, strict=True))
                    if _field_or_contact(t) or _sentence_like(t) or not 0.77 <= line.height / h0 <= 1.3
                ),
                len(texts),
            )
            block, texts = Block(block.lines[:n]), texts[:n]
            if not 3 <= len(texts) <= 6 or not _name_ok(texts[0]):
                continue
            if _strip_title_words(texts[0]) != (0, len(texts[0])) or texts[0] == res.values.get(
                "vendor.name"
            ):
                continue  # "FACTUUR.", or the seller's own name
            if not any(_postal_line(t) for t in texts[1:]):
                continue
            page, region = block.region()
            if any(
                ev.page == page and h_overlap(ev.bbox, region) > 0 and v_overlap(ev.bbox, region) > 0
                for ev in seller
            ):
                continue
            _party_from_block(block, "customer", 0.5, res, dayfirst)
            res.customer_regions.append((page, region))
            return


def _domains(pls: Sequence[PageLines]) -> list[str]:
    out: list[str] = []
    for pl in pls:
        for tl in pl.lines:
            for m in re.finditer(
                r"@([\w.-]+)|(?:https?://)?(?:www\.)?([\w-]+(?:\.[\w-]+)*\.[a-z]{2,4})\b",
                tl.text,
                re.IGNORECASE,
            ):
                host = (m.group(1) or m.group(2) or "").lower()
                parts = host.split(".")
                if len(parts) >= 2:
                    out.append(re.sub(r"[^a-z0-9]", "", parts[-2]))
    return out


def _name_ok(text: str) -> bool:
    """A plausible party name: letters, not a label, not an address, date, contact or amount line."""
    t = text.strip()
    if len(_LETTERS.findall(t)) < 2 or len(t) > 80:
        return False
    if parsers.EMAIL_PATTERN.search(t) or _URL.search(t) or parsers.find_dates(t):
        return False
    if _is_label_segment(t) or re.match(r"^(?:page|seite|pagina)\b", t, re.IGNORECASE):
        return False
    if re.match(r"^\d", t) or (lx.ADDRESS_WORDS.search(t) and not lx.COMPANY_SUFFIX.search(t)):
        return False
    if _sentence_like(t) or (classify_amount_label(t) and not lx.COMPANY_SUFFIX.search(t)):
        return False  # a slogan, or an amount label such as "Gesamtbetrag"
    return not amount_spans(t) or bool(lx.COMPANY_SUFFIX.search(t))


def _strip_title_words(text: str) -> tuple[int, int] | None:
    """Span of ``text`` left after trimming document-title words and identifiers from both ends."""
    toks = list(re.finditer(r"\S+", text))

    def drop(m: re.Match[str]) -> bool:
        if _HAS_DIGIT.search(m.group(0)):
            return True
        parts = [re.sub(r"[^\w-]", "", p).lower() for p in re.split(r"[/|]", m.group(0))]
        return all(not p or p in lx.DOC_TITLE_WORDS for p in parts)

    i, j = 0, len(toks)
    while i < j and drop(toks[i]):
        i += 1
    while j > i and drop(toks[j - 1]):
        j -= 1
    if i >= j:
        return None
    return toks[i].start(), toks[j - 1].end()


def _sentence_like(text: str) -> bool:
    """A slogan or a sentence: three or more words, mostly lower-case after the first."""
    words = [w for w in text.split() if _LETTERS.search(w)]
    if len(words) < 3 or (len(words) == 3 and not text.rstrip().endswith((".", "!", "?"))):
        return False
    lower = sum(1 for w in words[1:] if w[0].islower())
    return lower > (len(words) - 1) / 2


_PROMINENT = 1.3  # a segment this many times the page's median text height is letterhead / logo text


def _seg_height(tl: TextLine, a: int, b: int) -> float:
    """Median height of the words of a segment."""
    hs = [w.height for w, s in zip(tl.words, tl.starts, strict=True) if a <= s < b]
    return median(hs) if hs else tl.height


def _logo_continuation(
    pl: PageLines, tl: TextLine, a: int, b: int, big: float
) -> tuple[TextLine, int, int] | None:
    """The segment right under a prominent segment that continues it (a logo set on two lines)."""
    box = tl.box(a, b)
    h = box[3] - box[1]
    for nxt in pl.lines[tl.index + 1 : tl.index + 3]:
        for c0, c1 in nxt.segments:
            sbox = nxt.box(c0, c1)
            if sbox[1] - box[3] > 0.6 * h or h_overlap(box, sbox) < 0.5:
                continue
            sh = _seg_height(nxt, c0, c1)
            text = nxt.text[c0:c1]
            if sh >= big and 0.6 <= sh / max(h, 1e-6) <= 1.5 and _strip_title_words(text) == (0, len(text)):
                return nxt, c0, c1
    return None


def _block_top(pl: PageLines, tl: TextLine, x0: float, x1: float) -> tuple[TextLine, int, int] | None:
    """Walk up the column from ``tl`` while lines are stacked tight; the first line's segment."""
    cur = tl
    best: tuple[TextLine, int, int] | None = None
    for prev in reversed(pl.lines[: tl.index]):
        if cur.bbox[1] - prev.bbox[3] > 1.6 * max(cur.height, prev.height):
            break
        seg = None
        for a0, b0 in prev.segments:
            sbox = prev.box(a0, b0)
            if sbox[0] <= x1 and sbox[2] >= x0 and abs(sbox[0] - x0) < 4 * prev.height:
                seg = (a0, b0)
        if seg is None:
            continue  # a line of another column
        best = (prev, seg[0], seg[1])
        cur = prev
    return best


def extract_vendor(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """The seller's name and address from the prominent header text, seller labels, ids and the footer."""
    if not pls:
        return
    pl = pls[0]
    regions = res.customer_regions
    top = pl.text_box[1]
    span = max(1.0, pl.text_box[3] - pl.text_box[1])
    cands: list[tuple[float, str, Evidence, TextLine, tuple[int, int]]] = []
    domains = _domains(pls)

    def name_bonus(text: str) -> float:
        bonus = 0.0
        key = re.sub(r"[^a-z0-9]", "", text.lower())
        if key and any(key == d or (len(d) >= 4 and key.startswith(d)) for d in domains):
            bonus += 0.35  # the name matches the seller's email or web domain
        if lx.COMPANY_SUFFIX.search(text):
            bonus += 0.15
        return bonus

    def add(score: float, tl: TextLine, a: int, b: int, why: str) -> None:
        text = tl.text[a:b].strip().rstrip(",;:")
        if not _name_ok(text):
            return
        if _in_regions(tl.page, tl.box(a, b), regions):
            return
        score += name_bonus(text)
        s = a + (len(tl.text[a:b]) - len(tl.text[a:b].lstrip()))
        cands.append((score, text, tl.evidence(s, s + len(text)), tl, (a, b)))
        _log.debug("vendor candidate %.2f %r (%s)", score, text, why)

    # 1. prominent header text (logo / letterhead), stacked logo lines joined; the printed brand
    #    outranks the legal entity named in a "sold by" line, as readers name the vendor by its brand
    lines = pl.lines
    big = _PROMINENT * pl.median_height
    joined: set[tuple[int, int]] = set()  # (line index, segment start) already used as a logo's second line
    for tl in lines:
        if tl.bbox[1] > top + 0.3 * span:
            break
        for a0, b0 in tl.segments:
            if (tl.index, a0) in joined or _seg_height(tl, a0, b0) < big:
                continue
            seg_text = tl.text[a0:b0]
            if (
                _is_label_segment(seg_text)
                or lx.VENDOR_LABEL_RE.match(seg_text)
                or lx.CUSTOMER_LABEL_RE.match(seg_text)
            ):
                continue
            st = _strip_title_words(seg_text)
            if st is None:
                continue
            a, b = a0 + st[0], a0 + st[1]
            below = _logo_continuation(pl, tl, a, b, big)
            if below is not None:
                # a two-line logo: join both lines into one name
                nxt, c0, c1 = below
                joined.add((nxt.index, c0))
                text = f"{tl.text[a:b]} {nxt.text[c0:c1]}"
                if _name_ok(text) and not _in_regions(tl.page, tl.bbox, regions):
                    ev = Evidence(tl.page, union([tl.box(a, b), nxt.box(c0, c1)]), text, 1.0)
                    cands.append((1.1 + name_bonus(text), text, ev, nxt, (c0, c1)))
                continue
            add(1.1, tl, a, b, "prominent")

    # 2. seller labels ("Sold by", "From", "Account holder"...)
    for p in pls:
        for tl in p.lines:
            for a0, b0 in tl.segments:
                m = lx.VENDOR_LABEL_RE.match(tl.text, a0, b0)
                if not m:
                    continue
                strong = not re.match(
                    r"(?:account|beneficiary|payee|kontoinhaber|titulaire|rekeninghouder|titular|in\s+favou?r|payable)",
                    m.group(0),
                    re.IGNORECASE,
                )
                lbox = tl.box(a0, m.end())
                first = _label_value_span(tl, m.end(), b0)
                block = _block_below(
                    p, tl, lbox[0], max(lbox[2], lbox[0] + 8 * tl.height), first, max_lines=6
                )
                for btl, a, b in block.lines:
                    text = btl.text[a:b].strip()
                    if text.startswith("(") and text.endswith(")"):
                        continue
                    add(0.9 if strong else 0.75, btl, a, b, "seller label")
                    break

    # 2b. the top line of the block holding the seller's tax id or IBAN
    for path in ("vendor.tax_id", "vendor.iban"):
        id_ev = res.evidence.get(path)
        if id_ev is None:
            continue
        id_page = next((x for x in pls if x.page.number == id_ev.page), None)
        if id_page is None:
            continue
        start = next(
            (
                tl
                for tl in id_page.lines
                if tl.bbox[1] <= id_ev.bbox[1] + 1 and tl.bbox[3] >= id_ev.bbox[3] - 1
            ),
            None,
        )
        if start is None:
            continue
        top_seg = _block_top(id_page, start, id_ev.bbox[0], id_ev.bbox[2])
        if top_seg is not None:
            add(0.7, top_seg[0], top_seg[1], top_seg[2], "id block")

    # 2c. a line that spells the seller's e-mail or web domain
    for tl in lines:
        for a0, b0 in tl.segments:
            key = re.sub(r"[^a-z0-9]", "", tl.text[a0:b0].lower())
            if len(key) >= 3 and key in domains:
                add(0.45, tl, a0, b0, "domain")

    # 3. a line with a company legal form in the top third
    for tl in lines:
        if tl.bbox[1] > top + 0.33 * span:
            break
        for a0, b0 in tl.segments:
            if lx.COMPANY_SUFFIX.search(tl.text[a0:b0].strip()):
                add(0.55, tl, a0, b0, "legal form")

    # 4. the legal footer: a short name line just above or on the registered-office line
    last = pls[-1]
    for tl in last.lines:
        if tl.bbox[1] < last.text_box[1] + 0.75 * (last.text_box[3] - last.text_box[1]):
            continue
        if lx.LEGAL_FOOTER.search(tl.text):
            prev = last.lines[tl.index - 1] if tl.index > 0 else None
            if (
                prev is not None
                and len(prev.segments) == 1
                and len(prev.text.split()) <= 6
                and tl.bbox[1] - prev.bbox[3] < 2 * tl.height
            ):
                add(0.7, prev, 0, len(prev.text), "footer")
        # a footer segment that is a company name with its legal form ("Muster GmbH | USt-IdNr ...")
        for a0, b0 in tl.segments:
            seg = tl.text[a0:b0].strip()
            if lx.COMPANY_SUFFIX.search(seg) and len(seg.split()) <= 6:
                add(0.4, tl, a0, b0, "footer legal form")

    # 5. the top-most text line that can be a name
    for tl in lines[:6]:
        done = False
        for a0, b0 in tl.segments:
            st = _strip_title_words(tl.text[a0:b0])
            if st is None or (st[1] - st[0]) < len(tl.text[a0:b0].strip()) - 1:
                continue
            add(0.3, tl, a0, b0, "top line")
            done = True
            break
        if done:
            break

    if not cands:
        return
    # the same name found by several rules adds up
    merged: dict[str, list[tuple[float, str, Evidence, TextLine, tuple[int, int]]]] = {}
    for c in cands:
        merged.setdefault(c[1].lower(), []).append(c)
    ranked = sorted(merged.values(), key=lambda cs: -(max(c[0] for c in cs) + 0.1 * (len(cs) - 1)))
    # a logo often shows only the first word(s) of the name ("azure" over "Azure Interior"): a
    # candidate that completes the winner's words is the name
    head = re.findall(r"\w+", ranked[0][0][1].lower())
    for cs in ranked[1:]:
        words = re.findall(r"\w+", cs[0][1].lower())
        # the same name with its legal form added ("Amazon Web Services, Inc.") is not a completion
        core = re.findall(r"\w+", lx.COMPANY_SUFFIX.sub("", cs[0][1]).lower())
        if len(core) > len(head) and words[: len(head)] == head and max(c[0] for c in cs) >= 0.4:
            ranked.remove(cs)
            ranked.insert(0, cs)
            break
    group = ranked[0]
    best = max(group, key=lambda c: c[0])
    score = min(0.95, 0.35 + 0.5 * best[0] + 0.05 * (len(group) - 1))
    res.put(Candidate("vendor.name", best[1], best[2], score))
    # address: lines under the name, or under another candidate of the same name (e.g. its legal form)
    name_tokens = set(re.findall(r"\w+", best[1].lower()))
    for cs in [group, *ranked[1:]]:
        for _, text, _ev, tl, (a, b) in sorted(cs, key=lambda c: -c[0]):
            if not name_tokens <= set(re.findall(r"\w+", text.lower())):
                continue
            p = next(x for x in pls if x.page.number == tl.page)
            box = tl.box(a, b)
            block = _block_below(p, tl, box[0], box[2], None, max_lines=5)
            tmp = HeaderResult()
            block.lines.insert(0, (tl, a, b))
            _party_from_block(block, "vendor", score, tmp, dayfirst)
            if "vendor.address" in tmp.values:
                for k in ("vendor.address", "vendor.email", "vendor.phone"):
                    if k in tmp.values and k not in res.values:
                        res.values[k] = tmp.values[k]
                        res.evidence[k] = tmp.evidence[k]
                        res.confidence[k] = round(min(score, 0.85) - 0.1, 4)
                return


def extract_party_ids(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """Tax ids, IBAN, e-mail and phone from their labels; inside a customer block they are the customer's."""
    regions = res.customer_regions
    specs: tuple[tuple[re.Pattern[str], Reader, str, float], ...] = (
        (lx.TAX_ID_LABEL_RE, read_tax_id, "tax_id", 0.8),
        (lx.IBAN_LABEL_RE, read_iban, "iban", 0.9),
        (lx.EMAIL_LABEL_RE, read_email, "email", 0.85),
        (lx.PHONE_LABEL_RE, read_phone, "phone", 0.8),
    )
    for pl in pls:
        for tl in pl.lines:
            for a0, b0 in tl.segments:
                for pat, reader, field_name, base in specs:
                    for m in pat.finditer(tl.text, a0, b0):
                        # a label starts its segment or follows a separator ("... – TVA FR...")
                        if m.start() > a0 and not re.search(r"[\s(,;|–-]$", tl.text[a0 : m.start()]):
                            continue
                        found = find_value(pl, tl, m.start(), m.end(), reader, dayfirst)
                        if found is None:
                            continue
                        value, ev, _ = found
                        # "BTW-nummer klant:" names the buyer even outside the bill-to block
                        customer_label = field_name == "tax_id" and bool(
                            lx.CUSTOMER_WORD_RE.search(m.group(0))
                        )
                        in_block = _in_regions(tl.page, ev.bbox, regions)
                        owner = "customer" if in_block or customer_label else "vendor"
                        if owner == "customer" and field_name != "tax_id":
                            continue
                        path = f"{owner}.{field_name}"
                        score = base
                        if field_name == "tax_id" and re.match(
                            r"(?:siret|siren|st\.?|steuer|tin|ein|abn|cin)", m.group(0), re.IGNORECASE
                        ):
                            score = 0.6  # a registration or national tax number: a VAT id on the page wins
                        if field_name == "iban" and not parsers.iban_is_valid(value):
                            score = 0.4  # IBAN-shaped but the checksum fails
                        if path not in res.values or res.confidence.get(path, 0) < score:
                            res.put(Candidate(path, value, ev, score))
    # unlabelled IBAN / e-mail anywhere outside the customer block
    for pl in pls:
        for tl in pl.lines:
            if "vendor.iban" not in res.values:
                for m in parsers.IBAN_PATTERN.finditer(tl.text):
                    compact = m.group(0).replace(" ", "")
                    if parsers.iban_is_valid(compact) and not _in_regions(tl.page, tl.bbox, regions):
                        res.put(Candidate("vendor.iban", compact, tl.evidence(m.start(), m.end()), 0.75))
                        break
            if "vendor.email" not in res.values:
                em = parsers.EMAIL_PATTERN.search(tl.text)
                if em and not _in_regions(tl.page, tl.box(em.start(), em.end()), regions):
                    res.put(Candidate("vendor.email", em.group(0), tl.evidence(em.start(), em.end()), 0.5))


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
    extract_customer(pls, res, res.dayfirst)
    extract_party_ids(pls, res, res.dayfirst)
    extract_vendor(pls, res, res.dayfirst)
    extract_unlabelled_customer(pls, res, res.dayfirst)
    choose_amounts(amount_candidates(pls, table_boxes), res, line_sum, pls)
    return res
