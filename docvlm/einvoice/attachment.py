"""Detection: an open PDF in, the invoice XML it carries (an ``EmbeddedXml``) out, or None; and a
bare XML file in, a ``Document`` without pages that carries it out.

ZUGFeRD 1.0 names its attachment ``ZUGFeRD-invoice.xml``, ZUGFeRD 2.x and Factur-X
``factur-x.xml`` (ZUGFeRD 2.0 also ``zugferd-invoice.xml``), XRechnung in a PDF ``xrechnung.xml``.
Those names are taken first. Any other ``.xml`` attachment whose root element is a UBL
``Invoice`` / ``CreditNote`` or a CII document is taken next (UBL attachments have no fixed name).
The PDF's embedded files are read with PyMuPDF, from the document the ingest stage already has
open. When PyMuPDF lists none although the catalog declares some, the ``factur-x`` package's
own extraction (pypdf) is tried on the file. An attachment over the size limit is reported, not read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from docvlm.datamodel import Document, EmbeddedXml
from docvlm.einvoice.safe_xml import MAX_XML_BYTES
from docvlm.errors import EinvoiceError, IngestError

_log = logging.getLogger(__name__)

KNOWN_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
INVOICE_ROOTS = ("CrossIndustryInvoice", "CrossIndustryDocument", "Invoice", "CreditNote")
# the first element of a document, after the prolog (declaration, comments, processing instructions)
_PROLOG = re.compile(rb"^(?:\s|<\?.*?\?>|<!--.*?-->)*", re.S)
_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?([\w.-]+)[\s/>]")


def root_name(head: bytes) -> str | None:
    """The local name of the first element in ``head`` (UTF-8 bytes), or None."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    m = _ELEMENT.match(head, _PROLOG.match(head).end())  # type: ignore[union-attr]
    return m.group(1).decode("ascii", "replace") if m else None


def _attachments(doc: Any) -> list[tuple[int, str, str, int]]:
    """(rank, PyMuPDF entry name, file name, size) of the XML attachments; rank 0 = a known name."""
    out = []
    for entry in doc.embfile_names():
        info = doc.embfile_info(entry)
        fname = str(info.get("filename") or info.get("ufilename") or entry)
        if not fname.lower().endswith(".xml"):
            continue
        rank = 0 if fname.lower() in KNOWN_NAMES else 1
        out.append((rank, entry, fname, int(info.get("size") or info.get("length") or 0)))
    return sorted(out, key=lambda a: a[0])


def _declares_attachments(doc: Any) -> bool:
    catalog = doc.pdf_catalog()
    return any(doc.xref_get_key(catalog, key)[0] != "null" for key in ("AF", "Names/EmbeddedFiles"))


def find_invoice_xml(
    doc: Any, path: Path | str, max_bytes: int = MAX_XML_BYTES, data: bytes | None = None
) -> EmbeddedXml | None:
    """The invoice XML attached to the open PyMuPDF document ``doc`` (the file at ``path``, or the
    PDF bytes ``data`` named ``path``), or None."""
    try:
        found = _attachments(doc)
    except Exception as e:  # a broken name tree must not cost the page: read it visually
        _log.warning("cannot list the attachments of %s: %s", path, e)
        return None
    for rank, entry, fname, size in found:
        if size > max_bytes:
            return EmbeddedXml(
                fname,
                None,
                f"attachment {fname} is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:g} MB limit",
            )
        try:
            data = doc.embfile_get(entry)
        except Exception as e:
            return EmbeddedXml(fname, None, f"attachment {fname} cannot be read: {e}")
        if len(data) > max_bytes:  # the declared size can lie
            return EmbeddedXml(fname, None, f"attachment {fname} is over the {max_bytes / 2**20:g} MB limit")
        if rank == 0 or root_name(data[:4096]) in INVOICE_ROOTS:
            return EmbeddedXml(fname, data)
    if not found and _declares_attachments(doc):
        return _facturx_extraction(path, max_bytes, data)
    return None


def _facturx_extraction(path: Path | str, max_bytes: int, data: bytes | None) -> EmbeddedXml | None:
    """The factur-x package's extraction (pypdf), for attachments PyMuPDF does not list."""
    try:
        from facturx import get_xml_from_pdf
    except ImportError:
        _log.info("%s declares attachments PyMuPDF cannot list, and factur-x is not installed", path)
        return None
    try:
        pdf = data if data is not None else Path(path).read_bytes()
        name, xml = get_xml_from_pdf(pdf, check_xsd=False, filenames=["*.xml"])
    except Exception as e:  # factur-x raises plain exceptions on broken files
        _log.warning("factur-x could not extract the XML of %s: %s", path, e)
        return None
    if not name or not xml:
        return None
    if len(xml) > max_bytes:
        return EmbeddedXml(str(name), None, f"attachment {name} is over the {max_bytes / 2**20:g} MB limit")
    return EmbeddedXml(str(name), bytes(xml))


def open_xml_document(
    source: str, sha: str, size: int, read: Callable[[], bytes], max_bytes: int = MAX_XML_BYTES
) -> Document:
    """A bare e-invoice XML file (XRechnung, UBL) of ``size`` bytes that ``read`` gives: a Document
    without pages whose ``einvoice`` holds the bytes."""
    if size > max_bytes:
        raise EinvoiceError(
            f"XML file too large: {source} is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:g} MB limit"
        )
    try:
        data = read()
    except OSError as e:
        raise IngestError(f"cannot read {source}: {e}") from e
    return Document(
        source=source,
        sha256=sha,
        media_type="xml",
        page_count=0,
        iter_pages=lambda: iter(()),
        einvoice=EmbeddedXml(PurePosixPath(source.replace("\\", "/")).name, data),
    )
