"""One table of XPaths per e-invoice syntax: where each Invoice field lives in the XML.

The tables are data. ``mapping.read_invoice`` applies whichever table matches the root element,
and no field has code of its own. Each entry lists XPaths in order of preference, and the first
one that yields a non-empty value wins. Header paths are relative to the root element, line paths
to a line element, and address parts to the address element. Parts of one address line are
joined with a space, and address lines with ", ".

Syntaxes:
- ``CII``: UN/CEFACT Cross Industry Invoice D16B (ZUGFeRD 2.x, Factur-X, XRechnung CII);
- ``ZUGFeRD-1.0``: the ZUGFeRD 1.0 Cross Industry Document;
- ``UBL``: OASIS UBL 2.1 Invoice and CreditNote (XRechnung UBL, Peppol BIS).
"""

from __future__ import annotations

from dataclasses import dataclass, field

XPaths = tuple[str, ...]


@dataclass(frozen=True)
class Syntax:
    """Where an Invoice record's fields are in one XML syntax."""

    name: str
    roots: tuple[str, ...]  # Clark names ({namespace}local) of the root elements it reads
    namespaces: dict[str, str]
    profile: XPaths  # the guideline / customization id (the profile)
    type_code: XPaths  # UNTDID 1001 document type code
    header: dict[str, XPaths]  # dotted Invoice path -> XPaths
    address: dict[str, XPaths]  # party ("vendor", "customer") -> XPaths of its postal address element
    address_parts: tuple[XPaths, ...]  # one address line: the parts joined with a space
    lines: str  # XPath of the line elements
    skip_line: XPaths  # a line for which any of these is true is left out (sub-lines, notes)
    line: dict[str, XPaths]  # LineItem field -> XPaths
    credit_note_roots: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- CII D16B

_CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
_TX = "rsm:SupplyChainTradeTransaction"
_AGR = f"{_TX}/ram:ApplicableHeaderTradeAgreement"
_SET = f"{_TX}/ram:ApplicableHeaderTradeSettlement"
_SUM = f"{_SET}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
_SELLER = f"{_AGR}/ram:SellerTradeParty"
_BUYER = f"{_AGR}/ram:BuyerTradeParty"
_PAY = f"{_SET}/ram:SpecifiedTradeSettlementPaymentMeans"


def _cii_party(party: str) -> dict[str, XPaths]:
    """Name, tax id, e-mail and phone of a CII trade party (both CII generations spell them alike)."""
    return {
        "name": (f"{party}/ram:Name",),
        # the VAT id; the national tax number only when there is none
        "tax_id": (
            f"{party}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']",
            f"{party}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']",
        ),
        "email": (
            f"{party}/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID",
            f"{party}/ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']",
        ),
        "phone": (f"{party}/ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber",),
    }


def _prefixed(prefix: str, fields: dict[str, XPaths]) -> dict[str, XPaths]:
    return {f"{prefix}.{k}": v for k, v in fields.items()}


_CII_ADDRESS_PARTS: tuple[XPaths, ...] = (
    ("ram:LineOne",),
    ("ram:LineTwo",),
    ("ram:LineThree",),
    ("ram:PostcodeCode", "ram:CityName"),
    ("ram:CountryID",),
)

CII = Syntax(
    name="CII",
    roots=(f"{{{_CII_NS['rsm']}}}CrossIndustryInvoice",),
    namespaces=_CII_NS,
    profile=("rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",),
    type_code=("rsm:ExchangedDocument/ram:TypeCode",),
    header={
        "invoice_number": ("rsm:ExchangedDocument/ram:ID",),
        "invoice_date": ("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",),
        "due_date": (f"{_SET}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",),
        "purchase_order": (f"{_AGR}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID",),
        "currency": (f"{_SET}/ram:InvoiceCurrencyCode",),
        **_prefixed("vendor", _cii_party(_SELLER)),
        "vendor.iban": (f"{_PAY}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID",),
        **_prefixed("customer", _cii_party(_BUYER)),
        "customer.iban": (f"{_PAY}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID",),
        "subtotal": (f"{_SUM}/ram:LineTotalAmount",),
        # a second TaxTotalAmount may be given in the accounting currency
        "tax_total": (
            f"{_SUM}/ram:TaxTotalAmount[not(@currencyID) or @currencyID=../../ram:InvoiceCurrencyCode]",
            f"{_SUM}/ram:TaxTotalAmount",
        ),
        "total": (f"{_SUM}/ram:GrandTotalAmount",),
        "amount_due": (f"{_SUM}/ram:DuePayableAmount",),
    },
    address={
        "vendor": (f"{_SELLER}/ram:PostalTradeAddress",),
        "customer": (f"{_BUYER}/ram:PostalTradeAddress",),
    },
    address_parts=_CII_ADDRESS_PARTS,
    lines=f"{_TX}/ram:IncludedSupplyChainTradeLineItem",
    skip_line=(
        "not(ram:SpecifiedTradeProduct) and not(.//ram:LineTotalAmount)",
        "ram:AssociatedDocumentLineDocument/ram:ParentLineID",
        "ram:AssociatedDocumentLineDocument/ram:LineStatusReasonCode[normalize-space(.)='INFORMATION']",
    ),
    line={
        "description": ("ram:SpecifiedTradeProduct/ram:Name", "ram:SpecifiedTradeProduct/ram:Description"),
        "quantity": ("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",),
        "unit": ("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode",),
        "unit_price": ("ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount",),
        "amount": (
            "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
        ),
        "tax_rate": ("ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent",),
        "product_code": (
            "ram:SpecifiedTradeProduct/ram:SellerAssignedID",
            "ram:SpecifiedTradeProduct/ram:BuyerAssignedID",
            "ram:SpecifiedTradeProduct/ram:GlobalID",
        ),
    },
)

