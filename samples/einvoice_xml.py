"""XRechnung e-invoices without a page, for ``samples/``: a CII invoice and a UBL credit note.

The companies, people, VAT ids, IBANs (valid mod-97 check digits) and addresses are invented.
Each spec gives the XML (XRechnung 3.0, CII D16B or UBL 2.1) and the ground truth in
``ground_truth/<stem>.json``, both written from the same spec, so they cannot disagree.

    python samples/einvoice_xml.py            # rewrites samples/*.xml and their ground truth

Tests use ``cii_xml(spec)`` / ``ubl_xml(spec)`` to make e-invoices of their own (hybrid PDFs too).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

SAMPLES_DIR = Path(__file__).resolve().parent
XRECHNUNG_CII = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class XmlParty:
    name: str
    street: str
    postcode: str
    city: str
    country: str
    vat_id: str | None = None
    iban: str | None = None
    email: str | None = None
    phone: str | None = None

    def address(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}, {self.country}"


@dataclass(frozen=True)
class XmlLine:
    name: str
    quantity: Decimal
    unit_code: str  # UN/ECE Rec 20
    unit_name: str  # what docvlm writes for it (the truth)
    net_price: Decimal
    tax_rate: Decimal
    seller_id: str | None = None

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.net_price).quantize(CENT)


@dataclass(frozen=True)
class XmlSpec:
    stem: str
    number: str
    issued: dt.date
    seller: XmlParty
    buyer: XmlParty
    lines: tuple[XmlLine, ...]
    buyer_reference: str  # XRechnung's Leitweg-ID / buyer reference (BT-10)
    currency: str = "EUR"
    due: dt.date | None = None
    order: str | None = None
    credit_note: bool = False

    @property
    def subtotal(self) -> Decimal:
        return sum((li.amount for li in self.lines), Decimal(0))

    def taxes(self) -> list[tuple[Decimal, Decimal, Decimal]]:
        """(rate, basis, tax) per VAT rate."""
        rates = sorted({li.tax_rate for li in self.lines})
        out = []
        for rate in rates:
            basis = sum((li.amount for li in self.lines if li.tax_rate == rate), Decimal(0))
            out.append((rate, basis, (basis * rate / 100).quantize(CENT)))
        return out

    @property
    def tax_total(self) -> Decimal:
        return sum((t for _, _, t in self.taxes()), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax_total


def _m(v: Decimal) -> str:
    return format(v.quantize(CENT), "f")


def _n(v: Decimal) -> str:
    return format(v, "f")


# ---------------------------------------------------------------- CII (XRechnung 3.0 CII)

_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"


def _el(parent: Any, tag: str, text: str | None = None, **attrib: str) -> Any:
    e = etree.SubElement(parent, tag, attrib)
    if text is not None:
        e.text = text
    return e


def _cii_date(parent: Any, tag: str, d: dt.date) -> None:
    _el(_el(parent, f"{{{_RAM}}}{tag}"), f"{{{_UDT}}}DateTimeString", d.strftime("%Y%m%d"), format="102")


def _cii_party(parent: Any, tag: str, p: XmlParty) -> None:
    ram = f"{{{_RAM}}}"
    party = _el(parent, ram + tag)
    _el(party, ram + "Name", p.name)
    if p.email or p.phone:
        contact = _el(party, ram + "DefinedTradeContact")
        _el(contact, ram + "PersonName", p.name)
        if p.phone:
            _el(_el(contact, ram + "TelephoneUniversalCommunication"), ram + "CompleteNumber", p.phone)
        if p.email:
            _el(_el(contact, ram + "EmailURIUniversalCommunication"), ram + "URIID", p.email)
    addr = _el(party, ram + "PostalTradeAddress")
    _el(addr, ram + "PostcodeCode", p.postcode)
    _el(addr, ram + "LineOne", p.street)
    _el(addr, ram + "CityName", p.city)
    _el(addr, ram + "CountryID", p.country)
    if p.email:
        _el(_el(party, ram + "URIUniversalCommunication"), ram + "URIID", p.email, schemeID="EM")
    if p.vat_id:
        _el(_el(party, ram + "SpecifiedTaxRegistration"), ram + "ID", p.vat_id, schemeID="VA")


def cii_xml(spec: XmlSpec) -> bytes:
    """The spec as an XRechnung 3.0 CII invoice (type 380, or 381 for a credit note)."""
    ram = f"{{{_RAM}}}"
    root = etree.Element(f"{{{_RSM}}}CrossIndustryInvoice", nsmap={"rsm": _RSM, "ram": _RAM, "udt": _UDT})
    ctx = _el(root, f"{{{_RSM}}}ExchangedDocumentContext")
    _el(_el(ctx, ram + "BusinessProcessSpecifiedDocumentContextParameter"), ram + "ID", PEPPOL_BILLING)
    _el(_el(ctx, ram + "GuidelineSpecifiedDocumentContextParameter"), ram + "ID", XRECHNUNG_CII)
    doc = _el(root, f"{{{_RSM}}}ExchangedDocument")
    _el(doc, ram + "ID", spec.number)
    _el(doc, ram + "TypeCode", "381" if spec.credit_note else "380")
    _cii_date(doc, "IssueDateTime", spec.issued)
    tx = _el(root, f"{{{_RSM}}}SupplyChainTradeTransaction")
    for i, li in enumerate(spec.lines, 1):
        item = _el(tx, ram + "IncludedSupplyChainTradeLineItem")
        _el(_el(item, ram + "AssociatedDocumentLineDocument"), ram + "LineID", str(i))
        product = _el(item, ram + "SpecifiedTradeProduct")
        if li.seller_id:
            _el(product, ram + "SellerAssignedID", li.seller_id)
        _el(product, ram + "Name", li.name)
        price = _el(_el(item, ram + "SpecifiedLineTradeAgreement"), ram + "NetPriceProductTradePrice")
        _el(price, ram + "ChargeAmount", _n(li.net_price))
        _el(
            _el(item, ram + "SpecifiedLineTradeDelivery"),
            ram + "BilledQuantity",
            _n(li.quantity),
            unitCode=li.unit_code,
        )
        settle = _el(item, ram + "SpecifiedLineTradeSettlement")
        tax = _el(settle, ram + "ApplicableTradeTax")
        _el(tax, ram + "TypeCode", "VAT")
        _el(tax, ram + "CategoryCode", "S")
        _el(tax, ram + "RateApplicablePercent", _m(li.tax_rate))
        _el(
            _el(settle, ram + "SpecifiedTradeSettlementLineMonetarySummation"),
            ram + "LineTotalAmount",
            _m(li.amount),
        )
    agreement = _el(tx, ram + "ApplicableHeaderTradeAgreement")
    _el(agreement, ram + "BuyerReference", spec.buyer_reference)
    _cii_party(agreement, "SellerTradeParty", spec.seller)
    _cii_party(agreement, "BuyerTradeParty", spec.buyer)
    if spec.order:
        _el(_el(agreement, ram + "BuyerOrderReferencedDocument"), ram + "IssuerAssignedID", spec.order)
    delivery = _el(tx, ram + "ApplicableHeaderTradeDelivery")
    _cii_date(_el(delivery, ram + "ActualDeliverySupplyChainEvent"), "OccurrenceDateTime", spec.issued)
    settlement = _el(tx, ram + "ApplicableHeaderTradeSettlement")
    _el(settlement, ram + "PaymentReference", spec.number)
    _el(settlement, ram + "InvoiceCurrencyCode", spec.currency)
    if spec.seller.iban:
        means = _el(settlement, ram + "SpecifiedTradeSettlementPaymentMeans")
        _el(means, ram + "TypeCode", "58")
        _el(_el(means, ram + "PayeePartyCreditorFinancialAccount"), ram + "IBANID", spec.seller.iban)
    for rate, basis, amount in spec.taxes():
        tax = _el(settlement, ram + "ApplicableTradeTax")
        _el(tax, ram + "CalculatedAmount", _m(amount))
        _el(tax, ram + "TypeCode", "VAT")
        _el(tax, ram + "BasisAmount", _m(basis))
        _el(tax, ram + "CategoryCode", "S")
        _el(tax, ram + "RateApplicablePercent", _m(rate))
    if spec.due:
        terms = _el(settlement, ram + "SpecifiedTradePaymentTerms")
        _el(terms, ram + "Description", f"Zahlbar bis {spec.due:%d.%m.%Y} ohne Abzug")
        _cii_date(terms, "DueDateDateTime", spec.due)
    sums = _el(settlement, ram + "SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(sums, ram + "LineTotalAmount", _m(spec.subtotal))
    _el(sums, ram + "TaxBasisTotalAmount", _m(spec.subtotal))
    _el(sums, ram + "TaxTotalAmount", _m(spec.tax_total), currencyID=spec.currency)
    _el(sums, ram + "GrandTotalAmount", _m(spec.total))
    _el(sums, ram + "DuePayableAmount", _m(spec.total))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# ---------------------------------------------------------------- UBL 2.1 (XRechnung 3.0 UBL)

_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def _ubl_party(parent: Any, tag: str, p: XmlParty) -> None:
    cac, cbc = f"{{{_CAC}}}", f"{{{_CBC}}}"
    party = _el(_el(parent, cac + tag), cac + "Party")
    if p.email:
        _el(party, cbc + "EndpointID", p.email, schemeID="EM")
    _el(_el(party, cac + "PartyName"), cbc + "Name", p.name)
    addr = _el(party, cac + "PostalAddress")
    _el(addr, cbc + "StreetName", p.street)
    _el(addr, cbc + "CityName", p.city)
    _el(addr, cbc + "PostalZone", p.postcode)
    _el(_el(addr, cac + "Country"), cbc + "IdentificationCode", p.country)
    if p.vat_id:
        scheme = _el(party, cac + "PartyTaxScheme")
        _el(scheme, cbc + "CompanyID", p.vat_id)
        _el(_el(scheme, cac + "TaxScheme"), cbc + "ID", "VAT")
    _el(_el(party, cac + "PartyLegalEntity"), cbc + "RegistrationName", p.name)
    if p.email or p.phone:
        contact = _el(party, cac + "Contact")
        if p.phone:
            _el(contact, cbc + "Telephone", p.phone)
        if p.email:
            _el(contact, cbc + "ElectronicMail", p.email)


def _ubl_tax_category(parent: Any, rate: Decimal) -> None:
    cac, cbc = f"{{{_CAC}}}", f"{{{_CBC}}}"
    _el(parent, cbc + "ID", "S")
    _el(parent, cbc + "Percent", _m(rate))
    _el(_el(parent, cac + "TaxScheme"), cbc + "ID", "VAT")


def ubl_xml(spec: XmlSpec) -> bytes:
    """The spec as an XRechnung 3.0 UBL Invoice, or a UBL CreditNote (type 381)."""
    kind = "CreditNote" if spec.credit_note else "Invoice"
    ns = f"urn:oasis:names:specification:ubl:schema:xsd:{kind}-2"
    cac, cbc = f"{{{_CAC}}}", f"{{{_CBC}}}"
    root = etree.Element(f"{{{ns}}}{kind}", nsmap={None: ns, "cac": _CAC, "cbc": _CBC})
    _el(root, cbc + "CustomizationID", XRECHNUNG_CII)
    _el(root, cbc + "ProfileID", PEPPOL_BILLING)
    _el(root, cbc + "ID", spec.number)
    _el(root, cbc + "IssueDate", spec.issued.isoformat())
    if spec.due and not spec.credit_note:
        _el(root, cbc + "DueDate", spec.due.isoformat())
    _el(
        root,
        cbc + ("CreditNoteTypeCode" if spec.credit_note else "InvoiceTypeCode"),
        "381" if spec.credit_note else "380",
    )
    _el(root, cbc + "DocumentCurrencyCode", spec.currency)
    _el(root, cbc + "BuyerReference", spec.buyer_reference)
    if spec.order:
        _el(_el(root, cac + "OrderReference"), cbc + "ID", spec.order)
    _ubl_party(root, "AccountingSupplierParty", spec.seller)
    _ubl_party(root, "AccountingCustomerParty", spec.buyer)
    if spec.seller.iban:
        means = _el(root, cac + "PaymentMeans")
        _el(means, cbc + "PaymentMeansCode", "58")
        if spec.due and spec.credit_note:
            _el(means, cbc + "PaymentDueDate", spec.due.isoformat())
        _el(_el(means, cac + "PayeeFinancialAccount"), cbc + "ID", spec.seller.iban)
    tax_total = _el(root, cac + "TaxTotal")
    _el(tax_total, cbc + "TaxAmount", _m(spec.tax_total), currencyID=spec.currency)
    for rate, basis, amount in spec.taxes():
        sub = _el(tax_total, cac + "TaxSubtotal")
        _el(sub, cbc + "TaxableAmount", _m(basis), currencyID=spec.currency)
        _el(sub, cbc + "TaxAmount", _m(amount), currencyID=spec.currency)
        _ubl_tax_category(_el(sub, cac + "TaxCategory"), rate)
    totals = _el(root, cac + "LegalMonetaryTotal")
    for tag, value in (
        ("LineExtensionAmount", spec.subtotal),
        ("TaxExclusiveAmount", spec.subtotal),
        ("TaxInclusiveAmount", spec.total),
        ("PayableAmount", spec.total),
    ):
        _el(totals, cbc + tag, _m(value), currencyID=spec.currency)
    for i, li in enumerate(spec.lines, 1):
        line = _el(root, cac + f"{kind}Line")
        _el(line, cbc + "ID", str(i))
        qty = "CreditedQuantity" if spec.credit_note else "InvoicedQuantity"
        _el(line, cbc + qty, _n(li.quantity), unitCode=li.unit_code)
        _el(line, cbc + "LineExtensionAmount", _m(li.amount), currencyID=spec.currency)
        item = _el(line, cac + "Item")
        _el(item, cbc + "Name", li.name)
        if li.seller_id:
            _el(_el(item, cac + "SellersItemIdentification"), cbc + "ID", li.seller_id)
        _ubl_tax_category(_el(item, cac + "ClassifiedTaxCategory"), li.tax_rate)
        _el(_el(line, cac + "Price"), cbc + "PriceAmount", _n(li.net_price), currencyID=spec.currency)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# ---------------------------------------------------------------- truth and the samples


def ground_truth(spec: XmlSpec, file_name: str) -> dict[str, Any]:
    """docvlm ground truth for the spec's XML: what the XML says, in the Invoice shape."""

    def party(p: XmlParty, with_bank: bool) -> dict[str, Any]:
        return {
            "name": p.name,
            "address": p.address(),
            "tax_id": p.vat_id,
            "iban": p.iban if with_bank else None,
            "email": p.email,
            "phone": p.phone,
        }

    return {
        "source": file_name,
        "document_type": "credit_note" if spec.credit_note else "invoice",
        "data": {
            "invoice_number": spec.number,
            "invoice_date": spec.issued.isoformat(),
            "due_date": spec.due.isoformat() if spec.due else None,
            "purchase_order": spec.order,
            "currency": spec.currency,
            "vendor": party(spec.seller, True),
            "customer": party(spec.buyer, False),
            "subtotal": _m(spec.subtotal),
            "tax_total": _m(spec.tax_total),
            "total": _m(spec.total),
            "amount_due": _m(spec.total),
            "line_items": [
                {
                    "description": li.name,
                    "quantity": _n(li.quantity),
                    "unit": li.unit_name,
                    "unit_price": _m(li.net_price),
                    "amount": _m(li.amount),
                    "tax_rate": _n(li.tax_rate),
                    "product_code": li.seller_id,
                }
                for li in spec.lines
            ],
        },
    }


