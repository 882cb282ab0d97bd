"""Files that hold several documents: PDFs concatenated page by page, as scanned batches arrive."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


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