# ---------------------------------------------------------------- ZUGFeRD 1.0

_ZF1_NS = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
_ZTX = "rsm:SpecifiedSupplyChainTradeTransaction"
_ZAGR = f"{_ZTX}/ram:ApplicableSupplyChainTradeAgreement"
_ZSET = f"{_ZTX}/ram:ApplicableSupplyChainTradeSettlement"
_ZSUM = f"{_ZSET}/ram:SpecifiedTradeSettlementMonetarySummation"
_ZSELLER = f"{_ZAGR}/ram:SellerTradeParty"
_ZBUYER = f"{_ZAGR}/ram:BuyerTradeParty"
_ZPAY = f"{_ZSET}/ram:SpecifiedTradeSettlementPaymentMeans"

ZUGFERD_1 = Syntax(
    name="ZUGFeRD-1.0",
    roots=(f"{{{_ZF1_NS['rsm']}}}CrossIndustryDocument",),
    namespaces=_ZF1_NS,
    profile=("rsm:SpecifiedExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",),
    type_code=("rsm:HeaderExchangedDocument/ram:TypeCode",),
    header={
        "invoice_number": ("rsm:HeaderExchangedDocument/ram:ID",),
        "invoice_date": ("rsm:HeaderExchangedDocument/ram:IssueDateTime/udt:DateTimeString",),
        "due_date": (f"{_ZSET}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",),
        "purchase_order": (f"{_ZAGR}/ram:BuyerOrderReferencedDocument/ram:ID",),
        "currency": (f"{_ZSET}/ram:InvoiceCurrencyCode",),
        **_prefixed("vendor", _cii_party(_ZSELLER)),
        "vendor.iban": (f"{_ZPAY}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID",),
        **_prefixed("customer", _cii_party(_ZBUYER)),
        "customer.iban": (f"{_ZPAY}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID",),
        "subtotal": (f"{_ZSUM}/ram:LineTotalAmount",),
        "tax_total": (
            f"{_ZSUM}/ram:TaxTotalAmount[not(@currencyID) or @currencyID=../../ram:InvoiceCurrencyCode]",
            f"{_ZSUM}/ram:TaxTotalAmount",
        ),
        "total": (f"{_ZSUM}/ram:GrandTotalAmount",),
        "amount_due": (f"{_ZSUM}/ram:DuePayableAmount",),
    },
    address={
        "vendor": (f"{_ZSELLER}/ram:PostalTradeAddress",),
        "customer": (f"{_ZBUYER}/ram:PostalTradeAddress",),
    },
    address_parts=_CII_ADDRESS_PARTS,
    lines=f"{_ZTX}/ram:IncludedSupplyChainTradeLineItem",
    # a line that only carries a note: no product, nothing billed
    skip_line=("not(ram:SpecifiedTradeProduct) and not(.//ram:LineTotalAmount)",),
    line={
        "description": ("ram:SpecifiedTradeProduct/ram:Name", "ram:SpecifiedTradeProduct/ram:Description"),
        "quantity": ("ram:SpecifiedSupplyChainTradeDelivery/ram:BilledQuantity",),
        "unit": ("ram:SpecifiedSupplyChainTradeDelivery/ram:BilledQuantity/@unitCode",),
        "unit_price": (
            "ram:SpecifiedSupplyChainTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount",
        ),
        "amount": (
            "ram:SpecifiedSupplyChainTradeSettlement/ram:SpecifiedTradeSettlementMonetarySummation/ram:LineTotalAmount",
        ),
        "tax_rate": ("ram:SpecifiedSupplyChainTradeSettlement/ram:ApplicableTradeTax/ram:ApplicablePercent",),
        "product_code": (
            "ram:SpecifiedTradeProduct/ram:SellerAssignedID",
            "ram:SpecifiedTradeProduct/ram:BuyerAssignedID",
            "ram:SpecifiedTradeProduct/ram:GlobalID",
        ),
    },
)

