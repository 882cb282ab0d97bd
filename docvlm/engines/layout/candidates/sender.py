"""The return-address line of a letter-style invoice, and the address window under it.

A European invoice sent in a window envelope prints the seller's return address as one small line
of separated parts ("Name · Street 1 · 12345 Town") right above the buyer's address block, which
carries no label. Both parties follow from it: the line's first part names the seller, and the
block under it is the buyer. The same kind of line, elsewhere at the top or the foot of the page
("Name SARL - 1 rue X - 75000 Paris - France"), still names the seller.

In: the ``PageLines`` of a document. Out: ``read_addresses`` gives the ``CompanyLine`` objects
(the line, the name part's span) of page 1 and the last page, each with the window block under it
where it is a return address; ``extract_window_customer`` puts that block's name and address on
the ``HeaderResult`` as the customer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.base import _HAS_DIGIT, _LETTERS, HeaderResult
from docvlm.engines.layout.candidates.labels import _is_label_segment
from docvlm.engines.layout.candidates.parties import Block, _name_ok, _party_from_block, _postal_line
from docvlm.engines.layout.text import PageLines, TextLine

_log = logging.getLogger(__name__)

# the separators of a one-line address: middle dots, bullets, bars, and spaced dashes
_SEPARATOR = re.compile(r"\s*[·•●∙⋅|]\s*|\s+[-–—]\s+")
_SEPARATOR_HINT = re.compile(r"[·•●∙⋅|]|\s[-–—]\s")  # where _SEPARATOR can match at all
_MIN_PARTS = 3  # name, street, town
_WINDOW_GAP = 2.6  # line heights between the lines of a window block (its lines sit further apart)
_WINDOW_LINES = 7


@dataclass(frozen=True)
class CompanyLine:
    """A one-line address on page 1 and the span of its first part, the company's name."""

    line: TextLine
    start: int
    end: int
    top_half: bool  # in the upper half of the page's text, where a return-address line sits


def _parts(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """The separated parts of ``text[a:b]``, as stripped spans."""
    out: list[tuple[int, int]] = []
    pos = a
    for m in _SEPARATOR.finditer(text, a, b):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, b))
    spans = []
    for s, e in out:
        chunk = text[s:e]
        if chunk.strip():
            s += len(chunk) - len(chunk.lstrip())
            e -= len(chunk) - len(chunk.rstrip())
            spans.append((s, e))
    return spans


def _company_name(text: str) -> bool:
    """A first part that can be a company's name: letters, no house number, not a label or a town."""
    t = text.strip()
    if len(_LETTERS.findall(t)) < 2 or re.match(r"\d", t) or _postal_line(t) or _is_label_segment(t):
        return False
    if lx.TAX_ID_LABEL_RE.match(t) or lx.FIELD_LABEL_RE.search(t) or ":" in t:
        return False  # "TVA : FR..." is a legal line, not an address
    return _name_ok(t) or (lx.COMPANY_SUFFIX.search(t) is not None and not _HAS_DIGIT.search(t))


def company_lines(pl: PageLines) -> list[CompanyLine]:
    """The one-line addresses of a page: a name, then at least two more parts, one a postcode and town."""
    top, bottom = pl.text_box[1], pl.text_box[3]
    middle = top + 0.5 * max(1.0, bottom - top)
    out: list[CompanyLine] = []
    for tl in pl.lines:
        if not _SEPARATOR_HINT.search(tl.text):
            continue  # most lines hold no separator at all
        for a0, b0 in tl.segments:
            parts = _parts(tl.text, a0, b0)
            if len(parts) < _MIN_PARTS:
                continue
            s, e = parts[0]
            if not _company_name(tl.text[s:e]):
                continue
            if not any(_postal_line(tl.text[ps:pe]) for ps, pe in parts[1:]):
                continue
            out.append(CompanyLine(tl, s, e, tl.bbox[1] < middle))
            break
    return out


def window_block(pl: PageLines, cl: CompanyLine) -> Block | None:
    """The address block right under a return-address line: a name line first, a postcode-and-town
    line within the next few lines, each line starting where the block's first line starts."""
    sender = cl.line
    h = sender.height
    x0 = sender.box(cl.start, cl.end)[0]
    lines: list[tuple[TextLine, int, int]] = []
    prev_bottom = sender.bbox[3]
    for nxt in pl.lines[sender.index + 1 :]:
        if len(lines) >= _WINDOW_LINES:
            break
        if nxt.bbox[1] - prev_bottom > _WINDOW_GAP * max(h, nxt.height):
            break
        # the block's left edge: near the return address's start, then the first line's start
        left = lines[0][0].box(lines[0][1], lines[0][2])[0] if lines else x0
        seg = next(
            (
                (s, e)
                for s, e in nxt.segments
                # the window's text may start a little left or right of the return address
                if abs(nxt.box(s, e)[0] - left) <= (max(3.0 * nxt.height, 12.0) if lines else 40.0 + 4.0 * h)
            ),
            None,
        )
        if seg is None:
            continue  # a line of another column (the seller's contact block beside the window)
        text = nxt.text[seg[0] : seg[1]].strip()
        if lines and (_is_label_segment(text) or lx.FIELD_LABEL_RE.search(text)):
            break
        lines.append((nxt, seg[0], seg[1]))
        prev_bottom = nxt.bbox[3]
        if _postal_line(text):
            break
    texts = [tl.text[a:b] for tl, a, b in lines]
    # an address: it ends at a postcode-and-town line, or (a postcode the patterns do not know)
    # it has three lines or more and a house number
    if len(lines) < 2 or not (
        _postal_line(texts[-1]) or (len(lines) >= 3 and any(_HAS_DIGIT.search(t) for t in texts[1:]))
    ):
        return None
    first = lines[0][0].text[lines[0][1] : lines[0][2]].strip()
    if not _name_ok(first) and not lx.COMPANY_SUFFIX.search(first):
        return None
    return Block(lines)


def read_addresses(pls: Sequence[PageLines]) -> list[tuple[CompanyLine, Block | None]]:
    """The one-line addresses of page 1 and of the last page, read once for the seller and the
    buyer rules: each with the window block under it where it is page 1's return address."""
    if not pls:
        return []
    first = pls[0]
    out: list[tuple[CompanyLine, Block | None]] = []
    for pl in {id(first): first, id(pls[-1]): pls[-1]}.values():
        for cl in company_lines(pl):
            out.append((cl, window_block(pl, cl) if pl is first and cl.top_half else None))
    return out


def extract_window_customer(
    addresses: Sequence[tuple[CompanyLine, Block | None]], res: HeaderResult, dayfirst: bool
) -> None:
    """The buyer of a letter-style invoice: the address block under the seller's return-address line."""
    for cl, block in addresses:
        if block is None:
            continue
        _party_from_block(block, "customer", 0.8, res, dayfirst)
        res.customer_regions.append(block.region())
        _log.debug("window block under %r", cl.line.text)
        return
