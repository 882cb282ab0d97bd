"""The candidate pool: every plausible value of every ranked header field, generously, for recall.

In: the ``PageLines`` of one document, and the ``HeaderResult`` of the rules (their own choice per
field, which becomes a feature). Out: a ``Pool`` holding, per field kind, a list of ``Proposal``s:
a value as the record would carry it, where it is printed, and the line it sits on. Nothing here
decides: ``features`` describes each proposal and ``ranker`` chooses.

Kinds and the fields they serve are in ``KINDS``. Currency, IBAN, e-mail and phone are left to the
rules (few labelled documents, and their readers are exact).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from docvlm import parsers
from docvlm.datamodel import BBox, Evidence
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.amounts import _fmt
from docvlm.engines.layout.candidates.base import _LETTERS, _URL, HeaderResult, _in_regions
from docvlm.engines.layout.candidates.parties import _strip_title_words
from docvlm.engines.layout.candidates.values import amount_spans, read_tax_id
from docvlm.engines.layout.text import PageLines, TextLine
from docvlm.geometry import union

_log = logging.getLogger(__name__)

KINDS: dict[str, tuple[str, ...]] = {
    "date": ("invoice_date", "due_date"),
    "amount": ("subtotal", "tax_total", "total", "amount_due"),
    "id": ("invoice_number", "purchase_order"),
    "taxid": ("vendor.tax_id", "customer.tax_id"),
    "name": ("vendor.name", "customer.name"),
    "address": ("vendor.address", "customer.address"),
}
KIND_OF: dict[str, str] = {f: k for k, fs in KINDS.items() for f in fs}
RANKED_FIELDS: tuple[str, ...] = tuple(f for fs in KINDS.values() for f in fs)

_TOKEN = re.compile(r"\S+")
_ID_PREFIX = re.compile(r"^(?:n[º°o]\.?|#|no\.|nr\.)", re.IGNORECASE)
_DECIMAL_NUMBER = re.compile(r"[-+]?[\d.,' ]*\d[.,]\d{2}")
# a postcode-and-town line ("12346 Bad Musterhausen", "F-75018 PARIS, FR"): its number is no identifier
_POSTCODE_TOWN = re.compile(
    r"\s*(?:[A-Z]{1,2}[-\s])?\d{4,5}\s+[^\W\d_][^\W\d_.'-]+(?:[\s,.'-]+[^\W\d_]+)*\s*"
)
_TAX_START = re.compile(r"[A-Z]{2}[\s.-]?\d|\d{5}")
_RECEIPT_HEAD_LINES = 18  # a receipt's merchant and address are printed in its first lines
_MAX_ADDRESS_LINES = 6
_TAX_ID_MIN = 8  # VAT and national tax numbers have eight characters or more
# the fields a receipt is labelled with (SROIE): the chooser ranks only these on receipts
RECEIPT_FIELDS: tuple[str, ...] = ("invoice_date", "total", "vendor.name", "vendor.address")
# fields that are often not printed: ranked only when a rule found them (their label is on the page)
GATED_FIELDS: tuple[str, ...] = ("amount_due", "vendor.tax_id")


@dataclass(slots=True)
class Proposal:
    """One candidate value: the text the record would carry, its evidence and its line."""

    kind: str
    value: str
    evidence: Evidence
    line: TextLine
    start: int  # character span on ``line`` (the first line of a multi-line value)
    end: int
    n_lines: int = 1
    source: str = "scan"  # "scan" (found by the generic scan) or "rule" (a rule's own value)


def ranked_fields(fields: Sequence[str], is_receipt: bool, rules: HeaderResult) -> list[str]:
    """Which of ``fields`` the chooser decides for this document (the rules keep the others)."""
    return [
        f
        for f in fields
        if (not is_receipt or f in RECEIPT_FIELDS) and (f not in GATED_FIELDS or f in rules.values)
    ]


@dataclass
class Pool:
    """All proposals of one document by kind, with the document measures the features need."""

    pls: Sequence[PageLines]
    rules: HeaderResult
    is_receipt: bool
    by_kind: dict[str, list[Proposal]] = field(default_factory=dict)


def _add(out: list[Proposal], seen: set[tuple[int, int, int, str]], p: Proposal) -> None:
    key = (p.line.page, p.line.index, p.start, p.value)
    if key not in seen:
        seen.add(key)
        out.append(p)


def _inside(tl: TextLine, regions: Sequence[tuple[int, BBox]]) -> bool:
    """The whole line lies in one of ``regions`` (then so does the centre of every value on it)."""
    b = tl.bbox
    return any(
        p == tl.page and r[0] - 2 <= b[0] and b[2] <= r[2] + 2 and r[1] - 2 <= b[1] and b[3] <= r[3] + 2
        for p, r in regions
    )


def _scan(
    pls: Sequence[PageLines],
    read: Callable[[TextLine], Iterator[Proposal]],
    skip: Sequence[tuple[int, BBox]] = (),
) -> list[Proposal]:
    """Every proposal ``read`` finds on every line (but lines inside ``skip``), once per (line,
    position, value)."""
    out: list[Proposal] = []
    seen: set[tuple[int, int, int, str]] = set()
    for pl in pls:
        for tl in pl.lines:
            if skip and _inside(tl, skip):
                continue
            for p in read(tl):
                _add(out, seen, p)
    return out


def _line_dates(tl: TextLine, dayfirst: bool) -> Iterator[Proposal]:
    if not any(map(str.isdigit, tl.text)) or lx.VERSION_LINE.search(tl.text):
        return
    pos = 0
    for d, raw in parsers.find_dates(tl.text, dayfirst=dayfirst):
        start = tl.text.find(raw, pos)
        if start < 0:
            start = max(0, tl.text.find(raw))
        end = start + len(raw)
        pos = end
        yield Proposal("date", d.isoformat(), tl.evidence(start, end), tl, start, end)


def _line_amounts(tl: TextLine) -> Iterator[Proposal]:
    spans = amount_spans(tl.text)
    money_line = any(a.has_decimals or a.has_currency for a in spans)
    for a in spans:
        if a.has_decimals or a.has_currency or (money_line and a.value == 0):
            yield Proposal("amount", _fmt(a.value), tl.evidence(a.start, a.end), tl, a.start, a.end)


def _line_ids(tl: TextLine) -> Iterator[Proposal]:
    if not any(map(str.isdigit, tl.text)) or _POSTCODE_TOWN.fullmatch(tl.text):
        return
    # from a phone label to the end of its segment
    phones = [
        (lm.end(), next((b for a, b in tl.segments if a <= lm.end() < b), len(tl.text)))
        for lm in lx.PHONE_LABEL_RE.finditer(tl.text)
    ]
    for m in _TOKEN.finditer(tl.text):
        raw = m.group(0)
        tok = raw.strip(":;,.()[]'\"")
        pre = _ID_PREFIX.match(tok)
        if pre and len(tok) > pre.end():
            tok = tok[pre.end() :].lstrip(":.")
        if not 2 <= len(tok) <= 40 or not any(map(str.isdigit, tok)):
            continue
        if _DECIMAL_NUMBER.fullmatch(tok) or "@" in tok or _URL.search(tok) or lx.URN.match(tok):
            continue
        start = m.start() + raw.find(tok)
        if any(a <= start < b for a, b in phones):
            continue  # "Tel.: 0123/45678", "Telefon +49 932 431": a phone number, not an identifier
        yield Proposal("id", tok, tl.evidence(start, start + len(tok)), tl, start, start + len(tok))


def _line_tax_ids(tl: TextLine) -> Iterator[Proposal]:
    for m in _TAX_START.finditer(tl.text):
        if m.start() > 0 and tl.text[m.start() - 1].isalnum():
            continue
        r = read_tax_id(tl.text[m.start() :])
        if r is None:
            continue
        value, a, b = r
        if len(re.sub(r"[\s./-]", "", value)) < _TAX_ID_MIN:
            continue  # "ME 04101" is a state and a ZIP code, not a tax id
        start, end = m.start() + a, m.start() + b
        yield Proposal("taxid", value, tl.evidence(start, end), tl, start, end)


def _name_like(text: str) -> bool:
    t = text.strip()
    return (
        len(_LETTERS.findall(t)) >= 2
        and len(t) <= 90
        and not parsers.EMAIL_PATTERN.search(t)
        and not _URL.fullmatch(t)
    )


_SEPARATOR = re.compile(r"\s+[-–·|•]\s+")
_TRAILING_ID = re.compile(r"\s*\([^()]*\d[^()]*\)\s*$")


def _name_spans(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """A name-like span and its variants: cut at " - " / " · " separators (a letterhead line that
    runs on into the address), without a trailing registration number in brackets, and without
    its legal form ("Muster SARL" is printed, "Muster" is often the name)."""
    spans: list[tuple[int, int]] = [(a, b)]
    pos = a
    for m in _SEPARATOR.finditer(text, a, b):
        spans.append((pos, m.start()))
        pos = m.end()
    if pos > a:
        spans.append((pos, b))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while e > s and text[e - 1] in ",;: ":
            e -= 1
        out.append((s, e))
        tid = _TRAILING_ID.search(text, s, e)
        if tid and tid.start() > s:
            out.append((s, tid.start()))
        suf = lx.COMPANY_SUFFIX.search(text[s:e])
        if suf and suf.start() > 0:
            cut = s + suf.start()
            while cut > s and text[cut - 1] in ",;: ":
                cut -= 1
            out.append((s, cut))
    return [(s, e) for s, e in out if e > s]


def _names(
    pls: Sequence[PageLines], is_receipt: bool, skip: Sequence[tuple[int, BBox]] = ()
) -> list[Proposal]:
    """Segments of page 1 and of the last page's footer (not of lines inside ``skip``), title words
    trimmed; on receipts also whole head lines and two head lines joined (a name set on two lines)."""
    out: list[Proposal] = []
    seen: set[tuple[int, int, int, str]] = set()
    for i, pl in enumerate(pls):
        last = i == len(pls) - 1
        if i > 0 and not last:
            continue
        foot = pl.text_box[1] + 0.7 * (pl.text_box[3] - pl.text_box[1])
        for tl in pl.lines:
            if (i > 0 and tl.bbox[1] < foot) or (skip and _inside(tl, skip)):
                continue
            for a0, b0 in tl.segments:
                st = _strip_title_words(tl.text[a0:b0])
                if st is None:
                    continue
                for a, b in _name_spans(tl.text, a0 + st[0], a0 + st[1]):
                    text = tl.text[a:b]
                    if _name_like(text):
                        _add(out, seen, Proposal("name", text, tl.evidence(a, b), tl, a, b))
    if is_receipt and pls:
        head = pls[0].lines[:_RECEIPT_HEAD_LINES]
        for j, tl in enumerate(head):
            if _name_like(tl.text):
                _add(out, seen, Proposal("name", tl.text, tl.evidence(0, len(tl.text)), tl, 0, len(tl.text)))
            for a, b in _name_spans(tl.text, 0, len(tl.text)):
                if _name_like(tl.text[a:b]):
                    _add(out, seen, Proposal("name", tl.text[a:b], tl.evidence(a, b), tl, a, b))
            for n in (2, 3):  # a name set on two or three lines
                run = head[j : j + n]
                text = " ".join(x.text for x in run)
                if len(run) == n and _name_like(text):
                    ev = Evidence(tl.page, union(x.bbox for x in run), text, 1.0)
                    _add(out, seen, Proposal("name", text, ev, tl, 0, len(tl.text), n_lines=n))
    return out


def _addresses(pls: Sequence[PageLines], is_receipt: bool) -> list[Proposal]:
    """On receipts: every run of one to six consecutive head lines, joined by spaces."""
    out: list[Proposal] = []
    if not is_receipt or not pls:
        return out
    seen: set[tuple[int, int, int, str]] = set()
    head = pls[0].lines[:_RECEIPT_HEAD_LINES]
    for i, tl in enumerate(head):
        for n in range(1, _MAX_ADDRESS_LINES + 1):
            run = head[i : i + n]
            if len(run) < n:
                break
            text = " ".join(x.text.strip() for x in run)
            if len(_LETTERS.findall(text)) < 4:
                continue
            ev = Evidence(tl.page, union(x.bbox for x in run), text, 1.0)
            _add(out, seen, Proposal("address", text, ev, tl, 0, len(tl.text), n_lines=n))
    return out


def _rule_proposals(pls: Sequence[PageLines], rules: HeaderResult, kind: str) -> list[Proposal]:
    """The rules' own values of a kind (joined names, addresses over several lines) as proposals."""
    out: list[Proposal] = []
    by_page = {pl.page.number: pl for pl in pls}
    for f, k in KIND_OF.items():
        if k != kind or f not in rules.values:
            continue
        ev = rules.evidence[f]
        pl = by_page.get(ev.page)
        if pl is None or not pl.lines:
            continue
        cy = (ev.bbox[1] + ev.bbox[3]) / 2
        tl = min(
            pl.lines,
            key=lambda t: abs((t.bbox[1] + t.bbox[3]) / 2 - cy) + (0 if t.bbox[1] <= ev.bbox[3] else 1e3),
        )
        n = sum(1 for t in pl.lines if t.bbox[1] < ev.bbox[3] - 1 and t.bbox[3] > ev.bbox[1] + 1)
        out.append(Proposal(kind, rules.values[f], ev, tl, 0, len(tl.text), n_lines=max(1, n), source="rule"))
    return out


