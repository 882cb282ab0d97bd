"""What every OCR backend shares: the options, the backend interface and the result of one page.

In: ``OcrOptions`` (typed settings of the OCR stage). Out: an ``OcrBackend`` reads an upright
image into ``Word``s with pixel boxes; ``ocr_page`` (``docvlm.ocr.page``) wraps that into an
``OcrResult`` with the turn and skew it applied.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from docvlm.datamodel import Word

if TYPE_CHECKING:
    from PIL import Image

# the detector's pixel budget is this share of max_side squared: an A4-shaped page max_side px
# high. Tiles (for small print) hold no more, so tiling never needs more detector memory either
TILE_AREA = 0.71


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int) -> int:
    """onnxruntime threads for each of ``workers`` processes, so that together they fill the cores once."""
    return max(1, usable_cores() // max(1, workers))


class OcrOptions(BaseModel):
    """How pages without a text layer are OCR'd."""

    model_config = ConfigDict(extra="forbid")
    backend: Literal["rapidocr", "tesseract", "none"] = "rapidocr"
    threads: int | None = Field(
        default=None,
        ge=1,
        description="intra-op threads of onnxruntime (and OpenCV); None: the cores this process may use, "
        "shared among the worker processes (PipelineOptions fills it in), so workers x threads never "
        "exceeds the cores. Tesseract runs one thread unless this is set",
    )
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
    line_px: int = Field(
        default=40,
        ge=0,
        description="pages whose text lines are taller than this (in pixels, measured before OCR) are "
        "resampled so that they come out this high, then read; words keep the page's own pixels. The "
        "recogniser reads every line at 48 px, so a 600 dpi scan costs about what a 200 dpi one does. "
        "0 reads every page at its own resolution",
    )
    detector: Literal["float", "int8"] = Field(
        default="float",
        description="RapidOCR's text detector: float, the model RapidOCR ships, or int8, the copy "
        "quantised from it that ships with docvlm (docvlm.ocr.int8; the float model is used when the "
        "installed one is not its source). int8 needs a CPU with int8 dot products (AVX-512 VNNI or "
        "AVX-VNNI) to be faster: there its detector ran 3.3-3.7x faster, and scans agreed with their text "
        "layer 1-1.6 points less often (README, Speed)",
    )
    tesseract_lang: str = Field(default="eng", description="tesseract -l value, e.g. 'eng+deu'")


@dataclass
class OcrResult:
    """Words on the upright page, the quarter turn and skew applied to get it, and the image read.

    ``words`` are in pixels of the upright page at the input's resolution, whose size is ``size``.
    ``image`` is the upright image OCR read, in greyscale ("L"): the input deskewed and turned,
    resampled by ``scale`` when its print was larger than the recogniser needs
    (``OcrOptions.line_px``), else at 1.
    """

    words: list[Word]
    rotation: int  # degrees counter-clockwise (PIL ``Image.rotate``, expand) applied after the deskew
    skew: float  # degrees counter-clockwise applied first to remove the skew
    image: Image.Image
    size: tuple[int, int]  # (width, height) of the upright page in the input's pixels
    scale: float = 1.0


class OcrBackend(ABC):
    """One OCR engine. ``recognize`` returns words with pixel boxes of the image it was given."""

    name: str = "base"

    @abstractmethod
    def recognize(self, image: Image.Image, text_px: float = 0.0) -> list[Word]:
        """OCR an upright greyscale ("L") or RGB image; word boxes are in its pixels, ``Word.line`` ids per text line.

        ``text_px`` is the height of the page's text lines in ``image`` pixels when it was measured
        (``line_stats``), else 0; a backend may use it to choose the scale it detects text at."""

    def detect_rotation(self, image: Image.Image) -> int:
        """Degrees counter-clockwise (0/90/180/270) that make ``image`` upright; 0 when unsure."""
        return 0

    def detection_scale(self, width: int, height: int, text_px: float = 0.0) -> float:
        """Scale at which this backend looks for text on a ``width`` x ``height`` image (1: as it is),
        whose text lines are ``text_px`` high (0: not known)."""
        return 1.0

    def check_rotation(self, image: Image.Image, words: list[Word]) -> int:
        """Like ``detect_rotation`` but may use the words a recognition pass already found on ``image``."""
        return self.detect_rotation(image)


class NullOcrBackend(OcrBackend):
    """``backend="none"``: the user chose not to OCR; pages without a text layer get no words."""

    name = "none"

    def recognize(self, image: Image.Image, text_px: float = 0.0) -> list[Word]:
        return []
