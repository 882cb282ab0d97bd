"""The Tesseract backend: the ``tesseract`` binary through its TSV output (pytesseract not needed).

In: an upright RGB page image. Out: ``Word``s with pixel boxes, one ``line`` id per tesseract
text line. Orientation is decided from tesseract's own line boxes and line readings
(``docvlm.ocr.orientation``), so this backend needs no other OCR engine; OSD is kept as
``detect_rotation_osd``.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess

from PIL import Image

from docvlm.datamodel import Word
from docvlm.errors import OcrError
from docvlm.geometry import union
from docvlm.imaging import downscale, to_rgb
from docvlm.ocr import orientation
from docvlm.ocr.base import OcrBackend
from docvlm.ocr.lines import LAYOUT_SIDE, int_box
from docvlm.parsers import normalize_text

_log = logging.getLogger(__name__)

# tesseract OSD orientation confidence below which its answer is ignored
OSD_MIN_CONFIDENCE = 2.0


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

    def recognize(self, image: Image.Image, text_px: float = 0.0) -> list[Word]:
        return self._words(self._run(image, ["-l", self._lang, "--psm", "3", "tsv"]))

    @staticmethod
    def _words(tsv: str) -> list[Word]:
        """Words of tesseract's TSV output (level-5 rows), one line id per (block, paragraph, line)."""
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

    def line_boxes(self, image: Image.Image) -> list[tuple[int, int, int, int]]:
        """Integer boxes of the text lines tesseract finds on ``image`` (for orientation)."""
        lines: dict[int, list[Word]] = {}
        for w in self.recognize(image):
            lines.setdefault(w.line, []).append(w)
        return [int_box(union(w.bbox for w in lw), image.size) for lw in lines.values()]

    def line_score(self, crop: Image.Image) -> float:
        """How well one line crop reads as it is: mean word confidence times the text length."""
        try:
            tsv = self._run(crop, ["-l", self._lang, "--psm", "7", "tsv"], timeout=60.0)
        except OcrError as e:
            _log.debug("tesseract could not read a line crop: %s", e)
            return 0.0
        words = self._words(tsv)
        chars = sum(len(w.text) for w in words)
        if not chars:
            return 0.0
        conf = sum(w.conf * len(w.text) for w in words) / chars
        # a confident reading of a longer string is stronger evidence than of one character
        return conf * min(chars, 20)

    def detect_rotation(self, image: Image.Image) -> int:
        """Orientation from tesseract's own line boxes and line readings (see ``docvlm.ocr.orientation``).

        Measured on the SROIE receipts, tesseract's OSD (``detect_rotation_osd``) is unreliable on
        receipts (wrong answers with confidence up to ~4), so the line evidence decides.
        """
        return orientation.detect_rotation(self, image)

    def check_rotation(self, image: Image.Image, words: list[Word]) -> int:
        """Orientation from the words of a recognition pass over ``image``."""
        return orientation.check_rotation(self, image, words)

    def detect_rotation_osd(self, image: Image.Image) -> int:
        """Tesseract's orientation and script detection (``--psm 0``); 0 when it cannot decide."""
        small, _ = downscale(to_rgb(image), LAYOUT_SIDE * 2)
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
