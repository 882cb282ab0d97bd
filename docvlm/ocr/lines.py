"""Text-line geometry of OCR: a page's skew and line height, a line crop's ink band, words from a line.

In: page images (PIL) and line quadrilaterals (numpy, tl/tr/br/bl). Out: ``LineStats`` (skew in
degrees, typical line height in pixels), the rows of a crop that hold its own line, and
``Word``s with boxes split from one recognised line. Backend-independent; OpenCV is imported
where it is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from docvlm.datamodel import BBox, Word
from docvlm.imaging import downscale
from docvlm.parsers import normalize_text

# long side of the downscaled copy used to measure text lines (and to detect orientation)
LAYOUT_SIDE = 1024


@dataclass
class LineStats:
    """What the text-line blobs of a page say: skew (degrees counter-clockwise to level) and line height (px)."""

    skew: float
    line_height: float
    lines: int


def line_stats(image: Image.Image) -> LineStats:
    """Measure text lines with OpenCV on a downscaled copy; sizes are returned in ``image`` pixels.

    The page is binarised, letters are smeared horizontally into line blobs, and the long thin
    blobs' minimum-area rectangles give the skew (median angle weighted by length) and the
    typical line height (median thickness). A sideways page has few level lines: when the page
    smeared the other way shows more than twice as many, the height is theirs (the skew stays
    that of the level lines, which the deskew is for).
    """
    import cv2

    small, f = downscale(image, LAYOUT_SIDE)
    gray = np.asarray(small.convert("L"))
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    angles, lengths, heights = _line_blobs(mask)
    # thinner than 3 px is a ruling line of a table, not text
    heights_down = [h for h in _line_blobs(np.ascontiguousarray(mask.T))[2] if h >= 3]
    if len(heights_down) > 2 * len(heights):
        heights = heights_down
    height = float(np.median(heights)) / f if heights else 0.0
    return LineStats(skew=_weighted_median(angles, lengths), line_height=height, lines=len(angles))


def _line_blobs(mask: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Angle (degrees), length and thickness of the level text-line blobs of a binary ink mask."""
    import cv2

    width = mask.shape[1]
    kw = max(9, width // 50)
    blobs = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kw, 3)))
    contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles: list[float] = []
    lengths: list[float] = []
    heights: list[float] = []
    for c in contours:
        (_, _), (w, h), a = cv2.minAreaRect(c)
        # OpenCV reports the angle of the "width" side; bring it to the long side in (-45, 45]
        if w < h:
            w, h, a = h, w, a - 90
        while a > 45:
            a -= 90
        while a <= -45:
            a += 90
        if w >= 5 * max(h, 1) and w >= width / 12:
            angles.append(a)
            lengths.append(w)
            heights.append(h)
    return angles, lengths, heights


def estimate_skew(image: Image.Image) -> float:
    """Small skew of the text in degrees; rotating by it (counter-clockwise, PIL) levels the lines."""
    return line_stats(image).skew


def _weighted_median(values: list[float], weights: list[float]) -> float:
    if not values:
        return 0.0
    order = np.argsort(values)
    v, w = np.asarray(values)[order], np.asarray(weights)[order]
    cum = np.cumsum(w)
    return float(v[int(np.searchsorted(cum, cum[-1] / 2))])


def quad_to_words(
    text: str,
    quad: np.ndarray,
    conf: float,
    line: int,
    pieces: list[tuple[str, float, np.ndarray]] | None = None,
) -> list[Word]:
    """Split one OCR text line into words with boxes.

    With ``pieces`` (per-word boxes from the recogniser, when they spell the same words) those
    boxes are used; otherwise each word gets the slice of the line proportional to its character
    positions, following the line's slope (top and bottom edges of the quadrilateral).
    """
    tokens = text.split()
    if not tokens:
        return []
    if pieces is not None and [normalize_text(p[0]) for p in pieces] == tokens:
        out = []
        for tok, (_, pconf, pquad) in zip(tokens, pieces, strict=True):
            q = np.asarray(pquad, dtype=np.float64)
            box: BBox = (
                float(q[:, 0].min()),
                float(q[:, 1].min()),
                float(q[:, 0].max()),
                float(q[:, 1].max()),
            )
            out.append(Word(text=tok, bbox=box, conf=float(pconf), line=line))
        return out
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    n = len(text)
    words: list[Word] = []
    pos = 0
    for tok in tokens:
        start = text.index(tok, pos)
        end = start + len(tok)
        pos = end
        pts = sub_quad(q, start / n, end / n, 0.0, 1.0)
        box = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
        words.append(Word(text=tok, bbox=box, conf=conf, line=line))
    return words


