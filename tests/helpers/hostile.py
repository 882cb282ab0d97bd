"""Hostile input files built from scratch: each one stalls, exhausts or upsets a naive pipeline.

Used by the reliability tests and by ``evaluation/reliability.py``. Every builder writes raw bytes
(PDFs are assembled object by object), so nothing depends on a library being lenient.
"""

from __future__ import annotations

import zlib
from pathlib import Path

_TEXT_OP = b"BT /F1 9 Tf 40 700 Td (0123456789 the quick brown fox) Tj ET\n"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_bytes(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF from object bodies (object ``i + 1`` is ``objects[i]``) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def stream(data: bytes, extra: bytes = b"", compress: bool = False) -> bytes:
    """A stream object body, optionally Flate-compressed."""
    if compress:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _page_objects(contents: bytes, xobjects: bytes = b"") -> list[bytes]:
    """Catalog (1), Pages (2), one A4 Page (3) with font F1 (4) whose content is object 5."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R"
        b" /Resources << /Font << /F1 4 0 R >>" + xobjects + b" >> >>",
        _FONT,
        contents,
    ]


def nested_xobject_pdf(path: Path, depth: int = 9, fanout: int = 10) -> Path:
    """About 3 KB: form XObjects nested ``depth`` deep, each drawing the next ``fanout`` times.

    The leaf draws one line of text, so interpreting the page means ``fanout ** depth`` text draws:
    text extraction or rendering never ends, and memory grows while it runs.
    """
    first = 6  # objects 1-5 are the page skeleton; XObject level k is object first + k
    objects = _page_objects(stream(b"q /X0 Do Q\n"), b" /XObject << /X0 %d 0 R >>" % first)
    for level in range(depth):
        if level == depth - 1:
            body, res = _TEXT_OP, b"/Font << /F1 4 0 R >>"
        else:
            body = b"q /X Do Q\n" * fanout
            res = b"/XObject << /X %d 0 R >>" % (first + level + 1)
        extra = b" /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << " + res + b" >>"
        objects.append(stream(body, extra))
    path.write_bytes(pdf_bytes(objects))
    return path


def content_bomb_pdf(path: Path, inflated_mb: int = 1024) -> Path:
    """One page whose Flate content stream inflates to ``inflated_mb`` MiB of text operators.

    The file is a few MB (deflate tops out near 1000:1); reading the page means parsing the lot.
    """
    block = _TEXT_OP * ((1 << 20) // len(_TEXT_OP))
    # deflate each MiB from a reset state: the segments are identical, so compress one and repeat it
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(inflated_mb):
        adler = zlib.adler32(block, adler)
    data = b"\x78\xda" + segment * inflated_mb + comp.flush() + adler.to_bytes(4, "big")
    body = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    path.write_bytes(pdf_bytes(_page_objects(body)))
    return path


def many_frame_tiff(path: Path, frames: int = 300, size: tuple[int, int] = (640, 240)) -> Path:
    """A multi-page TIFF of ``frames`` small text pages (each one is OCR'd)."""
    from PIL import Image, ImageDraw

    pages = []
    for i in range(frames):
        img = Image.new("L", size, 255)
        draw = ImageDraw.Draw(img)
        for row in range(4):
            draw.text((20, 20 + 50 * row), f"Invoice {i:04d} line {row} total 12.{row}0 EUR", fill=0)
        pages.append(img)
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return path


def complaining_pdf(path: Path) -> Path:
    """A readable one-page PDF that makes MuPDF print errors: a broken xref and a corrupt second stream."""
    text = stream(b"BT /F1 12 Tf 50 750 Td (Invoice 7 Total 10.00) Tj ET\n")
    objects = _page_objects(b"<< >>")
    objects[2] = objects[2].replace(b"/Contents 5 0 R", b"/Contents [5 0 R 6 0 R]")
    objects[4] = text
    objects.append(b"<< /Length 12 /Filter /FlateDecode >>\nstream\nnot deflated\nendstream")
    raw = pdf_bytes(objects)
    # point startxref at garbage so MuPDF has to repair the file (and says so)
    head, _, _ = raw.rpartition(b"startxref\n")
    path.write_bytes(head + b"startxref\n999999\n%%EOF\n")
    return path