_ELBUFER = XmlParty(
    name="Elbufer Messtechnik GmbH",
    street="Pieschener Allee 7",
    postcode="01067",
    city="Dresden",
    country="DE",
    vat_id="DE318264950",
    iban="DE47870700240123456789",
    email="rechnung@elbufer-messtechnik.example",
    phone="+49 351 5550 4417",
)
_STADTWERK = XmlParty(
    name="Zweckverband Wasser Mittelsachsen",
    street="Am Wasserturm 3",
    postcode="09599",
    city="Freiberg",
    country="DE",
    email="eingang@zv-wasser-mittelsachsen.example",
)
_MOORBACH = XmlParty(
    name="Moorbach Büroservice e.K.",
    street="Torfstich 21",
    postcode="26122",
    city="Oldenburg",
    country="DE",
    vat_id="DE275580013",
    iban="DE17280200500008765432",
    email="buchhaltung@moorbach-buero.example",
    phone="+49 441 5550 2290",
)
_KLINIK = XmlParty(
    name="Klinikum Weserbogen gGmbH",
    street="Uferweg 100",
    postcode="28199",
    city="Bremen",
    country="DE",
    vat_id="DE812345672",
)

XML_SPECS: tuple[XmlSpec, ...] = (
    XmlSpec(
        stem="xrechnung_cii_elbufer",
        number="EM-2024-1187",
        issued=dt.date(2024, 4, 8),
        due=dt.date(2024, 5, 8),
        order="ZVW-BE-0448",
        buyer_reference="14-2207-13",
        seller=_ELBUFER,
        buyer=_STADTWERK,
        lines=(
            XmlLine(
                "Ultraschall-Durchflussmesser DN 80",
                Decimal("2"),
                "H87",
                "piece",
                Decimal("1840.00"),
                Decimal("19"),
                "UDM-080",
            ),
            XmlLine(
                "Kalibrierung vor Ort",
                Decimal("6.5"),
                "HUR",
                "hour",
                Decimal("118.00"),
                Decimal("19"),
                "SV-KAL",
            ),
            XmlLine(
                "Messprotokoll nach DIN EN ISO 4064",
                Decimal("2"),
                "C62",
                "unit",
                Decimal("45.00"),
                Decimal("19"),
                "DOK-4064",
            ),
        ),
    ),
    XmlSpec(
        stem="xrechnung_ubl_gutschrift_moorbach",
        number="GS-2024-0031",
        issued=dt.date(2024, 5, 2),
        due=dt.date(2024, 5, 16),
        buyer_reference="04011000-1234512345-06",
        seller=_MOORBACH,
        buyer=_KLINIK,
        credit_note=True,
        lines=(
            XmlLine(
                "Rückgabe Aktenvernichter P-4, unbenutzt",
                Decimal("1"),
                "H87",
                "piece",
                Decimal("389.00"),
                Decimal("19"),
                "AV-P4",
            ),
            XmlLine(
                "Kopierpapier A4, 80 g (Karton)",
                Decimal("4"),
                "XBX",
                "box",
                Decimal("21.90"),
                Decimal("19"),
                "KP-A4-80",
            ),
            XmlLine(
                "Fachbuch Vergaberecht 2024",
                Decimal("1"),
                "H87",
                "piece",
                Decimal("59.00"),
                Decimal("7"),
                "FB-VR24",
            ),
        ),
    ),
)
_WRITERS = {"xrechnung_cii_elbufer": cii_xml, "xrechnung_ubl_gutschrift_moorbach": ubl_xml}


def write_samples(out: Path = SAMPLES_DIR, specs: Sequence[XmlSpec] = XML_SPECS) -> list[Path]:
    """Write each spec's XML and its ground truth under ``out``."""
    written = []
    (out / "ground_truth").mkdir(parents=True, exist_ok=True)
    for spec in specs:
        path = out / f"{spec.stem}.xml"
        path.write_bytes(_WRITERS.get(spec.stem, cii_xml)(spec))
        truth = ground_truth(spec, path.name)
        (out / "ground_truth" / f"{spec.stem}.json").write_text(
            json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written


def with_changes(spec: XmlSpec, **changes: Any) -> XmlSpec:
    """A copy of a spec with some fields changed (tests make variants this way)."""
    return replace(spec, **changes)


if __name__ == "__main__":
    for p in write_samples():
        print(p)
