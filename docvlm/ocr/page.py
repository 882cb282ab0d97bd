"""OCR of one page: skew and orientation handling, and the tiling policy, over any backend.

In: a page image (any PIL mode) and ``OcrOptions``. Out: an ``OcrResult``: the words with pixel
boxes on the upright image, the quarter turn and the skew applied to get it, and that image.
``ocr_page`` removes a small skew, reads the page, checks from the lines it found whether the page
is turned 90/180/270 degrees (and if so reads it again upright). Backends that find lines on a
copy of the page at a bounded size (RapidOCR) read pages whose print would be too small at that
size in overlapping tiles instead.
"""

from __future__ import annotations

import logging
from typing import cast

from PIL import Image

from docvlm.datamodel import Word
from docvlm.imaging import deskew, resample, to_grey, to_rgb, upright
from docvlm.ocr.base import TILE_AREA, OcrBackend, OcrOptions, OcrResult
from docvlm.ocr.confusions import fix_digit_confusions
from docvlm.ocr.factory import get_ocr
from docvlm.ocr.lines import line_stats
from docvlm.ocr.memory import map_large_buffers, trim_heap
from docvlm.tiling import crop, merge_tile_words, plan_tiles

_log = logging.getLogger(__name__)

# skew below this many degrees is left alone: resampling would cost more than it gains
MIN_SKEW_DEG = 0.3
# skew estimates beyond this are not small-angle skew (tables, stamps, diagonal text): ignore them
MAX_SKEW_DEG = 10.0
# a proposed page turn is kept unless the turned page reads with less than this share of the evidence;
# not 1.0: RapidOCR turns tall line crops itself, so a sideways page can read almost as well unturned
KEEP_TURN_RATIO = 0.9
# tiles overlap by this fraction of their side: more than a text line, so every line is whole in one tile
TILE_OVERLAP = 0.1
# a page is resampled only when that shrinks it to this share of its sides or less: a page whose print
# is nearly the size asked for reads the same as it is, and resampling costs a pass over its pixels
MAX_RESAMPLE = 0.8


def recognize_tiled(
    backend: OcrBackend, image: Image.Image, max_side: int, text_px: float = 0.0
) -> list[Word]:
    """OCR ``image``, in overlapping tiles when its long side exceeds ``max_side``; pixel boxes.

    ``text_px``: the height of its text lines when measured (see ``OcrBackend.recognize``)."""
    if max(image.size) <= max_side:
        return backend.recognize(image, text_px)
    tiles = plan_tiles(
        image.width,
        image.height,
        max_pixels=int(max_side * max_side * TILE_AREA),
        overlap=TILE_OVERLAP,
        max_side=max_side,
    )
    _log.debug("OCR of a %dx%d image in %d tiles", image.width, image.height, len(tiles))
    return merge_tile_words([(t, backend.recognize(crop(image, t), text_px)) for t in tiles])


def _recognize_page(
    backend: OcrBackend, image: Image.Image, options: OcrOptions, line_height: float
) -> list[Word]:
    """OCR a page whole, or in tiles when its text would be too small where the detector looks; ``image`` px.

    A backend that detects text on a downscaled copy (RapidOCR) misses lines that shrink below a
    few pixels; such pages are cut into tiles that the detector sees at full resolution.
    """
    scale = backend.detection_scale(image.width, image.height)
    small_text = line_height > 0 and line_height * scale < options.tile_min_text_px
    if scale >= 1.0 or not small_text:
        return backend.recognize(image, line_height)
    _log.debug(
        "OCR of a %dx%d page in tiles (text lines ~%.0f px, detector scale %.2f)",
        *image.size,
        line_height,
        scale,
    )
    return recognize_tiled(backend, image, options.max_side, line_height)


def resample_factor(line_height: float, options: OcrOptions) -> float:
    """The factor that brings text lines ``line_height`` px high to ``options.line_px``; 1 to keep the page.

    Only shrinking counts: small print is read at the page's own resolution (in tiles when the
    detector would miss it), never enlarged here.
    """
    if options.line_px <= 0 or line_height <= 0:
        return 1.0
    f = options.line_px / line_height
    return f if f <= MAX_RESAMPLE else 1.0


def _evidence(words: list[Word]) -> float:
    """How well a page was read: confidence-weighted count of recognised characters."""
    return sum(w.conf * len(w.text) for w in words)


