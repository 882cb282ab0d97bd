"""Text lines with character offsets: a page's words as line strings, the span of every word and segment.

In: a ``Page`` (its cached ``page.lines``). Out: ``PageLines`` holding ``TextLine``s, the page's median
text height and printed area. Every candidate rule reads pages through these.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from docvlm import parsers
from docvlm.datamodel import BBox, Evidence, Page, Word
from docvlm.geometry import Line, median, union

_log = logging.getLogger(__name__)

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
    _seg_boxes: list[BBox] | None = field(default=None, repr=False, compare=False)
    _boxes: dict[tuple[int, int], BBox] = field(default_factory=dict, repr=False, compare=False)

    def seg_at(self, pos: int) -> int:
        """Index of the segment holding character ``pos`` (the last one if past the end)."""
        for i, (a, b) in enumerate(self.segments):
            if pos < b:
                return i if pos >= a else max(0, i - 1)
        return len(self.segments) - 1

    def box(self, start: int, end: int) -> BBox:
        """Box of the characters [start, end); a word cut by the span gets a proportional share."""
        # the rules, the chooser's features and the evidence ask for the same spans again and again
        key = (start, end)
        found = self._boxes.get(key)
        if found is None:
            found = self._boxes[key] = self._span_box(start, end)
        return found

    def _span_box(self, start: int, end: int) -> BBox:
        # the words are in text order: only those from the one holding ``start`` on can overlap
        i = max(0, bisect.bisect_right(self.starts, start) - 1)
        x0 = y0 = float("inf")
        x1 = y1 = float("-inf")
        words, starts = self.words, self.starts
        for j in range(i, len(words)):
            s = starts[j]
            if s >= end:
                break
            w = words[j]
            n = len(w.text)
            e = s + n
            if e <= start:
                continue
            n = n or 1
            wb = w.bbox
            width = wb[2] - wb[0]
            bx0 = wb[0] + width * ((start if start > s else s) - s) / n
            bx1 = wb[0] + width * ((end if end < e else e) - s) / n
            # comparisons instead of min()/max() calls: the same values, a hot loop
            if bx0 < x0:
                x0 = bx0
            if bx1 > x1:
                x1 = bx1
            if wb[1] < y0:
                y0 = wb[1]
            if wb[3] > y1:
                y1 = wb[3]
        return (x0, y0, x1, y1) if x1 >= x0 else self.bbox

    def seg_box(self, i: int) -> BBox:
        """Box of segment ``i`` (computed once per line)."""
        if self._seg_boxes is None:
            self._seg_boxes = [self.box(a, b) for a, b in self.segments]
        return self._seg_boxes[i]

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
                t = w.text
                # what most words are (normalize_text's own test): NFKC leaves them as they are
                if not (t.isascii() and t.isprintable() and " " not in t):
                    t = parsers.normalize_text(t)
                if not t:
                    continue
                if parts:
                    pos += 1  # the joining space
                if seg_first is None:
                    seg_first = pos
                starts.append(pos)
                parts.append(t)
                # a word whose text is unchanged is shared with the page (words are not modified)
                words.append(w if t is w.text else Word(t, w.bbox, w.page, w.conf, w.line, w.block))
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
                bbox=union([w.bbox for w in words]),
                height=median([w.bbox[3] - w.bbox[1] for w in words]) or 1.0,
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
