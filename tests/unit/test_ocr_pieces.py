"""Line crops read in pieces (cut at wide blank gaps), the detector's scale for small images, and
the banded resample of big pages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from docvlm import imaging
from docvlm.ocr import rapidocr_backend
from docvlm.ocr.lines import ink_segments


def _line(
    spans: list[tuple[int, int]], width: int, height: int = 30, band: tuple[int, int] = (5, 25)
) -> np.ndarray:
    """A white RGB line crop with black ink in the columns ``spans`` across the rows ``band``."""
    a = np.full((height, width, 3), 255, dtype=np.uint8)
    for x0, x1 in spans:
        a[band[0] : band[1], x0:x1] = 0
    return a


def test_a_line_is_cut_at_gaps_wider_than_the_threshold_only():
    # ink band 20 px high: a 60 px gap (3 heights) splits, a 10 px word space does not
    crop = _line([(10, 100), (110, 200), (260, 300)], 320)
    spans = ink_segments(crop, (5, 25), split_gap=1.5, max_ratio=100)
    assert spans == [(5, 205), (255, 305)]  # each piece keeps a quarter height (5 px) of margin


def test_a_piece_wider_than_the_limit_is_cut_at_a_word_space():
    words = [(x, x + 50) for x in range(10, 1000, 60)]  # 10 px spaces, no wide gap
    crop = _line(words, 1030)
    spans = ink_segments(crop, (5, 25), split_gap=1.5, max_ratio=20)
    assert len(spans) > 1
    assert all(b - a <= 20 * 20 + 10 for a, b in spans)
    # every inked column is read, in one piece only
    inked = {x for x0, x1 in words for x in range(x0, x1)}
    covered = [x for a, b in spans for x in range(a, b) if x in inked]
    assert sorted(covered) == sorted(inked)


def test_a_line_without_a_gap_or_ink_is_read_whole():
    assert ink_segments(_line([(0, 320)], 320), (5, 25), 1.5, 20) == [(0, 320)]
    assert ink_segments(_line([], 320), (5, 25), 1.5, 20) == [(0, 320)]
    # a crop too short to be a line of text
    assert ink_segments(_line([(0, 10)], 30), (5, 25), 1.5, 20) == [(0, 30)]


def test_small_images_are_enlarged_for_the_detector_only_as_far_as_their_print_needs():
    backend = object.__new__(rapidocr_backend.RapidOcrBackend)  # no models needed for the scale
    backend.det_pixels = 1024**2 * 0.71
    budget = backend.detection_scale(460, 1000)
    assert budget > 1.2
    assert backend.detection_scale(460, 1000, text_px=24.0) == 1.0  # big enough print: as it is
    assert backend.detection_scale(460, 1000, text_px=8.0) == pytest.approx(min(budget, 12.0 / 8.0))
    # a large page keeps the budget whatever its print
    assert backend.detection_scale(5000, 7000, text_px=60.0) == backend.detection_scale(5000, 7000)


def test_resampling_in_bands_gives_the_whole_image_resize(monkeypatch):
    img = Image.new("RGB", (900, 1300), "white")
    draw = ImageDraw.Draw(img)
    for y in range(0, 1300, 37):
        draw.line([(0, y), (900, y + 20)], fill=(y % 255, 0, 90), width=3)
    whole = img.resize((round(900 * 0.43), round(1300 * 0.43)), Image.Resampling.BOX)
    monkeypatch.setattr(imaging, "RESAMPLE_BAND_PIXELS", 5_000)  # many bands of ~13 rows
    banded = imaging.resample(img, 0.43)
    assert banded.size == whole.size
    diff = np.abs(np.asarray(banded, dtype=int) - np.asarray(whole, dtype=int))
    assert diff.max() <= 1


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_deskew_in_bands_turns_like_pil(monkeypatch, mode):
    """OpenCV's banded turn matches PIL's ``rotate`` (direction, centre, size, paper-coloured corners)."""
    img = Image.new("RGB", (420, 610), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    for y in range(40, 580, 29):
        draw.rectangle([(30, y), (390, y + 9)], fill=(20, 20, 20))
    img = img.convert(mode)
    angle = 4.0
    paper = imaging.background(img)
    ref = img.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=paper if mode == "RGB" else paper[0]
    )
    monkeypatch.setattr(imaging, "DESKEW_BAND_PIXELS", 420 * 37)  # bands of 37 rows, the last one short
    out = imaging.deskew(img, angle)
    assert (out.mode, out.size) == (img.mode, img.size)
    a, b = np.asarray(out, dtype=int), np.asarray(ref, dtype=int)
    # the same picture up to the interpolation kernels: a turn the other way, or bands off by some
    # rows, would move the dark bars by several pixels
    assert np.abs(a - b).mean() < 3.0
    assert np.asarray(out)[0, 0].tolist() == np.asarray(ref)[0, 0].tolist()  # the corner is paper


def test_deskew_by_zero_is_the_image_itself():
    img = Image.new("RGB", (50, 40), "white")
    assert imaging.deskew(img, 0.0) is img
