"""E-invoices built by the tests: hybrid PDFs (a printed page plus its XML), tampered and hostile XML."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pymupdf
from lxml import etree

from samples.einvoice_xml import XML_SPECS, XmlSpec, cii_xml
from tests.helpers.pages import make_pdf

SPEC = XML_SPECS[0]  # the XRechnung CII sample invoice


def de_amount(v: Decimal) -> str:
    """A German-printed amount: 1.234,56."""
    s = f"{v.quantize(Decimal('0.01')):,.2f}"
    return s.replace(",", "_").replace(".", ",").replace("_", ".")


def page_lines(spec: XmlSpec) -> list[tuple[float, float, str]]:
    """What the invoice prints, as ``(x, y, text)`` lines of one A4 page."""
    s, b = spec.seller, spec.buyer
    iban = " ".join(s.iban[i : i + 4] for i in range(0, len(s.iban), 4)) if s.iban else ""
    lines = [
        (50, 50, s.name),
        (50, 64, f"{s.street}, {s.postcode} {s.city}"),
        (50, 120, b.name),
        (50, 134, b.street),
        (50, 148, f"{b.postcode} {b.city}"),
        (350, 120, f"Rechnungsnummer: {spec.number}"),
        (350, 134, f"Rechnungsdatum: {spec.issued:%d.%m.%Y}"),
        (350, 148, f"Fällig am: {spec.due:%d.%m.%Y}" if spec.due else ""),
        (50, 200, "Beschreibung"),
        (330, 200, "Menge"),
        (400, 200, "Einzelpreis"),
        (490, 200, "Betrag"),
    ]
    y = 220.0
    for li in spec.lines:
        lines += [
            (50, y, li.name),
            (330, y, str(li.quantity).replace(".", ",")),
            (400, y, de_amount(li.net_price)),
        ]
        lines.append((490, y, de_amount(li.amount)))
        y += 16
    y += 20
    lines += [(380, y, "Nettobetrag"), (490, y, de_amount(spec.subtotal))]
    lines += [(380, y + 14, "USt. 19 %"), (490, y + 14, de_amount(spec.tax_total))]
    lines += [(380, y + 28, "Gesamtbetrag EUR"), (490, y + 28, de_amount(spec.total))]
    lines += [(50, 760, f"IBAN: {iban}"), (50, 774, f"USt-IdNr.: {s.vat_id}")]
    return [line for line in lines if line[2]]


def strip_xml(src: Path, dst: Path) -> Path:
    """A copy of a PDF without its XML attachments."""
    with pymupdf.open(src) as doc:
        for name in doc.embfile_names():
            if doc.embfile_info(name)["filename"].lower().endswith(".xml"):
                doc.embfile_del(name)
        doc.save(dst)
    return dst


def _readable(pdf: bytes) -> bool:
    pymupdf.TOOLS.mupdf_display_errors(False)  # a broken rewrite is expected now and then
    try:
        with pymupdf.open(stream=pdf, filetype="pdf") as doc:
            return all(page.get_text() is not None for page in doc) and bool(doc.embfile_names())
    except Exception:
        return False
    finally:
        pymupdf.TOOLS.mupdf_display_errors(True)


def embed_xml(pdf: Path, xml: bytes, dst: Path, name: str = "factur-x.xml") -> Path:
    """Re-embed ``xml`` into (a copy without XML of) ``pdf``: with factur-x for CII D16B, with PyMuPDF
    for ZUGFeRD 1.0 and UBL (factur-x writes Factur-X / ZUGFeRD 2.x only) and for the few PDFs whose
    rewrite by factur-x's PDF library is unreadable."""
    bare = strip_xml(pdf, dst.with_suffix(".bare.pdf"))
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    try:
        if etree.QName(root).localname == "CrossIndustryInvoice":
            from facturx import generate_from_binary

            out = generate_from_binary(bare.read_bytes(), xml, check_xsd=False)
            if _readable(out):
                dst.write_bytes(out)
                return dst
        with pymupdf.open(bare) as doc:
            doc.embfile_add(name, xml, filename=name)
            doc.save(dst)
        return dst
    finally:
        bare.unlink()


def hybrid_pdf(path: Path, spec: XmlSpec = SPEC, xml: bytes | None = None) -> Path:
    """A born-digital invoice page for ``spec`` with its CII XML (or ``xml``) embedded by factur-x."""
    page = make_pdf(path.with_suffix(".page.pdf"), [page_lines(spec)])
    out = embed_xml(page, cii_xml(spec) if xml is None else xml, path)
    page.unlink()
    return out


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file://%s">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&x;</rsm:CrossIndustryInvoice>
"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">"""
BILLION_LAUGHS += b"".join(
    b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
)
BILLION_LAUGHS += b"""]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&lol9;</rsm:CrossIndustryInvoice>
"""
MALFORMED = (
    b"<?xml version='1.0'?><rsm:CrossIndustryInvoice xmlns:rsm='urn:x'><unclosed></rsm:CrossIndustryInvoice>"
)
WRONG_ROOT = b"<?xml version='1.0'?><html><body>not an invoice</body></html>"


def huge_xml(megabytes: int = 50) -> bytes:
    """A well-formed CII document of about ``megabytes`` MB (one enormous note)."""
    head = cii_xml(SPEC)
    pad = b"<!-- " + b"x" * (megabytes * 1024 * 1024) + b" -->\n"
    return head.replace(b"?>\n", b"?>\n" + pad, 1)
