"""Shared fixtures: the real labelled data in ../shared/data, and small generated documents."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared labelled data is not at {SHARED_DATA}")
    return SHARED_DATA


def make_text_pdf(path: Path, lines: list[tuple[float, float, str]], pages: int = 1) -> Path:
    """A born-digital PDF with ``(x, y, text)`` lines on each page."""
    import pymupdf

    doc = pymupdf.open()
    for _ in range(pages):
        page = doc.new_page(width=595, height=842)
        for x, y, text in lines:
            page.insert_text((x, y), text, fontsize=10, fontname="helv")
    doc.save(path)
    doc.close()
    return path


def write_huge_png(path: Path, width: int, height: int, bit_depth: int = 8) -> Path:
    """A valid, tiny-on-disk PNG of ``width x height`` black greyscale pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (width * bit_depth + 7) // 8)  # filter byte, then the packed pixels
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


INVOICE_LINES = [
    (50, 60, "Nordlicht Werkzeuge GmbH"),
    (50, 74, "Hafenstrasse 12, 20457 Hamburg"),
    (350, 120, "Rechnungsnummer: RE-2024-0042"),
    (350, 134, "Rechnungsdatum: 05.03.2024"),
    (50, 200, "Beschreibung"),
    (300, 200, "Menge"),
    (380, 200, "Einzelpreis"),
    (480, 200, "Betrag"),
    (50, 220, "Schraubenschluessel Set"),
    (300, 220, "2"),
    (380, 220, "50,00"),
    (480, 220, "100,00"),
    (380, 300, "Zwischensumme"),
    (480, 300, "100,00"),
    (380, 314, "MwSt 19%"),
    (480, 314, "19,00"),
    (380, 328, "Gesamtbetrag EUR"),
    (480, 328, "119,00"),
]


@pytest.fixture()
def invoice_pdf(tmp_path: Path) -> Path:
    return make_text_pdf(tmp_path / "good.pdf", INVOICE_LINES)


@pytest.fixture()
def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    """One file for each kind of bad input the pipeline must turn into an error record."""
    import pymupdf

    bad = tmp_path / "bad"
    bad.mkdir()
    out: dict[str, Path] = {}
    out["corrupt"] = bad / "corrupt.pdf"
    out["corrupt"].write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body\n%%EOF")
    enc = pymupdf.open()
    enc.new_page().insert_text((50, 50), "secret")
    out["encrypted"] = bad / "encrypted.pdf"
    enc.save(out["encrypted"], encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    enc.close()
    out["empty"] = bad / "empty.pdf"
    out["empty"].write_bytes(b"")
    out["not_pdf"] = bad / "notes.pdf"
    out["not_pdf"].write_text("just some text, not a PDF at all\n" * 10)
    out["huge"] = write_huge_png(bad / "huge.png", 11_000, 10_000)  # 110 megapixels
    return out
