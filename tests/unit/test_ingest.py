"""Ingest: text-layer words, OCR'd scans and images, multi-page TIFF, lazy pages, and bad inputs."""

from __future__ import annotations

import hashlib
import types
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFile, ImageFont

from docvlm.datamodel import WordSource
from docvlm.errors import IngestError
from docvlm.ingest import IngestOptions, open_document
from docvlm.ocr import OcrOptions
from docvlm.sources import SUPPORTED_SUFFIXES, iter_sources
from tests.helpers.documents import write_huge_png

NO_OCR = OcrOptions(backend="none")


@pytest.fixture(scope="module")
def font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(DEJAVU, 28)


def text_image(
    font: ImageFont.FreeTypeFont, lines: list[str], size: tuple[int, int] = (640, 220)
) -> Image.Image:
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for i, t in enumerate(lines):
        d.text((30, 30 + i * 70), t, fill="black", font=font)
    return img


def _dejavu() -> str:
    from matplotlib import font_manager

    return font_manager.findfont("DejaVu Sans")


DEJAVU = _dejavu()


def make_pdf(path: Path, rotation: int = 0) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_text((50, 60), "Invoice number INV-0042", fontsize=12)
    page.insert_text((50, 90), "Total 119.00 EUR", fontsize=12)
    # a ligature glyph (U+FB01) that the text layer must normalise to "fi"
    page.insert_font(fontname="F0", fontbuffer=Path(DEJAVU).read_bytes())
    page.insert_text((50, 120), "\ufb01nal notice", fontsize=12, fontname="F0")
    if rotation:
        page.set_rotation(rotation)
    doc.new_page(width=400, height=300).insert_text(
        (50, 60), "Second page text here for the reader", fontsize=12
    )
    doc.save(path)
    doc.close()
    return path


# ---------------------------------------------------------------- text layer


def test_text_layer_words_are_exact_in_points(tmp_path):
    path = make_pdf(tmp_path / "a.pdf")
    doc = open_document(path, ocr=NO_OCR)
    assert doc.media_type == "pdf" and doc.page_count == 2
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    pages = doc.pages()
    assert isinstance(pages, types.GeneratorType)  # lazy: pages are made one at a time
    p1 = next(pages)
    assert (p1.number, p1.unit, p1.width, p1.height) == (1, "pt", 400.0, 300.0)
    assert p1.word_source is WordSource.TEXT_LAYER and "words_s" in p1.timings
    assert [w.text for w in p1.words] == [
        "Invoice",
        "number",
        "INV-0042",
        "Total",
        "119.00",
        "EUR",
        "final",
        "notice",
    ]
    inv = p1.words[0]
    # inserted at baseline (50, 60) with a 12 pt font: the box sits just above the baseline
    assert inv.x0 == pytest.approx(50, abs=0.5) and 45 < inv.y0 < 52 and 60 < inv.y1 < 65
    assert all(w.page == 1 and w.conf == 1.0 for w in p1.words)
    lines = [w.line for w in p1.words]
    assert lines == [0, 0, 0, 1, 1, 1, 2, 2]
    p2 = next(pages)
    assert p2.number == 2 and p2.text() == "Second page text here for the reader"
    with pytest.raises(StopIteration):
        next(pages)
    img = p1.image(144)
    assert img.mode == "RGB" and img.size == (800, 600)
    doc.close()
    # rendering still works after the document is closed (engines render later)
    assert p2.image(72).size == (400, 300)


def test_rotated_pdf_page_words_are_in_displayed_coordinates(tmp_path):
    doc = open_document(make_pdf(tmp_path / "r.pdf", rotation=90), ocr=NO_OCR)
    page = next(doc.pages())
    assert (page.width, page.height) == (300.0, 400.0)
    word = page.words[0]
    # a 90 degree page turn maps unrotated (x, y) to (height - y, x)
    assert word.x0 == pytest.approx(300 - 62, abs=3) and word.y0 == pytest.approx(50, abs=0.5)
    # the word is where the rendered page shows ink
    img = page.image(72).convert("L")
    crop = img.crop(tuple(int(v) for v in word.bbox))
    assert crop.getextrema()[0] < 100
    doc.close()


