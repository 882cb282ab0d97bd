"""Document splitting: one file's pages in, the page ranges of the invoices it holds out.

Scanned batches and merged exports put several invoices in one PDF. Before any engine runs, each
page's words give a few signals:
- a page counter ("Page 1 of 3", "Seite 2 von 2", "1/2");
- the invoice number printed after an invoice-number label;
- the tax ids and IBANs printed on the page (who the parties are);
- a header (an invoice title or an invoice-number label in the top part of the page) and a totals
  block (a grand-total label with an amount).
A new invoice starts on a page whose counter restarts at 1 (or after a page that was "N of N"),
whose invoice number differs from the one of the invoice so far, whose parties' ids share none
with it while it shows a header of its own, or whose header follows a page that closed with a
totals block. A page whose counter goes on from the previous page continues it. Blank pages stay
with the invoice before them.

``split_documents`` applies this to loaded documents: a file of several invoices becomes one
``Extraction`` per invoice (``part``, ``parts``, ``page_range``) with that invoice's pages, so
the pipeline runs the engine on each part as if it were its own document.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from docvlm.datamodel import Extraction, Page, Status
from docvlm.parsers import IBAN_PATTERN, find_amounts, iban_is_valid
from docvlm.textlayer import common_words

if TYPE_CHECKING:
    from types import ModuleType

_log = logging.getLogger(__name__)

# the vocabulary of page counters and invoice titles (the field labels come from the layout lexicon)
PAGE_WORDS = r"page|pages|seite|blatt|pagina|página|feuille|hoja|folio|p\.|pg\.?|s\."
COUNTER_RE = re.compile(
    rf"(?<!\w)(?:{PAGE_WORDS})\s*:?\s*(\d{{1,3}})(?:\s*(?:of|von|van|de|sur|di|aus|/)\s*(\d{{1,3}}))?(?!\d)",
    re.IGNORECASE,
)
# a segment that is nothing but "2/3" or "2 / 3" is a counter too
BARE_COUNTER_RE = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*")
INVOICE_TITLE_RE = re.compile(
    r"^\W*(?:(?:tax|commercial|proforma|pro-forma|payment|sales|cash|retail)\s+)?(?:invoices?|bill|receipt|"
    r"credit\s+note|\w*rechnung|gutschrift|quittung|facture|avoir|re[çc]u|factuur|creditnota|kwitantie|"
    r"factura|fattura|recibo|nota\s+de\s+cr[ée]dito)\b",
    re.IGNORECASE,
)
# what may stand between an invoice title and its number ("Invoice No. 12", "Rechnung # 7", "Facture F-3")
TITLE_NUMBER_GAP = re.compile(r"\s*(?:n[º°o]\.?|nr\.?|no\.?|number|#)?\s*[:.]?\s*", re.IGNORECASE)
# a header is a title, an invoice-number or date label or a customer label in this top share of the page
HEADER_ZONE = 0.45
# a page with a header whose distinctive words (names, streets: not common words) are less than this
# share among those of the invoice so far is another party's invoice
MIN_NAME_OVERLAP = 0.25
MIN_NAMES = 5


def _lexicon() -> ModuleType:
    # imported when pages are split, not with ``SplitOptions``: the CLI's parent process never reads a page
    from docvlm.engines.layout import lexicon

    return lexicon


@functools.cache
def _label_patterns() -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    """The invoice-number labels, and those plus the invoice-date labels that head a header."""
    lx = _lexicon()
    number = [pat for pat, strength in lx.HEADER_PATTERNS["invoice_number"] if strength >= 0.8]
    return number, [
        *number,
        *(pat for pat, strength in lx.HEADER_PATTERNS["invoice_date"] if strength >= 0.9),
    ]


# a customer label heads a header only as a short segment of its own ("Bill to:", "Customer name:")
MAX_LABEL_WORDS = 3
_NAME_RE = re.compile(r"[^\W\d_]{4,}")
_ID_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9./\-]*\d[A-Z0-9./\-]*", re.IGNORECASE)
_TAX_ID_TOKEN = re.compile(r"\b[A-Z]{0,3}[\s.-]?\d[\d\s./-]{5,16}\d[A-Z0-9]{0,3}\b")


class SplitOptions(BaseModel):
    """Whether a file may hold several invoices (``auto``) or is always one record (``never``)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["auto", "never"] = "auto"


