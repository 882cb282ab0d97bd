"""Ingest: text-layer words, OCR'd scans and images, multi-page TIFF, lazy pages, and bad inputs."""

from __future__ import annotations

from docvlm.datamodel import WordSource
from docvlm.ingest import open_document
from docvlm.ocr import OcrOptions

NO_OCR = OcrOptions(backend="none")


def test_real_invoices_have_text_layers(shared_data):
    pdfs = sorted((shared_data / "invoices" / "invoice2data").glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        doc = open_document(pdf, ocr=NO_OCR)
        for page in doc.pages():
            assert page.word_source is WordSource.TEXT_LAYER and len(page.words) > 50, pdf.name
        doc.close()
