"""Splitting on real documents: bundles of shared invoices (5 and 10 pages, two invoices alternating)
split at the right pages, each part reads as its invoice alone, and no real multi-page invoice is cut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docvlm.einvoice.reader import EinvoiceOptions
from docvlm.ingest import open_document
from docvlm.ocr import OcrOptions
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.split import find_parts
from evaluation.split_eval import alternate, concat_pdfs

NO_OCR = OcrOptions(backend="none")
HEADER = ("invoice_number", "invoice_date", "total", "currency")


def _pdfs(shared_data: Path) -> list[Path]:
    pdfs = sorted((shared_data / "invoices").rglob("*.pdf")) + sorted(
        (shared_data / "einvoices").glob("*.pdf")
    )
    assert len(pdfs) >= 30
    return pdfs


def _page_count(pdf: Path) -> int:
    doc = open_document(pdf, ocr=NO_OCR)
    doc.close()
    return doc.page_count


def _parts(pdf: Path) -> list[tuple[int, int]]:
    doc = open_document(pdf, ocr=NO_OCR)
    try:
        pages = list(doc.pages())
    finally:
        doc.close()
    return [(pages[p.start].number, pages[p.end - 1].number) for p in find_parts(pages)]


@pytest.mark.parametrize("min_pages", [5, 10])
def test_bundles_of_two_alternating_invoices_split_right(
    shared_data: Path, tmp_path: Path, min_pages: int
) -> None:
    pdfs = _pdfs(shared_data)
    wrong = []
    for i, (a, b) in enumerate(zip(pdfs, pdfs[1:] + pdfs[:1], strict=True)):
        bundle = tmp_path / f"bundle{i}.pdf"
        expected = concat_pdfs(bundle, alternate(a, b, min_pages))
        got = _parts(bundle)
        if got != expected:
            wrong.append((a.name, b.name, expected, got))
    assert not wrong, f"{len(wrong)}/{len(pdfs)} bundles split wrong: {wrong}"


def test_real_multi_page_invoices_are_not_split(shared_data: Path) -> None:
    multi = [p for p in _pdfs(shared_data) if _page_count(p) > 1]
    assert len(multi) >= 5
    split = {p.name: parts for p in multi if len(parts := _parts(p)) > 1}
    assert not split, f"{len(split)}/{len(multi)} multi-page invoices split: {split}"


def _header(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: (rec["data"] or {}).get(k) for k in HEADER}


def test_each_part_reads_as_its_invoice_alone(shared_data: Path, tmp_path: Path) -> None:
    pdfs = _pdfs(shared_data)
    # the page read alone, as the bundle's pages are (a bundle keeps no e-invoice attachment)
    pipe = Pipeline(PipelineOptions(ocr=NO_OCR, einvoice=EinvoiceOptions(mode="visual")))
    alone = {p: _header(pipe.extract(p).to_record()) for p in pdfs}
    bundles = []
    for i, (a, b) in enumerate(zip(pdfs[::2], pdfs[1::2], strict=False)):
        seq, path = alternate(a, b, 5), tmp_path / f"b{i}.pdf"
        concat_pdfs(path, seq)
        bundles.append((path, seq))
    records = [ex.to_record() for ex in pipe.run([path for path, _ in bundles])]
    pipe.close()
    by_source: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_source.setdefault(rec["source"], []).append(rec)
    for path, seq in bundles:
        recs = by_source[str(path)]
        assert [r["part"] for r in recs] == list(range(1, len(seq) + 1)), path
        assert all(r["parts"] == len(seq) for r in recs)
        assert [_header(r) for r in recs] == [alone[p] for p in seq], [p.name for p in seq]