@dataclass
class PageSignals:
    """What one page says about where it belongs."""

    number: int
    blank: bool = False
    counter: tuple[int, int | None] | None = None  # (this page, of how many)
    invoice_number: str | None = None
    ids: frozenset[str] = frozenset()  # tax ids and IBANs, without spaces
    names: frozenset[str] = frozenset()  # distinctive words of the header zone (not common words): parties
    header: bool = False
    totals: bool = False


@dataclass
class Part:
    """A run of pages that holds one invoice: indices [start, end) into the file's pages, and why it starts."""

    start: int
    end: int
    reason: str = "first page"
    invoice_number: str | None = None
    ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


def _clean_id(text: str) -> str:
    return re.sub(r"[\s]", "", text).strip(".:-/#").upper()


def _first_id(text: str) -> str | None:
    tok = _ID_TOKEN.search(text)
    return _clean_id(tok.group(0)) if tok and len(tok.group(0)) >= 3 else None


def _label_value(pattern: re.Pattern[str], segments: Sequence[str], next_line: str | None) -> str | None:
    """The identifier after an invoice-number label: on its segment, the segment to its right, or
    (for a label that ends its line) the line below. Only needs to be the same on every page of
    one invoice, so a table header over several values may give a neighbouring column's value."""
    for i, seg in enumerate(segments):
        m = pattern.search(seg)
        if not m:
            continue
        for rest in (seg[m.end() :], *(segments[i + 1 : i + 2])):
            if value := _first_id(rest):
                return value
        if i == len(segments) - 1 and next_line:
            return _first_id(next_line)
    return None


def page_signals(page: Page) -> PageSignals:
    """The splitting signals of one page, from its text lines."""
    sig = PageSignals(number=page.number, blank=not page.words)
    if sig.blank:
        return sig
    lx = _lexicon()
    number_labels, header_labels = _label_patterns()
    top = page.height * HEADER_ZONE if page.height else float("inf")
    ids: set[str] = set()
    top_text: list[str] = []
    lines = page.lines
    for i, line in enumerate(lines):
        segs = [" ".join(w.text for w in seg) for seg in line.segments] or [line.text]
        text = " ".join(segs)
        in_top = line.bbox[1] <= top
        if sig.counter is None:
            m = COUNTER_RE.search(text)
            bare = next((BARE_COUNTER_RE.fullmatch(s) for s in segs if BARE_COUNTER_RE.fullmatch(s)), None)
            hit = m or bare
            if hit:
                x, n = int(hit.group(1)), int(hit.group(2)) if hit.group(2) else None
                if x >= 1 and (n is None or x <= n):
                    sig.counter = (x, n)
        if sig.invoice_number is None:
            next_line = lines[i + 1].text if i + 1 < len(lines) else None
            for pat in number_labels:
                if value := _label_value(pat, segs, next_line):
                    sig.invoice_number = value
                    sig.header = sig.header or in_top
                    break
        if sig.invoice_number is None:
            sig.invoice_number = _title_number(segs)
        if in_top and not sig.header:
            sig.header = (
                any(INVOICE_TITLE_RE.search(s) for s in segs)
                or any(p.search(text) for p in header_labels)
                or any(lx.CUSTOMER_LABEL_RE.match(s) and len(s.split()) <= MAX_LABEL_WORDS for s in segs)
            )
        if in_top:
            top_text.append(text)
        if not sig.totals and find_amounts(text):
            sig.totals = _amount_label(text) in ("total", "amount_due")
        for m in IBAN_PATTERN.finditer(text):
            if iban_is_valid(m.group(0)):
                ids.add(_clean_id(m.group(0)))
        tm = lx.TAX_ID_LABEL_RE.search(text)
        if tm:
            tok = _TAX_ID_TOKEN.search(text, tm.end())
            if tok:
                ids.add(_clean_id(tok.group(0)))
    sig.ids = frozenset(ids)
    vocab = common_words()
    sig.names = frozenset(n for n in _NAME_RE.findall(" ".join(top_text).casefold()) if n not in vocab)
    return sig


def _amount_label(text: str) -> str | None:
    """The field an amount label on this line names (first match wins, as in the layout lexicon)."""
    lx = _lexicon()
    if lx.AMOUNT_EXCLUDE.search(text):
        return None
    return next((name for name, pat, _ in lx.AMOUNT_LABELS if pat.search(text)), None)


