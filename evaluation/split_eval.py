"""Label-free check of document splitting: bundles made from known documents must split back.

For every pair of neighbouring PDFs (in sorted order, the last with the first) of the given
folders, a bundle alternates the two (a, b, a, b, ...) up to at least N pages (``insert_pdf``),
so the true page range of every invoice in it is known. Each bundle is split and compared; every
multi-page PDF of the folders is split too and must stay whole (its false-split rate).
``--scan DPI`` renders each bundle to an image-only PDF first, so the pages are read by OCR.

    python evaluation/split_eval.py ../shared/data/invoices ../shared/data/einvoices --pages 5 10
    python evaluation/split_eval.py ../shared/data/invoices --pages 5 --scan 200 --limit 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(_REPO))

from docvlm.ingest import IngestOptions, open_document  # noqa: E402
from docvlm.ocr import OcrOptions  # noqa: E402
from docvlm.split import find_parts  # noqa: E402


def concat_pdfs(path: Path, sources: Sequence[Path]) -> list[tuple[int, int]]:
    """Write ``sources`` one after the other into ``path``; the 1-based page range of each in it."""
    import pymupdf

    out = pymupdf.open()
    ranges = []
    for src in sources:
        with pymupdf.open(src) as doc:
            first = out.page_count + 1
            out.insert_pdf(doc)
            ranges.append((first, out.page_count))
    out.save(path)
    out.close()
    return ranges


def alternate(a: Path, b: Path, min_pages: int) -> list[Path]:
    """``a, b, a, b, ...`` until the sequence has at least ``min_pages`` pages."""
    import pymupdf

    counts = {}
    for p in (a, b):
        with pymupdf.open(p) as doc:
            counts[p] = doc.page_count
    seq: list[Path] = []
    while sum(counts[p] for p in seq) < min_pages:
        seq.append(a if len(seq) % 2 == 0 else b)
    return seq


def rasterise(src: Path, dst: Path, dpi: int) -> Path:
    """An image-only copy of ``src``: every page rendered at ``dpi`` (a scan of the printout)."""
    import pymupdf

    out = pymupdf.open()
    with pymupdf.open(src) as doc:
        for page in doc:
            pix = page.get_pixmap(dpi=dpi, alpha=False)
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, pixmap=pix)
    out.save(dst)
    out.close()
    return dst


def split_ranges(pdf: Path, ocr: OcrOptions) -> list[tuple[int, int]]:
    """The page ranges ``docvlm.split`` finds in ``pdf``."""
    doc = open_document(pdf, IngestOptions(), ocr)
    try:
        pages = list(doc.pages())
    finally:
        doc.close()
    return [(pages[p.start].number, pages[p.end - 1].number) for p in find_parts(pages)]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--pages", type=int, nargs="+", default=[5, 10], help="bundle sizes (at least N pages)")
    ap.add_argument("--scan", type=int, default=0, metavar="DPI", help="render bundles to scans at DPI first")
    ap.add_argument("--limit", type=int, default=0, help="at most this many pairs")
    args = ap.parse_args(argv)
    pdfs = sorted(p for f in args.folders for p in f.rglob("*.pdf"))
    if len(pdfs) < 2:
        print("need at least two PDFs", file=sys.stderr)
        return 2
    ocr = OcrOptions() if args.scan else OcrOptions(backend="none")
    pairs = list(zip(pdfs, pdfs[1:] + pdfs[:1], strict=True))[: args.limit or None]
    right = total = pages = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.pages:
            for i, (a, b) in enumerate(pairs):
                bundle = Path(tmp) / f"bundle{n}_{i}.pdf"
                expected = concat_pdfs(bundle, alternate(a, b, n))
                if args.scan:
                    bundle = rasterise(bundle, Path(tmp) / f"scan{n}_{i}.pdf", args.scan)
                got = split_ranges(bundle, ocr)
                total += 1
                pages += expected[-1][1]
                right += got == expected
                if got != expected:
                    print(f"WRONG {a.name} + {b.name} ({n}): expected {expected}, got {got}")
        multi = false = 0
        if not args.scan:
            for pdf in pdfs:
                ranges = split_ranges(pdf, ocr)
                if ranges[-1][1] > 1:
                    multi += 1
                    if len(ranges) > 1:
                        false += 1
                        print(f"FALSE SPLIT {pdf.name}: {ranges}")
    secs = time.perf_counter() - t0
    print(f"bundles split right: {right}/{total} ({pages} pages, {secs:.1f} s)")
    if not args.scan:
        print(f"multi-page documents split: {false}/{multi}")
    return 0 if right == total and not false else 1


if __name__ == "__main__":
    raise SystemExit(main())
