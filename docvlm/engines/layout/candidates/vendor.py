"""The seller: name and address from the letterhead, seller labels, id blocks, domains and the footer."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from docvlm import parsers
from docvlm.datamodel import Evidence
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import _HAS_DIGIT, Candidate, HeaderResult, _in_regions
from docvlm.engines.layout.candidates.labels import _is_label_segment
from docvlm.engines.layout.candidates.parties import (
    _ID_ALONE,
    _NON_ALNUM,
    _PROMINENT,
    Block,
    _block_below,
    _block_top,
    _domains,
    _label_value_span,
    _logo_continuation,
    _name_ok,
    _party_from_block,
    _seg_height,
    _strip_title_words,
    inline_address,
    keyed_line,
    label_is_name,
    party_field,
)
from docvlm.engines.layout.candidates.sender import CompanyLine
from docvlm.engines.layout.text import PageLines, TextLine
from docvlm.geometry import union

_log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


def extract_vendor(
    pls: Sequence[PageLines],
    res: HeaderResult,
    dayfirst: bool,
    addresses: Sequence[tuple[CompanyLine, Block | None]] = (),
) -> None:
    """The seller's name and address from the prominent header text, seller labels, ids and the
    footer; ``addresses`` are the document's one-line addresses (``sender.read_addresses``)."""
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
        key = _NON_ALNUM.sub("", text.lower())
        if key and any(key == d or (len(d) >= 4 and key.startswith(d)) for d in domains):
            bonus += 0.35  # the name matches the seller's email or web domain
        if lx.COMPANY_SUFFIX.search(text):
            bonus += 0.15
        return bonus

    def add(score: float, tl: TextLine, a: int, b: int, why: str, checked: bool = False) -> None:
        text = tl.text[a:b].strip().rstrip(",;:")
        if not (checked or _name_ok(text)):
            return
        if _in_regions(tl.page, tl.box(a, b), regions):
            return
        score += name_bonus(text)
        s = a + (len(tl.text[a:b]) - len(tl.text[a:b].lstrip()))
        cands.append((score, text, tl.evidence(s, s + len(text)), tl, (a, b)))
        _log.debug("vendor candidate %.2f %r (%s)", score, text, why)

    # 0. the first part of a one-line address ("Name · Street 1 · 12345 Town"): above the address
    #    window it is the return address, the seller's own; at the top or foot of the page, its
    #    letterhead or legal line
    for cl, window in addresses:
        add(1.2 if window is not None else 0.8, cl.line, cl.start, cl.end, "company line", checked=True)

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
                parsers.find_dates(seg_text)  # "vom 31.10.2018" under a title: not a letterhead
                or _is_label_segment(seg_text)
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
                if not m or label_is_name(tl.text[m.end() : b0]):
                    continue
                strong = not lx.PAYEE_LABEL.match(m.group(0))
                lbox = tl.box(a0, m.end())
                first = _label_value_span(tl, m.end(), b0)
                block = _block_below(
                    p, tl, lbox[0], max(lbox[2], lbox[0] + 8 * tl.height), first, max_lines=6
                )
                for btl, a, b in block.lines:
                    field = party_field(btl, a, b)
                    if field is not None:
                        if field[0] == "address":
                            continue
                        a = field[1]  # "Name: X" under the seller's label
                    text = btl.text[a:b].strip()
                    if (text.startswith("(") and text.endswith(")")) or keyed_line(btl, a, b):
                        continue  # a remark, or the seller's number in a register
                    if _ID_ALONE.fullmatch(text) or lx.TAX_ID_LABEL_RE.match(text):
                        continue  # its VAT id or location number over its name
                    if (cut := inline_address(btl.text[a:b])) is not None:
                        b = a + cut[0]  # "Seller: Name, Street 1, 12345 Town"
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
            key = _NON_ALNUM.sub("", tl.text[a0:b0].lower())
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
    head = _WORD.findall(ranked[0][0][1].lower())
    for cs in ranked[1:]:
        words = _WORD.findall(cs[0][1].lower())
        # the same name with its legal form added ("Amazon Web Services, Inc.") is not a completion
        core = _WORD.findall(lx.COMPANY_SUFFIX.sub("", cs[0][1]).lower())
        if len(core) > len(head) and words[: len(head)] == head and max(c[0] for c in cs) >= 0.4:
            ranked.remove(cs)
            ranked.insert(0, cs)
            break
    group = ranked[0]
    best = max(group, key=lambda c: c[0])
    score = min(0.95, 0.35 + 0.5 * best[0] + 0.05 * (len(group) - 1))
    cont = None if lx.COMPANY_SUFFIX.search(best[1]) else _legal_form_line_under(pls, best[3], best[4])
    if cont is not None:
        # a name set on two lines, the second ending in its legal form ("Musterhafter" over
        # "Versicherungsverein Musterstadt a.G."): both lines are the name, the address is under them
        nxt, c0, c1 = cont
        text = f"{best[1]} {nxt.text[c0:c1].strip()}"
        best = (
            best[0],
            text,
            Evidence(nxt.page, union([best[2].bbox, nxt.box(c0, c1)]), text, 1.0),
            nxt,
            cont[1:],
        )
        group = [best]
    res.put(Candidate("vendor.name", best[1], best[2], score))
    # address: lines under the name, or under another candidate of the same name (e.g. its legal form)
    name_tokens = set(_WORD.findall(best[1].lower()))
    for cs in [group, *ranked[1:]]:
        for _, text, _ev, tl, (a, b) in sorted(cs, key=lambda c: -c[0]):
            if not name_tokens <= set(_WORD.findall(text.lower())):
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


def _legal_form_line_under(
    pls: Sequence[PageLines], tl: TextLine, span: tuple[int, int]
) -> tuple[TextLine, int, int] | None:
    """The segment right under a name, in its column and type size, that ends in a legal form and
    holds no digit: the rest of the name."""
    pl = next((x for x in pls if x.page.number == tl.page), None)
    if pl is None or tl.index + 1 >= len(pl.lines):
        return None
    box = tl.box(*span)
    nxt = pl.lines[tl.index + 1]
    if nxt.bbox[1] - box[3] > 0.6 * tl.height:
        return None
    for c0, c1 in nxt.segments:
        sbox = nxt.box(c0, c1)
        text = nxt.text[c0:c1].strip()
        if (
            abs(sbox[0] - box[0]) < tl.height
            and 0.8 <= nxt.height / max(tl.height, 1e-6) <= 1.25
            and not _HAS_DIGIT.search(text)
            and len(text.split()) <= 6
            and lx.COMPANY_SUFFIX.search(text)
            and _name_ok(text)
        ):
            return nxt, c0, c1
    return None
