"""How many receipts and invoices the layout engine types right (``document_type``), on the shared data.

Sets (every file of each folder; nothing is chosen by name):
- SROIE receipts: the transcripts of ``receipts/sroie`` (20) and ``receipts/sroie_train`` (417), as
  OCR-like pages (no OCR run);
- SROIE receipts photographed: the first N scans of ``receipts/sroie/img`` made to look like phone
  photos (``photo_of``: laid on a wide background, turned a few degrees, perspective, blur), then
  read by the real ingest path (OCR);
- invoices: the PDFs of ``invoices/invoice2data``, ``invoices/azure`` and ``einvoices`` (their pages,
  text layer; the embedded XML is not used).

Run: ``python -m evaluation.doctype --photos 6`` (prints a Markdown table and writes nothing).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from docvlm.datamodel import Page
from docvlm.engines.layout.receipts import receipt_signal
from docvlm.engines.layout.text import page_lines


def photo_of(scan: Image.Image, seed: int = 0) -> Image.Image:
    """A phone-photo look of a receipt scan: on a wider, shaded background, turned 2-5 degrees,
    with a perspective tilt, a slight blur and uneven light."""
    rng = random.Random(seed)
    scan = scan.convert("RGB")
    w, h = scan.size
    bg_w, bg_h = int(max(w * 2.2, h * 1.1)), int(h * 1.25)
    bg = Image.new("RGB", (bg_w, bg_h), (118, 104, 92))
    draw = ImageDraw.Draw(bg)
    for y in range(0, bg_h, 8):  # a wooden-table shading
        shade = 100 + int(25 * ((y * 7919) % 97) / 97)
        draw.rectangle((0, y, bg_w, y + 7), fill=(shade + 20, shade + 5, shade - 10))
    bg.paste(scan, ((bg_w - w) // 2 + rng.randint(-w // 6, w // 6), (bg_h - h) // 2))
    angle = rng.choice([-1, 1]) * rng.uniform(2.0, 5.0)
    img = bg.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(110, 96, 84))
    dx, dy = bg_w * rng.uniform(0.02, 0.05), bg_h * rng.uniform(0.01, 0.03)
    quad = (dx, dy, 0, bg_h, bg_w, bg_h - dy, bg_w - dx, 0)  # corners: top-left, bottom-left, ...
    img = img.transform(img.size, Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.1)))
    light = Image.linear_gradient("L").resize(img.size).rotate(rng.uniform(0, 360))
    return Image.composite(img, img.point(lambda v: int(v * 0.82)), light)


def document_type(pages: list[Page], shape_only: bool = False) -> str:
    """``receipt`` or ``invoice``, as the layout engine decides it (``shape_only``: by the shape and
    receipt words alone, the rule before the content kinds)."""
    sig = receipt_signal([page_lines(p) for p in pages])
    return "receipt" if (sig.by_shape_and_words if shape_only else sig.is_receipt) else "invoice"


def _sroie_transcripts(folder: Path) -> Iterable[list[Page]]:
    from docvlm.training.data import transcript_page

    for csv in sorted((folder / "box").glob("*.csv")):
        yield [transcript_page(csv)]


def _pdf_pages(paths: Iterable[Path]) -> Iterable[list[Page]]:
    from docvlm.ingest import IngestOptions, open_document

    for path in paths:
        doc = open_document(path, IngestOptions(ocr_mode="never"))
        try:
            yield list(doc.pages())
        finally:
            doc.close()


def _photos(folder: Path, n: int) -> Iterable[list[Page]]:
    from docvlm.ingest import open_document

    with tempfile.TemporaryDirectory() as tmp:
        for i, jpg in enumerate(sorted((folder / "img").glob("*.jpg"))[:n]):
            with Image.open(jpg) as scan:
                out = Path(tmp) / f"photo{i}.jpg"
                photo_of(scan, seed=i).save(out, quality=88)
            doc = open_document(out)
            try:
                yield list(doc.pages())
            finally:
                doc.close()


def measure(shared: Path, photos: int = 0) -> dict[str, tuple[int, int, int]]:
    """Per set: (typed right, typed right by shape and words alone, documents)."""
    sets: dict[str, tuple[str, Iterable[list[Page]]]] = {
        "SROIE receipts (sroie, 20 transcripts)": ("receipt", _sroie_transcripts(shared / "receipts/sroie")),
        "SROIE receipts (sroie_train, 417 transcripts)": (
            "receipt",
            _sroie_transcripts(shared / "receipts/sroie_train"),
        ),
        "invoices (invoice2data + azure PDFs)": (
            "invoice",
            _pdf_pages(
                sorted((shared / "invoices/invoice2data").glob("*.pdf"))
                + sorted((shared / "invoices/azure").glob("*.pdf"))
            ),
        ),
        "invoices (einvoices PDFs, page only)": (
            "invoice",
            _pdf_pages(sorted((shared / "einvoices").glob("*.pdf"))),
        ),
    }
    if photos:
        sets[f"SROIE receipts photographed ({photos}, OCR)"] = (
            "receipt",
            _photos(shared / "receipts/sroie", photos),
        )
    out: dict[str, tuple[int, int, int]] = {}
    for name, (want, docs) in sets.items():
        right = before = total = 0
        for pages in docs:
            total += 1
            right += document_type(pages) == want
            before += document_type(pages, shape_only=True) == want
        out[name] = (right, before, total)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    ap.add_argument("--photos", type=int, default=0, help="how many SROIE scans to photograph and OCR")
    args = ap.parse_args(argv)
    print("| set | shape and words (before) | with content (now) |\n|---|---:|---:|")
    for name, (right, before, total) in measure(args.shared.resolve(), args.photos).items():
        print(f"| {name} | {before}/{total} | {right}/{total} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
