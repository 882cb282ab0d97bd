"""Overlapping tiles over a page image, and merging of the words recognised on each tile.

Used by OCR for pages larger than the detector's side limit, and by VLM engines whose input
resolution is capped. In: a page size and a budget. Out: ``Tile`` crops in reading order; after
recognition, ``merge_tile_words`` returns one de-duplicated word list in page coordinates.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from docvlm.datamodel import Word
from docvlm.errors import DocvlmError

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

# a word box this close (pixels) to an inner tile edge is treated as cut by the seam
SEAM_MARGIN_PX = 2.0
# boxes of two words from different tiles overlapping this much (IoU) are the same word
DUPLICATE_IOU = 0.5
# a box spanned this much (horizontally) by a longer word's box is a truncated copy of that word
CONTAINED_FRACTION = 0.7


@dataclass(frozen=True)
class Tile:
    """A crop of the page in pixel coordinates: ``[x0, x1) x [y0, y1)``; ``index`` is reading order."""

    index: int
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)


def _tile_length(length: int, n: int, overlap: float) -> int:
    """Side of each of ``n`` tiles covering ``length`` when neighbours overlap by ``overlap`` x side."""
    if n == 1:
        return length
    return min(length, math.ceil(length / (n - (n - 1) * overlap)))


def _starts(length: int, n: int, side: int) -> list[int]:
    """Evenly spaced tile starts so the first tile starts at 0 and the last one ends at ``length``."""
    if n == 1:
        return [0]
    step = (length - side) / (n - 1)
    return [round(i * step) for i in range(n)]


def _count_needed(length: int, side_limit: int, overlap: float) -> int:
    """Fewest tiles of side <= ``side_limit`` that cover ``length`` with the given overlap."""
    if length <= side_limit:
        return 1
    # n tiles of side t cover n*t - (n-1)*overlap*t; solve for n and round up
    n = max(2, math.ceil((length / side_limit - overlap) / (1 - overlap)))
    while _tile_length(length, n, overlap) > side_limit:
        n += 1
    return n


def plan_tiles(
    width: int, height: int, max_pixels: int, overlap: float = 0.1, max_side: int | None = None
) -> list[Tile]:
    """Plan overlapping crops that cover a ``width`` x ``height`` page.

    Every tile has at most ``max_pixels`` pixels and sides of at most ``max_side`` (if given);
    neighbouring tiles overlap by at least ``overlap`` of the tile side. The grid with the fewest
    tiles wins (ties: the squarest tiles). Tiles come in reading order: rows top to bottom, each
    row left to right. A page already within budget gives one tile covering it.
    """
    if width <= 0 or height <= 0:
        raise DocvlmError(f"cannot tile an empty page of {width}x{height} pixels")
    if max_pixels < 1:
        raise DocvlmError(f"max_pixels must be positive, got {max_pixels}")
    if not 0.0 <= overlap < 0.5:
        raise DocvlmError(f"overlap must be in [0, 0.5), got {overlap}")
    side = max_side if max_side is not None else max(width, height)
    if side < 1:
        raise DocvlmError(f"max_side must be positive, got {max_side}")
    # a tile narrower than this cannot hold text worth recognising; protects against absurd budgets
    min_side = 8
    if max_pixels < min_side * min_side or side < min_side:
        raise DocvlmError(f"tile budget too small: max_pixels={max_pixels}, max_side={max_side}")

    best: tuple[int, float, int, int] | None = None  # (count, aspect badness, nx, ny)
    nx = _count_needed(width, side, overlap)
    while True:
        tw = _tile_length(width, nx, overlap)
        if tw < min_side:
            break
        h_limit = min(side, max_pixels // tw)
        if h_limit >= min_side:
            ny = _count_needed(height, h_limit, overlap)
            th = _tile_length(height, ny, overlap)
            badness = max(tw / th, th / tw)
            cand = (nx * ny, badness, nx, ny)
            if best is None or cand[:2] < best[:2]:
                best = cand
        # more columns only help while they can still beat the best count
        if best is not None and nx + 1 > best[0]:
            break
        nx += 1
    if best is None:
        raise DocvlmError(f"cannot tile {width}x{height} within max_pixels={max_pixels}, max_side={max_side}")
    _, _, nx, ny = best
    tw, th = _tile_length(width, nx, overlap), _tile_length(height, ny, overlap)
    tiles: list[Tile] = []
    for y0 in _starts(height, ny, th):
        for x0 in _starts(width, nx, tw):
            tiles.append(Tile(index=len(tiles), x0=x0, y0=y0, x1=x0 + tw, y1=y0 + th))
    _log.debug(
        "planned %d tiles (%dx%d of %dx%d px) for a %dx%d page", len(tiles), nx, ny, tw, th, width, height
    )
    return tiles


def crop(image: Image.Image, tile: Tile) -> Image.Image:
    """The part of ``image`` under ``tile`` (a new PIL image)."""
    if tile.x1 > image.width or tile.y1 > image.height or tile.x0 < 0 or tile.y0 < 0:
        raise DocvlmError(f"tile {tile.box} is outside the {image.width}x{image.height} image")
    return image.crop(tile.box)


@dataclass
class _Placed:
    word: Word
    tile: Tile
    cut: bool  # touches an inner edge of its tile, so it may be truncated
    keep: bool = True


def _area(b: tuple[float, float, float, float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _intersection(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _touches_inner_edge(
    box: tuple[float, float, float, float], tile: Tile, page: tuple[int, int, int, int]
) -> bool:
    """True if the box comes near an edge of ``tile`` that is not also an edge of the page.

    "Near" is half the box height: OCR drops the sliver of a cut letter, so a truncated word's
    box often ends a few pixels before the seam.
    """
    m = max(SEAM_MARGIN_PX, 0.5 * (box[3] - box[1]))
    return (
        (tile.x0 > page[0] and box[0] <= tile.x0 + m)
        or (tile.y0 > page[1] and box[1] <= tile.y0 + m)
        or (tile.x1 < page[2] and box[2] >= tile.x1 - m)
        or (tile.y1 < page[3] and box[3] >= tile.y1 - m)
    )


def _covers(whole: Word, piece: Word) -> bool:
    """True if ``whole`` spans most of ``piece`` horizontally on the same line.

    Boxes of one word read in two tiles differ in height (a cut piece often gets a taller box),
    so the test is horizontal coverage of the piece plus a same-line vertical overlap.
    """
    w = piece.x1 - piece.x0
    if w <= 0:
        return False
    inter_x = min(whole.x1, piece.x1) - max(whole.x0, piece.x0)
    inter_y = min(whole.y1, piece.y1) - max(whole.y0, piece.y0)
    return inter_x / w >= CONTAINED_FRACTION and inter_y >= 0.5 * min(whole.height, piece.height)


def _better(a: _Placed, b: _Placed) -> bool:
    """Should ``a`` be kept over its duplicate ``b``: the longer (un-truncated) text, then not cut, then confidence."""
    # duplicates share text, so the longer reading is the one a seam did not truncate
    return (len(a.word.text), not a.cut, a.word.conf) > (len(b.word.text), not b.cut, b.word.conf)


def merge_tile_words(tiles_words: Sequence[tuple[Tile, Sequence[Word]]], scale: float = 1.0) -> list[Word]:
    """Merge words recognised per tile into one list in page coordinates.

    In: ``(tile, words)`` pairs, each word box in the tile's own pixel coordinates. Out: words
    shifted by the tile origin and multiplied by ``scale`` (e.g. 72/dpi to get PDF points),
    sorted top to bottom. A word that touches a seam is dropped when a neighbouring tile saw
    the whole word; duplicates in overlaps (high IoU, or a truncated piece inside a longer
    word) are merged, keeping the un-truncated, then the longer, then the more confident one.
    Line ids are made unique across tiles.
    """
    if not tiles_words:
        return []
    tiles = [t for t, _ in tiles_words]
    page = (
        min(t.x0 for t in tiles),
        min(t.y0 for t in tiles),
        max(t.x1 for t in tiles),
        max(t.y1 for t in tiles),
    )
    placed: list[_Placed] = []
    line_offset = 0
    for tile, words in tiles_words:
        max_line = -1
        for w in words:
            box = (w.x0 + tile.x0, w.y0 + tile.y0, w.x1 + tile.x0, w.y1 + tile.y0)
            line = w.line + line_offset if w.line >= 0 else -1
            block = w.block + line_offset if w.block >= 0 else -1
            max_line = max(max_line, w.line, w.block)
            moved = Word(text=w.text, bbox=box, page=w.page, conf=w.conf, line=line, block=block)
            placed.append(_Placed(moved, tile, _touches_inner_edge(box, tile, page)))
        line_offset += max_line + 1

    # a cut word is dropped when a word of another tile, not cut itself, covers it: that tile has the whole word
    whole = [p for p in placed if not p.cut]
    for p in placed:
        if p.cut and any(q.tile is not p.tile and _covers(q.word, p.word) for q in whole):
            p.keep = False

    # duplicates can only occur between words of different tiles inside both tiles' overlap
    by_tile: dict[int, list[_Placed]] = {}
    for p in placed:
        if p.keep:
            by_tile.setdefault(p.tile.index, []).append(p)
    for i, a_tile in enumerate(tiles):
        for b_tile in tiles[i + 1 :]:
            ov = (
                max(a_tile.x0, b_tile.x0),
                max(a_tile.y0, b_tile.y0),
                min(a_tile.x1, b_tile.x1),
                min(a_tile.y1, b_tile.y1),
            )
            if ov[2] <= ov[0] or ov[3] <= ov[1]:
                continue
            a_words = [p for p in by_tile.get(a_tile.index, []) if _intersection(p.word.bbox, ov) > 0]
            b_words = [p for p in by_tile.get(b_tile.index, []) if _intersection(p.word.bbox, ov) > 0]
            for pa in a_words:
                for pb in b_words:
                    if not (pa.keep and pb.keep):
                        continue
                    if pa.cut and pb.cut and _joinable(pa.word, pb.word):
                        pa.word, pb.keep = _stitch(pa.word, pb.word), False
                    elif _same_word(pa.word, pb.word):
                        winner, loser = (pa, pb) if _better(pa, pb) else (pb, pa)
                        loser.keep = False
                        if winner.cut and loser.cut:
                            # no tile saw the whole word (wider than the overlap): join the two pieces
                            winner.word = _stitch(winner.word, loser.word)
    out = [p.word for p in placed if p.keep]
    if scale != 1.0:
        out = [w.scaled(scale) for w in out]
    out.sort(key=lambda w: (w.y0, w.x0))
    _log.debug("merged %d tile words into %d", len(placed), len(out))
    return out


def _suffix_prefix(lt: str, rt: str) -> int:
    """Length of the longest suffix of ``lt`` that starts ``rt`` (case-insensitive)."""
    lt, rt = lt.casefold(), rt.casefold()
    for k in range(min(len(lt), len(rt)), 0, -1):
        if lt[-k:] == rt[:k]:
            return k
    return 0


def _joinable(a: Word, b: Word) -> bool:
    """Two cut pieces side by side on one line whose texts overlap: the two halves of one wide word."""
    left, right = (a, b) if a.x0 <= b.x0 else (b, a)
    inter_x = min(left.x1, right.x1) - max(left.x0, right.x0)
    inter_y = min(a.y1, b.y1) - max(a.y0, b.y0)
    if inter_x <= 0 or inter_y < 0.6 * min(a.height, b.height) or right.x1 <= left.x1:
        return False
    return _suffix_prefix(left.text, right.text) >= 2


def _stitch(a: Word, b: Word) -> Word:
    """One word from two pieces of it cut by a vertical seam: text joined on its common part, union box."""
    left, right = (a, b) if a.x0 <= b.x0 else (b, a)
    lt, rt = left.text, right.text
    text = lt if len(lt) >= len(rt) else rt
    if rt.casefold() not in lt.casefold() and lt.casefold() not in rt.casefold():
        # the longest suffix of the left piece that starts the right piece was read twice
        k = _suffix_prefix(lt, rt)
        if k:
            text = lt + rt[k:]
    box = (min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1))
    line = left.line if left.line >= 0 else right.line
    return Word(text=text, bbox=box, page=left.page, conf=min(a.conf, b.conf), line=line, block=left.block)


def _same_word(a: Word, b: Word) -> bool:
    """Two words from different tiles are one word: high IoU, or one a truncated piece of the other."""
    inter = _intersection(a.bbox, b.bbox)
    if inter <= 0:
        return False
    area_a, area_b = _area(a.bbox), _area(b.bbox)
    union = area_a + area_b - inter
    if union > 0 and inter / union >= DUPLICATE_IOU:
        return True
    small, large = (a, b) if (a.x1 - a.x0) <= (b.x1 - b.x0) else (b, a)
    # a piece of a word cut by a seam lies inside the full word and spells part of it
    return _covers(large, small) and _shares_text(small.text, large.text)


def _shares_text(piece: str, whole: str) -> bool:
    p, w = piece.casefold(), whole.casefold()
    if not p:
        return True
    if p in w:
        return True
    # truncated OCR pieces often differ by a misread boundary character
    core = p[1:-1] if len(p) > 3 else p
    return bool(core) and core in w


def plan_strips(length: int, max_rows: int, overlap: int) -> list[tuple[int, int]]:
    """Cut ``length`` rows into ``(top, bottom)`` strips of at most ``max_rows`` that overlap by at least ``overlap``.

    As few strips as that allows, all ``max_rows`` high and spread evenly from the top row to the
    last. Multiples of 32 in give multiples of 32 out (what convolutional detectors need).
    """
    if max_rows <= overlap or overlap < 0:
        raise DocvlmError(f"strips of {max_rows} rows cannot overlap by {overlap}")
    if length <= max_rows:
        return [(0, length)]
    n = math.ceil((length - overlap) / (max_rows - overlap))
    spread = (length - max_rows) / (n - 1)
    # tops are rounded down to the 32-row grid; the gap between two never exceeds max_rows - overlap
    tops = [int(k * spread) // 32 * 32 for k in range(n - 1)] + [length - max_rows]
    return [(top, top + max_rows) for top in tops]
