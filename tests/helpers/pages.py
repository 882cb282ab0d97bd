"""Pages for engine tests: a generated born-digital PDF read with PyMuPDF (words + a real renderer).

The engines only need ``Page`` objects, so these tests do not depend on the ingest stage.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from docvlm.datamodel import Page, Word

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
    for i, p in enumerate(doc):
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
