"""Benchmark inputs made from real documents: byte-distinct copies of PDFs, and page renders at any dpi.

In: folders or files of PDFs (the shared invoices). Out, in ``--out``:

- ``copies``: the PDFs copied round after round until ``--pages`` pages are written, each copy
  with a comment appended after its end (``%%EOF``) that names the round, so every file has its
  own sha256 and nothing can be served from a cache keyed by content. PDF readers ignore bytes
  after the last ``%%EOF``, so the documents read the same.
- ``render``: every page of every PDF rendered to PNG at ``--dpi`` (a 600 dpi A4 page is
  4961 x 7016 px), the input of the OCR path at scanner resolutions.

    python evaluation/bench_data.py copies --pages 1500 --out /tmp/bench/pdf ../shared/data/invoices ../shared/data/einvoices
    python evaluation/bench_data.py render --dpi 600 --out /tmp/bench/r600 ../shared/data/invoices
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def find_pdfs(inputs: Sequence[str | Path]) -> list[Path]:
    """PDF files among ``inputs`` (folders walked recursively), sorted, each once."""
    found: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found.update(q for q in p.rglob("*") if q.suffix.lower() == ".pdf" and q.is_file())
        elif p.suffix.lower() == ".pdf" and p.is_file():
            found.add(p)
    return sorted(found)


def _page_count(path: Path) -> int:
    import pymupdf

    with pymupdf.open(path) as doc:
        return int(doc.page_count)


def write_copies(pdfs: Sequence[Path], out: Path, pages: int) -> tuple[int, int]:
    """Copy ``pdfs`` round after round into ``out`` until at least ``pages`` pages; (files, pages)."""
    if not pdfs:
        raise SystemExit("no PDF files given")
    out.mkdir(parents=True, exist_ok=True)
    counts = [(p, p.read_bytes(), _page_count(p)) for p in pdfs]
    files = written = 0
    round_no = 0
    while written < pages:
        for src, data, n in counts:
            if written >= pages:
                break
            dest = out / f"r{round_no:04d}_{src.stem}.pdf"
            # after %%EOF: ignored by readers, but it makes the bytes (and the sha256) of each copy unique
            dest.write_bytes(data + f"\n% docvlm benchmark copy {round_no} of {src.name}\n".encode("ascii"))
            files += 1
            written += n
        round_no += 1
    return files, written


def write_renders(pdfs: Sequence[Path], out: Path, dpi: int) -> int:
    """Render every page of ``pdfs`` to ``out/<stem>_p<N>.png`` at ``dpi``; the number of images."""
    import pymupdf

    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for src in pdfs:
        with pymupdf.open(src) as doc:
            for i, page in enumerate(doc):
                pix = page.get_pixmap(dpi=dpi, alpha=False)
                pix.save(out / f"{src.stem}_p{i + 1}.png")
                n += 1
    return n


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = ap.add_subparsers(dest="command", required=True)
    cp = sub.add_parser("copies", help="byte-distinct copies of PDFs up to a page count")
    cp.add_argument("inputs", nargs="+")
    cp.add_argument("--out", type=Path, required=True)
    cp.add_argument("--pages", type=int, default=1500)
    rp = sub.add_parser("render", help="PNG renders of every PDF page")
    rp.add_argument("inputs", nargs="+")
    rp.add_argument("--out", type=Path, required=True)
    rp.add_argument("--dpi", type=int, default=600)
    args = ap.parse_args(argv)
    pdfs = find_pdfs(args.inputs)
    if args.command == "copies":
        files, pages = write_copies(pdfs, args.out, args.pages)
        print(f"{files} files, {pages} pages from {len(pdfs)} PDFs -> {args.out}")
    else:
        n = write_renders(pdfs, args.out, args.dpi)
        print(f"{n} page images at {args.dpi} dpi from {len(pdfs)} PDFs -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
