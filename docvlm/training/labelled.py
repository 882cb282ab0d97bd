"""Labelled folders as training documents: pages read from the page (text layer or OCR), truth from the labels.

In: a folder of e-invoices (``manifest.json`` with a ``layout_group`` per file, truth in ``<stem>.json``),
of invoice2data PDFs with their expected output, or of docvlm ground truth (``samples/ground_truth``).
Out: ``TrainingDoc``s (source, layout group, pages, Invoice-shaped gold). The pages of an e-invoice
are its text layer: the embedded XML is never opened. The group of an invoice2data or docvlm
document is its file (one layout each).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docvlm.datamodel import Page
from docvlm.errors import DocvlmError
from docvlm.ingest import open_document
from docvlm.training.tables import TrainingDoc

_log = logging.getLogger(__name__)

LABEL_KINDS = ("einvoice", "invoice2data", "docvlm", "generated")


def read_pages(path: str | Path) -> list[Page]:
    """All pages of a document with their words (the text layer, or OCR for a scan)."""
    doc = open_document(path)
    try:
        return list(doc.pages())
    finally:
        doc.close()


def einvoice_docs(folder: str | Path) -> Iterator[TrainingDoc]:
    """E-invoices listed in ``folder/manifest.json``; the truth of each is its ``<stem>.json``."""
    root = Path(folder)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest:
        pdf = root / entry["file"]
        truth = root / entry.get("truth", Path(entry["file"]).with_suffix(".json").name)
        if not pdf.is_file() or not truth.is_file():
            continue
        gold = json.loads(truth.read_text(encoding="utf-8"))
        yield TrainingDoc(str(pdf), f"einvoice/{entry['layout_group']}", read_pages(pdf), gold)


def invoice2data_docs(folder: str | Path) -> Iterator[TrainingDoc]:
    """invoice2data PDFs whose expected output labels line items; one group per file."""
    from evaluation.readers import read_invoice2data_label

    for label in sorted(Path(folder).glob("*.json")):
        gold = read_invoice2data_label(label)
        pdf = label.with_suffix(".pdf")
        if not gold.line_items_labelled or not pdf.is_file():
            continue
        yield TrainingDoc(
            str(pdf), f"invoice2data/{label.stem}", read_pages(pdf), {"line_items": gold.line_items}
        )


def docvlm_docs(folder: str | Path, group: str | None = None) -> Iterator[TrainingDoc]:
    """docvlm ground truth files (``{"source", "data"}``) with the document they name; one group per file,
    or all in ``group`` (documents of one generator)."""
    from evaluation.readers import read_docvlm_label

    for label in sorted(Path(folder).glob("*.json")):
        gold = read_docvlm_label(label)
        if not gold.line_items_labelled or gold.document is None:
            continue
        data: dict[str, Any] = json.loads(label.read_text(encoding="utf-8"))["data"]
        yield TrainingDoc(gold.document, group or f"docvlm/{label.stem}", read_pages(gold.document), data)


def labelled_docs(folder: str | Path, labels: str) -> list[TrainingDoc]:
    """The training documents of one labelled folder (``labels``: one of ``LABEL_KINDS``).

    ``generated``: docvlm ground truth of generated documents (``samples/generate.py --batch``), all in one
    group, so that a cross-validation never scores a real layout on the generator's own.
    """
    readers = {"einvoice": einvoice_docs, "invoice2data": invoice2data_docs, "docvlm": docvlm_docs}
    if labels == "generated":
        docs = list(docvlm_docs(folder, group=f"generated/{Path(folder).resolve().parent.name}"))
        _log.info("%d generated documents from %s", len(docs), folder)
        return docs
    if labels not in readers:
        raise DocvlmError(f"unknown label kind {labels!r}; choose one of {', '.join(LABEL_KINDS)}")
    docs = list(readers[labels](folder))
    _log.info("%d labelled documents from %s (%s)", len(docs), folder, labels)
    return docs