def ocr_page(image: Image.Image, options: OcrOptions | None = None) -> OcrResult:
    """Deskew, OCR, and fix the orientation of one page image; see ``ocr_image``. Also returns the skew.

    The page's text lines are measured first (``line_stats``); a page whose print is taller than
    ``options.line_px`` is resampled so that it comes out that high, and read from the smaller
    copy (a 600 dpi scan then costs what a 200 dpi one does). Word boxes are scaled back, so they
    are in the input's pixels whatever was read.

    The page is read once as it is; only when its lines say it is sideways or upside down is it
    turned and read again, so upright pages (the common case) pay for one OCR pass. If the turned
    page reads clearly worse, an upside-down turn is dropped and a sideways page is turned the
    other way instead (a third pass) when that reads better.

    A caller that passes its only reference to ``image`` lets the full-resolution pixels go as
    soon as the page has been resampled.
    """
    map_large_buffers()  # before the first big allocation of the page, once per process
    options = options or OcrOptions()
    # the page is read in greyscale: a third of the pixels of RGB (a quarter of PIL's RGB buffer)
    img = to_grey(image)
    del image  # a 600 dpi page is 35 MB in grey; once resampled, the full-resolution copy is not needed
    full = img.size
    lo, hi = cast("tuple[int, int]", img.getextrema())  # one band, as the image is greyscale
    if options.backend == "none" or lo == hi:
        # one flat colour (a blank page rendered from a PDF) holds no text to find, and loads no model
        return OcrResult(words=[], rotation=0, skew=0.0, image=img, size=full)
    backend = get_ocr(options)
    stats = line_stats(img) if options.deskew or max(img.size) > options.max_side else None
    line_height = stats.line_height if stats is not None else 0.0
    scale = resample_factor(line_height, options)
    if scale < 1.0:
        img = resample(img, scale)
        _log.debug("OCR of a %dx%d page at %dx%d (text lines ~%.0f px)", *full, *img.size, line_height)
    skew = 0.0
    if options.deskew and stats is not None and MIN_SKEW_DEG <= abs(stats.skew) <= MAX_SKEW_DEG:
        # text lines keep their angle under quarter turns, so deskewing first is safe for any orientation
        skew = stats.skew
        img = deskew(img, skew)
    line_height *= scale
    words = _recognize_page(backend, img, options, line_height)
    rotation = backend.check_rotation(img, words) if options.auto_rotate and words else 0
    if rotation:
        turned = img.rotate(rotation, expand=True)
        turned_words = _recognize_page(backend, turned, options, line_height)
        if _evidence(turned_words) < KEEP_TURN_RATIO * _evidence(words):
            if rotation in (90, 270):
                # the lines run down the page, so it is sideways for sure and only the direction
                # can be wrong. The sideways reading is no yardstick: the recogniser turns each tall
                # line crop itself and may read it well, but its words sit in the sideways frame
                other = (rotation + 180) % 360
                back = img.rotate(other, expand=True)
                back_words = _recognize_page(backend, back, options, line_height)
                if _evidence(back_words) > _evidence(turned_words):
                    _log.debug("rotation %d read worse than %d; turned the other way", rotation, other)
                    rotation, turned, turned_words = other, back, back_words
            else:
                # an upside-down verdict is dropped when the page reads clearly worse turned
                _log.debug("rotation %d proposed but the page read better as it was; kept upright", rotation)
                rotation, turned, turned_words = 0, img, words
        img, words = turned, turned_words
    _log.debug("OCR: %d words, rotation %d, skew %.2f", len(words), rotation, skew)
    size = (full[1], full[0]) if rotation in (90, 270) else full
    if scale < 1.0:
        words = [w.scaled(size[0] / img.width, size[1] / img.height) for w in words]
    for w in words:  # "57O," read for "570,": the recogniser's O for a zero inside a number
        w.text = fix_digit_confusions(w.text)
    trim_heap()
    return OcrResult(words=words, rotation=rotation, skew=skew, image=img, size=size, scale=scale)


def ocr_image(image: Image.Image, options: OcrOptions | None = None) -> tuple[list[Word], int, Image.Image]:
    """OCR one page image.

    In: any PIL image. Out: the words (pixel boxes on the upright image), the rotation in degrees
    counter-clockwise (0/90/180/270, as ``Image.rotate``) that was applied to make it upright, and
    the upright (rotated and deskewed) RGB image itself, at the input's resolution.
    """
    res = ocr_page(image, options)
    # OCR read a greyscale copy (``OcrResult.image``): the colour page is turned the same way
    return res.words, res.rotation, upright(to_rgb(image), res.rotation, res.skew)
