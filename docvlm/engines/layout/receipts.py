"""Receipts: detect a till receipt and read its date, final total and items (its merchant: ``merchant``).

Input: the ``PageLines`` of one document (see ``text.page_lines``) and the ``HeaderResult``
the invoice rules produced. Output: ``is_receipt`` says whether the document is a receipt;
``extract_receipt`` overwrites the merchant name/address and the total in the result with the
receipt rules (top lines for the merchant, the rounded / tax-inclusive total line, checked by
cash - change = total).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from docvlm import parsers
from docvlm.datamodel import Evidence
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.amounts import classify_amount_label, rounding_lines, sum_line_amounts
from docvlm.engines.layout.candidates.base import _LETTERS, Candidate, HeaderResult
from docvlm.engines.layout.candidates.values import AmountSpan, amount_spans, read_date
from docvlm.engines.layout.merchant import all_words_right, extract_merchant, stop_line
from docvlm.engines.layout.text import PageLines, TextLine
from schemas.invoice import LINE_ITEM_FIELDS

_log = logging.getLogger(__name__)

_TILL_COLUMN = 30.0  # the widest printed column of a till roll, in median line heights
_A4_PT_WIDTH = 500  # A4 is 595 pt wide, Letter 612; a till-roll PDF 227
_CUES_OVER_INVOICE = 3  # receipt words per invoice-only word that still make a till roll a receipt


@dataclass
class ReceiptSignal:
    """Why a document was (or was not) taken for a receipt."""

    is_receipt: bool
    aspect: float  # height / width of the printed area
    cues: int  # receipt words found
    invoice_cues: int  # invoice-only words found
    content: tuple[str, ...] = ()  # kinds of till content found (``lexicon.RECEIPT_CONTENT``)
    customer_block: bool = False  # whether a customer block is printed
    narrow: bool = False  # whether the printed area has a till strip's shape
    #: False when the invoice words decided it before the receipt words were read (``decision_only``):
    #: ``cues``, ``content`` and ``customer_block`` are then left at 0, () and False
    complete: bool = True

    @property
    def by_shape_and_words(self) -> bool:
        """The decision from the shape and the receipt words alone (the rule before content kinds)."""
        return self.invoice_cues == 0 and ((self.narrow and self.cues >= 3) or self.cues >= 10)


#: what joins line texts so that no pattern of the receipt lexicon matches across two lines: "." stops at
#: the newline, ``\s`` at the NUL, and both are non-word characters, as a line's ends are to ``\b``
LINE_JOIN = "\n\x00"


def joined_lines(texts: Iterable[str]) -> str:
    """Line texts as one string whose matches (``findall``, ``search``) are those of the lines one by one."""
    return LINE_JOIN.join(texts)


def receipt_signal(pls: Sequence[PageLines], decision_only: bool = False) -> ReceiptSignal:
    """Receipt when the printed area is a tall strip, receipt words are printed and no invoice-only words are;
    or, whatever the shape (a photo, a short slip), when it prints till content of several kinds
    (till and cash words, a card-terminal slip, a tax summary block, a thank-you footer, a till time
    stamp, an item count) and no customer block.

    Invoices set on A4 or Letter have a text block about 1.3-1.6 times as tall as wide that spans
    most of the page; a receipt's is taller (1.7+) or a slim column on a wider scan. Measured in its
    own line heights, a till roll's printed column is narrow whatever the scan's size: about 40
    characters, under 30 line heights wide, where an A4 or A5 page of text spans 36 or more.

    ``decision_only``: the same ``is_receipt``, but a page that is no till column and prints two
    invoice-only words (or one, and is no strip) is an invoice whatever else it prints, so its
    receipt words are not read.
    """
    if not pls or not pls[0].lines or len(pls) > 2:
        return ReceiptSignal(False, 0.0, 0, 0)
    tb = pls[0].text_box
    width = max(1.0, tb[2] - tb[0])
    aspect = (tb[3] - tb[1]) / width
    # one search over the page's lines joined, as if line by line (``joined_lines``)
    text = joined_lines(tl.text for pl in pls for tl in pl.lines)
    inv = len(lx.INVOICE_ONLY.findall(text))
    # a till strip: taller than any A4/Letter text block, or a slim column on a wide scan
    page_w = max(1.0, pls[0].page.width)
    page = pls[0].page
    # a till roll's column is narrow in its own line heights; on a PDF page of A4 or Letter width it
    # is narrow on the page too (80 mm of 210): a text block over 60% of such a page is an invoice's,
    # set in large type
    column = width / max(pls[0].median_height, 1e-6) <= _TILL_COLUMN and not (
        page.unit == "pt" and page_w >= _A4_PT_WIDTH and width / page_w > 0.6
    )
    narrow = (
        aspect >= 1.7
        or (aspect >= 1.4 and width / page_w <= 0.6)
        or page.height / page_w >= 2.0  # a long strip image
        or (page.unit == "pt" and page.width <= 300)  # a PDF on till-roll paper (80 mm is 227 pt)
    )
    if decision_only and not column and (inv >= 2 or (inv == 1 and not narrow)):
        # every rule below then says invoice: each wants no invoice word, a till column, or a strip
        return ReceiptSignal(False, round(aspect, 3), 0, inv, narrow=narrow, complete=False)
    cues = len(lx.RECEIPT_CUES.findall(text))
    kinds = {k for k, rx in lx.RECEIPT_CONTENT.items() if rx.search(text)}
    customer = bool(lx.CUSTOMER_BLOCK.search(text))
    by_shape = (inv == 0 and ((narrow and cues >= 3) or (column and cues >= 1) or cues >= 10)) or (
        column and cues >= _CUES_OVER_INVOICE * inv + 5  # "bill to" on a till roll among many receipt words
    )
    content = len(kinds)
    sig = ReceiptSignal(False, round(aspect, 3), cues, inv, tuple(sorted(kinds)), customer, narrow)
    sig.is_receipt = (
        by_shape
        or (inv == 0 and not customer and content >= lx.RECEIPT_CONTENT_MIN)
        or (inv <= 1 and narrow and content >= lx.RECEIPT_CONTENT_STRONG)
    )
    return sig


def is_receipt(pls: Sequence[PageLines]) -> bool:
    return receipt_signal(pls, decision_only=True).is_receipt


# ---------------------------------------------------------------------------------------------
# Total


@dataclass
class _Amt:
    value: Decimal
    strength: float
    evidence: Evidence
    y: float
    line: tuple[int, int] = (-1, -1)  # (page, line index)


def _line_amount(pl: PageLines, tl: TextLine, label_end: int) -> tuple[Decimal, Evidence] | None:
    """The last money amount right of the label, else the amount alone on the next line."""
    amts = [a for a in amount_spans(tl.text) if a.end > label_end and (a.has_decimals or a.has_currency)]
    if amts:
        a = amts[-1]
        return a.value, tl.evidence(a.start, a.end)
    if tl.index + 1 < len(pl.lines):
        nxt = pl.lines[tl.index + 1]
        if nxt.bbox[1] - tl.bbox[3] < 1.5 * tl.height and len(_LETTERS.findall(nxt.text)) <= 2:
            amts = [a for a in amount_spans(nxt.text) if a.has_decimals]
            if amts:
                return amts[-1].value, nxt.evidence(amts[-1].start, amts[-1].end)
    return None


def extract_receipt_total(pls: Sequence[PageLines], res: HeaderResult) -> None:
    """The final total: rounded / grand / nett / tax-inclusive total lines, checked by cash - change."""
    cands: list[_Amt] = []
    cash: Decimal | None = None
    change: Decimal | None = None
    for page, pl in enumerate(pls):
        for tl in pl.lines:
            text = tl.text
            if lx.CHANGE_LABEL.search(text):
                got = _line_amount(pl, tl, lx.CHANGE_LABEL.search(text).end())  # type: ignore[union-attr]
                if got:
                    change = abs(got[0])  # "CHANGE 20.00-": change given is never negative
                continue
            if lx.CASH_LABEL.search(text) and not re.search(r"\btotal\b", text, re.IGNORECASE):
                got = _line_amount(pl, tl, lx.CASH_LABEL.search(text).end())  # type: ignore[union-attr]
                if got:
                    cash = got[0]
                continue
            for pat, strength in lx.RECEIPT_TOTAL_LABELS:
                m = pat.search(text)
                if not m:
                    continue
                if lx.RECEIPT_TOTAL_EXCLUDE.search(text[: m.end() + 12]) and strength < 0.9:
                    break
                got = _line_amount(pl, tl, m.end())
                if got:
                    cands.append(_Amt(got[0], strength, got[1], tl.bbox[1], (page, tl.index)))
                break
    if not cands:
        return
    paid = cash - change if cash is not None and change is not None else None
    top = max(c.value for c in cands)

    def score(c: _Amt) -> float:
        s = c.strength
        if paid is not None and c.value == paid:
            s += 0.5  # cash - change = total
        if c.value == top:
            s += 0.1
        return s + c.y * 1e-7  # later lines win ties

    best = _rounded(pls, max(cands, key=score))
    conf = min(0.97, 0.55 + 0.35 * best.strength + (0.1 if paid is not None and best.value == paid else 0.0))
    value = format(best.value.quantize(Decimal("0.01")), "f")
    res.put(Candidate("total", value, best.evidence, conf, number=best.value))


_ROUNDED_WITHIN = 3  # lines below a rounding adjustment where the rounded total is printed


def _rounded(pls: Sequence[PageLines], best: _Amt) -> _Amt:
    """The cash-rounded total when ``best`` is the amount before a rounding adjustment: a line
    "Rounding Adj -0.01" below ``best``'s line, and ``best`` plus or minus that amount printed
    within a few lines under it ("TOTAL 23.26 / ROUNDING ADJ -0.01 / TOTAL 23.25"); else ``best``."""
    page, index = best.line
    for p, i, adj in rounding_lines(pls):
        if p != page or i <= index or adj == 0:
            continue
        targets = {best.value + adj, best.value - adj}
        pl = pls[p]
        for tl in pl.lines[i + 1 : i + 1 + _ROUNDED_WITHIN]:
            for a in amount_spans(tl.text):
                if a.has_decimals and a.value in targets:
                    return _Amt(
                        a.value, best.strength, tl.evidence(a.start, a.end), tl.bbox[1], (p, tl.index)
                    )
    return best


# ---------------------------------------------------------------------------------------------
# Items


# "2 x 3.19", "3 @ 0.89", "2 X $1.79": quantity and unit price printed under (or in) an item line
_QTY_PRICE = re.compile(
    r"(?<![\w.])(\d{1,4}(?:[.,]\d{1,3})?)\s*(?:x|@|×|\*)\s*[.,]?\s*(?:[$€£]|rm\s*)?(\d{1,7}[.,]\d{2})(?![\d])",
    re.IGNORECASE,
)
# the same as bare columns at the end of a description: "2  15.90"
_QTY_PRICE_COLS = re.compile(
    r"(?<![\w.])(\d{1,4}(?:[.,]\d{1,3})?)\s+(?:[$€£]|rm\s*)?(\d{1,7}[.,]\d{2})\s*$", re.IGNORECASE
)
# a tax or department flag after a receipt line's amount ("4.49 T", "7.10 SR", "3.99 *")
_FLAG = re.compile(r"^\s*(?:[A-Z]{1,2}|\*)?\s*$")


@dataclass
class ReceiptItems:
    """Item lines of a receipt, in the ``TableResult`` shape the engine merges."""

    items: list[dict[str, str | None]]
    evidence: dict[str, Evidence]
    confidence: dict[str, float]


# words of the totals block, matched with one OCR slip allowed ("Subtotai", "T0TAL")


def _totals_word(text: str) -> bool:
    from rapidfuzz.distance import Levenshtein

    return any(
        Levenshtein.distance(tok, w, score_cutoff=1) <= 1
        for tok in re.findall(r"[^\W_]{4,}", text.casefold())
        for w in lx.TOTALS_BLOCK_WORDS
    )


def _ends_totals(text: str) -> bool:
    """A line that starts the totals block (subtotal, tax, total, payment, change, item count)."""
    return bool(
        _totals_word(text)
        or classify_amount_label(text)
        or any(pat.search(text) for pat, _ in lx.RECEIPT_TOTAL_LABELS)
        or lx.CASH_LABEL.search(text)
        or lx.CHANGE_LABEL.search(text)
        or re.search(r"\b(?:items?\s+sold|no\.?\s+of\s+items?|total\s+qty)\b", text, re.IGNORECASE)
    )


def _item_amount(tl: TextLine) -> tuple[AmountSpan, str, re.Match[str] | None] | None:
    """The amount that ends an item line, the item's name before it, and the quantity-and-price
    run between them if any; None for other lines."""
    amts = [a for a in amount_spans(tl.text) if a.has_decimals]
    if not amts:
        return None
    a = amts[-1]
    if not _FLAG.match(tl.text[a.end :]):
        return None
    desc = tl.text[: a.start].rstrip()
    # a quantity-and-price run before the amount is not the name: "SOURDOUGH 2 @ 3.19   6.38", or
    # bare columns "MILO 1KG  2  15.90  31.80" when they multiply to the amount
    qp = _QTY_PRICE.search(desc)
    if qp is None and (cols := _QTY_PRICE_COLS.search(desc)) and _multiplies(cols, a.value):
        qp = cols
    name = (desc[: qp.start()] if qp else desc).strip(" -:")
    letters = len(_LETTERS.findall(name))
    # a name is mostly letters; "2597 1.00 PCS 48.00" is a row of a table's number columns
    if (
        letters < 3
        or letters < 0.4 * len(name.replace(" ", ""))
        or parsers.find_dates(desc)
        or stop_line(name)
    ):
        return None
    return a, name, qp


def _multiplies(m: re.Match[str], amount: Decimal) -> bool:
    qty, price = parsers.parse_amount(m.group(1)), parsers.parse_amount(m.group(2))
    return qty is not None and price is not None and abs(qty * price - amount) <= Decimal("0.011")


def extract_receipt_items(pls: Sequence[PageLines], res: HeaderResult) -> ReceiptItems:
    """Item lines of a till receipt without a table header: a description and an amount per line,
    between the header and the totals block; a "2 x 3.19" line under an item (or inside it) gives
    its quantity and unit price when they multiply to its amount. The list is kept only when its
    amounts reconcile with the receipt's subtotal or total (``res``, read before)."""
    items: list[dict[str, str | None]] = []
    evidence: dict[str, Evidence] = {}
    confidence: dict[str, float] = {}
    last: int | None = None  # index of the item a quantity line may belong to
    for tl in (tl for pl in pls for tl in pl.lines):
        text = tl.text.strip()
        if items and _ends_totals(text):
            break
        qp = _QTY_PRICE.search(text)
        if qp and last is not None and len(_LETTERS.findall(text)) <= 1:
            _set_qty(items[last], evidence, confidence, last, qp, tl)
            last = None
            continue
        got = _item_amount(tl)
        if got is None or (not items and _ends_totals(text)):
            continue
        a, name, qp = got
        i = len(items)
        item: dict[str, str | None] = dict.fromkeys(LINE_ITEM_FIELDS)
        item["description"], item["amount"] = name, format(a.value, "f")
        items.append(item)
        start = tl.text.index(name)
        evidence[f"line_items.{i}.description"] = tl.evidence(start, start + len(name))
        evidence[f"line_items.{i}.amount"] = tl.evidence(a.start, a.end)
        confidence[f"line_items.{i}.description"] = 0.6 * all_words_right([tl])
        confidence[f"line_items.{i}.amount"] = 0.7 * all_words_right([tl])
        last = i
        if qp:
            _set_qty(item, evidence, confidence, i, qp, tl)
            last = None
    if not _reconciles(items, res):
        return ReceiptItems([], {}, {})
    _leading_column(items, evidence, confidence)
    return ReceiptItems(items, evidence, confidence)


