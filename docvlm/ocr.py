"""OCR: page image in, words with pixel boxes out, after skew and orientation correction.

Backends: RapidOCR (default; its wheel bundles PP-OCR ONNX models, so nothing is downloaded)
and the Tesseract binary (optional). ``ocr_image`` removes a small skew, reads the page, checks
from the lines it found whether the page is turned 90/180/270 degrees (and if so reads it again
upright), and returns the words on the upright image with the rotation it applied. RapidOCR finds
lines on a copy of the page at a bounded size and reads them at full resolution; pages whose print
would be too small at that size are OCR'd in overlapping tiles instead.
"""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import BBox, Word
from docvlm.errors import OcrError
from docvlm.parsers import normalize_text
from docvlm.tiling import crop, merge_tile_words, plan_strips, plan_tiles

_log = logging.getLogger(__name__)

# skew below this many degrees is left alone: resampling would cost more than it gains
MIN_SKEW_DEG = 0.3
# skew estimates beyond this are not small-angle skew (tables, stamps, diagonal text): ignore them
MAX_SKEW_DEG = 10.0
# long side of the downscaled copy used to detect orientation and skew
LAYOUT_SIDE = 1024
# text-line crops compared upright vs upside down to tell 0 from 180 degrees
ORIENTATION_CROPS = 8
# tesseract OSD orientation confidence below which its answer is ignored
OSD_MIN_CONFIDENCE = 2.0
# a proposed page turn is kept unless the turned page reads with less than this share of the evidence;
# not 1.0: RapidOCR turns tall line crops itself, so a sideways page can read almost as well unturned
KEEP_TURN_RATIO = 0.9
# a recognition pass this confident over at least this many level lines is taken as upright
UPRIGHT_MIN_CONF = 0.88
UPRIGHT_MIN_LINES = 5
# the detector's pixel budget is this share of max_side squared: an A4-shaped page max_side px
# high. Tiles (for small print) hold no more, so tiling never needs more detector memory either
TILE_AREA = 0.71
DET_BOX_THRESH = 0.3  # mean text probability a detected box needs (RapidOCR's default 0.5)
# a page's detector input is cut into full-width strips, one per this many pixels: one detector run
# holds ~150 MB of activations per megapixel (PP-OCRv6 small); two strips of the default budget
# measured 79 MB at the peak of a page instead of 138 MB, for ~12% more detector time
DET_STRIP_PIXELS = 400_000
# rows (at the detector's scale) shared by neighbouring strips; lines up to half this high are never cut
DET_STRIP_OVERLAP = 128
# the detector may enlarge a small image by up to this factor to fill its pixel budget
MAX_DET_UPSCALE = 2.0
# tiles overlap by this fraction of their side: more than a text line, so every line is whole in one tile
TILE_OVERLAP = 0.1


class OcrOptions(BaseModel):
    """How pages without a text layer are OCR'd."""

    model_config = ConfigDict(extra="forbid")
    backend: Literal["rapidocr", "tesseract", "none"] = "rapidocr"
    threads: int = Field(default=1, ge=1, description="intra-op threads of onnxruntime (or tesseract)")
    auto_rotate: bool = Field(
        default=True, description="detect a 90/180/270 page rotation and read the page upright"
    )
    deskew: bool = Field(default=True, description="correct a small skew angle before OCR")
    max_side: int = Field(
        default=1024,
        ge=64,
        description="the text detector sees each page resampled to the area of a max_side x 0.71 max_side "
        "image (an A4 page max_side px high); its activations cost about 150 MB per megapixel, so this "
        "bounds peak memory. Lines are recognised at full resolution whatever this is",
    )
    tile_min_text_px: int = Field(
        default=7,
        ge=0,
        description="a page is OCR'd in overlapping tiles (each seen by the detector at full resolution) when "
        "its text lines would be less than this many pixels high in the detector's input; 0 never tiles. "
        "On 200 dpi A4 renders, detection found 97% of the words with lines of 7-9 px, 90% at 5-7 px",
    )
    tesseract_lang: str = Field(default="eng", description="tesseract -l value, e.g. 'eng+deu'")


@dataclass
class OcrResult:
    """Words on the upright image, the quarter turn and skew applied to get it, and the image itself."""

    words: list[Word]
    rotation: int  # degrees counter-clockwise (PIL ``Image.rotate``, expand) applied after the deskew
    skew: float  # degrees counter-clockwise applied first to remove the skew
    image: Image.Image


