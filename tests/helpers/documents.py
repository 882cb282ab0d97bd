"""Documents built by the tests themselves: born-digital PDFs and decompression-bomb PNGs."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from tests.helpers.pages import make_pdf


def make_text_pdf(path: Path, lines: list[tuple[float, float, str]], pages: int = 1) -> Path:
    """A born-digital PDF with ``(x, y, text)`` lines on each page."""
    return make_pdf(path, [lines] * pages)


def write_huge_png(path: Path, width: int, height: int, bit_depth: int = 8, rgba: bool = False) -> Path:
    """A valid, tiny-on-disk PNG of ``width x height`` black greyscale pixels (a decompression bomb);
    ``rgba``: transparent black RGBA pixels instead (4 bytes a pixel once decoded, whatever the reader)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    comp = zlib.compressobj(9)
    channels, colour_type = (4, 6) if rgba else (1, 0)
    row = b"\x00" * (1 + (width * channels * bit_depth + 7) // 8)  # filter byte, then the packed pixels
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


INVOICE_LINES: list[tuple[float, float, str]] = [
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
