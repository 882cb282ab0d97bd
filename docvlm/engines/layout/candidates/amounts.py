"""Amounts: labelled amount candidates, the label classifier and the rule choice of subtotal/tax/total/due;
the document currency.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import combinations

from docvlm import parsers
from docvlm.datamodel import BBox, Evidence
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import (
    _CENT,
    _CURRENCY_WORDS,
    _LETTERS,
    Candidate,
    HeaderResult,
    _fmt,
    _in_regions,
)
from docvlm.engines.layout.candidates.values import (
    _NOT_CURRENCY,
    _STANDALONE_CURRENCY,
    AmountSpan,
    _currency_of,
    _is_money,
    _iso,
    amount_spans,
)
from docvlm.engines.layout.text import PageLines, TextLine
from docvlm.geometry import union

_log = logging.getLogger(__name__)


_CROWN = re.compile(r"(?<![\w])kr\.?(?![\w])|(?<=\d)kr\b", re.IGNORECASE)
# the country of an IBAN or a VAT id on the page; Norway's VAT numbers end in "MVA"
_ID_COUNTRY = re.compile(
    r"\b(SE|NO|DK|IS)\d{2}(?:\s?[A-Z0-9]{4}){3}|\b(SE)\s?\d{10}01\b|\b(DK)[\s-]?\d{8}\b|\b(MVA)\b"
)


def _crown_country(pls: Sequence[PageLines]) -> str | None:
    """Which crown "kr" is: that of the country of the page's IBAN or VAT id, when one is printed."""
    for pl in pls:
        for tl in pl.lines:
            m = _ID_COUNTRY.search(tl.text)
            if m is not None:
                country = next(g for g in m.groups() if g)
                return parsers.CROWNS["NO" if country == "MVA" else country]
    return None


def detect_document_currency(pls: Sequence[PageLines]) -> tuple[str, Evidence] | None:
    """Currency from a 'Currency:' label, else ISO codes and symbols printed with amounts, else page text."""
    votes: dict[str, float] = {}
    first: dict[str, Evidence] = {}
    crowns: Evidence | None = None  # an amount in "kr", which names no one currency
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
                kr = _CROWN.search(tl.text, max(0, a.start - 4), a.end + 4) if sym is None else None
                if kr is not None and crowns is None:
                    crowns = tl.evidence(min(a.start, kr.start()), max(a.end, kr.end()))
                if sym:
                    w = 0.5 if sym == "USD" and "$" in a.raw and "US" not in a.raw else 1.0
                    votes[sym] = votes.get(sym, 0.0) + w
                    first.setdefault(sym, tl.evidence(a.start, a.end))
    if not votes and crowns is not None:
        crown = _crown_country(pls)
        if crown is not None:
            return crown, crowns
    if votes:
        best = max(votes.items(), key=lambda kv: kv[1])[0]
        # a lone "$" is ambiguous: an explicit other currency elsewhere wins
        if best == "USD" and len(votes) > 1:
            others = {k: v for k, v in votes.items() if k != "USD"}
            best = max(others.items(), key=lambda kv: kv[1])[0]
        return best, first[best]
    for pl in pls:
        for tl in pl.lines:
            m = lx.CURRENCY_NAME_RE.search(tl.text)
            if m:
                word = m.group(0).lower()
                named = next(c for k, c in lx.CURRENCY_NAMES.items() if k in word)
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
        out.extend(_column_candidates(pl, tbox))
    return out


_COLUMN_ROWS = 6  # the rows of a totals table under its header row, at most
_COLUMN_FACTOR = 0.9  # a label above its amount is read a little less surely than one beside it


