"""The ocr/ package's seams: the RapidOCR versions its private hooks were checked against, and
backends that load only what they need."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from docvlm.ocr import rapidocr_backend


def _release(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def test_installed_rapidocr_is_in_the_checked_version_range():
    # the backend reaches RapidOCR's models through private methods; a release outside the range
    # they were checked against must be checked again (and the range moved) before it is allowed
    lo, hi = rapidocr_backend.RAPIDOCR_VERSIONS
    installed = _release(version("rapidocr"))
    assert lo <= installed < hi, f"rapidocr {version('rapidocr')} is outside the checked range {lo}..{hi}"
    from rapidocr import RapidOCR

    assert callable(getattr(RapidOCR, "_load_det_model", None))
    assert callable(getattr(RapidOCR, "_load_rec_model", None))
    engine = RapidOCR(params={"Global.log_level": "error"})
    det, rec = engine._load_det_model(), engine._load_rec_model()
    for attr in ("session", "postprocess_op", "sorted_boxes"):
        assert hasattr(det, attr)
    assert callable(rec) and callable(engine.cal_rec_boxes) and 0 < float(engine.text_score) < 1
    assert len(engine.cfg.Det.mean) == len(engine.cfg.Det.std) == 3


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_tesseract_backend_and_ingest_do_not_load_rapidocr():
    mods = _modules_after("import docvlm.ingest, docvlm.ocr.page, docvlm.ocr.tesseract_backend")
    assert not {"rapidocr", "onnxruntime"} & mods


def test_importing_the_ocr_package_loads_no_numerics():
    mods = _modules_after("import docvlm.ocr; from docvlm.ocr import OcrOptions; OcrOptions()")
    assert not {"numpy", "cv2", "rapidocr", "onnxruntime"} & mods