# ---------------------------------------------------------------- RapidOCR


def ink_rows(crop_img: np.ndarray) -> tuple[int, int]:
    """Rows of a line crop that make its em box, measured from its ink; all rows when unsure.

    Detector boxes are grown around each line by a margin (DB's unclip) and, found on a page
    shrunk to the detector's budget, are coarse: on 200 dpi invoices their height was ~1.3x the
    print. Word heights feed the layout rules (prominent letterhead text, line grouping) and
    the evidence boxes, so they are measured on the full-resolution crop instead.
    """
    import cv2

    h, w = crop_img.shape[:2]
    if h < 4 or w < 4 or h >= 1.5 * w:  # tiny, or a vertical line turned by the crop
        return 0, h
    gray = crop_img.min(axis=2) if crop_img.ndim == 3 else crop_img
    _, ink = cv2.threshold(np.ascontiguousarray(gray), 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count = ink.sum(axis=1)
    band = line_band(count > max(1.0, 0.01 * w), count)
    if band is None:
        return 0, h
    lo, hi = band
    # the bottom is the baseline: descenders are sparse ink, and counting them would make a line
    # with a "g" or "y" taller than an all-capitals line of the same type size
    core = np.nonzero(count[lo:hi] > 0.2 * count[lo:hi].max())[0]
    top, base = lo, lo + int(core[-1]) + 1
    # grown to the em box a PDF text layer reports (ascender to descender, ~1.7x the height of
    # capitals), so OCR'd and born-digital pages give the layout rules words of the same size
    cap = base - top
    return max(0, round(top - 0.25 * cap)), min(h, round(base + 0.45 * cap))


def line_band(inked: np.ndarray, count: np.ndarray) -> tuple[int, int] | None:
    """Rows ``[lo, hi)`` of a crop's own text line, from its inked rows; None when under 2 rows.

    Detector boxes are grown by a margin, so a crop often holds the descenders of the line above
    or the tops of the line below, cut by its edge. The line is the run of inked rows holding the
    most ink, joined with runs across gaps of up to a quarter of its height (the dots of "i" and
    "j", accents); runs cut by the crop's edge past such a gap belong to the neighbours.
    """
    runs: list[list[int]] = []
    for r in map(int, np.nonzero(inked)[0]):
        if runs and r == runs[-1][1]:
            runs[-1][1] = r + 1
        else:
            runs.append([r, r + 1])
    if not runs or sum(b - a for a, b in runs) < 2:
        return None
    # a table rule crossing the crop is a thin run with much ink: runs that cannot be a line of
    # text (under a quarter of the crop high) are passed over when a taller one exists
    n = len(inked)
    tall = [i for i, (a, b) in enumerate(runs) if b - a >= 0.25 * n] or list(range(len(runs)))
    main = max(tall, key=lambda i: int(count[runs[i][0] : runs[i][1]].sum()))
    lo, hi = runs[main]
    up, down = main - 1, main + 1
    while up >= 0 or down < len(runs):
        gap = 0.25 * (hi - lo)
        if up >= 0 and lo - runs[up][1] <= gap and runs[up][0] > 0:
            lo, up = runs[up][0], up - 1
        elif down < len(runs) and runs[down][0] - hi <= gap and runs[down][1] < n:
            hi, down = runs[down][1], down + 1
        else:
            break
    return lo, hi


def sub_quad(quad: np.ndarray, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    """The part of a quadrilateral (tl, tr, br, bl) between fractions ``u0..u1`` along its top and
    bottom edges and ``v0..v1`` down its sides, as (tl, tr, br, bl) in ``quad``'s dtype."""
    tl, tr, br, bl = np.asarray(quad)

    def at(u: float, v: float) -> np.ndarray:
        top, bottom = tl + (tr - tl) * u, bl + (br - bl) * u
        return top + (bottom - top) * v

    return np.stack([at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)]).astype(np.asarray(quad).dtype)


def int_box(b: BBox, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A float box as integer pixels clipped to an image of ``size``."""
    return (
        max(0, int(b[0])),
        max(0, int(b[1])),
        min(size[0], math.ceil(b[2])),
        min(size[1], math.ceil(b[3])),
    )


def quad_box(q: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The integer pixel box around a quadrilateral, clipped to an image of ``size``."""
    return int_box(
        (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())), size
    )


def level_and_upright(boxes: Sequence[tuple[float, float, float, float]]) -> tuple[float, float]:
    """Summed widths of the level text lines and summed heights of the upright (sideways) ones."""
    w = np.array([b[2] - b[0] for b in boxes], dtype=np.float64)
    h = np.array([b[3] - b[1] for b in boxes], dtype=np.float64)
    return float(np.sum(w[w > 1.5 * h])), float(np.sum(h[h > 1.5 * w]))


def ink_segments(
    crop_img: np.ndarray, rows: tuple[int, int], split_gap: float, max_ratio: float
) -> list[tuple[int, int]]:
    """Column ranges ``[a, b)`` of a line crop to read apart: the line cut at its wide blank gaps.

    ``rows`` is the crop's ink band (``ink_rows``), whose height ``h`` is the unit: a run of blank
    columns at least ``split_gap * h`` wide separates two pieces (columns of a receipt, a label and
    its amount), and a piece still wider than ``max_ratio * h`` is cut at its widest blank run
    (a word space). Each piece keeps a margin of a quarter ``h`` of its blank columns on each side.
    The whole crop, ``[(0, width)]``, when it has no such gap or its ink cannot be told.
    """
    import cv2

    w = crop_img.shape[1]
    band = crop_img[rows[0] : rows[1]]
    bh = band.shape[0]
    if bh < 4 or w < 2 * bh:
        return [(0, w)]
    gray = band.min(axis=2) if band.ndim == 3 else band
    _, ink = cv2.threshold(np.ascontiguousarray(gray), 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    inked = ink.sum(axis=0) > 0
    cols = np.nonzero(inked)[0]
    if len(cols) == 0 or inked.all():
        return [(0, w)]
    margin = max(1, round(0.25 * bh))
    pieces = _split_runs(inked, int(cols[0]), int(cols[-1]) + 1, split_gap * bh)
    out: list[tuple[int, int]] = []
    for a, b in pieces:
        out.extend(_split_wide(inked, a, b, max_ratio * bh, 0.2 * bh))
    return [(max(0, a - margin), min(w, b + margin)) for a, b in out]


def _blank_runs(inked: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Runs ``[s, e)`` of blank columns strictly inside the inked span ``[a, b)``."""
    blank = np.concatenate([[0], (~inked[a:b]).astype(np.int8), [0]])
    d = np.diff(blank)
    return [
        (int(s) + a, int(e) + a) for s, e in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0], strict=True)
    ]


def _split_runs(inked: np.ndarray, a: int, b: int, min_gap: float) -> list[tuple[int, int]]:
    """The inked span ``[a, b)`` cut at every blank run at least ``min_gap`` wide."""
    pieces: list[tuple[int, int]] = []
    for s, e in _blank_runs(inked, a, b):
        if e - s >= min_gap:
            pieces.append((a, s))
            a = e
    pieces.append((a, b))
    return pieces


def _split_wide(inked: np.ndarray, a: int, b: int, max_width: float, min_gap: float) -> list[tuple[int, int]]:
    """``[a, b)`` cut at its widest blank runs (at least ``min_gap``) until no piece exceeds ``max_width``."""
    if b - a <= max_width:
        return [(a, b)]
    runs = [r for r in _blank_runs(inked, a, b) if r[1] - r[0] >= min_gap]
    if not runs:
        return [(a, b)]
    # of the wider gaps, the one nearest the middle, so that the two halves come out alike
    widest = max(e - s for s, e in runs)
    mid = (a + b) / 2
    s, e = min((r for r in runs if r[1] - r[0] >= 0.5 * widest), key=lambda r: abs((r[0] + r[1]) / 2 - mid))
    return _split_wide(inked, a, s, max_width, min_gap) + _split_wide(inked, e, b, max_width, min_gap)
