"""OCR on generated images with known text: words, boxes, rotation, skew, tiles, backends."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docvlm.datamodel import Word
from docvlm.errors import OcrError
from docvlm.imaging import to_rgb, upright
from docvlm.ocr import OcrOptions, factory, lines, orientation, page, rapidocr_backend
from docvlm.ocr.base import TILE_AREA
from docvlm.ocr.factory import get_ocr
from docvlm.ocr.lines import line_stats, quad_to_words
from docvlm.ocr.page import ocr_image, ocr_page, resample_factor

LINES = ["INVOICE 2024-117", "Total due: 123.45 EUR", "Thank you for shopping"]
EXPECTED = " ".join(LINES).split()


@pytest.fixture(scope="module")
def font_path() -> str:
    from matplotlib import font_manager

    path = font_manager.findfont("DejaVu Sans", fallback_to_default=True)
    if not path:
        pytest.skip("no TTF font found on this machine")
    return path


def draw_lines(
    font_path: str, lines: list[str], size: tuple[int, int] = (720, 300), top: int = 30, step: int = 80
) -> Image.Image:
    font = ImageFont.truetype(font_path, 28)
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for i, t in enumerate(lines):
        d.text((30, top + i * step), t, fill="black", font=font)
    return img


@pytest.fixture(scope="module")
def text_image(font_path: str) -> Image.Image:
    return draw_lines(font_path, LINES)


def _texts(words) -> list[str]:
    return [w.text for w in sorted(words, key=lambda w: (w.line, w.x0))]


def test_rapidocr_reads_known_text_with_word_boxes(text_image):
    words, rotation, up = ocr_image(text_image, OcrOptions(auto_rotate=False, deskew=False))
    assert rotation == 0 and up.size == text_image.size
    assert _texts(words) == EXPECTED
    # one line id per printed line, and word boxes inside the image, left to right on each line
    assert len({w.line for w in words}) == 3
    for w in words:
        assert 0 <= w.x0 < w.x1 <= text_image.width and 0 <= w.y0 < w.y1 <= text_image.height
        assert 0.0 < w.conf <= 1.0
    first = next(w for w in words if w.text == "INVOICE")
    # the word "INVOICE" is drawn from x=30 at y=30..60 with a 28 px font
    assert abs(first.x0 - 30) < 12 and abs(first.y0 - 35) < 12 and first.x1 < 170


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_rotated_page_is_detected_and_read_upright(text_image, angle):
    turned = text_image.rotate(angle, expand=True)
    words, rotation, up = ocr_image(turned, OcrOptions())
    assert (rotation + angle) % 360 == 0
    assert up.size == text_image.size
    assert _texts(words) == EXPECTED


def test_a_few_level_lines_do_not_make_a_sideways_page_upright():
    # a sideways receipt read line by line: many confident tall lines, and five short level ones
    tall = [[Word("TOTAL", (100 + 30 * i, 50, 120 + 30 * i, 400), conf=0.99, line=i)] for i in range(20)]
    level = [
        [Word("12.50 RM", (10, 500 + 20 * i, 80, 512 + 20 * i), conf=0.99, line=20 + i)] for i in range(5)
    ]
    assert not orientation.reads_upright(tall + level)
    assert orientation.reads_upright(level)


def test_small_skew_is_measured_and_removed(font_path):
    img = draw_lines(font_path, [*LINES, "Subtotal 100.00", "Tax 23.45"], size=(760, 480), step=80)
    tilted = img.rotate(
        -3, expand=False, fillcolor="white", resample=Image.Resampling.BICUBIC
    )  # 3 degrees clockwise
    assert line_stats(tilted).skew == pytest.approx(3.0, abs=0.5)
    assert abs(line_stats(img).skew) < 0.2
    res = ocr_page(tilted, OcrOptions(auto_rotate=False))
    assert res.skew == pytest.approx(3.0, abs=0.5)
    assert _texts(res.words)[:7] == EXPECTED[:7]
    # words of one printed line are level after deskew
    line_words = [w for w in res.words if w.text in {"Total", "EUR"}]
    assert abs(line_words[0].cy - line_words[1].cy) < 6
    # re-rendering applies the same correction (OCR read the page in grey)
    assert res.image.mode == "L"
    assert np.array_equal(
        np.asarray(upright(tilted.convert("L"), res.rotation, res.skew)), np.asarray(res.image)
    )


def test_small_print_on_a_large_page_is_ocrd_in_tiles_without_duplicates(font_path, monkeypatch):
    lines = [
        "ALPHA BRAVO CHARLIE",
        "DELTA ECHO FOXTROT",
        "GOLF HOTEL INDIA",
        "JULIET KILO LIMA",
        "MIKE NOVEMBER OSCAR",
    ]
    img = draw_lines(font_path, lines, size=(700, 1400), top=40, step=270)
    # the detector would see this page at ~0.5 scale: ~14 px lines, under the 20 px asked for here
    opts = OcrOptions(auto_rotate=False, deskew=False, max_side=600, tile_min_text_px=20)
    tiled = []
    real = page.recognize_tiled
    monkeypatch.setattr(page, "recognize_tiled", lambda *a, **k: tiled.append(1) or real(*a, **k))
    words, _, _ = ocr_image(img, opts)
    assert tiled, "text under tile_min_text_px at the detector's scale must be tiled"
    got = [w.text for w in sorted(words, key=lambda w: (round(w.cy / 50), w.x0))]
    assert got == " ".join(lines).split()


def test_large_page_is_detected_within_budget_and_read_at_full_resolution(font_path, monkeypatch):
    small = draw_lines(font_path, LINES, size=(720, 300))
    img = small.resize((2160, 900))  # ~84 px text
    # line_px=0: read as it is (the default would first bring this print down to 40 px lines)
    opts = OcrOptions(auto_rotate=False, deskew=False, max_side=800, line_px=0)
    backend = get_ocr(opts)
    det_inputs: list[tuple[int, ...]] = []
    rec_inputs: list[tuple[int, ...]] = []
    real_det, real_rec = backend._det.session, backend._rec
    monkeypatch.setattr(backend._det, "session", lambda a: det_inputs.append(a.shape[2:]) or real_det(a))
    monkeypatch.setattr(backend, "_rec", lambda r: rec_inputs.extend(i.shape for i in r.img) or real_rec(r))
    monkeypatch.setattr(page, "recognize_tiled", lambda *a, **k: pytest.fail("big text needs no tiles"))
    words, _, up = ocr_image(img, opts)
    assert _texts(words) == EXPECTED
    # detection ran on a copy no larger than the budget (800 x 0.71*800 px), in strips of one width
    (width,) = {w for _, w in det_inputs}
    assert width * (width * 900 / 2160) <= 800 * 800 * TILE_AREA
    assert all(h * w <= 1.2 * rapidocr_backend.DET_STRIP_PIXELS for h, w in det_inputs)
    # recognition crops come from the full-size page: taller than the whole shrunk line would be
    assert min(h for h, *_ in rec_inputs) > 84 * det_inputs[0][0] / 900
    # boxes are in the full-size image: three times those read on the original drawing
    ref, _, _ = ocr_image(small, OcrOptions(auto_rotate=False, deskew=False))
    assert up.size == img.size
    assert max(w.x1 for w in words) == pytest.approx(3 * max(w.x1 for w in ref), rel=0.05)
    assert max(w.y1 for w in words) == pytest.approx(3 * max(w.y1 for w in ref), rel=0.05)


def test_lines_at_the_seams_of_detector_strips_are_read_once_and_whole(font_path, monkeypatch):
    words_in = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET"]
    lines = [f"{i:02d} {words_in[i % 10]} {words_in[(i * 3 + 1) % 10]} {100 + 7 * i}" for i in range(20)]
    img = draw_lines(font_path, lines, size=(720, 1000), top=20, step=48)
    backend = get_ocr(OcrOptions())
    runs: list[int] = []
    real = backend._det.session
    monkeypatch.setattr(backend._det, "session", lambda a: runs.append(a.shape[2]) or real(a))
    words, _, _ = ocr_image(img, OcrOptions(auto_rotate=False, deskew=False))
    assert len(runs) >= 2, "the page should be detected in strips"
    got = [w.text for w in sorted(words, key=lambda w: (round(w.cy / 48), w.x0))]
    assert got == " ".join(lines).split()


@pytest.mark.parametrize("size", [(400, 900), (1654, 2339), (2481, 3508), (20000, 300)])
def test_detector_input_stays_within_its_pixel_budget(size):
    backend = get_ocr(OcrOptions())
    f = backend.detection_scale(*size)
    assert size[0] * size[1] * f * f <= backend.det_pixels * 1.0001
    assert f <= rapidocr_backend.MAX_DET_UPSCALE


def test_quad_split_is_proportional_and_follows_the_slope():
    quad = np.array([[0, 0], [100, 10], [100, 30], [0, 20]], dtype=float)
    words = quad_to_words("ab cdefgh", quad, 0.9, line=4)
    assert [w.text for w in words] == ["ab", "cdefgh"]
    # "ab" is characters 0..2 of 9, "cdefgh" 3..9
    assert words[0].bbox == pytest.approx((0, 0, 200 / 9, 20 + 20 / 9))
    assert words[1].bbox == pytest.approx((300 / 9, 300 / 90, 100, 30))
    assert all(w.line == 4 and w.conf == 0.9 for w in words)


def _line_crop(
    font_path: str, text: str, above: str | None, below: str | None
) -> tuple[np.ndarray, int, int]:
    """A 28 px line cut with the edges of its neighbours, as a loose detector box cuts it;
    also the rows of its capitals' top and its baseline, measured on the line drawn alone."""
    font = ImageFont.truetype(font_path, 28)
    img = Image.new("RGB", (600, 150), "white")
    d = ImageDraw.Draw(img)
    for y, t in ((26, above), (60, text), (94, below)):  # single-spaced, 34 px apart
        if t:
            d.text((10, y), t, fill="black", font=font)
    alone = Image.new("RGB", (600, 150), "white")
    ImageDraw.Draw(alone).text((10, 60), "H", fill="black", font=font)
    rows = np.nonzero((np.asarray(alone.convert("L")) < 128).any(axis=1))[0]
    # the crop: 14 rows above the capitals and 16 below the baseline reach into both neighbours
    top, base = int(rows[0]), int(rows[-1]) + 1
    crop = np.asarray(img)[top - 14 : base + 16]
    return crop, 14, 14 + base - top


