"""OCR: page image in, words with pixel boxes out, after skew and orientation correction.

Backends: RapidOCR (default; its wheel bundles PP-OCR ONNX models, so nothing is downloaded)
and the Tesseract binary (optional). The package's rooms:

- ``base``: ``OcrOptions``, the ``OcrBackend`` interface and ``OcrResult``;
- ``page``: ``ocr_page`` / ``ocr_image``, the skew, turn-and-read and tiling policy of one page;
- ``factory``: ``get_ocr``, one backend per process and options;
- ``rapidocr_backend`` and ``tesseract_backend``: the engines;
- ``orientation``: upright, sideways or upside down, from any backend's lines;
- ``lines``: text-line geometry (skew and line height, a crop's ink band, words from a line);
- ``memory``: glibc heap tuning for the detector's big tensors.

Image operations (``to_rgb``, ``deskew``, ``upright``) live in ``docvlm.imaging``. Only the options
and the interface are imported with the package; everything else on first use, so importing
``docvlm.ocr`` loads neither numpy, OpenCV nor onnxruntime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docvlm.ocr.base import OcrBackend, OcrOptions, OcrResult

if TYPE_CHECKING:
    from docvlm.imaging import to_rgb, upright
    from docvlm.ocr.factory import get_ocr
    from docvlm.ocr.lines import line_stats, quad_to_words
    from docvlm.ocr.page import ocr_image, ocr_page

_LAZY = {
    "ocr_page": "docvlm.ocr.page",
    "ocr_image": "docvlm.ocr.page",
    "get_ocr": "docvlm.ocr.factory",
    "line_stats": "docvlm.ocr.lines",
    "quad_to_words": "docvlm.ocr.lines",
    "to_rgb": "docvlm.imaging",
    "upright": "docvlm.imaging",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'docvlm.ocr' has no attribute {name!r}")


__all__ = [
    "OcrBackend",
    "OcrOptions",
    "OcrResult",
    "get_ocr",
    "line_stats",
    "ocr_image",
    "ocr_page",
    "quad_to_words",
    "to_rgb",
    "upright",
]
