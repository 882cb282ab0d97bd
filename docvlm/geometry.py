"""Page geometry shared by the engines, grounding and QA: text lines, reading order, box maths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from docvlm.datamodel import BBox, Word


def union(boxes: Iterable[BBox]) -> BBox:
    it = iter(boxes)
    first = next(it, None)
    if first is None:
        return (0.0, 0.0, 0.0, 0.0)
    x0, y0, x1, y1 = first
    # one pass, keeping the first of equal values as min() and max() do
    for b in it:
        if b[0] < x0:
            x0 = b[0]
        if b[1] < y0:
            y0 = b[1]
        if b[2] > x1:
            x1 = b[2]
        if b[3] > y1:
            y1 = b[3]
    return (x0, y0, x1, y1)


def v_overlap(a: BBox, b: BBox) -> float:
    """Vertical overlap as a fraction of the shorter box's height."""
    inter = min(a[3], b[3]) - max(a[1], b[1])
    h = min(a[3] - a[1], b[3] - b[1])
    return max(0.0, inter) / h if h > 0 else 0.0


def h_overlap(a: BBox, b: BBox) -> float:
    """Horizontal overlap as a fraction of the narrower box's width."""
    inter = min(a[2], b[2]) - max(a[0], b[0])
    w = min(a[2] - a[0], b[2] - b[0])
    return max(0.0, inter) / w if w > 0 else 0.0


@dataclass
class Line:
    """Words on one visual line, left to right, split into segments at wide gaps."""

    words: list[Word]
    page: int = 1
    segments: list[list[Word]] = field(default_factory=list)

    @property
    def bbox(self) -> BBox:
        return union(w.bbox for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def y(self) -> float:
        b = self.bbox
        return (b[1] + b[3]) / 2

    @property
    def height(self) -> float:
        return median([w.height for w in self.words])


def median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    if not s:
        return 0.0
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


SEGMENT_GAP = 1.6  # a gap this many word heights wide starts a new segment of a line


def group_lines(words: Sequence[Word], gap_factor: float = SEGMENT_GAP) -> list[Line]:
    """Group words into visual lines by vertical overlap, top to bottom.

    Words that share a text-line id (``Word.line``: a PDF text line, an OCR detector line) move
    together: a source that saw them as one line is not second-guessed, so a line of larger type
    between two rows of small type is not split between them. Each such unit (or word without an
    id) joins the line whose vertical band it overlaps most (>= 50% of the shorter height). Each
    line is then split into segments where the horizontal gap exceeds ``gap_factor`` times the
    line height, which separates label/value columns on one row.
    """
    if not words:
        return []
    by_id: dict[tuple[int, int, int], list[Word]] = {}
    units: list[list[Word]] = []
    for w in words:
        if w.line < 0:
            units.append([w])
        elif (key := (w.page, w.block, w.line)) in by_id:
            by_id[key].append(w)
        else:
            by_id[key] = [w]
            units.append(by_id[key])
    # an id whose words do not share a row is not a line: its words are placed one by one
    units = [part for u in units for part in ([u] if _one_row(u) else [[w] for w in u])]
    boxes = [u[0].bbox if len(u) == 1 else union(w.bbox for w in u) for u in units]
    order = sorted(range(len(units)), key=lambda i: ((boxes[i][1] + boxes[i][3]) / 2, boxes[i][0]))
    lines: list[list[Word]] = []
    bands: list[list[float]] = []  # [y0, y1] of each open line
    for i in order:
        unit, (_, uy0, _, uy1) = units[i], boxes[i]
        uh = uy1 - uy0
        best, best_ov = -1, 0.5
        # only the last few lines can overlap since units are sorted by centre y
        for j in range(max(0, len(lines) - 4), len(lines)):
            # v_overlap of the band and the unit, inlined: this loop runs for every word of a page
            by0, by1 = bands[j]
            inter = (by1 if by1 < uy1 else uy1) - (by0 if by0 > uy0 else uy0)
            if inter <= 0:
                continue
            h = by1 - by0 if by1 - by0 < uh else uh
            if h > 0 and inter / h >= best_ov and not _collides_unit(lines[j], unit):
                best, best_ov = j, inter / h
        if best < 0:
            lines.append(list(unit))
            bands.append([uy0, uy1])
        else:
            # keep the band at the median height so a tall word does not swallow the next line
            lines[best].extend(unit)
            if len(lines[best]) < 3:
                bands[best][0] = min(bands[best][0], uy0)
                bands[best][1] = max(bands[best][1], uy1)
    out: list[Line] = []
    for lw in lines:
        lw.sort(key=_left_edge)
        line = Line(words=lw, page=lw[0].page)
        line.segments = split_segments(lw, gap_factor)
        out.append(line)
    out.sort(key=_top_left)
    return out


def _left_edge(w: Word) -> float:
    return w.bbox[0]  # ``Word.x0`` without the property call: a sort key of every word


def _top_left(line: Line) -> tuple[float, float]:
    b = line.bbox  # a union over the words: computed once per line for the sort
    return (b[1], b[0])


def _one_row(words: Sequence[Word]) -> bool:
    """Whether every word overlaps the middle word's height by half (of the shorter height)."""
    if len(words) < 2:
        return True
    _, m0, _, m1 = sorted(words, key=lambda w: w.cy)[len(words) // 2].bbox
    mh = m1 - m0
    for w in words:  # v_overlap(mid, w.bbox) >= 0.5, inlined
        _, y0, _, y1 = w.bbox
        inter = (m1 if m1 < y1 else y1) - (m0 if m0 > y0 else y0)
        h = mh if mh < y1 - y0 else y1 - y0
        if h <= 0 or inter / h < 0.5:
            return False
    return True


def _collides_unit(line_words: list[Word], unit: Sequence[Word]) -> bool:
    """Whether a word of ``unit`` horizontally overlaps, by more than half of the narrower width,
    one of the last six words placed on the line: it then belongs to another line."""
    recent = [o.bbox for o in line_words[-6:]]
    for w in unit:
        wx0, _, wx1, _ = w.bbox
        ww = wx1 - wx0
        for ox0, _, ox1, _ in recent:
            inter = (ox1 if ox1 < wx1 else wx1) - (ox0 if ox0 > wx0 else wx0)
            width = ox1 - ox0 if ox1 - ox0 < ww else ww
            if inter > 0 and width > 0 and inter / width > 0.5:
                return True
    return False


def split_segments(words: Sequence[Word], gap_factor: float = SEGMENT_GAP) -> list[list[Word]]:
    """Split left-to-right words where the gap is wider than ``gap_factor`` x median height."""
    if not words:
        return []
    h = median([w.bbox[3] - w.bbox[1] for w in words]) or 1.0  # ``Word.height``, inlined
    gap = gap_factor * h
    segs: list[list[Word]] = [[words[0]]]
    for prev, w in pairwise(words):
        if w.bbox[0] - prev.bbox[2] > gap:
            segs.append([w])
        else:
            segs[-1].append(w)
    return segs


def segment_text(seg: Sequence[Word]) -> str:
    return " ".join(w.text for w in seg)


def reading_order(words: Sequence[Word]) -> list[Word]:
    """Words in reading order: lines top to bottom, words left to right."""
    return [w for line in group_lines(words) for w in line.words]