@pytest.mark.parametrize(
    "above,below", [(None, None), ("gjpqy gjpqy gjpqy", None), (None, "HTKLB HTKLB"), ("gjpy", "HTLB")]
)
def test_line_box_is_measured_on_its_own_ink_not_its_neighbours(font_path, above, below):
    crop, cap_top, baseline = _line_crop(font_path, "Limited iViveLabs", above, below)
    top, bottom = lines.ink_rows(crop)
    cap = baseline - cap_top
    # the em box: a quarter of the capital height above the capitals, 0.45 of it below the baseline
    assert abs(top - (cap_top - 0.25 * cap)) <= 2
    assert abs(bottom - (baseline + 0.45 * cap)) <= 2


def test_a_table_rule_through_the_crop_is_not_taken_for_the_line(font_path):
    # a digit cell under a header rule: the rule is 3 rows of ink across the whole crop
    crop, cap_top, baseline = _line_crop(font_path, "120", None, None)
    crop = crop.copy()
    crop[4:7, :] = 0
    top, bottom = lines.ink_rows(crop)
    cap = baseline - cap_top
    assert abs(top - (cap_top - 0.25 * cap)) <= 2
    assert abs(bottom - (baseline + 0.45 * cap)) <= 2


def test_dots_and_accents_stay_on_their_line():
    # rows: an i-dot run (3 rows), a 2-row gap, then the 20-row body; a neighbour cut at the bottom edge
    count = np.zeros(40)
    count[5:8], count[10:30], count[37:40] = 5, 100, 50
    assert lines.line_band(count > 0, count) == (5, 30)