def test_scanned_pdf_page_is_ocrd_into_points(tmp_path, font):
    scan = text_image(font, ["RECEIPT 5521", "TOTAL 42.50"])
    png = tmp_path / "scan.png"
    scan.save(png)
    doc = pymupdf.open()
    # the image is placed at 200 dpi: 640 px wide = 230.4 pt
    page = doc.new_page(width=640 * 72 / 200, height=220 * 72 / 200)
    page.insert_image(page.rect, filename=str(png))
    doc.save(tmp_path / "scan.pdf")
    doc.close()
    d = open_document(tmp_path / "scan.pdf", IngestOptions(dpi=200))
    p = next(d.pages())
    assert p.word_source is WordSource.OCR and p.unit == "pt"
    assert [w.text for w in p.words] == ["RECEIPT", "5521", "TOTAL", "42.50"]
    assert {"render_s", "ocr_s", "words_s"} <= set(p.timings)
    first = p.words[0]
    # drawn at x=30 px at 200 dpi -> ~10.8 pt; every box inside the page
    assert first.x0 == pytest.approx(30 * 72 / 200, abs=4)
    assert all(0 <= w.x0 < w.x1 <= p.width + 0.5 and 0 <= w.y0 < w.y1 <= p.height + 0.5 for w in p.words)
    d.close()


# ---------------------------------------------------------------- images


def test_image_is_ocrd_in_pixels_and_renders_upright(tmp_path, font):
    img = text_image(font, ["INVOICE 7781", "AMOUNT DUE 19.99"])
    path = tmp_path / "sideways.jpg"
    img.rotate(90, expand=True).save(path, quality=95)
    doc = open_document(path)
    assert doc.media_type == "image" and doc.page_count == 1
    p = next(doc.pages())
    assert p.unit == "px" and p.word_source is WordSource.OCR
    assert p.rotation == 270
    assert (p.width, p.height) == (640.0, 220.0)
    assert [w.text for w in p.words] == ["INVOICE", "7781", "AMOUNT", "DUE", "19.99"]
    assert p.image(200).size == (640, 220)


def test_multi_page_tiff_gives_one_page_per_frame(tmp_path, font):
    frames = [text_image(font, ["PAGE ONE"]), text_image(font, ["SECOND SHEET"])]
    path = tmp_path / "multi.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    doc = open_document(path)
    assert doc.page_count == 2
    pages = list(doc.pages())
    assert [p.number for p in pages] == [1, 2]
    assert [p.text() for p in pages] == ["PAGE ONE", "SECOND SHEET"]
    assert all(w.page == 2 for w in pages[1].words)
    assert pages[1].image(72).size == (640, 220)


# ---------------------------------------------------------------- bad inputs


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty file \(0 bytes\)"):
        open_document(path)


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        open_document(tmp_path / "nope.pdf")


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body\n%%EOF")
    with pytest.raises(IngestError, match="corrupt PDF"):
        open_document(path)
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    with pytest.raises(IngestError, match="corrupt PDF"):
        open_document(path)


def test_encrypted_pdf(tmp_path):
    doc = pymupdf.open()
    doc.new_page().insert_text((50, 50), "secret")
    path = tmp_path / "locked.pdf"
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    doc.close()
    with pytest.raises(IngestError, match=r"encrypted PDF.*password"):
        open_document(path)


def test_pdf_without_pages(tmp_path):
    body = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    o1, o2, xref = body.index(b"1 0 obj"), body.index(b"2 0 obj"), len(body)
    body += b"xref\n0 3\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n" % (o1, o2)
    body += b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path = tmp_path / "nopages.pdf"
    path.write_bytes(body)
    with pytest.raises(IngestError, match="no pages"):
        open_document(path)


def test_png_or_text_named_pdf(tmp_path):
    png = tmp_path / "picture.pdf"
    Image.new("RGB", (10, 10)).save(png, format="PNG")
    with pytest.raises(IngestError, match=r"not a PDF: .*PNG data"):
        open_document(png)
    txt = tmp_path / "notes.pdf"
    txt.write_text("just some text, not a PDF at all\n")
    with pytest.raises(IngestError, match=r"not a PDF: .*text"):
        open_document(txt)
    fake = tmp_path / "photo.jpg"
    fake.write_text("hello")
    with pytest.raises(IngestError, match="not an image"):
        open_document(fake)


def test_unsupported_type(tmp_path):
    path = tmp_path / "doc.docx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(IngestError, match="unsupported file type"):
        open_document(path)


