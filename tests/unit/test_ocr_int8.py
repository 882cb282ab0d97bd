"""The int8 text detector: the shipped copy matches the installed float model, falls back when it does
not, reads what the float detector reads, and ``docvlm quantize-ocr`` rebuilds it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from docvlm.ocr import OcrOptions, int8
from docvlm.ocr.factory import create_backend, get_ocr
from docvlm.ocr.page import ocr_page
from docvlm.sources import hash_file

LINES = [
    "Rechnung Nr. 2024-0117  Datum 03.12.2024",
    "2 x Widget large       19,90  39,80",
    "1 x Cable 2m            4,50   4,50",
    "Zwischensumme                 44,30",
    "MwSt. 19 %                     8,42",
    "Gesamtbetrag EUR              52,72",
]


@pytest.fixture(scope="module")
def font() -> ImageFont.FreeTypeFont:
    from matplotlib import font_manager

    path = font_manager.findfont("DejaVu Sans", fallback_to_default=True)
    if not path:
        pytest.skip("no TTF font found on this machine")
    return ImageFont.truetype(path, 26)


def _page(font: ImageFont.FreeTypeFont, lines: list[str], size: tuple[int, int] = (900, 520)) -> Image.Image:
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    for i, t in enumerate(lines):
        d.text((40, 30 + i * 78), t, fill=0, font=font)
    return img


def _words(image: Image.Image, detector: str) -> list[str]:
    options = OcrOptions(detector=detector, threads=1, auto_rotate=False, deskew=False)
    return sorted(w.text for w in ocr_page(image, options).words)


def test_the_shipped_int8_detector_was_built_from_the_installed_float_model():
    float_model = int8.float_detector_path()
    manifest = json.loads((int8.MODEL_DIR / int8.MANIFEST).read_text(encoding="utf-8"))
    # a rapidocr release with another detector makes this fail: rebuild with `docvlm quantize-ocr`
    assert manifest["source"]["sha256"] == hash_file(float_model)[0]
    assert manifest["sha256"] == hash_file(int8.MODEL_DIR / int8.DETECTOR)[0]
    assert int8.int8_detector(float_model) == int8.MODEL_DIR / int8.DETECTOR
    assert get_ocr(OcrOptions(threads=1)).detector == "float"  # the default
    assert get_ocr(OcrOptions(threads=1, detector="int8")).detector == "int8"


def test_an_int8_detector_of_another_float_model_is_not_used(tmp_path, monkeypatch, caplog):
    shutil.copy(int8.MODEL_DIR / int8.DETECTOR, tmp_path / int8.DETECTOR)
    manifest = json.loads((int8.MODEL_DIR / int8.MANIFEST).read_text(encoding="utf-8"))
    manifest["source"]["sha256"] = "0" * 64
    (tmp_path / int8.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert int8.int8_detector(int8.float_detector_path(), tmp_path) is None
    assert int8.int8_detector(int8.float_detector_path(), tmp_path / "missing") is None
    monkeypatch.setattr(int8, "MODEL_DIR", tmp_path)
    with caplog.at_level("WARNING"):
        backend = create_backend("rapidocr", threads=1, detector="int8")
    assert backend.detector == "float"
    assert "no int8 text detector" in caplog.text


@pytest.mark.parametrize(("features", "warned"), [(("avx2",), True), (("avx2", "avx512_vnni"), False)])
def test_the_int8_detector_warns_on_a_cpu_without_vnni(monkeypatch, caplog, features, warned):
    from docvlm import hardware

    monkeypatch.setattr(hardware, "this_cpu", lambda: ("Example CPU", features))
    with caplog.at_level("WARNING"):
        backend = create_backend("rapidocr", threads=1, detector="int8")
    assert backend.detector == "int8"  # used either way: it is the user's choice
    assert ("no VNNI or AMX" in caplog.text) is warned


def test_cpu_features_are_read_from_cpuinfo(monkeypatch):
    from docvlm import hardware

    info = "processor\t: 0\nmodel name\t: Example CPU 9000\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"
    assert hardware.read_cpu(info) == ("Example CPU 9000", ("avx2", "avx512f", "avx512_vnni"))
    for features, fast in [((), None), (("avx2",), False), (("avx2", "amx_int8"), True)]:
        monkeypatch.setattr(hardware, "this_cpu", lambda f=features: ("Example CPU", f))
        assert hardware.fast_int8() is fast


def test_the_int8_detector_reads_the_words_the_float_one_reads(font):
    page = _page(font, LINES)
    expected = sorted(" ".join(LINES).split())
    assert _words(page, "float") == expected
    assert _words(page, "int8") == expected


def test_quantize_ocr_builds_a_detector_that_loads_and_reads(tmp_path, font, monkeypatch):
    from typer.testing import CliRunner

    from cli import app

    pages = tmp_path / "pages"
    pages.mkdir()
    for k in range(2):
        _page(font, LINES[k:] + LINES[:k]).save(pages / f"p{k}.png")
    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["quantize-ocr", str(pages), "-o", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / int8.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["calibration"]["images"] == 2 and manifest["calibration"]["inputs"] >= 2
    assert manifest["source"]["sha256"] == hash_file(int8.float_detector_path())[0]
    assert manifest["settings"]["float_nodes"]  # the head stays in float
    monkeypatch.setattr(int8, "MODEL_DIR", out)
    backend = create_backend("rapidocr", threads=1, detector="int8")
    assert backend.detector == "int8"
    assert Path(backend._det.session.session._model_path) == out / int8.DETECTOR
    read = sorted(w.text for w in backend.recognize(_page(font, LINES)))
    assert read == sorted(" ".join(LINES).split())


def test_quantize_ocr_without_images_or_with_a_broken_one_is_a_clear_error(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(app, ["quantize-ocr", str(tmp_path), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "no images" in result.output
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    result = CliRunner().invoke(app, ["quantize-ocr", str(broken), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "cannot read the calibration image" in result.output
    assert not (tmp_path / "m" / int8.DETECTOR).exists()
