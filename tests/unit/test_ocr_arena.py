"""The recogniser's memory arena: on for the lines of a call, emptied after every call."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from docvlm.ocr import OcrOptions, rapidocr_backend
from docvlm.ocr.factory import get_ocr


@pytest.fixture(scope="module")
def two_lines() -> Image.Image:
    from matplotlib import font_manager

    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans", fallback_to_default=True), 28)
    img = Image.new("RGB", (640, 200), "white")
    draw = ImageDraw.Draw(img)
    draw.text((30, 30), "Subtotal 118.40", fill="black", font=font)
    draw.text((30, 110), "Total 131.42 EUR", fill="black", font=font)
    return img


def test_the_recogniser_arena_is_emptied_after_each_call(monkeypatch, two_lines):
    backend = get_ocr(OcrOptions(backend="rapidocr", threads=1))
    assert isinstance(backend, rapidocr_backend.RapidOcrBackend)
    session = backend._rec.session.session
    assert session.get_session_options().enable_cpu_mem_arena is rapidocr_backend.REC_MEM_ARENA
    assert backend._shrink is not None
    calls = []
    shrink = backend._shrink
    monkeypatch.setattr(backend, "_shrink", lambda: (calls.append(1), shrink())[1])
    words = backend.recognize(two_lines)
    # one recognition call for the page, one shrink after it; the text is read as printed
    assert len(calls) == 1
    assert [w.text for w in sorted(words, key=lambda w: (w.line, w.x0))] == [
        "Subtotal",
        "118.40",
        "Total",
        "131.42",
        "EUR",
    ]


def test_the_arena_is_emptied_when_recognition_fails(monkeypatch, two_lines):
    from docvlm.errors import OcrError

    backend = get_ocr(OcrOptions(backend="rapidocr", threads=1))
    calls = []
    shrink = backend._shrink
    monkeypatch.setattr(backend, "_shrink", lambda: (calls.append(1), shrink())[1])

    def broken(_inp):
        raise RuntimeError("boom")

    monkeypatch.setattr(backend, "_rec", broken)
    with pytest.raises(OcrError):
        backend.recognize(two_lines)
    assert calls == [1]
