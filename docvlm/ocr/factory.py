"""The OCR backend factory: ``OcrOptions`` in, the backend they name out, created once per process.

Backends import lazily: asking for Tesseract never loads RapidOCR's models, nor the reverse.
"""

from __future__ import annotations

from functools import lru_cache

from docvlm.errors import OcrError
from docvlm.ocr.base import NullOcrBackend, OcrBackend, OcrOptions, threads_per_worker


def create_backend(
    backend: str, threads: int = 1, max_side: int = 1024, lang: str = "eng", detector: str = "float"
) -> OcrBackend:
    """A new backend by name; ``OcrError`` for an unknown name or one that cannot load."""
    if backend == "rapidocr":
        from docvlm.ocr.rapidocr_backend import RapidOcrBackend

        return RapidOcrBackend(threads=threads, max_side=max_side, detector=detector)
    if backend == "tesseract":
        from docvlm.ocr.tesseract_backend import TesseractBackend

        return TesseractBackend(threads=threads, lang=lang)
    if backend == "none":
        return NullOcrBackend()
    raise OcrError(f"unknown OCR backend {backend!r}; choose rapidocr, tesseract or none")


@lru_cache(maxsize=8)
def _cached_backend(backend: str, threads: int, max_side: int, lang: str, detector: str) -> OcrBackend:
    return create_backend(backend, threads, max_side, lang, detector)


def get_ocr(options: OcrOptions) -> OcrBackend:
    """The backend for ``options``, created once per process and reused for every page and document
    (model loading is the slow part). Unset ``threads``: all cores for RapidOCR, one for Tesseract
    (its OpenMP threads measured several times slower on small shared machines)."""
    threads = options.threads or (1 if options.backend == "tesseract" else threads_per_worker(1))
    return _cached_backend(
        options.backend, threads, options.max_side, options.tesseract_lang, options.detector
    )