class OcrBackend(ABC):
    """One OCR engine. ``recognize`` returns words with pixel boxes of the image it was given."""

    name: str = "base"

    @abstractmethod
    def recognize(self, image: Image.Image) -> list[Word]:
        """OCR an upright RGB image; word boxes are in its pixels, ``Word.line`` ids per text line."""

    def detect_rotation(self, image: Image.Image) -> int:
        """Degrees counter-clockwise (0/90/180/270) that make ``image`` upright; 0 when unsure."""
        return 0

    def detection_scale(self, width: int, height: int) -> float:
        """Scale at which this backend looks for text on a ``width`` x ``height`` image (1: as it is)."""
        return 1.0

    def check_rotation(self, image: Image.Image, words: list[Word]) -> int:
        """Like ``detect_rotation`` but may use the words a recognition pass already found on ``image``."""
        return self.detect_rotation(image)


# ---------------------------------------------------------------- helpers shared by backends


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB; 16-bit and float images are stretched to 0..255."""
    if image.mode == "RGB":
        return image
    if image.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        a = np.asarray(image, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        # transparent areas become white paper instead of black
        rgba = image.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return image.convert("RGB")


def _downscale(image: Image.Image, side: int) -> tuple[Image.Image, float]:
    """A copy whose long side is at most ``side``, and the factor applied."""
    f = min(1.0, side / max(image.size))
    if f >= 1.0:
        return image, 1.0
    return image.resize(
        (max(1, round(image.width * f)), max(1, round(image.height * f))), Image.Resampling.BILINEAR
    ), f


def _background(image: Image.Image) -> tuple[int, int, int]:
    """Median colour of the image border: the paper colour to fill in after a rotation."""
    a = np.asarray(image.convert("RGB"))
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    med = np.median(border, axis=0)
    return (int(med[0]), int(med[1]), int(med[2]))


def deskew(image: Image.Image, angle: float) -> Image.Image:
    """Rotate by ``angle`` degrees counter-clockwise about the centre, same size, paper-coloured corners."""
    if angle == 0:
        return image
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=_background(image))


def upright(image: Image.Image, rotation: int, skew: float) -> Image.Image:
    """Apply a skew correction then a quarter turn, as ``ocr_page`` did (for re-rendering a page)."""
    img = deskew(image, skew) if skew else image
    return img.rotate(rotation, expand=True) if rotation % 360 else img


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
    typical line height (median thickness).
    """
    import cv2

    small, f = _downscale(image, LAYOUT_SIDE)
    gray = np.asarray(small.convert("L"))
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    kw = max(9, small.width // 50)
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
        if w >= 5 * max(h, 1) and w >= small.width / 12:
            angles.append(a)
            lengths.append(w)
            heights.append(h)
    height = float(np.median(heights)) / f if heights else 0.0
    return LineStats(skew=_weighted_median(angles, lengths), line_height=height, lines=len(angles))


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


@lru_cache(maxsize=1)
def _libc() -> Any:
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@lru_cache(maxsize=1)
def map_large_buffers() -> None:
    """Serve allocations of 4 MB and more with mmap, so the OS gets them back as soon as they are freed.

    With glibc's heap, the detector's activation tensors fragment it and a page's peak grows
    (measured on 30 scans at max_side 1024: high-water mark 509 MB on the heap, 358 MB with this).
    The price is page faults on every big tensor: ~2.8 s instead of ~2.0 s a receipt. A smaller
    threshold costs more speed for little memory (2 MB: 343 MB, 3.0 s).
    """
    libc = _libc()
    if libc is not None:
        m_mmap_threshold = -3  # from <malloc.h>
        libc.mallopt(m_mmap_threshold, 4 * 1024 * 1024)


def trim_heap() -> None:
    """Hand freed heap memory back to the OS (glibc ``malloc_trim``); a no-op elsewhere.

    The detector's activations are hundreds of MB per page. glibc keeps freed blocks and the heap
    fragments, so without this RSS creeps up over a batch of scans (measured: 455 -> 800 MB over 30
    scans); trimming once per page keeps it flat at the single-page peak for ~1 ms.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


class RapidOcrBackend(OcrBackend):
    """PP-OCR detection + recognition through RapidOCR's bundled ONNX models (offline, CPU).

    Detection and recognition run at two scales. The text detector sees the page resampled to a
    fixed pixel budget (``max_side`` squared times ``TILE_AREA``): its activations cost about
    150 MB per megapixel, so this bounds memory whatever the page size. Recognition then reads
    each detected line from the full-resolution page, where small print is sharpest. One
    detection pass replaces the 6-8 tiles a 200 dpi A4 page needed when both steps shared a scale.
    """

    name = "rapidocr"

    def __init__(self, threads: int = 1, max_side: int = 1024) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as e:  # a core dependency, but say clearly what is missing
            raise OcrError(
                "rapidocr is not installed; install it with: pip install 'rapidocr>=3,<4' onnxruntime"
            ) from e
        params: dict[str, Any] = {
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # one line per recogniser call: a batch is padded to its widest line, and on 200 dpi
            # A4 pages batches of 6 took 28% longer and 370 MB more than single lines
            "Rec.rec_batch_num": 1,
            # the detector sees the page shrunk to its budget, where a lone narrow glyph (a "1" in a
            # quantity column) scores 0.3-0.5; at 0.3 the SROIE CER fell from 5.99% to 5.85% and
            # word recall on 200 dpi A4 renders rose from 0.974 to 0.976 (precision 0.977 -> 0.976)
            "Det.box_thresh": DET_BOX_THRESH,
            "Global.log_level": "error",
        }
        try:
            engine = RapidOCR(params=params)
            self._det = engine._load_det_model()
            self._mean = [float(v) for v in engine.cfg.Det.mean]
            self._std = [float(v) for v in engine.cfg.Det.std]
            self._rec = engine._load_rec_model()
            self._word_boxes = engine.cal_rec_boxes
            self._min_score = float(engine.text_score)
        except Exception as e:  # any model-loading failure becomes one typed error
            raise OcrError(f"could not load the RapidOCR models: {e}") from e
        self.det_pixels = max(64, max_side) ** 2 * TILE_AREA
        # one model run at a time: concurrent runs from threads would add up their activations
        self._lock = threading.Lock()

    def detection_scale(self, width: int, height: int) -> float:
        """Factor that brings a ``width`` x ``height`` image to the detector's pixel budget.

        Small images are enlarged too (up to ``MAX_DET_UPSCALE``): the detector finds receipt-sized
        print more reliably when it is a few pixels taller, and the budget is paid for anyway.
        """
        return min(MAX_DET_UPSCALE, math.sqrt(self.det_pixels / max(1, width * height)))

    def _detect(self, array: np.ndarray, scale: float) -> np.ndarray:
        """Text-line quadrilaterals (n, 4, 2) in ``array`` pixels, found on a copy resampled by ``scale``.

        The resampled copy is run through the detector in as many full-width horizontal strips as
        ``DET_STRIP_PIXELS`` asks for, overlapping by ``DET_STRIP_OVERLAP`` rows, so one run
        holds the activations of a strip instead of the whole page. A line belongs to the strip
        that holds its centre past the middle of the overlap; any line up to half the overlap high
        lies whole inside that strip.
        """
        import cv2

        h, w = array.shape[:2]
        # the network wants sides that are multiples of 32; rounding down keeps within the budget
        dw, dh = (max(32, int(v * scale / 32) * 32) for v in (w, h))
        interp = cv2.INTER_AREA if dw * dh < w * h else cv2.INTER_LINEAR
        small = array if (dw, dh) == (w, h) else cv2.resize(array, (dw, dh), interpolation=interp)
        found: list[np.ndarray] = []
        n = math.ceil(dw * dh / DET_STRIP_PIXELS)
        rows = math.ceil((dh + (n - 1) * DET_STRIP_OVERLAP) / n / 32) * 32
        strips = plan_strips(dh, max(rows, DET_STRIP_OVERLAP + 32), DET_STRIP_OVERLAP)
        for i, (top, bottom) in enumerate(strips):
            quads = self._detect_strip(small[top:bottom])
            if len(quads) == 0:
                continue
            quads[..., 1] += top
            cy = quads[..., 1].mean(axis=1)
            lo = 0 if i == 0 else (top + strips[i - 1][1]) / 2
            hi = dh if i == len(strips) - 1 else (bottom + strips[i + 1][0]) / 2
            found.append(quads[(cy >= lo) & (cy < hi)])
        if not found:
            return np.zeros((0, 4, 2), dtype=np.float32)
        quads = self._det.sorted_boxes(np.concatenate(found))
        quads[..., 0] = (quads[..., 0] * np.float32(w / dw)).clip(0, w - 1)
        quads[..., 1] = (quads[..., 1] * np.float32(h / dh)).clip(0, h - 1)
        return quads

    def _detect_strip(self, rgb: np.ndarray) -> np.ndarray:
        """One detector run on an RGB array whose sides are multiples of 32; quads in its pixels.

        The input tensor is built here in float32, one channel at a time: RapidOCR's own
        preprocessing normalises in float64 with whole-image temporaries (10 MB more at the peak of
        a page, measured on a 1438x1655 scan).
        """
        dh, dw = rgb.shape[:2]
        x = np.empty((1, 3, dh, dw), dtype=np.float32)
        for c in range(3):
            x[0, c] = rgb[:, :, c]
            x[0, c] *= np.float32(1.0 / (255.0 * self._std[c]))
            x[0, c] -= np.float32(self._mean[c] / self._std[c])
        with self._lock:
            try:
                pred = self._det.session(x)
                del x
                boxes, _ = self._det.postprocess_op(pred, (dh, dw))
            except Exception as e:  # onnxruntime / OpenCV failures become one typed error
                raise OcrError(f"RapidOCR detection failed on a {dw}x{dh} input: {e}") from e
            finally:
                trim_heap()  # detector activations are the big, fragmenting allocations
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)

    def _read(
        self, crops: list[np.ndarray], quads: np.ndarray | None = None, boxed: list[np.ndarray] | None = None
    ) -> Any:
        """Recognise line crops; with ``quads`` (their places on the page) also per-word boxes.

        ``boxed`` are the crops cut to the rows that ``quads`` cover (default: ``crops``).
        """
        from rapidocr.ch_ppocr_rec import TextRecInput

        with self._lock:
            try:
                res = self._rec(TextRecInput(img=crops, return_word_box=quads is not None))
                if quads is not None:
                    res = self._word_boxes(crops if boxed is None else boxed, quads, res, False)
            except Exception as e:
                raise OcrError(f"RapidOCR recognition of {len(crops)} text lines failed: {e}") from e
        return res

    def recognize(self, image: Image.Image) -> list[Word]:
        from rapidocr.utils.process_img import get_rotate_crop_image

        array = np.asarray(to_rgb(image))
        quads = self._detect(array, self.detection_scale(image.width, image.height))
        if len(quads) == 0:
            return []
        # crops come from the full-resolution page; tall crops are turned to read as a line
        crops = [get_rotate_crop_image(array, q.copy()) for q in quads]
        rows = [_ink_rows(c) for c in crops]
        quads = np.stack(
            [
                sub_quad(q, 0.0, 1.0, r[0] / c.shape[0], r[1] / c.shape[0])
                for q, r, c in zip(quads, rows, crops, strict=True)
            ]
        )
        res = self._read(crops, quads, [c[r[0] : r[1]] for c, r in zip(crops, rows, strict=True)])
        txts = res.txts or ()
        scores = list(res.scores or [])
        # word_results line up with the lines only when every line got its word boxes
        word_results = res.word_results if len(res.word_results or ()) == len(txts) else None
        words: list[Word] = []
        for i, (quad, raw, score) in enumerate(zip(quads, txts, scores, strict=False)):
            text = normalize_text(raw)
            if not text or score < self._min_score:
                continue
            pieces = None
            if word_results is not None and all(len(p) == 3 and p[2] is not None for p in word_results[i]):
                pieces = [(p[0], float(p[1]), np.asarray(p[2])) for p in word_results[i]]
            words.extend(quad_to_words(text, quad, float(score), i, pieces))
        return words

    def _detect_quads(self, image: Image.Image) -> np.ndarray:
        return self._detect(np.asarray(to_rgb(image)), self.detection_scale(image.width, image.height))

    def _rec_score(self, crop_img: Image.Image) -> float:
        res = self._read([np.asarray(to_rgb(crop_img))])
        txts, scores = res.txts or (), res.scores or ()
        if not txts or not scores:
            return 0.0
        # a confident reading of a longer string is stronger evidence than of one character
        return float(scores[0]) * min(len(txts[0].strip()), 20)

    def _orientation_score(
        self, image: Image.Image, boxes: list[tuple[int, int, int, int]]
    ) -> tuple[float, float]:
        """Recognition evidence for the text crops read as they are vs turned upside down."""
        upright_score = flipped_score = 0.0
        for box in boxes:
            piece = image.crop(box)
            upright_score += self._rec_score(piece)
            flipped_score += self._rec_score(piece.rotate(180))
        return upright_score, flipped_score

    def detect_rotation(self, image: Image.Image) -> int:
        """Orientation from a text-detection pass on a downscaled copy (used when no words are known yet)."""
        small, _ = _downscale(to_rgb(image), LAYOUT_SIDE)
        quads = self._detect_quads(small)
        if len(quads) == 0:
            return 0
        boxes = [_quad_box(q, small.size) for q in quads]
        return self._decide(small, boxes)

    def check_rotation(self, image: Image.Image, words: list[Word]) -> int:
        """Orientation from the lines of a recognition pass over ``image`` (no extra detection needed)."""
        lines: dict[int, list[Word]] = {}
        for w in words:
            lines.setdefault(w.line, []).append(w)
        boxes: list[tuple[int, int, int, int]] = []
        for lid, lw in lines.items():
            if lid < 0:
                boxes.extend(_int_box(w.bbox, image.size) for w in lw)
            else:
                boxes.append(_int_box(_union([w.bbox for w in lw]), image.size))
        if _reads_upright(lines.values()):
            return 0  # a confident reading of level lines: neither sideways nor upside down
        return self._decide(image, boxes)

    def _decide(self, image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> int:
        """Sideways pages are told by the shape of the text lines; upside down ones by recognition scores."""
        boxes = [b for b in boxes if b[2] - b[0] >= 4 and b[3] - b[1] >= 4]
        if not boxes:
            return 0
        horizontal, vertical = _level_and_upright(boxes)
        if vertical > horizontal:
            # sideways: turn a small copy a quarter and detect again, then settle 90 vs 270 below
            small, _ = _downscale(image, LAYOUT_SIDE)
            small = small.rotate(90, expand=True)
            quads = self._detect_quads(small)
            turned = [_quad_box(q, small.size) for q in quads]
            return (90 + self._upside_down(small, turned)) % 360
        return self._upside_down(image, boxes)

    def _upside_down(self, image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> int:
        """180 if the widest text lines read better turned upside down, else 0."""
        wide = [b for b in boxes if (b[2] - b[0]) > 2 * (b[3] - b[1])]
        wide.sort(key=lambda b: b[0] - b[2])
        if not wide:
            return 0
        upright_score, flipped_score = self._orientation_score(image, wide[:ORIENTATION_CROPS])
        _log.debug("orientation: upright %.2f vs flipped %.2f", upright_score, flipped_score)
        return 180 if flipped_score > upright_score * 1.1 else 0


def _ink_rows(crop_img: np.ndarray) -> tuple[int, int]:
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
    band = _line_band(count > max(1.0, 0.01 * w), count)
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


def _line_band(inked: np.ndarray, count: np.ndarray) -> tuple[int, int] | None:
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


def _reads_upright(lines: Iterable[list[Word]]) -> bool:
    """Whether a recognition pass read many level lines with high confidence.

    Upside-down text still yields characters, but with low confidence (on SROIE receipts the
    character-weighted mean was 0.61-0.75 turned vs 0.92-0.99 upright), so a confident pass makes
    the per-crop upside-down test (16 extra recognition calls, ~0.4 s a page) unnecessary.
    """
    num = den = 0.0
    n_lines = 0
    boxes: list[BBox] = []
    for lw in lines:
        box = _union([w.bbox for w in lw])
        boxes.append(box)
        chars = sum(len(w.text) for w in lw)
        if chars < 4 or box[2] - box[0] < 2 * (box[3] - box[1]):
            continue
        n_lines += 1
        num += sum(w.conf * len(w.text) for w in lw)
        den += chars
    # a sideways page read line by line (the recogniser turns tall crops) has a few short level
    # lines too; they do not make it upright
    level, upright = _level_and_upright(boxes)
    return n_lines >= UPRIGHT_MIN_LINES and level >= upright and den > 0 and num / den >= UPRIGHT_MIN_CONF


def _level_and_upright(boxes: Sequence[tuple[float, float, float, float]]) -> tuple[float, float]:
    """Summed widths of the level text lines and summed heights of the upright (sideways) ones."""
    w = np.array([b[2] - b[0] for b in boxes], dtype=np.float64)
    h = np.array([b[3] - b[1] for b in boxes], dtype=np.float64)
    return float(np.sum(w[w > 1.5 * h])), float(np.sum(h[h > 1.5 * w]))


def _union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _int_box(b: BBox, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A float box as integer pixels clipped to an image of ``size``."""
    return (
        max(0, int(b[0])),
        max(0, int(b[1])),
        min(size[0], math.ceil(b[2])),
        min(size[1], math.ceil(b[3])),
    )


def _quad_box(q: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    return _int_box(
        (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())), size
    )


# ---------------------------------------------------------------- Tesseract


class TesseractBackend(OcrBackend):
    """The ``tesseract`` binary through its TSV output (pytesseract not needed)."""

    name = "tesseract"

    def __init__(self, threads: int = 1, lang: str = "eng") -> None:
        exe = shutil.which("tesseract")
        if exe is None:
            raise OcrError(
                "the tesseract binary is not on PATH; install it (e.g. apt-get install tesseract-ocr) "
                "or use the rapidocr backend"
            )
        self._exe = exe
        self._lang = lang
        # tesseract's OpenMP threading is several times slower on small shared machines
        self._env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}

    def _run(self, image: Image.Image, args: list[str], timeout: float = 300.0) -> str:
        buf = io.BytesIO()
        to_rgb(image).save(buf, format="PNG")
        cmd = [self._exe, "stdin", "stdout", *args]
        try:
            proc = subprocess.run(
                cmd, input=buf.getvalue(), capture_output=True, env=self._env, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as e:
            raise OcrError(f"tesseract timed out after {timeout:.0f} s") from e
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise OcrError(f"tesseract failed (exit {proc.returncode}): {err[-500:]}")
        return proc.stdout.decode("utf-8", "replace")

    def recognize(self, image: Image.Image) -> list[Word]:
        tsv = self._run(image, ["-l", self._lang, "--psm", "3", "tsv"])
        words: list[Word] = []
        line_ids: dict[tuple[int, int, int], int] = {}
        for row in tsv.splitlines()[1:]:
            cols = row.split("\t")
            if len(cols) < 12 or cols[0] != "5":
                continue
            text = normalize_text(cols[11])
            if not text:
                continue
            block, par, line = int(cols[2]), int(cols[3]), int(cols[4])
            left, top, width, height = (int(c) for c in cols[6:10])
            conf = float(cols[10])
            lid = line_ids.setdefault((block, par, line), len(line_ids))
            words.append(
                Word(
                    text=text,
                    bbox=(float(left), float(top), float(left + width), float(top + height)),
                    conf=max(0.0, conf) / 100.0,
                    line=lid,
                    block=block,
                )
            )
        return words

    def detect_rotation(self, image: Image.Image) -> int:
        """Orientation from RapidOCR's line detector and recogniser (a core dependency), else OSD.

        Measured on the SROIE receipts, tesseract's OSD is unreliable on receipts (wrong answers
        with confidence up to ~4), while the RapidOCR-based check is right on all test turns.
        """
        try:
            helper = _cached_backend("rapidocr", 1, 2000, "")
        except OcrError as e:
            _log.debug("RapidOCR unavailable for orientation (%s); using tesseract OSD", e)
            return self.detect_rotation_osd(image)
        return helper.detect_rotation(image)

    def detect_rotation_osd(self, image: Image.Image) -> int:
        """Tesseract's orientation and script detection (``--psm 0``); 0 when it cannot decide."""
        small, _ = _downscale(to_rgb(image), LAYOUT_SIDE * 2)
        try:
            out = self._run(small, ["--psm", "0"], timeout=60.0)
        except OcrError as e:
            # OSD refuses pages with too little text; that is "unknown", not a failure
            _log.debug("tesseract OSD gave no orientation: %s", e)
            return 0
        rotate, conf = 0, 0.0
        for ln in out.splitlines():
            key, _, val = ln.partition(":")
            if key == "Rotate":
                rotate = int(val.strip())
            elif key == "Orientation confidence":
                conf = float(val.strip())
        if conf < OSD_MIN_CONFIDENCE:
            # measured on receipts: OSD answers below ~1 are often wrong, so they mean "unknown"
            _log.debug(
                "tesseract OSD unsure (rotate %d, confidence %.2f): keeping the page as is", rotate, conf
            )
            return 0
        # OSD's "Rotate" is clockwise; PIL rotates counter-clockwise
        return (360 - rotate) % 360


class NullOcrBackend(OcrBackend):
    """``backend="none"``: the user chose not to OCR; pages without a text layer get no words."""

    name = "none"

    def recognize(self, image: Image.Image) -> list[Word]:
        return []


# ---------------------------------------------------------------- entry points


@lru_cache(maxsize=8)
def _cached_backend(backend: str, threads: int, max_side: int, lang: str) -> OcrBackend:
    if backend == "rapidocr":
        return RapidOcrBackend(threads=threads, max_side=max_side)
    if backend == "tesseract":
        return TesseractBackend(threads=threads, lang=lang)
    if backend == "none":
        return NullOcrBackend()
    raise OcrError(f"unknown OCR backend {backend!r}; choose rapidocr, tesseract or none")


def get_ocr(options: OcrOptions) -> OcrBackend:
    """The backend for ``options``, created once per process (model loading is the slow part)."""
    return _cached_backend(options.backend, options.threads, options.max_side, options.tesseract_lang)


def recognize_tiled(backend: OcrBackend, image: Image.Image, max_side: int) -> list[Word]:
    """OCR ``image``, in overlapping tiles when its long side exceeds ``max_side``; pixel boxes."""
    if max(image.size) <= max_side:
        return backend.recognize(image)
    tiles = plan_tiles(
        image.width,
        image.height,
        max_pixels=int(max_side * max_side * TILE_AREA),
        overlap=TILE_OVERLAP,
        max_side=max_side,
    )
    _log.debug("OCR of a %dx%d image in %d tiles", image.width, image.height, len(tiles))
    return merge_tile_words([(t, backend.recognize(crop(image, t))) for t in tiles])


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
        return backend.recognize(image)
    _log.debug(
        "OCR of a %dx%d page in tiles (text lines ~%.0f px, detector scale %.2f)",
        *image.size,
        line_height,
        scale,
    )
    return recognize_tiled(backend, image, options.max_side)


def _evidence(words: list[Word]) -> float:
    """How well a page was read: confidence-weighted count of recognised characters."""
    return sum(w.conf * len(w.text) for w in words)


def ocr_page(image: Image.Image, options: OcrOptions | None = None) -> OcrResult:
    """Deskew, OCR, and fix the orientation of one page image; see ``ocr_image``. Also returns the skew.

    The page is read once as it is; only when its lines say it is sideways or upside down is it
    turned and read again, so upright pages (the common case) pay for one OCR pass. If the turned
    page reads clearly worse, an upside-down turn is dropped and a sideways page is turned the
    other way instead (a third pass) when that reads better.
    """
    map_large_buffers()  # before the first big allocation of the page, once per process
    options = options or OcrOptions()
    backend = get_ocr(options)
    img = to_rgb(image)
    if backend.name == "none":
        return OcrResult(words=[], rotation=0, skew=0.0, image=img)
    stats = line_stats(img) if options.deskew or max(img.size) > options.max_side else None
    skew = 0.0
    if options.deskew and stats is not None and MIN_SKEW_DEG <= abs(stats.skew) <= MAX_SKEW_DEG:
        # text lines keep their angle under quarter turns, so deskewing first is safe for any orientation
        skew = stats.skew
        img = deskew(img, skew)
    line_height = stats.line_height if stats is not None else 0.0
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
    trim_heap()
    return OcrResult(words=words, rotation=rotation, skew=skew, image=img)


def ocr_image(image: Image.Image, options: OcrOptions | None = None) -> tuple[list[Word], int, Image.Image]:
    """OCR one page image.

    In: any PIL image. Out: the words (pixel boxes on the upright image), the rotation in degrees
    counter-clockwise (0/90/180/270, as ``Image.rotate``) that was applied to make it upright, and
    the upright (rotated and deskewed) RGB image itself.
    """
    res = ocr_page(image, options)
    return res.words, res.rotation, res.image