def _column_candidates(pl: PageLines, tbox: BBox | None) -> list[AmountCandidate]:
    """A totals table: a header row of amount labels ("Nettobetrag   MwSt-Betrag   Endbetrag", "Total HT
    TVA   Total TTC") over rows of amounts. Each column's last amount (the table's sum row, or its one
    row) is a candidate of the column's field."""
    out: list[AmountCandidate] = []
    for tl in pl.lines:
        if len(tl.segments) < 2 or lx.ITEM_COLUMN.search(tl.text):
            continue
        cols: list[tuple[str, float, BBox]] = []
        for a0, b0 in tl.segments:
            kinds = classify_amount_label(tl.text[a0:b0])
            if kinds:
                cols.append((kinds[0][0], kinds[0][1], tl.box(a0, b0)))
        # a gross total's own label ("Endbetrag", "Total TTC"), not a bare "Amount" or "Total", which
        # head the net column of a receipt's tax summary or a line-item table
        fields = {c[0] for c in cols}
        if not any(c[0] == "total" and c[1] >= 1.0 for c in cols) or not fields & {"subtotal", "tax_total"}:
            continue
        if amount_spans(tl.text):
            continue  # labels beside their amounts: read by ``amount_candidates``
        if tbox is not None and _in_regions(tl.page, tl.box(0, len(tl.text)), [(tl.page, tbox)]):
            continue  # the line-item table's own header
        tol = tl.height
        last: dict[int, tuple[TextLine, AmountSpan]] = {}
        prev = tl
        for row in pl.lines[tl.index + 1 : tl.index + 1 + _COLUMN_ROWS]:
            if row.bbox[1] - prev.bbox[3] > 2.5 * max(prev.height, row.height):
                break
            amts = [a for a in amount_spans(row.text) if _is_money(a) or a.value == 0]
            if not amts:
                break
            for a in amts:
                ax0, _, ax1, _ = row.box(a.start, a.end)
                overlaps = [min(ax1, c[2][2] + tol) - max(ax0, c[2][0] - tol) for c in cols]
                k = max(range(len(cols)), key=lambda i: overlaps[i])
                if overlaps[k] > 0:
                    last[k] = (row, a)
            prev = row
        for k, (row, a) in last.items():
            path, strength, _ = cols[k]
            ev = row.evidence(a.start, a.end)
            out.append(
                AmountCandidate(path, a.value, strength * _COLUMN_FACTOR, ev, row.page, row.bbox[1], row.text)
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
            cur_start, cur = a0, []
            for amt in seg_amts:
                # keyed pairs in one segment ("Basis: 5,00, MwSt.-% 19,0, Rabatt: 0,10"): a new label
                # between two amounts takes the amounts after it
                if cur and _starts_pair(tl.text[cur[-1].end : amt.start]):
                    groups.append((tl.text[cur_start : cur[-1].start], cur_start, cur))
                    gap = tl.text[cur[-1].end : amt.start]
                    cur_start = cur[-1].end + (len(gap) - len(gap.lstrip(" ,;|/")))
                    cur = []
                cur.append(amt)
            # label text is what precedes the group's last amount
            cur_label = tl.text[cur_start : cur[-1].start if cur else b0]
        elif cur_label is not None:
            cur.extend(seg_amts)
    if cur_label is not None and cur:
        groups.append((cur_label, cur_start, cur))
    return groups


def _starts_pair(text: str) -> bool:
    """Whether the text between two amounts is a label of its own: words closed by a colon, or a
    tax rate's label ("MwSt.-%"), which both announce the amount after them."""
    if not _LETTERS.search(text):
        return False
    return text.rstrip().endswith(":") or _rate_label(text)


def _rate_label(text: str) -> bool:
    """A tax rate's label with no number in it ("MwSt.-%", "Taux de TVA"); "VAT 20%" is the tax's."""
    return lx.RATE_LABEL.search(text) is not None and not any(ch.isdigit() for ch in text)


def _is_currency_word(w: str) -> bool:
    return bool(_CURRENCY_WORDS.match(w)) or (len(w) == 3 and w.isupper() and w in _iso())


@lru_cache(maxsize=8192)  # labels recur within a document and across a batch ("Total", "VAT 20%")
def classify_amount_label(label: str) -> tuple[tuple[str, float], ...]:
    """Which amount fields a label announces, with strength; empty when it announces none."""
    excluded = lx.AMOUNT_EXCLUDE.search(label) and not lx.TOTAL_INCL_EXCL.search(label)
    # "Total qty", "Cash", "Change"... are not money fields of the invoice
    if excluded and not lx.DUE_LABEL.search(label):
        return ()
    if _rate_label(label) and not lx.AMOUNT_WORD.search(label):
        return ()
    for path, pat, strength in lx.AMOUNT_LABELS:
        if pat.search(label):
            if path == "amount_due":
                return (("amount_due", strength), ("total", 0.5))
            second = tuple((f, s) for p2, f, s in lx.AMOUNT_SECOND_READING if f != path and p2.search(label))
            return ((path, strength), *second)
    return ()


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


def rounding_lines(pls: Sequence[PageLines]) -> list[tuple[int, int, Decimal]]:
    """(page, line index, amount) of every rounding-adjustment line ("Rounding Adj  -0.02"): an
    amount of at most 10 cents behind a rounding label, on a line that is not itself a total."""
    out: list[tuple[int, int, Decimal]] = []
    for p, pl in enumerate(pls):
        for tl in pl.lines:
            m = lx.ROUNDING_LABEL.search(tl.text)
            if m is None or lx.TOTAL_WORD.search(tl.text):
                continue
            for a in amount_spans(tl.text[m.end() :]):
                if abs(a.value) <= Decimal("0.10"):
                    out.append((p, tl.index, a.value))
    return out


def _rounding_adjustments(pls: Sequence[PageLines]) -> set[Decimal]:
    """Amounts of a few cents on rounding-adjustment lines, both signs."""
    return {v for _, _, a in rounding_lines(pls) for v in (a, -a)}


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
    taxes: list[AmountCandidate | None] = [
        None,
        *sorted(by["tax_total"], key=lambda c: -c.strength)[:8],
        *_rate_sums([c for c in cands if c.path == "tax_total"]),  # before merging equal values
    ]
    best: tuple[float, AmountCandidate | None, AmountCandidate | None, AmountCandidate | None] | None = None
    max_total = max((c.value for c in totals if c is not None), default=None)
    # a printed rounding adjustment (cash rounded to 5 cents) also closes subtotal + tax = total
    offsets = {Decimal(0), *_rounding_adjustments(pls)}

    # a printed tax basis (the lines' sum less an allowance, plus a charge) closes it less surely
    printed = {c.value for c in cands}

    def adds_up(s: AmountCandidate, x: AmountCandidate, t: AmountCandidate) -> bool:
        return any(abs(s.value + x.value + r - t.value) <= _CENT for r in offsets)

    def via_basis(s: AmountCandidate, x: AmountCandidate, t: AmountCandidate) -> bool:
        basis = t.value - x.value
        return basis > 0 and basis != s.value and basis in printed

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
                        score += 2.0 if adds_up(s, x, t) else 1.0 if via_basis(s, x, t) else -1.0
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
        _derive_subtotal(
            bt, [c for c in cands if c.path == "tax_total" and c.value == bx.value] or [bx], pls, res
        )
    if bt is None:
        _fallback_total(pls, res)
    elif bx is None:
        _zero_vat(bt, bs, pls, res)
    dues = sorted(by["amount_due"], key=lambda c: (-c.strength, -c.y))
    if dues:
        d = dues[0]
        res.put(Candidate("amount_due", _fmt(d.value), d.evidence, 0.55 + 0.3 * d.strength, number=d.value))


_RATE_SUM_PARTS = 6  # the strongest tax lines that may add up to a tax total, at most
_RATE_SUM_FACTOR = 0.9  # a sum of tax lines is read a little less surely than a printed tax total


def _rate_sums(taxes: Sequence[AmountCandidate]) -> list[AmountCandidate]:
    """Tax totals of invoices with several rates and no tax total printed ("MwSt. 7% ... 7,00" and
    "MwSt. 19% ... 19,00"; "CGST 9%" and "SGST 9%"): the sums of two or three tax lines of one page, each
    on its own line and with its rate printed. A sum is only a candidate: the chooser takes it when
    subtotal + sum = total, and a printed tax total that closes the sum as well is stronger."""
    parts = [c for c in sorted(taxes, key=lambda c: -c.strength)[:_RATE_SUM_PARTS] if "%" in c.line_text]
    out: list[AmountCandidate] = []
    for n in (2, 3):
        for combo in combinations(parts, n):
            if len({c.page for c in combo}) > 1 or len({c.line_text for c in combo}) < n:
                continue
            if len({c.y for c in combo}) < n or any(c.value <= 0 for c in combo):
                continue
            value = sum((c.value for c in combo), Decimal(0))
            ev = Evidence(
                page=combo[0].evidence.page,
                bbox=union(c.evidence.bbox for c in combo),
                text=" + ".join(c.evidence.text for c in combo),
                score=min(c.evidence.score for c in combo),
            )
            strength = min(c.strength for c in combo) * _RATE_SUM_FACTOR
            out.append(
                AmountCandidate("tax_total", value, strength, ev, combo[0].page, min(c.y for c in combo), "")
            )
    return out


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


def _zero_vat(
    t: AmountCandidate, s: AmountCandidate | None, pls: Sequence[PageLines], res: HeaderResult
) -> None:
    """No tax amount printed, and the page states that the invoice carries no VAT (``lx.VAT_EXEMPT``):
    the tax total is 0, and without a printed net total the total is the net total (EN 16931: the total
    with VAT is the total without VAT plus the VAT). The evidence of the 0 is the statement."""
    for pl in pls:
        for tl in pl.lines:
            m = lx.VAT_EXEMPT.search(tl.text)
            if m is None:
                continue
            res.put(
                Candidate("tax_total", "0.00", tl.evidence(m.start(), m.end(), 0.8), 0.6, number=Decimal(0))
            )
            if s is None:
                res.put(Candidate("subtotal", _fmt(t.value), t.evidence, 0.5, number=t.value))
            return


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