def _forbid_decoding(monkeypatch):
    def boom(self, *args, **kwargs):
        raise AssertionError("the pixels of an oversized image must not be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)


def test_image_over_max_megapixels_is_rejected_without_decoding(tmp_path, monkeypatch):
    path = write_huge_png(tmp_path / "huge.png", 11_000, 10_000, bit_depth=1)  # 110 MP, ~15 KB on disk
    assert path.stat().st_size < 100_000
    _forbid_decoding(monkeypatch)
    with pytest.raises(IngestError, match=r"11000x10000 = 110 megapixels, over the 100 MP limit"):
        open_document(path)


def test_decompression_bomb_png_is_rejected(tmp_path, monkeypatch):
    path = write_huge_png(tmp_path / "bomb.png", 40_000, 40_000, bit_depth=1)  # 1.6 gigapixels
    _forbid_decoding(monkeypatch)
    with pytest.raises(IngestError, match="image too large"):
        open_document(path)
    # the process-wide PIL limit is restored afterwards
    assert abs(Image.MAX_IMAGE_PIXELS - 89_478_485) < 1000


def test_limits_are_configurable(tmp_path):
    small = tmp_path / "small.png"
    Image.new("RGB", (400, 300), "white").save(small)
    with pytest.raises(IngestError, match="megapixels"):
        open_document(small, IngestOptions(max_megapixels=0.1))
    with pytest.raises(IngestError, match="file too large"):
        open_document(small, IngestOptions(max_file_mb=0.0001))
    pdf = make_pdf(tmp_path / "two.pdf")
    with pytest.raises(IngestError, match="too many pages"):
        open_document(pdf, IngestOptions(max_pages=1))
    # a page whose render would exceed the limit is refused on render, not silently shrunk
    doc = open_document(pdf, IngestOptions(max_megapixels=0.5), NO_OCR)
    page = next(doc.pages())
    with pytest.raises(IngestError, match="megapixels"):
        page.image(600)
    doc.close()


def test_truncated_image_is_an_ingest_error(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.new("RGB", (300, 300), "red").save(path, quality=90)
    path.write_bytes(path.read_bytes()[:400])
    with pytest.raises(IngestError, match=r"corrupt or (truncated|unreadable) image"):
        list(open_document(path, ocr=NO_OCR).pages())


# ---------------------------------------------------------------- sources


def test_iter_sources_walks_folders_globs_and_keeps_missing(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for rel in ["b.pdf", "a.PNG", "sub/c.tiff", "notes.txt", ".secret.pdf", ".hidden/d.pdf"]:
        (root / rel).write_bytes(b"x")
    got = [p.relative_to(root).as_posix() for p in iter_sources([root])]
    assert got == ["a.PNG", "b.pdf", "sub/c.tiff"]
    # a file given explicitly is yielded even with an unsupported suffix; a missing one too
    txt, missing = root / "notes.txt", root / "gone.pdf"
    assert list(iter_sources([txt, missing])) == [txt, missing]
    # globs expand (recursively with **), duplicates are dropped
    got = list(iter_sources([str(root / "**" / "*.tiff"), str(root / "sub" / "c.tiff")]))
    assert got == [root / "sub" / "c.tiff"]
    assert list(iter_sources([str(root / "*.jpg")])) == [
        root / "*.jpg"
    ]  # no match: yielded for an error record
    assert {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"} <= SUPPORTED_SUFFIXES


def test_pdf2image_rasterizer_matches_pymupdf(tmp_path):
    pytest.importorskip("pdf2image")
    import shutil

    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler (pdftoppm) is not installed")
    doc = open_document(make_pdf(tmp_path / "p.pdf"), IngestOptions(rasterizer="pdf2image"), NO_OCR)
    img = next(doc.pages()).image(72)
    assert img.mode == "RGB" and abs(img.width - 400) <= 1 and abs(img.height - 300) <= 1
    doc.close()


def test_missing_pdf2image_names_the_extra(tmp_path, monkeypatch):
    import sys

    from docvlm.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "pdf2image", None)  # makes "import pdf2image" fail
    with pytest.raises(MissingDependency, match=r"docvlm\[pdf2image\]"):
        open_document(make_pdf(tmp_path / "p.pdf"), IngestOptions(rasterizer="pdf2image"), NO_OCR)
