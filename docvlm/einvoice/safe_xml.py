"""Safe XML parsing: untrusted e-invoice bytes in, an lxml root element out, or an ``EinvoiceError``.

No DTD is loaded and none is allowed, entities are never expanded or fetched, the network is
never touched, and the input has a size limit. An e-invoice has no use for a DTD, so any
``<!DOCTYPE`` or ``<!ENTITY`` is refused before the parser runs: billion-laughs and XXE files
fail at once, and no local file is ever read.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from docvlm.errors import EinvoiceError

_log = logging.getLogger(__name__)

#: e-invoices are tens of kilobytes; anything over this is refused before it is parsed
MAX_XML_BYTES = 16 * 1024 * 1024
# a DTD in any of the encodings an XML declaration may use (UTF-8/ASCII, UTF-16 LE/BE)
_DTD_MARKERS = tuple(
    marker.encode(enc) for marker in ("<!DOCTYPE", "<!ENTITY") for enc in ("ascii", "utf-16-le", "utf-16-be")
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_START = re.compile(rb"^\s*<")


def looks_like_xml(head: bytes) -> bool:
    """Do these first bytes start an XML document (after an optional byte-order mark)?"""
    for bom in _BOMS:
        if head.startswith(bom):
            if bom == b"\xef\xbb\xbf":
                head = head[len(bom) :]
                break
            return True  # UTF-16: the parser decides
    return bool(_XML_START.match(head[:256]))


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, name: str = "XML", max_bytes: int = MAX_XML_BYTES) -> Any:
    """Parse ``data`` into an lxml root element; raises ``EinvoiceError`` for anything unsafe or malformed."""
    try:
        from lxml import etree
    except ImportError as e:  # a core dependency, but say what is missing
        raise EinvoiceError("lxml is not installed; pip install lxml") from e
    if len(data) > max_bytes:
        raise EinvoiceError(
            f"{name} is {len(data) / 2**20:.1f} MB, over the {max_bytes / 2**20:g} MB limit for invoice XML"
        )
    if not data.strip():
        raise EinvoiceError(f"{name} is empty")
    if any(marker in data for marker in _DTD_MARKERS):
        raise EinvoiceError(f"{name} declares a DTD or entities, which invoice XML never needs; refused")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as e:
        raise EinvoiceError(f"{name} is not well-formed XML: {e}") from e
    except ValueError as e:  # e.g. a str-only encoding declaration problem
        raise EinvoiceError(f"{name} cannot be parsed: {e}") from e
    if root is None:
        raise EinvoiceError(f"{name} has no root element")
    doctype = root.getroottree().docinfo.doctype
    if doctype:  # the byte scan missed it (an unusual encoding): refuse all the same
        raise EinvoiceError(f"{name} declares a DTD ({doctype[:60]}); refused")
    _log.debug("parsed %s: root %s, %d bytes", name, root.tag, len(data))
    return root
