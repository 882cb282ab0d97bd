"""Page images for the VLM engines: the run's dpi is the ceiling, the budget bounds every image."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from docvlm.datamodel import Page
from docvlm.engines.generative.images import ImageBudget, fit_page
from docvlm.errors import EngineError


def pdf_page(dpi: int, width_pt: float = 595.0, height_pt: float = 842.0) -> tuple[Page, list[int]]:
    asked: list[int] = []

    def render(d: int) -> Image.Image:
        asked.append(d)
        return Image.new("RGB", (round(width_pt * d / 72), round(height_pt * d / 72)), "white")

    return Page(number=1, width=width_pt, height=height_pt, unit="pt", render=render, dpi=dpi), asked


def test_a_pdf_page_is_rendered_at_the_run_dpi_when_the_budget_allows() -> None:
    page, asked = pdf_page(dpi=110)
    (image,) = fit_page(page, ImageBudget(pixels=10_000_000, max_images=1, area=10_000_000))
    assert asked == [110]
    assert image.size == (round(595 * 110 / 72), round(842 * 110 / 72))


def test_a_pdf_page_is_rendered_at_the_dpi_that_fits_the_area() -> None:
    page, asked = pdf_page(dpi=300)
    area = 1_000_000
    images = fit_page(page, ImageBudget(pixels=area, max_images=1, area=area))
    assert asked == [int(math.sqrt(area / (595 / 72 * 842 / 72)))]
    assert len(images) == 1 and images[0].width * images[0].height <= area


def test_a_long_raster_page_is_tiled_within_the_budget() -> None:
    receipt = Image.new("RGB", (600, 3000), "white")
    page = Page(number=1, width=600, height=3000, unit="px", render=lambda d: receipt.copy())
    budget = ImageBudget(pixels=400_000, max_images=4, area=1_600_000)
    tiles = fit_page(page, budget)
    assert 2 <= len(tiles) <= 4
    assert all(t.width * t.height <= budget.pixels for t in tiles)


def test_a_page_that_cannot_be_tiled_in_time_goes_as_one_shrunk_image() -> None:
    strip = Image.new("RGB", (200, 8000), "white")
    page = Page(number=1, width=200, height=8000, unit="px", render=lambda d: strip.copy())
    (image,) = fit_page(page, ImageBudget(pixels=100_000, max_images=2, area=1_600_000, rounds=1))
    assert image.width * image.height <= 100_000


def test_a_page_without_a_renderer_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="no image"):
        fit_page(Page(number=3, width=10, height=10, unit="px"), ImageBudget(1000, 1, 1000))
