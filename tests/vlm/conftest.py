"""Fixtures for the VLM tests: tiny random-weight models (built once per session) and generated pages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from docvlm.datamodel import Page, Word, WordSource

_log = logging.getLogger(__name__)

_LINES = [
    "ACME Supplies GmbH",
    "Hauptstrasse 5, 10115 Berlin",
    "Invoice No: INV-2024-0042",
    "Invoice Date: 2024-03-01",
    "Description Qty Price Amount",
    "Paper A4 2 5.00 10.00",
    "Toner black 1 45.50 45.50",
    "Subtotal 55.50",
    "VAT 19% 10.55",
    "Total EUR 66.05",
]


def make_page(number: int = 1, lines: list[str] | None = None, width: int = 620, height: int = 820) -> Page:
    """A raster page drawn with PIL: its words carry the boxes they were drawn at."""
    from PIL import Image, ImageDraw, ImageFont

    lines = lines if lines is not None else _LINES
    font = ImageFont.load_default()
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    words: list[Word] = []
    y = 40
    for li, line in enumerate(lines):
        x: float = 40
        for token in line.split():
            box = draw.textbbox((x, y), token, font=font)
            draw.text((x, y), token, fill="black", font=font)
            words.append(
                Word(token, (float(box[0]), float(box[1]), float(box[2]), float(box[3])), number, line=li)
            )
            x = box[2] + 8
        y += 60

    def render(dpi: int, image: Image.Image = image) -> Image.Image:
        return image.copy()

    return Page(
        number=number,
        width=width,
        height=height,
        unit="px",
        words=words,
        word_source=WordSource.OCR,
        render=render,
    )


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread; on a shared CPU, OpenMP spinning makes them 10-30x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def pages() -> list[Page]:
    return [make_page(1)]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """``tiny_model_dir(family) -> Path``: builds each tiny model at most once per test session."""
    from tests.vlm.tiny_models import build_tiny_model

    root = tmp_path_factory.mktemp("tiny_vlms")
    built: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in built:
            built[family] = build_tiny_model(family, root / family)
        return built[family]

    return get