_LEADING_NUMBER = re.compile(r"^(\d{1,14})\s+(?=.*[^\W\d_])")


def _leading_column(
    items: list[dict[str, str | None]], evidence: dict[str, Evidence], confidence: dict[str, float]
) -> None:
    """A number that starts every description is a column: up to three digits the quantity
    ("1 Chicken wings"), more an article code ("2597 Cable ties")."""
    found = [_LEADING_NUMBER.match(it["description"] or "") for it in items]
    if len(items) < 2 or not all(found):
        return
    short = all(len(m.group(1)) <= 3 for m in found if m)
    long = all(len(m.group(1)) >= 4 for m in found if m)
    if not (short or long):
        return
    field = "quantity" if short else "product_code"
    for i, (it, m) in enumerate(zip(items, found, strict=True)):
        if m is None or it[field] is not None:
            continue
        desc = it["description"] or ""
        it[field], it["description"] = m.group(1), desc[m.end() :]
        ev = evidence.get(f"line_items.{i}.description")
        if ev is not None:  # the description's evidence box is shared out by characters
            x0, y0, x1, y1 = ev.bbox
            cut = x0 + (x1 - x0) * m.end() / max(1, len(desc))
            evidence[f"line_items.{i}.{field}"] = Evidence(ev.page, (x0, y0, cut, y1), m.group(1), ev.score)
            evidence[f"line_items.{i}.description"] = Evidence(
                ev.page, (cut, y0, x1, y1), desc[m.end() :], ev.score
            )
            confidence[f"line_items.{i}.{field}"] = confidence.get(f"line_items.{i}.description", 0.5)