def build_pool(
    pls: Sequence[PageLines],
    rules: HeaderResult,
    is_receipt: bool,
    table_boxes: dict[int, BBox] | None = None,
    kinds: set[str] | None = None,
) -> Pool:
    """Every proposal of every kind for one document; identifiers and names inside the line-item
    table (``table_boxes``: page -> box) are item codes and descriptions, not header values.
    ``kinds`` limits the pool to the kinds a model will rank (None: all)."""
    pool = Pool(pls=pls, rules=rules, is_receipt=is_receipt)
    regions = list((table_boxes or {}).items())
    scans = {
        "date": lambda: _scan(pls, lambda tl: _line_dates(tl, rules.dayfirst)),
        "amount": lambda: _scan(pls, _line_amounts),
        "id": lambda: _scan(pls, _line_ids, regions),
        "taxid": lambda: _scan(pls, _line_tax_ids),
        "name": lambda: _names(pls, is_receipt, regions),
        "address": lambda: _addresses(pls, is_receipt),
    }
    for kind, scan in scans.items():
        if kinds is not None and kind not in kinds:
            continue  # no field of this kind is decided by the model here
        props = scan()
        if table_boxes and kind in ("id", "name"):
            props = [p for p in props if not _in_regions(p.line.page, p.evidence.bbox, regions)]
        have = {p.value for p in props}
        props.extend(p for p in _rule_proposals(pls, rules, kind) if p.value not in have)
        pool.by_kind[kind] = props
    return pool