def test_backend_is_cached_per_process():
    assert get_ocr(OcrOptions()) is get_ocr(OcrOptions())


def test_none_backend_reads_nothing(text_image):
    words, rotation, up = ocr_image(text_image, OcrOptions(backend="none"))
    assert words == [] and rotation == 0 and up.size == text_image.size


def test_to_rgb_handles_16_bit_and_alpha():
    a = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    img16 = Image.fromarray(a)
    assert img16.mode.startswith("I;16")
    rgb = to_rgb(img16)
    assert rgb.mode == "RGB" and np.asarray(rgb).max() == 255
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    assert to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)


def test_missing_tesseract_is_a_clear_ocr_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    factory._cached_backend.cache_clear()
    try:
        with pytest.raises(OcrError, match="tesseract"):
            get_ocr(OcrOptions(backend="tesseract", tesseract_lang="eng+missing-cache-key"))
    finally:
        factory._cached_backend.cache_clear()


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract binary not installed")
def test_tesseract_reads_known_text(text_image):
    words, rotation, _ = ocr_image(text_image, OcrOptions(backend="tesseract", auto_rotate=False))
    assert rotation == 0
    assert _texts(words) == EXPECTED
    assert len({w.line for w in words}) == 3


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract binary not installed")
def test_tesseract_orientation_detection(font_path):
    # OSD needs a fair amount of text to decide
    lines = [f"Line {i}: the quick brown fox jumps over the lazy dog" for i in range(8)]
    img = draw_lines(font_path, lines, size=(900, 700), step=80)
    backend = get_ocr(OcrOptions(backend="tesseract"))
    for angle in (90, 180, 270):
        turned = img.rotate(angle, expand=True)
        assert (backend.detect_rotation_osd(turned) + angle) % 360 == 0
        assert (backend.detect_rotation(turned) + angle) % 360 == 0


