"""Label search: where a label's value is (right of it, the next segment, or the line below)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence

from docvlm.datamodel import Evidence
from docvlm.engines.layout import lexicon as lx
from docvlm.engines.layout.candidates.values import Reader
from docvlm.engines.layout.text import PageLines, TextLine

_log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Label search


def label_starts(text: str, start: int, end: int) -> list[int]:
    """Every place in ``text[start:end]`` where a header field label (``lx.FIELD_LABEL_RE``) matches.

    One field label pattern matches only where the alternation of them all does, so these are the
    only places to try the field patterns (``matches_at``).
    """
    out: list[int] = []
    m = lx.FIELD_LABEL_RE.search(text, start, end)
    while m is not None:
        out.append(m.start())
        m = lx.FIELD_LABEL_RE.search(text, m.start() + 1, end)
    return out


def matches_at(pat: re.Pattern[str], text: str, starts: Sequence[int], end: int) -> Iterator[re.Match[str]]:
    """``pat.finditer(text, starts[0], end)`` where ``pat`` can match only at ``starts`` (in order).

    The same matches (non-overlapping, left to right), from one anchored try at each place
    instead of a search along the text.
    """
    pos = -1
    for p in starts:
        if p < pos:
            continue
        m = pat.match(text, p, end)
        if m is not None:
            if m.end() == m.start():  # an empty match: let finditer's own rules go on from here
                yield from pat.finditer(text, p, end)
                return
            yield m
            pos = m.end()


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
