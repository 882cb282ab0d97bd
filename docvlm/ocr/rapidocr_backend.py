"""The RapidOCR backend: PP-OCR text detection and recognition through RapidOCR's bundled ONNX models.

In: an upright page image (read in greyscale; the models get its grey in all three channels). Out: ``Word``s with pixel boxes of that image, one ``line`` id per
detected text line. Nothing is downloaded: the rapidocr wheel ships the models.

RapidOCR's public entry point (``RapidOCR(...)(image)``) runs detection and recognition at one
scale on the whole image. This backend needs the two models apart (detection on a bounded copy in
strips, recognition of each line cut from the full-resolution page), so it reaches the models
through ``RapidOCR._load_det_model`` / ``_load_rec_model``, private methods that exist from
rapidocr 3.10 (earlier 3.x built them eagerly). ``RAPIDOCR_VERSIONS`` is the range this was
checked against; a test fails when the installed rapidocr is outside it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from docvlm.datamodel import Word
from docvlm.errors import OcrError
from docvlm.imaging import to_grey, to_rgb
from docvlm.ocr import orientation
from docvlm.ocr.base import TILE_AREA, OcrBackend
from docvlm.ocr.lines import ink_rows, ink_segments, quad_box, quad_to_words, sub_quad
from docvlm.ocr.memory import trim_heap
from docvlm.parsers import normalize_text
from docvlm.tiling import plan_strips

_log = logging.getLogger(__name__)

#: rapidocr releases whose private model accessors this backend was checked against
RAPIDOCR_VERSIONS = ((3, 10), (4, 0))  # [from, to)

DET_BOX_THRESH = 0.3  # mean text probability a detected box needs (RapidOCR's default 0.5)
# a page's detector input is cut into full-width strips, one per this many pixels: one detector run
# holds ~150 MB of activations per megapixel (PP-OCRv6 small); two strips of the default budget
# measured 79 MB at the peak of a page instead of 138 MB, for ~12% more detector time
DET_STRIP_PIXELS = 400_000
# rows (at the detector's scale) shared by neighbouring strips; lines up to half this high are never cut
DET_STRIP_OVERLAP = 128
# the recogniser reads a line 48 px high and pads it on the right to at least this width (RapidOCR's
# default 320 padded most receipt lines, whose median is ~150 px, to twice their cost)
REC_MIN_WIDTH = 96
# a small image is enlarged for the detector only until its text lines (as ``line_stats`` measures
# them) are this many pixels high: receipts' print (~12 px) is found as it is
DET_LINE_PX = 12.0
# a line crop is read in pieces cut at blank gaps at least this many of its line heights wide
# (columns of a receipt, a label and its amount): the recogniser's cost grows with the width it
# reads, faster than linearly past ~800 px, and blank columns cost as much as print
SPLIT_GAP = 1.5
# a piece still wider than this many line heights is cut at a word space as well
MAX_PIECE_RATIO = 20.0
# onnxruntime's memory arena for the recogniser: it runs once per line on tensors of a few MB, which
# the arena keeps and reuses across the lines of a call instead of mapping and unmapping them (see
# ``map_large_buffers``) for every line; the arena is emptied after each call (``_shrink_rec_arena``),
# so it holds nothing between pages. On 10 SROIE receipts + 2 600 dpi renders, one thread: the
# recogniser's CPU 2.12 -> 1.86 s a receipt, page faults 1.73 M -> 1.42 M
REC_MEM_ARENA = True
# the smallest input the recogniser takes (1 x 3 x 48 x this): the run that empties its arena
_SHRINK_WIDTH = 32
# the detector may enlarge a small image by up to this factor to fill its pixel budget
MAX_DET_UPSCALE = 2.0


def _pixels(image: Image.Image) -> np.ndarray:
    """The pixels OCR reads: a greyscale or RGB image as it is, any other mode as greyscale."""
    return np.asarray(image if image.mode in ("L", "RGB") else to_grey(image))


def _three_channels(crop: np.ndarray) -> np.ndarray:
    """A line crop as the recogniser takes it, (h, w, 3): a grey crop in all three channels."""
    if crop.ndim == 3:
        return crop
    import cv2

    return cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)


class RapidOcrBackend(OcrBackend):
    """PP-OCR detection + recognition through RapidOCR's bundled ONNX models (offline, CPU).

    Detection and recognition run at two scales. The text detector sees the page resampled to a
    fixed pixel budget (``max_side`` squared times ``TILE_AREA``): its activations cost about
    150 MB per megapixel, so this bounds memory whatever the page size. Recognition then reads
    each detected line from the full-resolution page, where small print is sharpest. One
    detection pass replaces the 6-8 tiles a 200 dpi A4 page needed when both steps shared a scale.
    """

    name = "rapidocr"

    def __init__(self, threads: int = 1, max_side: int = 1024, detector: str = "float") -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as e:  # a core dependency, but say clearly what is missing
            raise OcrError(
                "rapidocr is not installed; install it with: pip install 'rapidocr>=3.10,<4' onnxruntime"
            ) from e
        import cv2

        # OpenCV's own pool would take every core in each worker process besides onnxruntime's threads
        cv2.setNumThreads(threads)
        params: dict[str, Any] = {
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # one line per recogniser call: a batch is padded to its widest line, and on 200 dpi
            # A4 pages batches of 6 took 28% longer and 370 MB more than single lines
            "Rec.rec_batch_num": 1,
            "Rec.rec_img_shape": [3, 48, REC_MIN_WIDTH],
            # the detector sees the page shrunk to its budget, where a lone narrow glyph (a "1" in a
            # quantity column) scores 0.3-0.5; at 0.3 the SROIE CER fell from 5.99% to 5.85% and
            # word recall on 200 dpi A4 renders rose from 0.974 to 0.976 (precision 0.977 -> 0.976)
            "Det.box_thresh": DET_BOX_THRESH,
            "Global.log_level": "error",
        }
        try:
            engine = RapidOCR(params=params)
            self._det = engine._load_det_model()
            self.detector = "float"
            if detector == "int8":
                self._det = self._int8_detector(engine)
            # the arena setting is read when a session is made: the detector's stays off, its
            # activations are hundreds of MB and go back to the OS after every page
            engine.cfg.EngineConfig.onnxruntime.enable_cpu_mem_arena = REC_MEM_ARENA
            self._mean = [float(v) for v in engine.cfg.Det.mean]
            self._std = [float(v) for v in engine.cfg.Det.std]
            self._rec = engine._load_rec_model()
            self._shrink = self._arena_shrinker() if REC_MEM_ARENA else None
            self._word_boxes = engine.cal_rec_boxes
            self._min_score = float(engine.text_score)
        except Exception as e:  # any model-loading failure becomes one typed error
            raise OcrError(f"could not load the RapidOCR models: {e}") from e
        # called with each detector input before it runs (``int8.detector_inputs`` calibrates on them)
        self.det_input_hook: Callable[[np.ndarray], None] | None = None
        self.det_pixels = max(64, max_side) ** 2 * TILE_AREA
        # one model run at a time: concurrent runs from threads would add up their activations
        self._lock = threading.Lock()

    def _int8_detector(self, engine: Any) -> Any:
        """The shipped int8 copy of the detector just loaded (``docvlm.ocr.int8``), when it was built
        from that float model; else the float one stays, with a warning."""
        from docvlm.ocr.int8 import int8_detector

        float_model = self._det.session.session._model_path
        model = int8_detector(float_model)
        if model is None:
            _log.warning(
                "no int8 text detector built from %s ships with docvlm; detecting with the float model "
                "(rebuild it with `docvlm quantize-ocr`)",
                float_model,
            )
            return self._det
        engine.cfg.Det.model_path = str(model)
        engine.text_det = None
        self.detector = "int8"
        from docvlm.hardware import fast_int8

        if fast_int8() is False:
            _log.warning(
                "this CPU has no VNNI or AMX: the int8 text detector measured no faster than the float one "
                "on such a CPU (README, Speed)"
            )
        return engine._load_det_model()

    @staticmethod
    def float_detector() -> Path:
        """The float detector model that RapidOCR loads by default (the source of the int8 copy)."""
        from rapidocr import RapidOCR

        engine = RapidOCR(params={"Global.log_level": "error"})
        return Path(engine._load_det_model().session.session._model_path)

    def detection_scale(self, width: int, height: int, text_px: float = 0.0) -> float:
        """Factor that brings a ``width`` x ``height`` image to the detector's pixel budget, or less.

        A small image is enlarged to fill the budget (up to ``MAX_DET_UPSCALE``) only as far as
        its text lines (``text_px`` high, when known) need to come out ``DET_LINE_PX`` high: a
        receipt's print is found as it is, and the detector's time grows with its input's area.
        Images are never shrunk below the budget for their text's sake: shrunk to 12 px lines, a
        page of 40 px print got word boxes up to 25 px off.
        """
        budget = min(MAX_DET_UPSCALE, math.sqrt(self.det_pixels / max(1, width * height)))
        if text_px > 0 and DET_LINE_PX > 0:
            return min(budget, max(1.0, DET_LINE_PX / text_px))
        return budget

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

    def _detect_strip(self, pixels: np.ndarray) -> np.ndarray:
        """One detector run on a grey (h, w) or RGB (h, w, 3) array whose sides are multiples of 32;
        quads in its pixels.

        The input tensor is built here in float32, one channel at a time (a grey array fills all
        three): RapidOCR's own preprocessing normalises in float64 with whole-image temporaries
        (10 MB more at the peak of a page, measured on a 1438x1655 scan).
        """
        dh, dw = pixels.shape[:2]
        x = np.empty((1, 3, dh, dw), dtype=np.float32)
        for c in range(3):
            x[0, c] = pixels if pixels.ndim == 2 else pixels[:, :, c]
            x[0, c] *= np.float32(1.0 / (255.0 * self._std[c]))
            x[0, c] -= np.float32(self._mean[c] / self._std[c])
        if self.det_input_hook is not None:
            self.det_input_hook(x)
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
            finally:
                if self._shrink is not None:
                    self._shrink()
        return res

    def _arena_shrinker(self) -> Any:
        """A call that empties the recogniser's memory arena: one run of the smallest input with
        onnxruntime's arena shrinkage, which hands every chunk not in use back at the end of that run."""
        import onnxruntime as ort

        session = self._rec.session.session
        feed = {session.get_inputs()[0].name: np.zeros((1, 3, 48, _SHRINK_WIDTH), dtype=np.float32)}
        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

        def shrink() -> None:
            session.run(None, feed, options)

        return shrink

    def recognize(self, image: Image.Image, text_px: float = 0.0) -> list[Word]:
        from rapidocr.utils.process_img import get_rotate_crop_image

        array = _pixels(image)
        quads = self._detect(array, self.detection_scale(image.width, image.height, text_px))
        if len(quads) == 0:
            return []
        # crops come from the full-resolution page; tall crops are turned to read as a line
        crops = [get_rotate_crop_image(array, q.copy()) for q in quads]
        del array  # a copy of the page's pixels; the crops are all that recognition needs
        pieces, boxed, piece_quads, owner = self._pieces(quads, crops)
        res = self._read([_three_channels(p) for p in pieces], np.stack(piece_quads), boxed)
        txts = res.txts or ()
        scores = list(res.scores or [])
        # word_results line up with the pieces only when every piece got its word boxes
        word_results = res.word_results if len(res.word_results or ()) == len(txts) else None
        words: list[Word] = []
        for i, (quad, raw, score) in enumerate(zip(piece_quads, txts, scores, strict=False)):
            text = normalize_text(raw)
            if not text or score < self._min_score:
                continue
            found = None
            if word_results is not None and all(len(p) == 3 and p[2] is not None for p in word_results[i]):
                found = [(p[0], float(p[1]), np.asarray(p[2])) for p in word_results[i]]
            words.extend(quad_to_words(text, quad, float(score), owner[i], found))
        return words

    @staticmethod
    def _pieces(
        quads: np.ndarray, crops: list[np.ndarray]
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[int]]:
        """The pieces of the line crops to recognise: each crop cut at its wide blank gaps.

        Out: the pieces (full crop height), the same cut to the line's ink band (for word boxes),
        their quadrilaterals on the page, and the index of the detected line each comes from
        (its ``Word.line``).
        """
        pieces: list[np.ndarray] = []
        boxed: list[np.ndarray] = []
        piece_quads: list[np.ndarray] = []
        owner: list[int] = []
        for i, (q, c) in enumerate(zip(quads, crops, strict=True)):
            h, w = c.shape[:2]
            r = ink_rows(c)
            v0, v1 = r[0] / h, r[1] / h
            # a crop turned to read a vertical line runs across its quadrilateral: not cut
            turned = np.linalg.norm(q[3] - q[0]) >= 1.5 * np.linalg.norm(q[1] - q[0])
            spans = [(0, w)] if turned else ink_segments(c, r, SPLIT_GAP, MAX_PIECE_RATIO)
            for a, b in spans:
                piece = c if (a, b) == (0, w) else np.ascontiguousarray(c[:, a:b])
                pieces.append(piece)
                boxed.append(piece[r[0] : r[1]])
                piece_quads.append(sub_quad(q, a / w, b / w, v0, v1))
                owner.append(i)
        return pieces, boxed, piece_quads, owner

    def line_boxes(self, image: Image.Image) -> list[tuple[int, int, int, int]]:
        """Integer boxes of the text lines the detector finds on ``image`` (for orientation)."""
        quads = self._detect(_pixels(image), self.detection_scale(image.width, image.height))
        return [quad_box(q, image.size) for q in quads]

    def line_score(self, crop: Image.Image) -> float:
        """How well one line crop reads as it is: the recogniser's confidence times the text length."""
        res = self._read([np.asarray(to_rgb(crop))])
        txts, scores = res.txts or (), res.scores or ()
        if not txts or not scores:
            return 0.0
        # a confident reading of a longer string is stronger evidence than of one character
        return float(scores[0]) * min(len(txts[0].strip()), 20)

    def detect_rotation(self, image: Image.Image) -> int:
        """Orientation from a text-detection pass on a downscaled copy (used when no words are known yet)."""
        return orientation.detect_rotation(self, image)

    def check_rotation(self, image: Image.Image, words: list[Word]) -> int:
        """Orientation from the lines of a recognition pass over ``image`` (no extra detection needed)."""
        return orientation.check_rotation(self, image, words)
