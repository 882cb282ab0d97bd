"""Pages for engine tests: a generated born-digital PDF read with PyMuPDF (words + a real renderer).

The engines only need ``Page`` objects, so these tests do not depend on the ingest stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from docvlm.datamodel import Page, Word, WordSource

A4 = (595.0, 842.0)


def make_pdf(path: Path, pages: list[list[tuple[float, float, str]]], size: tuple[float, float] = A4) -> Path:
    """A PDF with one list of ``(x, y, text)`` lines per page (Helvetica 10 pt)."""
    import pymupdf

    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=size[0], height=size[1])
        for x, y, text in lines:
            page.insert_text((x, y), text, fontsize=10, fontname="helv")
    doc.save(path)
    doc.close()
    return path


def load_pages(path: Path) -> list[Page]:
    """The pages of a PDF with their text-layer words and a renderer ``dpi -> RGB image``."""
    import pymupdf

    doc = pymupdf.open(path)
    out: list[Page] = []
    for i in range(doc.page_count):
        p = doc[i]
        words = [
            Word(text=t, bbox=(x0, y0, x1, y1), page=i + 1, line=ln, block=b)
            for x0, y0, x1, y1, t, b, ln, _ in p.get_text("words")
        ]

        def render(dpi: int, _n: int = i) -> Image.Image:
            with pymupdf.open(path) as d:
                pix = d[_n].get_pixmap(dpi=dpi)
                return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)

        out.append(
            Page(
                number=i + 1, width=p.rect.width, height=p.rect.height, unit="pt", words=words, render=render
            )
        )
    doc.close()
    return out


RASTER_LINES = [
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


def make_raster_page(
    number: int = 1, lines: list[str] | None = None, width: int = 620, height: int = 820
) -> Page:
    """A raster page drawn with PIL: its words carry the boxes they were drawn at."""
    from PIL import Image, ImageDraw, ImageFont

    lines = lines if lines is not None else RASTER_LINES
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


Line = tuple[float, float, str] | tuple[float, float, str, float]


def make_page(lines: Sequence[Line], width: float = 595, height: float = 842, number: int = 1) -> Page:
    """A page whose words are laid out like a PDF text layer: (x, y, text[, font size]) per line.

    Two spaces or more in ``text`` become a wide gap (a new segment), as between a label column
    and a value column.
    """
    words: list[Word] = []
    for spec in lines:
        x, y, text = spec[0], spec[1], spec[2]
        size = spec[3] if len(spec) > 3 else 10.0
        cw = size * 0.55
        cx = x
        for chunk_i, chunk in enumerate(text.split("  ")):
            if not chunk.strip():
                cx += 6 * cw
                continue
            if chunk_i:
                cx += 6 * cw
            for tok in chunk.split():
                w = len(tok) * cw
                words.append(Word(tok, (cx, y, cx + w, y + size), number))
                cx += w + cw
    return Page(number=number, width=width, height=height, unit="pt", words=words)
