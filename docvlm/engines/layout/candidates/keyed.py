"""Labelled identifier, date and reference fields: invoice number, invoice and due dates, PO."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import Candidate, HeaderResult
from docvlm.engines.layout.candidates.labels import find_value, label_starts, matches_at
from docvlm.engines.layout.candidates.values import Reader, read_date, read_id
from docvlm.engines.layout.text import PageLines, TextLine

_log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Identifier, date and reference fields


_FIELD_READERS: dict[str, Reader] = {
    "invoice_number": read_id,
    "invoice_date": read_date,
    "due_date": read_date,
    "purchase_order": read_id,
}


def extract_keyed_fields(pls: Sequence[PageLines], res: HeaderResult, dayfirst: bool) -> None:
    """invoice_number, invoice_date, due_date and purchase_order from their labels."""
    best: dict[str, Candidate] = {}
    # (page, line) -> label spans already used by another field ("DUE DATE" is not an "INVOICE DATE")
    taken: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # where in each segment any field label starts (most segments hold none): a field's patterns
    # are then tried at those places only, instead of searched for along the segment
    labelled = [
        [
            (tl, [(b0, starts) for a0, b0 in tl.segments if (starts := label_starts(tl.text, a0, b0))])
            for tl in pl.lines
        ]
        for pl in pls
    ]
    for path in ("due_date", "invoice_number", "purchase_order", "invoice_date"):
        reader = _FIELD_READERS[path]
        for pl, page_segs in zip(pls, labelled, strict=True):
            for tl, segs in page_segs:
                used = taken.setdefault((tl.page, tl.index), [])
                for b0, starts in segs:  # a label never spans two segments
                    for pat, strength in lx.HEADER_PATTERNS[path]:
                        for m in matches_at(pat, tl.text, starts, b0):
                            if any(s < m.end() and m.start() < e for s, e in used):
                                continue
                            if path == "invoice_date" and _inside_other_label(
                                tl.text, m.start(), m.end(), m.group(0)
                            ):
                                # the whole label is another date's: a shorter label inside it
                                # ("date" in "Original invoice date") is not tried either
                                used.append((m.start(), m.end()))
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
    _title_reference(pls, best, dayfirst)
    # an invoice title followed by an identifier ("Invoice INV/2023/0008"), or a lone "# 123" near the title
    if "invoice_number" not in best:
        for pl in pls[:1]:
            for tl in pl.lines:
                for a0, _b0 in tl.segments:
                    tm = lx.TITLE_NUMBER.match(tl.text, a0)
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
    if lx.OTHER_DATE_BEFORE.search(before):
        return True
    # a label closed by ':' cannot continue into the next words
    return ":" not in label and bool(lx.OTHER_DATE_AFTER.match(text[end : end + 24].lower()))


_TITLE_SCORE = 0.92  # "Rechnung Nr. X" is the invoice number's label, written into the title
_TITLE_SHARE = 0.5  # the title sits in the upper half of page 1's text


def _title_reference(pls: Sequence[PageLines], best: dict[str, Candidate], dayfirst: bool) -> None:
    """The number and date a document's title names ("Handelsrechnung Nr. TX-17 vom 30.10.2018")."""
    if not pls or not pls[0].lines:
        return
    pl = pls[0]
    limit = pl.text_box[1] + _TITLE_SHARE * max(1.0, pl.text_box[3] - pl.text_box[1])
    for tl in pl.lines:
        if tl.bbox[1] > limit:
            return
        for a0, b0 in tl.segments:
            m = lx.TITLE_REFERENCE.search(tl.text, a0, b0)
            if m is None:
                if lx.TITLE_ALONE.fullmatch(tl.text, a0, b0):
                    _number_under_title(pl, tl, a0, b0, best, dayfirst)
                continue
            ident = m.group("id").rstrip(".:)")
            if read_id(ident, dayfirst) is None:
                continue
            start = m.start("id")
            cand = Candidate(
                "invoice_number", ident, tl.evidence(start, start + len(ident)), _TITLE_SCORE, tl
            )
            if "invoice_number" not in best or best["invoice_number"].score < cand.score:
                best["invoice_number"] = cand
            date = None
            r = read_date(m.group("date"), dayfirst) if m.group("date") else None
            if r is not None:
                date = (tl, m.start("date") + r[1], m.start("date") + r[2], r[0])
            elif tl.index + 1 < len(pl.lines):
                # the date on the line under the title: after "vom" there, or after a "vom" ending the title
                nxt = pl.lines[tl.index + 1]
                dm = lx.TITLE_DATE_LINE.match(nxt.text)
                skip = dm.end() if dm else 0
                if dm or (m.group("date") is not None and not m.group("date").strip()):
                    r = read_date(nxt.text[skip : skip + 30], dayfirst)
                    if r is not None:
                        date = (nxt, skip + r[1], skip + r[2], r[0])
            if date is not None:
                dl, s, e, iso = date
                dc = Candidate("invoice_date", iso, dl.evidence(s, e), _TITLE_SCORE, dl)
                if "invoice_date" not in best or best["invoice_date"].score < dc.score:
                    best["invoice_date"] = dc
            return


_UNDER_TITLE_SCORE = 0.8
_UNDER_TITLE_LINES = 3


def _number_under_title(
    pl: PageLines, tl: TextLine, a0: int, b0: int, best: dict[str, Candidate], dayfirst: bool
) -> None:
    """A number sign and an identifier on one of the lines right under a lone title, in its column
    ("FACTURE" over "N°F-20240000014", or over a date and "no 2023-6013")."""
    if "invoice_number" in best and best["invoice_number"].score >= _UNDER_TITLE_SCORE:
        return
    x0, x1 = tl.box(a0, b0)[0], tl.box(a0, b0)[2]
    for nxt in pl.lines[tl.index + 1 : tl.index + 1 + _UNDER_TITLE_LINES]:
        for c0, c1 in nxt.segments:
            box = nxt.box(c0, c1)
            if box[2] < x0 - 2 * tl.height or box[0] > x1 + 2 * tl.height:
                continue  # another column
            m = lx.NUMBER_SIGN.match(nxt.text, c0, c1)
            if m is None or m.end() == c0:
                continue
            r = read_id(nxt.text[m.end() : c1], dayfirst)
            if r is None:
                continue
            s, e = m.end() + r[1], m.end() + r[2]
            best["invoice_number"] = Candidate(
                "invoice_number", r[0], nxt.evidence(s, e), _UNDER_TITLE_SCORE, nxt
            )
            return
