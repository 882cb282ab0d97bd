"""Scanned-page PDFs with a text layer of the test's choosing: right, garbled, or another page's text.

A "searchable scan" is a page image with the OCR text drawn invisibly (render mode 3) over it; these
helpers build such PDFs from any image and any list of ``(text, pixel box)`` lines.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from docvlm.datamodel import BBox

Layer = Sequence[tuple[str, BBox]]


def scan_pdf(path: Path, image: Image.Image, dpi: float, layer: Layer = (), visible: bool = False) -> Path:
    """One page the size of ``image`` at ``dpi`` showing it, with ``layer`` (boxes in image pixels) as text.

    Each line is drawn in Helvetica, as tall as its box and stretched to its width, invisibly unless
    ``visible``.
    """
    import pymupdf

    scale = 72.0 / dpi
    doc = pymupdf.open()
    page = doc.new_page(width=image.width * scale, height=image.height * scale)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    page.insert_image(page.rect, stream=buf.getvalue())
    for text, (x0, y0, x1, y1) in layer:
        x0, y0, x1, y1 = x0 * scale, y0 * scale, x1 * scale, y1 * scale
        size = max(1.0, 0.85 * (y1 - y0))
        length = pymupdf.get_text_length(text, fontname="helv", fontsize=size)
        if length <= 0:
            continue
        origin = pymupdf.Point(x0, y1 - 0.2 * (y1 - y0))
        page.insert_text(
            origin,
            text,
            fontsize=size,
            fontname="helv",
            render_mode=0 if visible else 3,
            morph=(origin, pymupdf.Matrix((x1 - x0) / length, 1)),
        )
    doc.save(path)
    doc.close()
    return path


def shuffled(layer: Layer, seed: int = 0) -> list[tuple[str, BBox]]:
    """The same lines in the same boxes with the letters of every word shuffled (a garbled OCR layer)."""
    rng = random.Random(seed)
    out = []
    for text, box in layer:
        words = ["".join(rng.sample(w, len(w))) for w in text.split()]
        out.append((" ".join(words), box))
    return out


def swapped(layer: Layer, other: Layer) -> list[tuple[str, BBox]]:
    """The boxes of ``layer`` holding the texts of ``other`` (real words, but another page's)."""
    texts = [t for t, _ in other]
    return [(texts[i % len(texts)], box) for i, (_, box) in enumerate(layer)] if texts else []


def render(pdf: Path, dpi: int, page: int = 0) -> Image.Image:
    """Page ``page`` of ``pdf`` rendered at ``dpi`` as an RGB image."""
    import pymupdf

    with pymupdf.open(pdf) as doc:
        pix = doc[page].get_pixmap(dpi=dpi, alpha=False)
        return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def text_layer(pdf: Path, dpi: int, page: int = 0) -> list[tuple[str, BBox]]:
    """The text lines of a born-digital page with their boxes in pixels of a ``dpi`` render."""
    import pymupdf

    k = dpi / 72.0
    lines: dict[tuple[int, int], list[tuple[float, float, float, float, str]]] = {}
    with pymupdf.open(pdf) as doc:
        for x0, y0, x1, y1, t, b, ln, _ in doc[page].get_text("words"):
            lines.setdefault((b, ln), []).append((x0, y0, x1, y1, t))
    out = []
    for ws in lines.values():
        ws.sort()
        box = (
            min(w[0] for w in ws) * k,
            min(w[1] for w in ws) * k,
            max(w[2] for w in ws) * k,
            max(w[3] for w in ws) * k,
        )
        out.append((" ".join(w[4] for w in ws), box))
    return out
