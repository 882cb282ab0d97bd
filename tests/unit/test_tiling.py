"""Tile planning (coverage, budget, order) and merging of words recognised per tile."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from docvlm.datamodel import Word
from docvlm.errors import DocvlmError
from docvlm.tiling import Tile, crop, merge_tile_words, plan_strips, plan_tiles


def _coverage(width: int, height: int, tiles: list[Tile]) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.int32)
    for t in tiles:
        mask[t.y0 : t.y1, t.x0 : t.x1] += 1
    return mask


@pytest.mark.parametrize(
    ("width", "height", "max_pixels", "max_side"),
    [
        (1700, 2200, 1_000_000, None),
        (1080, 3500, 4_000_000, 2000),  # a long receipt: one column, several rows
        (5000, 600, 1_000_000, 1000),  # a wide strip
        (2481, 3508, 1_600_000, 1280),
        (999, 1001, 250_000, 600),
    ],
)
def test_plan_covers_page_within_budget_in_reading_order(width, height, max_pixels, max_side):
    tiles = plan_tiles(width, height, max_pixels, overlap=0.1, max_side=max_side)
    cover = _coverage(width, height, tiles)
    assert cover.min() >= 1, "some pixels are in no tile"
    for t in tiles:
        assert 0 <= t.x0 < t.x1 <= width and 0 <= t.y0 < t.y1 <= height
        assert t.width * t.height <= max_pixels
        if max_side is not None:
            assert t.width <= max_side and t.height <= max_side
    assert [t.index for t in tiles] == list(range(len(tiles)))
    assert tiles == sorted(tiles, key=lambda t: (t.y0, t.x0)), "tiles must come row by row, left to right"


def test_neighbours_overlap_by_at_least_the_requested_fraction():
    tiles = plan_tiles(3000, 3000, 1_000_000, overlap=0.15)
    assert len(tiles) > 1
    xs = sorted({t.x0 for t in tiles})
    ys = sorted({t.y0 for t in tiles})
    w, h = tiles[0].width, tiles[0].height
    for a, b in itertools.pairwise(xs):
        assert a + w - b >= 0.15 * w - 1
    for a, b in itertools.pairwise(ys):
        assert a + h - b >= 0.15 * h - 1


def test_page_within_budget_is_one_tile():
    assert plan_tiles(800, 600, 1_000_000) == [Tile(0, 0, 0, 800, 600)]


def test_plan_uses_few_tiles():
    # 2 x 2 tiles of ~1100 px fit a 2000x2000 page with 10% overlap under a 1.3 MP budget
    assert len(plan_tiles(2000, 2000, 1_300_000, overlap=0.1)) == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 0, "height": 10, "max_pixels": 100},
        {"width": 10, "height": 10, "max_pixels": 0},
        {"width": 100, "height": 100, "max_pixels": 10_000, "overlap": 0.6},
        {"width": 100, "height": 100, "max_pixels": 10_000, "max_side": 2},
    ],
)
def test_plan_rejects_bad_arguments(kwargs):
    with pytest.raises(DocvlmError):
        plan_tiles(**kwargs)


def test_crop_returns_the_tile_and_refuses_outside():
    img = Image.new("RGB", (100, 80))
    img.putpixel((30, 20), (255, 0, 0))
    part = crop(img, Tile(0, 30, 20, 60, 50))
    assert part.size == (30, 30) and part.getpixel((0, 0)) == (255, 0, 0)
    with pytest.raises(DocvlmError):
        crop(img, Tile(0, 50, 50, 120, 70))


def _simulate_tiles(words: list[Word], tiles: list[Tile]) -> list[tuple[Tile, list[Word]]]:
    """What OCR on each tile would see: whole words in tile coordinates; a word cut by the tile edge
    reads as the characters inside the tile, with a lower confidence."""
    out = []
    for t in tiles:
        seen = []
        for w in words:
            x0, y0, x1, y1 = max(w.x0, t.x0), max(w.y0, t.y0), min(w.x1, t.x1), min(w.y1, t.y1)
            if x1 - x0 <= 0 or y1 - y0 < 0.6 * (w.y1 - w.y0):
                continue  # not in this tile, or too little of its height to be read
            n = len(w.text)
            c0 = round((x0 - w.x0) / (w.x1 - w.x0) * n)
            c1 = round((x1 - w.x0) / (w.x1 - w.x0) * n)
            if c1 - c0 < 1:
                continue
            whole = c0 == 0 and c1 == n
            seen.append(
                Word(
                    w.text[c0:c1],
                    (x0 - t.x0, y0 - t.y0, x1 - t.x0, y1 - t.y0),
                    conf=w.conf if whole else 0.7,
                    line=w.line,
                )
            )
        out.append((t, seen))
    return out


def _grid_words(width: int, height: int) -> list[Word]:
    words = []
    for line, y in enumerate(range(20, height - 40, 45)):
        x = 15
        k = 0
        while x + 200 < width:
            wlen = 40 + (k * 37) % 100
            words.append(
                Word(f"w{line}x{k}" + "m" * (wlen // 30), (x, y, x + wlen, y + 30), conf=0.95, line=line)
            )
            x += wlen + 25
            k += 1
    return words


@pytest.mark.parametrize(("max_pixels", "overlap"), [(600_000, 0.15), (300_000, 0.1), (900_000, 0.03)])
def test_merge_restores_each_word_once_from_overlapping_tiles(max_pixels, overlap):
    width, height = 1500, 1400
    words = _grid_words(width, height)
    tiles = plan_tiles(width, height, max_pixels, overlap=overlap)
    assert len(tiles) >= 3
    merged = merge_tile_words(_simulate_tiles(words, tiles))
    got = sorted((w.text, tuple(round(v) for v in w.bbox)) for w in merged)
    want = sorted((w.text, tuple(round(v) for v in w.bbox)) for w in words)
    assert got == want


def test_merge_joins_a_word_wider_than_the_overlap():
    a, b = Tile(0, 0, 0, 100, 60), Tile(1, 80, 0, 180, 60)
    # "INVOICE" spans x 60..130: tile a sees "INVOI" up to its edge, tile b sees "OICE" from its edge
    pieces = [
        (a, [Word("INVOI", (60, 10, 100, 30), conf=0.8)]),
        (b, [Word("OICE", (0, 10, 50, 30), conf=0.9)]),
    ]
    merged = merge_tile_words(pieces)
    assert [(w.text, w.bbox) for w in merged] == [("INVOICE", (60, 10, 130, 30))]


def test_merge_keeps_the_more_confident_of_two_duplicates_and_scales():
    a, b = Tile(0, 0, 0, 100, 100), Tile(1, 50, 0, 150, 100)
    # the same word read by both tiles inside the overlap, slightly different boxes and confidence
    wa = Word("TOTAL", (60, 10, 90, 20), conf=0.6, line=0)
    wb = Word("T0TAL", (10.5, 10, 40.5, 20), conf=0.9, line=0)
    merged = merge_tile_words([(a, [wa]), (b, [wb])], scale=0.5)
    assert len(merged) == 1
    assert merged[0].text == "T0TAL" and merged[0].conf == 0.9
    assert merged[0].bbox == pytest.approx((30.25, 5.0, 45.25, 10.0))


def test_merge_makes_line_ids_unique_per_tile():
    a, b = Tile(0, 0, 0, 100, 50), Tile(1, 0, 200, 100, 250)  # far apart: no overlap
    merged = merge_tile_words(
        [(a, [Word("x", (5, 5, 20, 15), line=0)]), (b, [Word("y", (5, 5, 20, 15), line=0)])]
    )
    assert [w.text for w in merged] == ["x", "y"]
    assert merged[0].line != merged[1].line
    assert merged[1].bbox == (5, 205, 20, 215)


def test_merge_of_nothing_is_empty():
    assert merge_tile_words([]) == []


@pytest.mark.parametrize(
    ("length", "max_rows", "overlap"), [(1024, 576, 128), (992, 576, 128), (4992, 256, 96), (300, 576, 128)]
)
def test_strips_cover_every_row_with_the_overlap_asked(length, max_rows, overlap):
    strips = plan_strips(length, max_rows, overlap)
    assert strips[0][0] == 0 and strips[-1][1] == length
    assert all(b - t <= max_rows for t, b in strips)
    assert all(t % 32 == 0 for t, _ in strips)  # multiples of 32 in, multiples of 32 out
    for (t0, b0), (t1, _) in itertools.pairwise(strips):
        assert t0 < t1 and b0 - t1 >= overlap  # neighbours overlap by at least `overlap` rows
    # no more strips than needed: one fewer could not cover the rows with that overlap
    n = len(strips)
    assert n == 1 or (n - 1) * max_rows - (n - 2) * overlap < length


def test_strips_refuse_an_overlap_as_tall_as_the_strip():
    with pytest.raises(DocvlmError):
        plan_strips(1000, 128, 128)
