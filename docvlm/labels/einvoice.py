"""The ``einvoice`` label format: the truth of a hybrid PDF or a bare invoice XML is its own XML.

Used by ``docvlm eval extract --labels einvoice`` (``--gold`` optional) and by training on
e-invoices. The XML is taken out with the ``factur-x`` package's extraction (PyMuPDF's attachment
list as a fallback), parsed safely and read through the same XPath tables as ``docvlm extract``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from docvlm.labels.formats import DatasetError
from docvlm.labels.gold import GoldDoc, flatten_invoice
from schemas.invoice import LINE_ITEM_FIELDS, Invoice

_log = logging.getLogger(__name__)


def read_einvoice_label(path: str | Path) -> GoldDoc:
    """The truth of a hybrid PDF (ZUGFeRD, Factur-X, XRechnung, UBL) or a bare invoice XML, from its XML.

    The label *is* the document: its embedded XML is taken out with the ``factur-x`` package
    (PyMuPDF's attachment list as a fallback), parsed safely, and read through the same XPath
    tables as ``docvlm extract``. Only the fields the XML has are labelled. A model scored
    against this truth reads the page, never the XML (``--einvoice visual``).
    """
    from docvlm.einvoice.mapping import read_invoice
    from docvlm.einvoice.safe_xml import parse_xml
    from docvlm.errors import EinvoiceError

    p = Path(path)
    name, data = _einvoice_xml(p)
    try:
        inv = read_invoice(parse_xml(data, name))
    except EinvoiceError as exc:
        raise DatasetError(f"{p}: {exc}") from exc
    record = Invoice.model_validate(inv.data).model_dump(mode="json", exclude_none=True)
    fields, items = flatten_invoice(record)
    present = [{k: v for k, v in it.items() if v is not None} for it in items or []]
    return GoldDoc(
        key=p.stem,
        fields={k: v for k, v in fields.items() if v is not None},
        line_items=present,
        line_items_labelled=True,
        line_item_fields=tuple(k for k in LINE_ITEM_FIELDS if any(k in it for it in present)),
        label_format="einvoice",
        label_path=str(p),
        document=str(p),
    )


def read_einvoice_gold(documents: Iterable[str | Path]) -> dict[str, GoldDoc]:
    """The XML truth of each document that carries invoice XML (others are skipped with a log line)."""
    out: dict[str, GoldDoc] = {}
    for doc in documents:
        try:
            gold = read_einvoice_label(doc)
        except DatasetError as exc:
            _log.info("no e-invoice truth for %s: %s", doc, exc)
            continue
        out[gold.key] = gold
    if not out:
        raise DatasetError("none of the documents carries invoice XML")
    return out


def _einvoice_xml(p: Path) -> tuple[str, bytes]:
    """The invoice XML of a document: the file itself, or a PDF's attachment."""
    if not p.is_file():
        raise DatasetError(f"document not found: {p}")
    if p.suffix.lower() == ".xml":
        return p.name, p.read_bytes()
    try:
        from facturx import get_xml_from_pdf

        with p.open("rb") as fh:
            name, data = get_xml_from_pdf(fh, check_xsd=False, filenames=["*.xml"])
    except ImportError:
        name, data = None, None
    except Exception as exc:  # factur-x raises plain exceptions on PDFs it cannot read
        _log.info("factur-x could not read %s (%s); trying PyMuPDF", p, exc)
        name, data = None, None
    if name and data:
        return str(name), bytes(data)
    import pymupdf

    from docvlm.einvoice.attachment import find_invoice_xml

    try:
        with pymupdf.open(p) as doc:
            found = find_invoice_xml(doc, p)
    except (RuntimeError, ValueError) as exc:
        raise DatasetError(f"{p} cannot be opened: {exc}") from exc
    if found is None or found.data is None:
        raise DatasetError(f"{p} carries no invoice XML" + (f" ({found.error})" if found else ""))
    return found.name, found.data
