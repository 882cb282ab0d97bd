"""Mapping: a parsed e-invoice root element in, an Invoice-shaped dict (and what the XML is) out.

Each field is read through the XPath table of the root's syntax (``syntaxes``). Values are typed
here, once: amounts and quantities become ``Decimal`` (the XML writes plain decimals, never
locale numbers), dates become ``datetime.date``, unit codes become unit names. A value the XML
writes in a form its type does not allow is passed on as the raw string, so that validation
drops it with a warning.

The unit price is the net price as the XML states it, for the XML's base quantity (BT-149,
almost always 1), which is also how the page prints it.

Sign convention: amounts are copied as the XML states them. A credit note states positive
amounts and says by its type that they are credited, so its record has positive amounts and
``document_type: "credit_note"``; a consumer booking it negates them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from docvlm.einvoice.codes import is_credit_note_code, unit_name
from docvlm.einvoice.syntaxes import Syntax, XPaths, syntax_for_root
from docvlm.errors import EinvoiceError
from docvlm.paths import set_path
from schemas.invoice import HEADER_FIELDS, LINE_ITEM_FIELDS, MONEY_FIELDS

_log = logging.getLogger(__name__)

DATE_PATHS = frozenset({"invoice_date", "due_date"})
LINE_MONEY = frozenset({"unit_price", "amount"})
LINE_NUMBERS = frozenset({"quantity", "tax_rate"})
PARTY_LEAVES = ("name", "address", "tax_id", "iban", "email", "phone")
_SPACE = re.compile(r"\s+")


@dataclass
class XmlInvoice:
    """What an e-invoice's XML says, in the Invoice shape, and what kind of XML it is."""

    syntax: str  # "CII", "ZUGFeRD-1.0" or "UBL"
    profile: str | None
    type_code: str | None
    document_type: str  # "invoice" or "credit_note"
    data: dict[str, Any] = field(default_factory=dict)


def _text(node: Any) -> str | None:
    raw = node if isinstance(node, str) else node.text if hasattr(node, "text") else str(node)
    if raw is None:
        return None
    text = _SPACE.sub(" ", str(raw)).strip()
    return text or None


def first_value(node: Any, xpaths: XPaths, namespaces: dict[str, str]) -> str | None:
    """The first non-empty text any of ``xpaths`` selects under ``node``, whitespace collapsed."""
    for xp in xpaths:
        for hit in node.xpath(xp, namespaces=namespaces):
            text = _text(hit)
            if text:
                return text
    return None


def _first_node(node: Any, xpaths: XPaths, namespaces: dict[str, str]) -> Any:
    for xp in xpaths:
        hits = node.xpath(xp, namespaces=namespaces)
        if hits:
            return hits[0]
    return None


def _decimal(text: str | None, min_places: int) -> Decimal | str | None:
    """An XML decimal, without trailing zeros past ``min_places`` ("9.9000" -> 9.90, "20.0000" -> 20)."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text  # validation drops it with a warning
    if not value.is_finite():
        return text
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else 0
    if places <= min_places:
        return value
    stripped = value.normalize().as_tuple().exponent
    keep = max(min_places, -stripped if isinstance(stripped, int) else 0)
    return value.quantize(Decimal(1).scaleb(-keep))


def _date(text: str | None) -> dt.date | str | None:
    """A date as e-invoices write it: ``YYYYMMDD`` (CII format 102) or ISO ``YYYY-MM-DD`` (UBL)."""
    if text is None:
        return None
    s = text.strip()
    try:
        if re.fullmatch(r"\d{8}", s):
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))
        return dt.date.fromisoformat(s[:10])
    except ValueError:
        return s


def _address(node: Any, syntax: Syntax) -> str | None:
    if node is None:
        return None
    lines = []
    for parts in syntax.address_parts:
        words = [first_value(node, (xp,), syntax.namespaces) for xp in parts]
        line = " ".join(w for w in words if w)
        if line:
            lines.append(line)
    return ", ".join(lines) or None


def _header_value(path: str, text: str | None) -> Any:
    if path in DATE_PATHS:
        return _date(text)
    if path in MONEY_FIELDS:
        return _decimal(text, 2)
    if path == "currency" and text:
        return text.upper()
    return text


def _line(node: Any, syntax: Syntax) -> dict[str, Any]:
    ns = syntax.namespaces
    out: dict[str, Any] = dict.fromkeys(LINE_ITEM_FIELDS)
    for name, xpaths in syntax.line.items():
        text = first_value(node, xpaths, ns)
        if name in LINE_MONEY:
            out[name] = _decimal(text, 2)
        elif name in LINE_NUMBERS:
            out[name] = _decimal(text, 0)
        elif name == "unit":
            out[name] = unit_name(text)
        else:
            out[name] = text
    return out


def _skipped(node: Any, syntax: Syntax) -> bool:
    return any(bool(node.xpath(xp, namespaces=syntax.namespaces)) for xp in syntax.skip_line)


def read_invoice(root: Any) -> XmlInvoice:
    """Read an e-invoice's root element through its syntax's XPath table.

    Raises ``EinvoiceError`` when the root is not one of the invoice syntaxes docvlm reads.
    """
    syntax = syntax_for_root(root.tag)
    if syntax is None:
        raise EinvoiceError(
            f"not an invoice XML docvlm reads: root element {root.tag!r} "
            "(expected CII CrossIndustryInvoice, ZUGFeRD 1.0 CrossIndustryDocument, UBL Invoice or CreditNote)"
        )
    ns = syntax.namespaces
    data: dict[str, Any] = {"vendor": dict.fromkeys(PARTY_LEAVES), "customer": dict.fromkeys(PARTY_LEAVES)}
    for path in HEADER_FIELDS:
        if "." not in path:
            data[path] = None
    for path, xpaths in syntax.header.items():
        set_path(data, path, _header_value(path, first_value(root, xpaths, ns)))
    for party, xpaths in syntax.address.items():
        data[party]["address"] = _address(_first_node(root, xpaths, ns), syntax)
    data["line_items"] = [
        _line(node, syntax) for node in root.xpath(syntax.lines, namespaces=ns) if not _skipped(node, syntax)
    ]
    type_code = first_value(root, syntax.type_code, ns)
    credit = root.tag in syntax.credit_note_roots or is_credit_note_code(type_code)
    result = XmlInvoice(
        syntax=syntax.name,
        profile=first_value(root, syntax.profile, ns),
        type_code=type_code,
        document_type="credit_note" if credit else "invoice",
        data=data,
    )
    _log.debug(
        "%s %s (%s): %d line items", result.syntax, result.profile, result.type_code, len(data["line_items"])
    )
    return result