# ---------------------------------------------------------------- UBL 2.1

_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_SUP = "cac:AccountingSupplierParty/cac:Party"
_CUS = "cac:AccountingCustomerParty/cac:Party"
_TOT = "cac:LegalMonetaryTotal"


def _ubl_party(party: str) -> dict[str, XPaths]:
    return {
        "name": (f"{party}/cac:PartyName/cbc:Name", f"{party}/cac:PartyLegalEntity/cbc:RegistrationName"),
        "tax_id": (
            f"{party}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
            f"{party}/cac:PartyTaxScheme/cbc:CompanyID",
        ),
        "email": (f"{party}/cac:Contact/cbc:ElectronicMail", f"{party}/cbc:EndpointID[@schemeID='EM']"),
        "phone": (f"{party}/cac:Contact/cbc:Telephone",),
    }


_QTY = ("cbc:InvoicedQuantity", "cbc:CreditedQuantity")

UBL = Syntax(
    name="UBL",
    roots=(f"{{{_UBL_INVOICE}}}Invoice", f"{{{_UBL_CREDIT}}}CreditNote"),
    namespaces=_UBL_NS,
    profile=("cbc:CustomizationID",),
    type_code=("cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode"),
    header={
        "invoice_number": ("cbc:ID",),
        "invoice_date": ("cbc:IssueDate",),
        "due_date": ("cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate"),
        "purchase_order": ("cac:OrderReference/cbc:ID",),
        "currency": ("cbc:DocumentCurrencyCode",),
        **_prefixed("vendor", _ubl_party(_SUP)),
        "vendor.iban": ("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID",),
        **_prefixed("customer", _ubl_party(_CUS)),
        "customer.iban": ("cac:PaymentMeans/cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID",),
        "subtotal": (f"{_TOT}/cbc:LineExtensionAmount",),
        # the tax total in the tax currency, when it differs, comes without subtotals
        "tax_total": (
            "cac:TaxTotal/cbc:TaxAmount[not(@currencyID) or @currencyID=../../cbc:DocumentCurrencyCode]",
            "cac:TaxTotal/cbc:TaxAmount",
        ),
        "total": (f"{_TOT}/cbc:TaxInclusiveAmount",),
        "amount_due": (f"{_TOT}/cbc:PayableAmount",),
    },
    address={"vendor": (f"{_SUP}/cac:PostalAddress",), "customer": (f"{_CUS}/cac:PostalAddress",)},
    address_parts=(
        ("cbc:StreetName", "cbc:BuildingNumber"),
        ("cbc:AdditionalStreetName",),
        ("cac:AddressLine/cbc:Line",),
        ("cbc:PostalZone", "cbc:CityName"),
        ("cac:Country/cbc:IdentificationCode",),
    ),
    lines="cac:InvoiceLine | cac:CreditNoteLine",
    # heading lines: nothing billed, nothing charged, no price
    skip_line=(
        "cbc:LineExtensionAmount[number(.)=0] and not(cbc:InvoicedQuantity[number(.)!=0])"
        " and not(cbc:CreditedQuantity[number(.)!=0]) and not(cac:Price/cbc:PriceAmount[number(.)!=0])",
    ),
    line={
        "description": ("cac:Item/cbc:Name", "cac:Item/cbc:Description"),
        "quantity": _QTY,
        "unit": tuple(f"{q}/@unitCode" for q in _QTY),
        "unit_price": ("cac:Price/cbc:PriceAmount",),
        "amount": ("cbc:LineExtensionAmount",),
        "tax_rate": ("cac:Item/cac:ClassifiedTaxCategory/cbc:Percent",),
        "product_code": (
            "cac:Item/cac:SellersItemIdentification/cbc:ID",
            "cac:Item/cac:BuyersItemIdentification/cbc:ID",
            "cac:Item/cac:StandardItemIdentification/cbc:ID",
        ),
    },
    credit_note_roots=(f"{{{_UBL_CREDIT}}}CreditNote",),
)

SYNTAXES: tuple[Syntax, ...] = (CII, ZUGFERD_1, UBL)
_BY_ROOT = {root: s for s in SYNTAXES for root in s.roots}


def syntax_for_root(tag: str) -> Syntax | None:
    """The syntax whose root element is ``tag`` (a Clark name), or None."""
    return _BY_ROOT.get(tag)
