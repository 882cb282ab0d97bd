"""Page images for a vision-language model: a page in, images within the model's pixel budget out.

In: a page (with its lazy renderer and its ``dpi``, the one resolution setting of a run) and an
``ImageBudget``: the most pixels of one image, the most images for one page and the most pixels of
the whole page before it is cut. Out: the page as one image or as overlapping tiles
(``docvlm.tiling``), in reading order.

A PDF page is rendered straight at the resolution whose area fits the budget, never above the
page's dpi (rendering big and shrinking costs time and memory); a raster page comes at its native
resolution and is shrunk to the area. When the page needs more tiles than allowed (a very long or
very wide page), it is shrunk a little until the tiles fit, or, as a last resort, sent as one image
of at most one image's pixels.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from docvlm.datamodel import Page
from docvlm.errors import DocvlmError, EngineError
from docvlm.tiling import Tile, crop, plan_tiles

if TYPE_CHECKING:
    from PIL import Image

_log = logging.getLogger(__name__)

#: lowest dpi worth sending (below it small print is unreadable even to a strong model)
MIN_DPI = 36
#: the page side is cut by this factor per round until its tiles fit
SHRINK = 0.9


@dataclass(frozen=True)
class ImageBudget:
    """How much image a model takes for one page."""

    pixels: int  # most pixels of one image (one tile)
    max_images: int  # most images (tiles) for one page
    area: int  # most pixels of the page before it is cut into tiles
    overlap: float = 0.1  # overlap between neighbouring tiles, as a fraction of the tile side
    max_side: int | None = None  # longest side of one tile, when the model caps it
    rounds: int = 12  # shrinking rounds before the page goes as one image


def _render(page: Page, area: int) -> Image.Image:
    """The page at the highest resolution (at most ``page.dpi``) whose area is within ``area``."""
    if page.render is None:
        raise EngineError(f"page {page.number} has no image")
    if page.unit == "pt":
        inches = max(page.width / 72.0, 1e-3) * max(page.height / 72.0, 1e-3)
        dpi = int(min(page.dpi, math.sqrt(area / inches)))
        return page.image(max(dpi, MIN_DPI)).convert("RGB")
    return page.image().convert("RGB")  # a raster page has one native resolution


def _scaled(width: int, height: int, area: float) -> tuple[int, int]:
    scale = math.sqrt(area / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _plan(width: int, height: int, budget: ImageBudget) -> list[Tile] | None:
    try:
        return plan_tiles(width, height, budget.pixels, overlap=budget.overlap, max_side=budget.max_side)
    except DocvlmError as exc:  # a budget too small to tile this shape
        _log.debug("cannot tile %dx%d px (%s)", width, height, exc)
        return None


def fit_page(page: Page, budget: ImageBudget) -> list[Image.Image]:
    """The page as one image or several tiles within ``budget``; ``EngineError`` without a renderer."""
    image = _render(page, budget.area)
    width, height = image.size
    if width * height > budget.area:
        width, height = _scaled(width, height, budget.area)
    tiles = _plan(width, height, budget)
    for _ in range(budget.rounds):
        if tiles is None or len(tiles) <= budget.max_images:
            break
        width, height = max(1, int(width * SHRINK)), max(1, int(height * SHRINK))
        tiles = _plan(width, height, budget)
    if tiles is None or len(tiles) > budget.max_images:
        if width * height > budget.pixels:
            width, height = _scaled(width, height, budget.pixels)
        tiles = None
    if (width, height) != image.size:
        image = image.resize((width, height))
    _log.debug(
        "page %d: %dx%d px in %d image(s) of <= %d px",
        page.number,
        width,
        height,
        len(tiles) if tiles else 1,
        budget.pixels,
    )
    if not tiles or len(tiles) == 1:
        return [image]
    return [crop(image, t) for t in tiles]


__all__ = ["MIN_DPI", "ImageBudget", "fit_page"]