def test_resample_factor_shrinks_large_print_only():
    opts = OcrOptions(line_px=40)
    assert resample_factor(100.0, opts) == pytest.approx(0.4)
    assert resample_factor(45.0, opts) == 1.0  # nearly the size asked for: read as it is
    assert resample_factor(12.0, opts) == 1.0  # small print is never enlarged here
    assert resample_factor(0.0, opts) == 1.0  # no text lines measured
    assert resample_factor(100.0, OcrOptions(line_px=0)) == 1.0


@pytest.mark.parametrize("angle", [0, 90])
def test_large_print_is_read_from_a_resampled_copy_in_the_pages_own_pixels(font_path, monkeypatch, angle):
    small = draw_lines(font_path, [*LINES, "Subtotal 100.00", "Tax 23.45"], size=(760, 480), step=80)
    big = small.resize((760 * 4, 480 * 4), Image.Resampling.BICUBIC)  # ~130 px lines, a 600+ dpi scan
    page_in = big.rotate(angle, expand=True)
    backend = get_ocr(OcrOptions())
    rec_heights: list[int] = []
    real_rec = backend._rec
    monkeypatch.setattr(
        backend, "_rec", lambda r: rec_heights.extend(i.shape[0] for i in r.img) or real_rec(r)
    )
    res = ocr_page(page_in, OcrOptions(deskew=False))
    assert res.rotation == (360 - angle) % 360
    assert res.scale < 0.5 and res.size == big.size and res.image.size != big.size
    # the crops the recogniser read were cut from the small copy, not from the 130 px print
    assert max(rec_heights) < 100
    assert _texts(res.words)[:7] == EXPECTED[:7]
    # boxes are in the input's upright pixels: four times those read on the small drawing
    ref = ocr_page(small, OcrOptions(deskew=False)).words
    got = {w.text: w for w in res.words}
    for w in ref:
        if w.text in {"INVOICE", "Total", "Thank"}:
            assert got[w.text].bbox == pytest.approx(tuple(4 * v for v in w.bbox), abs=14)
    words, _, up = ocr_image(page_in, OcrOptions(deskew=False))
    assert up.size == big.size  # ocr_image hands back the upright image at the input's resolution
    assert [w.bbox for w in words] == [w.bbox for w in res.words]


def test_a_blank_page_is_not_read(monkeypatch):
    monkeypatch.setattr(page, "get_ocr", lambda o: pytest.fail("a blank page needs no OCR backend"))
    res = ocr_page(Image.new("RGB", (1654, 2339), "white"))
    assert res.words == [] and res.rotation == 0 and res.size == (1654, 2339)
