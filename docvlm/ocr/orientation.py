"""Page orientation: is a page upright, sideways (90/270) or upside down (180)?

In: a page image and a ``LineReader`` (any backend that can find text-line boxes on an image and
score how well it reads one crop), optionally the words a recognition pass already found. Out:
the degrees counter-clockwise (PIL ``Image.rotate``) that make the page upright; 0 when unsure.
Sideways pages are told by the shape of their text lines, upside-down ones by comparing how
well the widest lines read as they are and turned by 180 degrees.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from PIL import Image

from docvlm.datamodel import BBox, Word
from docvlm.geometry import union
from docvlm.imaging import downscale, to_grey
from docvlm.ocr.lines import LAYOUT_SIDE, int_box, level_and_upright

_log = logging.getLogger(__name__)

# text-line crops compared upright vs upside down to tell 0 from 180 degrees
ORIENTATION_CROPS = 8
# a recognition pass this confident over at least this many level lines is taken as upright
UPRIGHT_MIN_CONF = 0.88
UPRIGHT_MIN_LINES = 5

IntBox = tuple[int, int, int, int]


class LineReader(Protocol):
    """What orientation needs from a backend."""

    def line_boxes(self, image: Image.Image) -> list[IntBox]:
        """Integer pixel boxes of the text lines found on ``image``."""
        ...

    def line_score(self, crop: Image.Image) -> float:
        """Recognition evidence for one line crop read as it is (confidence times length)."""
        ...


def reads_upright(lines: Iterable[list[Word]]) -> bool:
    """Whether a recognition pass read many level lines with high confidence.

    Upside-down text still yields characters, but with low confidence (on SROIE receipts the
    character-weighted mean was 0.61-0.75 turned vs 0.92-0.99 upright), so a confident pass makes
    the per-crop upside-down test (16 extra recognition calls, ~0.4 s a page) unnecessary.
    """
    num = den = 0.0
    n_lines = 0
    boxes: list[BBox] = []
    for lw in lines:
        box = union(w.bbox for w in lw)
        boxes.append(box)
        chars = sum(len(w.text) for w in lw)
        if chars < 4 or box[2] - box[0] < 2 * (box[3] - box[1]):
            continue
        n_lines += 1
        num += sum(w.conf * len(w.text) for w in lw)
        den += chars
    # a sideways page read line by line (the recogniser turns tall crops) has a few short level
    # lines too; they do not make it upright
    level, upright = level_and_upright(boxes)
    return n_lines >= UPRIGHT_MIN_LINES and level >= upright and den > 0 and num / den >= UPRIGHT_MIN_CONF


def detect_rotation(reader: LineReader, image: Image.Image) -> int:
    """Orientation from a text-detection pass on a downscaled copy (used when no words are known yet)."""
    small, _ = downscale(to_grey(image), LAYOUT_SIDE)
    boxes = reader.line_boxes(small)
    if not boxes:
        return 0
    return decide(reader, small, boxes)


def check_rotation(reader: LineReader, image: Image.Image, words: list[Word]) -> int:
    """Orientation from the lines of a recognition pass over ``image`` (no extra detection needed)."""
    lines: dict[int, list[Word]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    boxes: list[IntBox] = []
    for lid, lw in lines.items():
        if lid < 0:
            boxes.extend(int_box(w.bbox, image.size) for w in lw)
        else:
            boxes.append(int_box(union(w.bbox for w in lw), image.size))
    if reads_upright(lines.values()):
        return 0  # a confident reading of level lines: neither sideways nor upside down
    return decide(reader, image, boxes)


def decide(reader: LineReader, image: Image.Image, boxes: list[IntBox]) -> int:
    """Sideways pages are told by the shape of the text lines; upside down ones by recognition scores."""
    boxes = [b for b in boxes if b[2] - b[0] >= 4 and b[3] - b[1] >= 4]
    if not boxes:
        return 0
    horizontal, vertical = level_and_upright(boxes)
    if vertical > horizontal:
        # sideways: turn a small copy a quarter and detect again, then settle 90 vs 270 below
        small, _ = downscale(image, LAYOUT_SIDE)
        small = small.rotate(90, expand=True)
        return (90 + upside_down(reader, small, reader.line_boxes(small))) % 360
    return upside_down(reader, image, boxes)


def upside_down(reader: LineReader, image: Image.Image, boxes: list[IntBox]) -> int:
    """180 if the widest text lines read better turned upside down, else 0."""
    wide = [b for b in boxes if (b[2] - b[0]) > 2 * (b[3] - b[1])]
    wide.sort(key=lambda b: b[0] - b[2])
    if not wide:
        return 0
    upright_score = flipped_score = 0.0
    for box in wide[:ORIENTATION_CROPS]:
        piece = image.crop(box)
        upright_score += reader.line_score(piece)
        flipped_score += reader.line_score(piece.rotate(180))
    _log.debug("orientation: upright %.2f vs flipped %.2f", upright_score, flipped_score)
    return 180 if flipped_score > upright_score * 1.1 else 0