def _reconciles(items: Sequence[dict[str, str | None]], res: HeaderResult) -> bool:
    """Whether the item amounts add up to the receipt's subtotal, or to its total less at most a
    fifth (tax, service charge, rounding): amount lines that do not are not the item list."""
    line_sum = sum_line_amounts(items)
    if line_sum is None:
        return False
    cent = Decimal("0.011")
    subtotal = parsers.parse_amount(res.values.get("subtotal"))
    if subtotal is not None and abs(line_sum - subtotal) <= cent:
        return True
    total = parsers.parse_amount(res.values.get("total"))
    return total is not None and Decimal("0.8") * total - cent <= line_sum <= total + cent


def _set_qty(
    item: dict[str, str | None],
    evidence: dict[str, Evidence],
    confidence: dict[str, float],
    i: int,
    qp: re.Match[str],
    tl: TextLine,
) -> None:
    """Quantity and unit price from a "2 x 3.19" match, kept only when they make the item's amount."""
    qty = parsers.parse_amount(qp.group(1))
    price = parsers.parse_amount(qp.group(2))
    amount = parsers.parse_amount(item["amount"])
    if qty is None or price is None or amount is None or not _multiplies(qp, amount):
        return
    item["quantity"] = format(qty.normalize(), "f")
    item["unit_price"] = format(price, "f")
    evidence[f"line_items.{i}.quantity"] = tl.evidence(qp.start(1), qp.end(1))
    evidence[f"line_items.{i}.unit_price"] = tl.evidence(qp.start(2), qp.end(2))
    for f in ("quantity", "unit_price"):
        confidence[f"line_items.{i}.{f}"] = 0.8 * all_words_right([tl])


def extract_receipt(pls: Sequence[PageLines], res: HeaderResult) -> None:
    """Overwrite merchant, address and total with the receipt rules; fill the date if missing."""
    if not pls or not pls[0].lines:
        return
    for p in ("customer.name", "customer.address"):
        res.drop(p)
    extract_merchant(pls, res)
    extract_receipt_total(pls, res)
    if res.confidence.get("invoice_date", 0.0) < 0.6:
        _receipt_date(pls, res)


_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")


def _receipt_date(pls: Sequence[PageLines], res: HeaderResult) -> None:
    """No labelled date: the till's timestamp (a date with a time on its line), else the first date."""
    first: Candidate | None = None
    for pl in pls:
        for tl in pl.lines:
            r = read_date(tl.text, res.dayfirst)
            if r is None:
                continue
            cand = Candidate("invoice_date", r[0], tl.evidence(r[1], r[2]), 0.6)
            if _TIME.search(tl.text[r[2] :]):
                res.put(cand)
                return
            first = first or cand
    if first is not None and "invoice_date" not in res.values:
        first.score = 0.5
        res.put(first)
