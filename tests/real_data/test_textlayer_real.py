"""Text-layer quality on real documents: a wrong invisible layer over a real scan is OCR'd (and the
record equals the one of the bare scan); no born-digital invoice of the shared data loses its layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from docvlm.datamodel import WordSource
from docvlm.ingest import IngestOptions, open_document
from docvlm.pipeline import Pipeline, PipelineOptions
from evaluation.ocr_cer import read_transcript
from tests.helpers.textlayers import render, scan_pdf, shuffled, swapped, text_layer

SCAN_DPI = 200


def _receipts(shared_data: Path) -> list[Path]:
    imgs = sorted((shared_data / "receipts" / "sroie" / "img").glob("*.jpg"))
    assert len(imgs) >= 2
    return imgs


def _transcript(img: Path) -> list[tuple[str, Any]]:
    return [(w.text, w.bbox) for w in read_transcript(img.parents[1] / "box" / f"{img.stem}.csv")]


def _record(pdf: Path, **ingest: Any) -> dict[str, Any]:
    pipe = Pipeline(PipelineOptions(ingest=IngestOptions(**ingest)))
    try:
        return pipe.extract(pdf).to_record()
    finally:
        pipe.close()


def _replaced(rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in rec["warnings"] if w["code"] == "text_layer_replaced"]


def test_garbled_layer_over_a_receipt_scan_is_ocrd(shared_data: Path, tmp_path: Path) -> None:
    img = _receipts(shared_data)[0]
    image = Image.open(img)
    bare = _record(scan_pdf(tmp_path / "bare.pdf", image, SCAN_DPI))
    garbled_pdf = scan_pdf(tmp_path / "garbled.pdf", image, SCAN_DPI, shuffled(_transcript(img)))
    garbled = _record(garbled_pdf)
    assert not _replaced(bare) and len(_replaced(garbled)) == 1
    assert garbled["data"] == bare["data"]
    assert bare["data"]["total"] is not None and bare["data"]["invoice_date"] is not None
    # trusted as it is, the same layer gives another record: the check is what keeps it out
    trusted = _record(garbled_pdf, ocr_mode="never")
    assert trusted["data"] != bare["data"]


@pytest.mark.slow
def test_wrong_and_right_layers_over_real_scans(shared_data: Path, tmp_path: Path) -> None:
    first, second = _receipts(shared_data)[:2]
    invoice = sorted((shared_data / "invoices" / "invoice2data").glob("*.pdf"))[0]
    scans = [
        (Image.open(first), _transcript(first), _transcript(second)),
        (render(invoice, SCAN_DPI), text_layer(invoice, SCAN_DPI), _transcript(first)),
    ]
    for i, (image, right, other) in enumerate(scans):
        bare = _record(scan_pdf(tmp_path / f"bare{i}.pdf", image, SCAN_DPI))
        for name, layer in (("shuffled", shuffled(right)), ("another page's text", swapped(right, other))):
            rec = _record(scan_pdf(tmp_path / f"wrong{i}.pdf", image, SCAN_DPI, layer))
            assert len(_replaced(rec)) == 1, (i, name)
            assert rec["data"] == bare["data"], (i, name)
        good_pdf = scan_pdf(tmp_path / f"good{i}.pdf", image, SCAN_DPI, right)
        doc = open_document(good_pdf)
        (page,) = list(doc.pages())
        doc.close()
        assert page.word_source is WordSource.TEXT_LAYER and not page.warnings, i  # confirmed by OCR


def test_no_born_digital_page_loses_its_layer(shared_data: Path) -> None:
    pdfs = sorted((shared_data / "invoices").rglob("*.pdf")) + sorted(
        (shared_data / "einvoices").glob("*.pdf")
    )
    assert len(pdfs) >= 30
    pages = sampled = 0
    for pdf in pdfs:
        doc = open_document(pdf)
        for page in doc.pages():
            pages += 1
            assert not page.warnings, (pdf.name, page.number, page.warnings)
            if page.words:  # pages without text (a blank last page) are OCR'd, as before
                assert page.word_source is WordSource.TEXT_LAYER, (pdf.name, page.number)
            sampled += page.timings.get("ocr_s", 0.0) > 0 and page.word_source is WordSource.TEXT_LAYER
        doc.close()
    assert pages >= 40 and sampled == 0