def _title_number(segments: Sequence[str]) -> str | None:
    """The number printed right after an invoice title ("Invoice INV/7", "Facture n° F-3")."""
    for seg in segments:
        m = INVOICE_TITLE_RE.search(seg)
        if m:
            gap = TITLE_NUMBER_GAP.match(seg, m.end())
            tok = _ID_TOKEN.match(seg, gap.end() if gap else m.end())
            if tok and len(tok.group(0)) >= 3:
                return _clean_id(tok.group(0))
    return None


def _starts_new(part: Part, prev: PageSignals, cur: PageSignals) -> str | None:
    """Why ``cur`` starts a new invoice after ``part`` (whose last non-blank page is ``prev``), or None."""
    if cur.counter and prev.counter:
        (px, pn), (cx, cn) = prev.counter, cur.counter
        if cx == px + 1 and (pn == cn or pn is None or cn is None):
            return None  # the counter goes on
    if cur.counter and cur.counter[0] == 1:
        return "page counter restarts at 1"
    if prev.counter and prev.counter[1] is not None and prev.counter[0] == prev.counter[1]:
        return f"previous page was {prev.counter[0]} of {prev.counter[1]}"
    if cur.invoice_number and part.invoice_number and cur.invoice_number != part.invoice_number:
        return f"invoice number changes ({part.invoice_number} -> {cur.invoice_number})"
    if cur.header and cur.ids and part.ids and cur.ids.isdisjoint(part.ids):
        return "a new header with other tax ids / IBANs"
    if cur.header and len(cur.names) >= MIN_NAMES:
        shared = len(cur.names & part.names) / len(cur.names)
        if shared < MIN_NAME_OVERLAP:
            return f"a new header with other names ({shared:.0%} of its names seen before)"
    if prev.totals and cur.header:
        return "a totals block followed by a new header"
    return None


def find_parts(pages: Sequence[Page]) -> list[Part]:
    """The invoices in a file's pages, as runs of page indices; one part when nothing says otherwise."""
    signals = [page_signals(p) for p in pages]
    parts: list[Part] = []
    prev: PageSignals | None = None
    for i, sig in enumerate(signals):
        if not parts:
            parts.append(Part(0, 1))
        elif sig.blank or prev is None:
            parts[-1].end = i + 1
            if sig.blank:
                continue
        else:
            reason = _starts_new(parts[-1], prev, sig)
            if reason:
                parts.append(Part(i, i + 1, reason))
            else:
                parts[-1].end = i + 1
        part = parts[-1]
        part.invoice_number = part.invoice_number or sig.invoice_number
        part.ids |= sig.ids
        part.names |= sig.names
        prev = sig
    return parts


def split_documents(
    loaded: Sequence[tuple[Extraction, list[Page]]], options: SplitOptions | None = None
) -> list[tuple[Extraction, list[Page]]]:
    """One (record, pages) per invoice: a file that holds several becomes several, in page order.

    Every record with pages gets its ``page_range``; the parts of a split file also get ``part``
    (1-based) and ``parts``, their own pages' warnings and a share of the ingest timings.
    """
    options = options or SplitOptions()
    out: list[tuple[Extraction, list[Page]]] = []
    for ex, pages in loaded:
        if not pages:  # an error, or a record already finished from its e-invoice XML: one invoice
            if ex.status is not Status.ERROR and ex.pages:
                ex.page_range = (1, ex.pages)
            out.append((ex, pages))
            continue
        ex.page_range = (pages[0].number, pages[-1].number)
        parts = find_parts(pages) if options.mode == "auto" and len(pages) > 1 else []
        if len(parts) <= 1:
            out.append((ex, pages))
            continue
        _log.info(
            "%s holds %d invoices: %s",
            ex.source,
            len(parts),
            "; ".join(f"pages {pages[p.start].number}-{pages[p.end - 1].number} ({p.reason})" for p in parts),
        )
        page_warnings = {id(w) for p in pages for w in p.warnings}
        shared = [w for w in ex.warnings if id(w) not in page_warnings]
        for k, part in enumerate(parts, start=1):
            sub = pages[part.start : part.end]
            rec = copy.copy(ex)
            rec.part, rec.parts = k, len(parts)
            rec.pages = len(sub)
            rec.page_range = (sub[0].number, sub[-1].number)
            rec.warnings = [*shared, *(w for p in sub for w in p.warnings)]
            share = len(sub) / len(pages)
            rec.timings = {key: v * share for key, v in ex.timings.items()}
            for key in ("ocr_s", "render_s"):
                if key in ex.timings:
                    rec.timings[key] = sum(p.timings.get(key, 0.0) for p in sub)
            out.append((rec, sub))
    return out
