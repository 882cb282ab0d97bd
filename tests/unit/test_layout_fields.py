"""Layout engine header fields and receipts on synthetic pages built from word lists (no shared data)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from docvlm.datamodel import Page
from docvlm.engines import LayoutOptions, create_engine
from docvlm.engines.layout import LayoutEngine
from docvlm.engines.layout.candidates.amounts import classify_amount_label
from docvlm.engines.layout.candidates.dates import infer_dayfirst
from docvlm.engines.layout.candidates.header import extract_header
from docvlm.engines.layout.candidates.values import read_iban, read_id, read_tax_id
from docvlm.engines.layout.receipts import receipt_signal
from docvlm.engines.layout.text import page_lines
from docvlm.errors import EngineError
from schemas.forms import Form
from schemas.invoice import HEADER_FIELDS, Invoice
from tests.helpers.pages import Line, make_page


def run(lines: Sequence[Line], **page_kw: float) -> tuple[dict, dict, dict, str]:
    out = LayoutEngine(LayoutOptions(use_model=False)).extract([make_page(lines, **page_kw)], Invoice)
    return out.data, out.evidence, out.confidence, out.document_type


# ---------------------------------------------------------------------------------------------
# key-value geometry


def test_label_right_of_value_on_the_same_line() -> None:
    data, ev, conf, _ = run(
        [
            (40, 40, "ACME Widgets Ltd", 20),
            (40, 100, "Invoice No:  INV-2024-001"),
            (40, 115, "Invoice Date:  2024-03-01"),
            (40, 130, "Due Date:  2024-03-31"),
            (40, 145, "PO Number:  PO-7781"),
            (350, 600, "Subtotal  $100.00"),
            (350, 615, "Tax  $21.00"),
            (350, 630, "Total  $121.00"),
        ]
    )
    assert data["invoice_number"] == "INV-2024-001"
    assert data["invoice_date"] == "2024-03-01"
    assert data["due_date"] == "2024-03-31"
    assert data["purchase_order"] == "PO-7781"
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("100.00", "21.00", "121.00")
    assert data["currency"] == "USD"
    # evidence holds the printed text and sits right of the label
    assert ev["invoice_number"].text == "INV-2024-001"
    assert ev["invoice_number"].bbox[0] > 40 + 11 * 5.5
    assert ev["total"].text == "$121.00"
    for path in ("invoice_number", "invoice_date", "total"):
        assert 0.0 <= conf[path] <= 1.0


def test_label_above_value_in_columns() -> None:
    data, ev, _, _ = run(
        [
            (40, 40, "Northwind Traders", 20),
            (40, 200, "Invoice Date:    Due Date:      Reference:"),
            (40, 215, "14/02/2024       15/03/2024     REF-55"),
        ]
    )
    assert data["invoice_date"] == "2024-02-14"
    assert data["due_date"] == "2024-03-15"
    assert ev["due_date"].text == "15/03/2024"
    assert ev["due_date"].bbox[1] == pytest.approx(215)


def test_labels_do_not_run_across_column_headers() -> None:
    # "INVOICE DATE  DUE DATE" must not read as a "DATE DUE" label
    data, _, _, _ = run(
        [
            (40, 40, "Thornbury Joinery Ltd", 20),
            (40, 200, "INVOICE NO.      INVOICE DATE      DUE DATE"),
            (40, 215, "TJ-0942          14 March 2024     28 March 2024"),
        ]
    )
    assert (data["invoice_number"], data["invoice_date"], data["due_date"]) == (
        "TJ-0942",
        "2024-03-14",
        "2024-03-28",
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (  # German
            [
                (40, 40, "Müller Maschinenbau GmbH", 20),
                (40, 100, "Rechnungsnummer:  R-2024-17"),
                (40, 115, "Rechnungsdatum:  01.03.2024"),
                (40, 130, "Fällig am:  15.03.2024"),
                (350, 600, "Zwischensumme  1.000,00 €"),
                (350, 615, "MwSt 19%  190,00 €"),
                (350, 630, "Gesamtbetrag  1.190,00 €"),
            ],
            ("R-2024-17", "2024-03-01", "2024-03-15", "1000.00", "190.00", "1190.00", "EUR"),
        ),
        (  # French
            [
                (40, 40, "Dupont et Fils SARL", 20),
                (40, 100, "Facture n° F123"),
                (40, 115, "Date de facture : 05/03/2024"),
                (40, 130, "Échéance : 04/04/2024"),
                (350, 600, "Total HT :  1 000,00 €"),
                (350, 615, "TVA 20 % :  200,00 €"),
                (350, 630, "Total TTC :  1 200,00 €"),
            ],
            ("F123", "2024-03-05", "2024-04-04", "1000.00", "200.00", "1200.00", "EUR"),
        ),
        (  # Dutch
            [
                (40, 40, "Jansen Techniek B.V.", 20),
                (40, 100, "Factuurnummer:  2024-55"),
                (40, 115, "Factuurdatum:  3 april 2024"),
                (40, 130, "Vervaldatum:  17 april 2024"),
                (350, 600, "Subtotaal  € 50,00"),
                (350, 615, "BTW 21%  € 10,50"),
                (350, 630, "Totaal  € 60,50"),
            ],
            ("2024-55", "2024-04-03", "2024-04-17", "50.00", "10.50", "60.50", "EUR"),
        ),
        (  # Spanish
            [
                (40, 40, "Talleres García S.L.", 20),
                (40, 100, "Nº factura:  A-77"),
                (40, 115, "Fecha:  12/02/2024"),
                (40, 130, "Vencimiento:  12/03/2024"),
                (350, 600, "Base imponible  200,00 €"),
                (350, 615, "IVA 21%  42,00 €"),
                (350, 630, "Total  242,00 €"),
            ],
            ("A-77", "2024-02-12", "2024-03-12", "200.00", "42.00", "242.00", "EUR"),
        ),
    ],
    ids=["de", "fr", "nl", "es"],
)
def test_each_language(lines: list[Line], expected: tuple[str, ...]) -> None:
    data, _, _, doc_type = run(lines)
    got = tuple(
        data[k]
        for k in ("invoice_number", "invoice_date", "due_date", "subtotal", "tax_total", "total", "currency")
    )
    assert got == expected
    assert doc_type == "invoice"
    assert data["vendor"]["name"] == lines[0][2]


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("1.234,56 €", "1234.56"),
        ("$1,234.56", "1234.56"),
        ("1 234,56 €", "1234.56"),
        ("CHF 1'234.50", "1234.50"),
    ],
)
def test_locale_amounts(printed: str, value: str) -> None:
    data, ev, _, _ = run([(40, 40, "Seller AG", 20), (350, 600, f"Total  {printed}")])
    assert data["total"] == value
    assert ev["total"].text == printed


def test_total_chosen_by_arithmetic_among_several_subtotals() -> None:
    # group subtotals, an "incl. VAT" subtotal and the real net amount: only 100 + 21 = 121 adds up
    data, _, conf, _ = run(
        [
            (40, 40, "Shop B.V.", 20),
            (350, 400, "Subtotal  60.00 EUR"),
            (350, 480, "Subtotal  40.00 EUR"),
            (80, 600, "Excl. VAT  100.00 EUR  Subtotal  121.00 EUR"),
            (80, 615, "VAT 21%  21.00 EUR"),
            (350, 630, "Total  121.00 EUR"),
        ]
    )
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("100.00", "21.00", "121.00")
    assert data["currency"] == "EUR"
    assert conf["total"] > 0.8


def test_amount_due_and_total_are_both_read() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Example Corp", 20),
            (350, 600, "Total  $500.00"),
            (350, 615, "Amount paid  $200.00"),
            (350, 630, "Balance due  $300.00"),
        ]
    )
    assert data["total"] == "500.00"
    assert data["amount_due"] == "300.00"


@pytest.mark.parametrize("adjust", ["0.01", "-0.02"])
def test_a_printed_rounding_adjustment_closes_subtotal_plus_tax(adjust: str) -> None:
    # 179.00 + 10.74 = 189.74; the till rounds the total to 5 cents and prints the adjustment
    total = str(Decimal("189.74") + Decimal(adjust))
    data, _, conf, _ = run(
        [
            (40, 40, "Example Corp", 20),
            (350, 600, "4 SubTotal  179.00"),  # a count of items before the label
            (350, 615, "GST @6%:  10.74"),
            (350, 630, f"Rounding Adj  {adjust}"),
            (350, 645, f"Net Total  {total}"),
        ]
    )
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("179.00", "10.74", total)
    assert conf["subtotal"] > 0.9  # the three agree


def test_fallback_total_is_the_largest_amount_low_on_the_page() -> None:
    data, _, conf, _ = run(
        [(40, 40, "Bare Invoice Co", 20), (40, 300, "Widgets  12.00"), (400, 700, "99.50")]
    )
    assert data["total"] == "99.50"
    assert conf["total"] < 0.5  # a guess, and it says so


def test_day_first_and_month_first_inference() -> None:
    base = [(40, 40, "Some Seller Ltd", 20), (40, 100, "Invoice Date:  03/04/2024")]
    data, _, _, _ = run([*base, (40, 300, "Delivered on 13/04/2024")])
    assert data["invoice_date"] == "2024-04-03"
    data, _, _, _ = run([*base, (40, 300, "742 Evergreen Terrace, Springfield, IL 62704")])
    assert data["invoice_date"] == "2024-03-04"
    assert infer_dayfirst("Date 04/25/2024", None) is False
    assert infer_dayfirst("Date 03/04/2024 Total $5.00", "USD") is False  # a bare $ reads as US
    assert infer_dayfirst("Date 03/04/2024 GST 10% Total $5.00", "USD") is True  # ...unless GST says AU/CA/SG
    assert infer_dayfirst("Datum 25.04.2024", None) is True
    # opening hours ("08.30 - 12.30") are no month-first date
    assert infer_dayfirst("Mo.-Fr. 08.30 - 12.30 Uhr, fällig am 06.12.2013", None) is True
    # an explicit option wins over inference
    out = LayoutEngine(LayoutOptions(dayfirst=False)).extract(
        [make_page([*base, (40, 300, "x 13/04/2024")])], Invoice
    )
    assert out.data["invoice_date"] == "2024-03-04"


def test_vendor_and_customer_blocks() -> None:
    data, ev, _, _ = run(
        [
            (40, 40, "Blue Harbour Supplies Ltd", 22),
            (40, 70, "12 Dock Road"),
            (40, 82, "Bristol BS1 4QA"),
            (40, 94, "VAT No: GB123456789"),
            (40, 106, "IBAN: DE89 3704 0044 0532 0130 00"),
            (40, 160, "Bill to:"),
            (40, 172, "Harper & Sons"),
            (40, 184, "5 Mill Lane"),
            (40, 196, "Leeds LS1 1AA"),
            (350, 160, "Invoice Number:  7781"),
        ]
    )
    assert data["vendor"]["name"] == "Blue Harbour Supplies Ltd"
    assert data["vendor"]["address"] == "12 Dock Road, Bristol BS1 4QA"
    assert data["vendor"]["tax_id"] == "GB123456789"
    assert data["vendor"]["iban"] == "DE89370400440532013000"
    assert data["customer"]["name"] == "Harper & Sons"
    assert data["customer"]["address"] == "5 Mill Lane, Leeds LS1 1AA"
    assert ev["customer.name"].page == 1
    assert data["invoice_number"] == "7781"


def test_vendor_from_seller_label_when_no_letterhead() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "INVOICE", 20),
            (40, 100, "Sold by:  Quiet Lake Trading Pvt. Ltd."),
            (40, 130, "Invoice No:  QL-1"),
        ]
    )
    assert data["vendor"]["name"] == "Quiet Lake Trading Pvt. Ltd."


def test_vendor_from_the_footer_when_the_header_has_no_name() -> None:
    data, _, _, _ = run(
        [
            (40, 100, "Rechnungsnr.:  RE-5"),
            (350, 600, "Gesamtbetrag  119,00 €"),
            (40, 780, "Nordwind Technik GmbH    USt-IdNr.: DE123456789    IBAN: DE89 3704 0044 0532 0130 00"),
        ]
    )
    assert data["vendor"]["name"] == "Nordwind Technik GmbH"
    assert data["vendor"]["tax_id"] == "DE123456789"


def test_a_logo_word_is_completed_by_the_printed_name() -> None:
    # OCR reads the logo "azure" in larger type above the letterhead "Azure Interior"
    data, _, _, _ = run(
        [
            (40, 30, "azure", 20),
            (40, 60, "Azure Interior"),
            (40, 72, "4557 De Silva St"),
            (40, 84, "Fremont CA 94538"),
            (40, 780, "azure.interior24@example.com  http://www.azure-interior.com"),
        ]
    )
    assert data["vendor"]["name"] == "Azure Interior"
    assert data["vendor"]["address"] == "4557 De Silva St, Fremont CA 94538"


def test_a_slogan_under_the_logo_is_not_the_sellers_address() -> None:
    data, _, _, _ = run(
        [
            (60, 30, "PUBLICATION ANNONCE LEGALE", 18),
            (60, 52, "Annonces légales et formalités en ligne", 12),
            (380, 110, "Facture n° 2022089083"),
        ]
    )
    assert data["vendor"]["name"] == "PUBLICATION ANNONCE LEGALE"
    assert data["vendor"]["address"] is None


def test_title_words_are_not_a_vendor_name() -> None:
    data, _, _, _ = run([(200, 40, "TAX INVOICE", 24), (40, 100, "Invoice No:  9")])
    assert data["vendor"]["name"] != "TAX INVOICE"


def test_bill_to_wins_over_ship_to_side_by_side() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Pine Street Bakery", 20),
            (40, 120, "Bill To:           Ship To:"),
            (40, 132, "Lena Ortiz         Ortiz Catering Warehouse"),
            (40, 144, "9 Elm Road         400 Dock Street"),
            (400, 120, "Invoice #  A-1009"),
        ]
    )
    assert data["customer"]["name"] == "Lena Ortiz"
    assert data["customer"]["address"] == "9 Elm Road"
    assert data["invoice_number"] == "A-1009"
    assert data["vendor"]["name"] == "Pine Street Bakery"


@pytest.mark.parametrize("other", ["TOTAL AMOUNT DUE ON August 3, 2014", "Amount due  $4.11", "$4.11"])
def test_another_columns_field_on_the_bill_to_line_is_not_the_customer(other: str) -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Pine Street Bakery", 20),
            (40, 120, "Bill to Address:                " + other),
            (40, 132, "ATTN: Lena Ortiz"),
            (40, 144, "9 Elm Road"),
            (40, 156, "Portland, ME 04101"),
        ]
    )
    assert data["customer"]["name"] == "Lena Ortiz"
    assert data["customer"]["address"] == "9 Elm Road, Portland, ME 04101"


def test_unlabelled_addressee_block_of_a_letter_style_invoice() -> None:
    data, ev, conf, _ = run(
        [
            (40, 40, "Azure Interior", 14),
            (40, 60, "4557 De Silva St"),
            (40, 72, "Fremont CA 94538"),
            (350, 140, "YourCompany, Mitchell Admin"),
            (350, 152, "215 Vine St"),
            (350, 164, "Scranton PA 18503"),
            (350, 176, "United States"),
            (40, 210, "Invoice INV/2023/03/0008", 16),
            (40, 240, "Invoice Date:  03/20/2023"),
            (40, 300, "Description  Amount"),
            (40, 312, "Office chair  70.00"),
            (380, 340, "Total  $ 70.00"),
        ]
    )
    assert data["vendor"]["name"] == "Azure Interior"
    assert data["customer"]["name"] == "YourCompany, Mitchell Admin"
    assert data["customer"]["address"] == "215 Vine St, Scranton PA 18503, United States"
    assert ev["customer.name"].bbox[0] >= 350
    assert conf["customer.name"] < conf["vendor.name"]  # an unlabelled block is a weaker reading


def test_addressee_block_stops_at_the_fields_under_it_and_skips_a_title_above() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "FACTUUR.", 10),
            (40, 52, "Pino Bluebird"),
            (40, 64, "Sessamestreet 32"),
            (40, 76, "1025 RX Amsterdam"),
            (40, 88, "Factuurnummer: 993548900"),
            (40, 100, "Factuurdatum: 19 april 2014"),
            (400, 40, "Coolblue B.V.", 14),
            (400, 58, "Weena 664"),
            (400, 70, "3012 CN Rotterdam"),
        ]
    )
    assert data["customer"]["name"] == "Pino Bluebird"
    assert data["customer"]["address"] == "Sessamestreet 32, 1025 RX Amsterdam"
    assert data["vendor"]["name"] == "Coolblue B.V."


def test_the_sellers_own_block_is_not_taken_for_the_addressee() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 14),
            (40, 58, "12 Dock Road"),
            (40, 70, "Bristol BS1 4QA"),
            (40, 82, "United Kingdom"),
            (40, 130, "Invoice No: 5521"),
            (40, 142, "Date: 2024-02-01"),
            (380, 300, "Total  £ 40.00"),
        ]
    )
    assert data["vendor"]["name"] == "Harbour Tools Ltd"
    assert data["customer"]["name"] is None and data["customer"]["address"] is None


def test_previous_balance_and_payment_date_are_not_this_invoice() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Utility Power Co", 20),
            (40, 100, "Payment date:  01/02/2024"),
            (40, 115, "Invoice date:  15/02/2024"),
            (350, 600, "Previous balance  $80.00"),
            (350, 615, "Total  $45.00"),
            (350, 630, "Total due  $125.00"),
        ]
    )
    assert data["invoice_date"] == "2024-02-15"
    assert data["total"] == "45.00"
    assert data["amount_due"] == "125.00"


def test_identifier_readers() -> None:
    assert read_tax_id("NL810433941B01")[0] == "NL810433941B01"  # type: ignore[index]
    assert read_tax_id("21%") is None
    assert read_iban("FR76 3000 6000 0112 3456 7890 189 - BIC X")[0] == "FR7630006000011234567890189"  # type: ignore[index]
    # IBAN-shaped but with a bad checksum is still read (the label said IBAN); confidence is lower
    assert read_iban("DE00 1234 5678 9012 3456 78") is not None
    # ... whole, as printed in groups of four up to its short last group, and not the BIC after it
    assert read_iban("DE00 1234 5678 9012 3456 78 BIC ABCDDEFFXXX")[0] == "DE00123456789012345678"  # type: ignore[index]
    assert read_iban("DE00 1234 5678 9012 3456 78, BIC: ABCD")[0] == "DE00123456789012345678"  # type: ignore[index]


def test_amount_label_classification() -> None:
    assert classify_amount_label("Total HT :") == (("subtotal", 1.0),)
    assert classify_amount_label("Total TTC :") == (("total", 1.0),)
    assert classify_amount_label("TVA 20% :")[0][0] == "tax_total"
    assert classify_amount_label("Total incl. BTW")[0][0] == "total"
    assert classify_amount_label("Exclusief BTW")[0][0] == "subtotal"
    assert classify_amount_label("Total Qty:") == ()
    assert classify_amount_label("Change") == ()
    assert classify_amount_label("Amount due")[0] == ("amount_due", 1.0)
    # an invoice's "Net total" is before tax; a receipt's "Nett total" is what was paid
    assert classify_amount_label("Net total:")[0][0] == "subtotal"
    assert classify_amount_label("NETT TOTAL")[0][0] == "total"
    assert classify_amount_label("Residual")[0][0] == "amount_due"
    # any German "...steuer" is a tax (Umsatz-, Mehrwert-, Versicherungsteuer), its number is not
    assert classify_amount_label("Versicherungsteuer 19 %")[0][0] == "tax_total"
    assert classify_amount_label("Steuer-Nr.") == () and classify_amount_label("Steuernummer") == ()
    assert classify_amount_label("Due payable:")[0][0] == "amount_due"
    # the EN 16931 totals as German and English renderings of e-invoices name them
    assert classify_amount_label("Gesamtsumme Positionen")[0][0] == "subtotal"
    assert classify_amount_label("Summe der Nettobeträge")[0][0] == "subtotal"
    assert classify_amount_label("Gesamtbetrag ohne Umsatzsteuer")[0][0] == "subtotal"
    assert classify_amount_label("Invoice total amount without VAT")[0][0] == "subtotal"
    assert classify_amount_label("Gesamtbetrag einschließlich Umsatzsteuer")[0][0] == "total"
    assert classify_amount_label("Fälliger Betrag")[0][0] == "amount_due"
    assert classify_amount_label("Zahlungsbetrag")[0][0] == "amount_due"
    assert (
        classify_amount_label("Bereits bezahlt") == ()
        and classify_amount_label("Vorausbezahlter Betrag") == ()
    )
    # a tax base on a rate's line announces the tax amount after it, not the subtotal
    assert classify_amount_label("Steuerbasisbetrag USt. 19%")[0][0] == "tax_total"


# ---------------------------------------------------------------------------------------------
# receipts

RECEIPT = [
    (60, 20, "CUSTOMER COPY"),
    (40, 40, "KEDAI RUNCIT MAJU SDN BHD", 12),
    (90, 56, "(123456-A)"),
    (50, 70, "NO. 12, JALAN MERANTI 3,"),
    (50, 84, "TAMAN BUKIT INDAH,"),
    (60, 98, "81200 JOHOR BAHRU, JOHOR."),
    (60, 112, "TEL: 07-123 4567"),
    (60, 126, "GST ID: 000123456789"),
    (70, 150, "TAX INVOICE"),
    (20, 170, "DATE: 25/12/2018  CASHIER: ALI"),
    (20, 200, "MILO 1KG  2  15.90  31.80"),
    (20, 214, "BREAD  1  3.20  3.20"),
    (20, 240, "TOTAL QTY:  3"),
    (20, 254, "SUB-TOTAL  35.00"),
    (20, 268, "GST 6%  2.10"),
    (20, 282, "ROUNDING ADJ  0.00"),
    (20, 296, "ROUNDED TOTAL (RM)  37.10"),
    (20, 320, "CASH  50.00"),
    (20, 334, "CHANGE  12.90"),
    (40, 360, "THANK YOU, PLEASE COME AGAIN"),
]


def test_receipt_detection_and_fields() -> None:
    data, ev, conf, doc_type = run(RECEIPT, width=240, height=400)
    assert doc_type == "receipt"
    assert data["vendor"]["name"] == "KEDAI RUNCIT MAJU SDN BHD"
    assert (
        data["vendor"]["address"] == "NO. 12, JALAN MERANTI 3, TAMAN BUKIT INDAH, 81200 JOHOR BAHRU, JOHOR."
    )
    assert data["invoice_date"] == "2018-12-25"
    assert data["total"] == "37.10"
    assert data["currency"] == "MYR"
    assert ev["total"].text == "37.10"
    assert conf["total"] >= 0.9  # rounded-total label and cash - change agree


@pytest.mark.parametrize(("adjust", "rounded"), [("-0.01", "37.05"), ("0.04", "37.10")])
def test_a_receipt_total_before_cash_rounding_gives_way_to_the_rounded_one(adjust: str, rounded: str) -> None:
    # "TOTAL 37.06 / ROUNDING ADJ -0.01 / 37.05": the amount paid is the one after the adjustment
    lines = [
        ln for ln in RECEIPT if not ln[2].startswith(("SUB-TOTAL", "GST 6%", "ROUNDING", "CASH", "CHANGE"))
    ]
    before = str(Decimal(rounded) - Decimal(adjust))
    at = lines.index((20, 296, "ROUNDED TOTAL (RM)  37.10"))
    lines[at : at + 1] = [
        (20, 268, f"TOTAL INCL. GST  {before}"),
        (20, 282, f"ROUNDING ADJ  {adjust}"),
        (20, 296, f"RM {rounded}"),
    ]
    data, ev, _, doc_type = run(lines, width=240, height=400)
    assert doc_type == "receipt"
    assert data["total"] == rounded and ev["total"].text.endswith(rounded)


def test_a_receipt_total_after_its_rounding_line_stays() -> None:
    # the rounded total printed below the adjustment is already the one paid; the amount above is not
    lines = [ln for ln in RECEIPT if not ln[2].startswith(("CASH", "CHANGE"))]
    at = lines.index((20, 254, "SUB-TOTAL  35.00"))
    lines[at : at + 1] = [(20, 254, "SUB-TOTAL  37.12")]
    lines[lines.index((20, 268, "GST 6%  2.10"))] = (20, 268, "GST 6% INCL  2.10")
    lines[lines.index((20, 282, "ROUNDING ADJ  0.00"))] = (20, 282, "ROUNDING ADJ  -0.02")
    data, _, _, _ = run(lines, width=240, height=400)
    assert data["total"] == "37.10"


def test_receipt_items_with_quantity_columns() -> None:
    data, ev, conf, _ = run(RECEIPT, width=240, height=400)
    assert [
        (it["description"], it["quantity"], it["unit_price"], it["amount"]) for it in data["line_items"]
    ] == [
        ("MILO 1KG", "2", "15.90", "31.80"),
        ("BREAD", "1", "3.20", "3.20"),
    ]
    assert ev["line_items.0.unit_price"].text == "15.90"
    assert ev["line_items.1.amount"].text == "3.20"
    assert 0 < conf["line_items.0.amount"] <= 1


class _RefusesToRead:
    """A table model that fails the test if it is asked to read anything."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"the table model was asked for {name} on a receipt")


def test_a_receipt_s_tables_are_read_by_the_table_rules_alone() -> None:
    from docvlm.engines.layout.layout_engine import rule_pass

    pages = [make_page(RECEIPT, width=240, height=400)]
    with_model = rule_pass(pages, table_model=_RefusesToRead())
    assert with_model.signal.is_receipt
    assert with_model.items == rule_pass(pages, use_model=False).items
    assert [it["description"] for it in with_model.items] == ["MILO 1KG", "BREAD"]


TILL_ROLL = [
    (40, 20, "CORNER MARKET", 12),
    (40, 36, "218 W Harmon St"),
    (40, 50, "Fairview, OR 97024"),
    (20, 70, "Date: 03/14/2024 17:42"),
    (20, 100, "ORGANIC BANANAS  1.29"),
    (20, 114, "SOURDOUGH LOAF  6.38 T"),
    (30, 128, "2 x 3.19"),
    (20, 142, "GREEK YOGURT 4 @ 1.25  5.00"),
    (20, 156, "DISH SOAP  2.89"),
    (20, 180, "SUBTOTAI  15.56"),  # an OCR slip in the label must not make it an item
    (20, 194, "SALES TAX 4.5%  0.70"),
    (20, 208, "TOTAL  $16.26"),
    (20, 222, "CASH  20.00"),
    (20, 236, "CHANGE  3.74"),
    (40, 260, "THANK YOU FOR SHOPPING"),
]


def test_till_roll_items_without_a_table_header() -> None:
    data, ev, _, doc_type = run(TILL_ROLL, width=240, height=300)
    assert doc_type == "receipt"
    assert [
        (it["description"], it["quantity"], it["unit_price"], it["amount"]) for it in data["line_items"]
    ] == [
        ("ORGANIC BANANAS", None, None, "1.29"),
        ("SOURDOUGH LOAF", "2", "3.19", "6.38"),
        ("GREEK YOGURT", "4", "1.25", "5.00"),
        ("DISH SOAP", None, None, "2.89"),
    ]
    assert ev["line_items.1.quantity"].bbox[1] > ev["line_items.1.amount"].bbox[1]  # read from the line below


def test_till_roll_amounts_that_do_not_reconcile_are_not_items() -> None:
    # the amount lines add up to neither the subtotal nor most of the total: not an item list
    lines = [ln for ln in TILL_ROLL if not str(ln[2]).startswith(("SOURDOUGH", "GREEK"))]
    data, _, _, doc_type = run(lines, width=240, height=300)
    assert doc_type == "receipt" and data["total"] == "16.26"
    assert data["line_items"] == []


def test_a_number_column_before_every_item_name_is_the_quantity() -> None:
    lines = [
        (40, 20, "BREWERY TAP SDN BHD", 12),
        (40, 36, "LOT 5, JALAN PJU 9/1, 52000 KL"),
        (20, 70, "1 Tiger Bucket - HH  95.00 SR"),
        (20, 84, "2 Chicken wings  22.00 SR"),
        (20, 98, "1 French Fries  12.00 SR"),
        (20, 120, "4 SubTotal  129.00"),
        (20, 134, "GST @6%  7.74"),
        (20, 148, "Net Total  136.74"),
        (20, 162, "CASH  150.00"),
    ]
    data, ev, _, _ = run(lines, width=240, height=200)
    assert [(it["quantity"], it["description"], it["amount"]) for it in data["line_items"]] == [
        ("1", "Tiger Bucket - HH", "95.00"),
        ("2", "Chicken wings", "22.00"),
        ("1", "French Fries", "12.00"),
    ]
    assert ev["line_items.1.quantity"].bbox[2] <= ev["line_items.1.description"].bbox[0]


def test_receipt_total_prefers_cash_minus_change_among_total_lines() -> None:
    lines = [
        (40, 40, "WARUNG SEDAP ENTERPRISE", 12),
        (50, 60, "LOT 5, JALAN BESAR,"),
        (20, 200, "TOTAL  20.00"),
        (20, 214, "TOTAL INCL GST  21.20"),
        (20, 240, "CASH  30.00"),
        (20, 254, "CHANGE  8.80"),
        (40, 290, "THANK YOU"),
    ]
    data, _, _, doc_type = run(lines, width=240, height=320)
    assert doc_type == "receipt"
    assert data["total"] == "21.20"


def test_receipt_change_printed_with_a_trailing_minus_still_checks_the_total() -> None:
    lines = [
        (40, 40, "WARUNG SEDAP ENTERPRISE", 12),
        (50, 60, "LOT 5, JALAN BESAR,"),
        (20, 200, "TOTAL SALES  20.00"),
        (20, 214, "TOTAL  21.20"),
        (20, 240, "CASH  30.00"),
        (20, 254, "CHANGE RETURNED  8.80-"),
        (40, 290, "THANK YOU"),
    ]
    data, _, _, doc_type = run(lines, width=240, height=320)
    assert doc_type == "receipt"
    assert data["total"] == "21.20"  # 30.00 - 8.80; the "total sales" line would win without the check


def test_a_receipt_tax_summary_table_gives_no_total() -> None:
    lines = [
        (40, 40, "WARUNG SEDAP ENTERPRISE", 12),
        (50, 60, "LOT 5, JALAN BESAR,"),
        (20, 200, "ITEM: 2  TOTAL WITH GST  21.20"),
        (20, 240, "CASH  30.00"),
        (20, 254, "CHANGE  8.80"),
        (20, 280, "GST ANALYSIS  TAX AMOUNT"),
        (20, 294, "S = 6%  20.00  1.20"),
        (40, 320, "THANK YOU"),
    ]
    data, _, _, _ = run(lines, width=240, height=360)
    assert data["total"] != "1.20"  # the tax of the summary table, under its "amount" heading


def test_invoice_is_not_a_receipt() -> None:
    page = make_page(
        [
            (40, 40, "ACME Ltd", 20),
            (40, 100, "Bill to:"),
            (40, 112, "Someone"),
            (400, 100, "Due date:  2024-05-01"),
            (350, 700, "Total  $10.00"),
            (40, 760, "Thank you for your business"),
        ]
    )
    assert not receipt_signal([page_lines(page)]).is_receipt


def test_full_page_invoice_with_receipt_words_is_not_a_receipt() -> None:
    page = make_page(
        [
            (40, 40, "Harbour Tools Pty Ltd", 20),
            (40, 100, "Tax Invoice 5531"),
            (40, 300, "Item  Qty  Price  Amount"),
            (40, 315, "Hammer  2  10.00  20.00"),
            (400, 600, "Subtotal  20.00"),
            (400, 615, "GST  2.00"),
            (400, 630, "Total  22.00"),
            (40, 700, "Paid by cash. Thank you for your purchase."),
            (40, 780, "Harbour Tools Pty Ltd  ABN 12 345 678 901  1 Quay Street, Sydney NSW 2000"),
        ]
    )
    assert not receipt_signal([page_lines(page)]).is_receipt


def test_an_a4_invoice_in_large_type_is_no_till_column() -> None:
    # 14 pt type over 380 pt of an A4 page is under 30 line heights wide, as a till roll's column is,
    # but a till roll on an A4 PDF is a strip of 227 pt; a "Pos." column heading is then no till word
    lines = [
        (40, 40, "Facture", 24),
        (40, 100, "Vendeur  Acheteur", 14),
        (40, 115, "Durand SARL  Martin SAS", 14),
        (40, 220, "Facture n° F-2024-0042", 14),
        (40, 300, "Pos. Désignation Qté Prix Montant", 14),
        (40, 315, "1 Pain de mie 2 30,00 60,00", 14),
        (200, 420, "Total TTC  120,00 EUR", 14),
    ]
    assert not receipt_signal([page_lines(make_page(lines))]).is_receipt


# ---------------------------------------------------------------------------------------------
# engine contract


def test_engine_output_contract() -> None:
    engine = create_engine(LayoutOptions())
    assert isinstance(engine, LayoutEngine)
    out = engine.extract([make_page(RECEIPT, width=240, height=400)], Invoice)
    # Invoice-shaped data that the schema validates
    Invoice.model_validate(out.data)
    for path in HEADER_FIELDS:
        node = out.data
        for part in path.split("."):
            assert part in node, path
            node = node[part]
    # every emitted header value has evidence and a confidence in [0, 1]
    for path in HEADER_FIELDS:
        party, _, leaf = path.partition(".")
        value = out.data[party][leaf] if leaf else out.data[party]
        if value is not None:
            assert path in out.evidence, path
            assert 0.0 <= out.confidence[path] <= 1.0
            assert out.evidence[path].page == 1
        else:
            assert path not in out.evidence


def test_empty_pages_give_an_empty_record() -> None:
    out = LayoutEngine().extract([Page(number=1, width=595, height=842, unit="pt")], Invoice)
    assert out.data["total"] is None and out.data["vendor"]["name"] is None
    assert out.data["line_items"] == []
    assert out.evidence == {}


def test_form_is_read_and_answers_are_refused() -> None:
    from schemas.docvqa import Answer

    out = LayoutEngine().extract([make_page([(40, 40, "Name:  Ada Lovelace")])], Form)
    assert out.data["fields"] == [{"key": "Name", "value": "Ada Lovelace"}]
    assert out.evidence["fields.0.value"].text == "Ada Lovelace"
    with pytest.raises(EngineError, match="docvlm ask"):
        LayoutEngine().extract([make_page([(40, 40, "x")])], Answer)


def test_header_reader_is_linear_and_page_local() -> None:
    # a second page with its own totals block: the header reader considers both pages
    p1 = make_page([(40, 40, "Two Page Ltd", 20), (40, 100, "Invoice No:  77")])
    p2 = make_page([(350, 600, "Total  $12.00")], number=2)
    res = extract_header([page_lines(p1), page_lines(p2)])
    assert res.values["invoice_number"] == "77"
    assert res.values["total"] == "12.00"
    assert res.evidence["total"].page == 2


def test_short_till_roll_on_a_wide_scan_is_a_receipt() -> None:
    # a short till print (one receipt word) scanned on a wide sheet: its column is narrow in its own
    # line heights (about 20), which no A4 or A5 page of text is
    lines = [
        (300, 40, "KEDAI RUNCIT MAJU"),
        (300, 55, "12 JALAN BESAR"),
        (300, 70, "43000 KAJANG"),
        (300, 100, "09/03/2018 21:28"),
        (300, 130, "ITEM A   RM 14.00"),
        (300, 145, "ITEM B   RM 2.00"),
        (300, 175, "CASH   RM 16.00"),
    ]
    sig = receipt_signal([page_lines(make_page(lines, width=700, height=400))])
    assert sig.is_receipt and sig.cues == 1


def test_receipt_merchant_drops_its_bracketed_registration_number() -> None:
    lines = [
        (60, 40, "KEDAI BUKU CERIA SDN BHD (139386 X)"),
        (60, 55, "LOT 3, JALAN PELABUR 23/1,"),
        (60, 70, "40300 SHAH ALAM, SELANGOR."),
        (60, 85, "TEL: 03-55423228"),
        (60, 110, "DATE: 30/08/2017  CASHIER: 01"),
        (60, 140, "BOOK A   12.00"),
        (60, 170, "TOTAL   12.00"),
        (60, 185, "CASH   20.00"),
        (60, 200, "CHANGE   8.00"),
    ]
    data, _, _, kind = run(lines, width=300, height=260)
    assert kind == "receipt"
    assert data["vendor"]["name"] == "KEDAI BUKU CERIA SDN BHD"
    assert data["vendor"]["address"] == "LOT 3, JALAN PELABUR 23/1, 40300 SHAH ALAM, SELANGOR."


@pytest.mark.parametrize(
    ("other", "invoice"),
    [
        ("Auftrags-Datum:  03.01.2024", "Datum:  15.01.2024"),
        ("Versand Datum:  03.01.2024", "Datum:  15.01.2024"),
        ("Druck-Datum:  03.01.2024", "Datum:  15.01.2024"),
        ("Original invoice date:  03.01.2024", "Date:  15.01.2024"),
        ("Date de livraison :  03/01/2024", "Date :  15/01/2024"),
        ("Date de la facture d'origine :  03/01/2024", "Date :  15/01/2024"),
        ("Fecha de entrega:  03/01/2024", "Fecha:  15/01/2024"),
        ("Data di consegna:  03/01/2024", "Data:  15/01/2024"),
        ("Datum:  03.01.2024", "Rechnungs-Datum:  15.01.2024"),
        ("Datum:  03.01.2024", "Belegdatum:  15.01.2024"),
    ],
)
def test_another_date_above_is_not_the_invoice_date(other: str, invoice: str) -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 20),
            (40, 100, other),
            (40, 115, invoice),
            (350, 600, "Total  € 40.00"),
        ]
    )
    assert data["invoice_date"] == "2024-01-15"


@pytest.mark.parametrize("label", ["Rechnung-Nr.", "Beleg-Nr.", "Rechnung Nr."])
def test_hyphenated_german_number_labels(label: str) -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 20),
            (40, 100, f"{label}  AB-20417"),
            (40, 115, "Datum:  15.01.2024"),
            (350, 600, "Total  € 40.00"),
        ]
    )
    assert data["invoice_number"] == "AB-20417"


@pytest.mark.parametrize(
    "other", ["Date de la facture d'origine", "Date de la facture rectifiée", "Date de livraison"]
)
def test_a_qualified_date_label_in_its_own_segment(other: str) -> None:
    # the label and its value in two segments; "Date" on the next line is the invoice's
    data, _, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 20),
            (40, 100, other),
            (200, 100, "03/01/2024"),
            (40, 140, "Date"),
            (200, 140, "15/01/2024"),
            (350, 600, "Total  € 40.00"),
        ]
    )
    assert data["invoice_date"] == "2024-01-15"


@pytest.mark.parametrize(
    "label",
    ["MwSt.-%", "VAT %", "% IVA", "MwSt-Satz", "Steuersatz", "Taux de TVA", "Tipo IVA", "Aliquota IVA"],
)
def test_a_tax_rate_label_announces_no_amount(label: str) -> None:
    assert classify_amount_label(label) == ()


@pytest.mark.parametrize("label", ["VAT 20%", "TVA au taux de 20 %", "20 % TVA", "MwSt-Betrag", "Total TVA"])
def test_a_tax_label_with_its_rate_announces_the_tax(label: str) -> None:
    assert classify_amount_label(label)[0][0] == "tax_total"


def test_the_rate_column_of_a_discount_line_is_not_the_tax() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 20),
            (40, 100, "Rechnung Nr.  AB-20417"),
            (40, 115, "Datum:  15.01.2024"),
            (40, 400, "Rabatt 2,00%  Basisbetrag: 100,00  MwSt.-% 19,0  Rabattbetrag: 2,00"),
            (350, 600, "Nettobetrag  98,00"),
            (350, 615, "MwSt-Betrag  18,62"),
            (350, 630, "Endbetrag  116,62"),
        ]
    )
    assert data["tax_total"] == "18.62"


def test_keyed_amounts_in_one_segment_each_keep_their_label() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 20),
            (40, 100, "Invoice No:  INV-7"),
            (40, 115, "Date:  2024-03-01"),
            (300, 600, "Subtotal: 100.00 VAT 20%: 20.00 Total: 120.00"),
        ]
    )
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("100.00", "20.00", "120.00")


def test_a_totals_table_with_its_labels_above_the_amounts() -> None:
    # a header row of amount labels over one row per tax rate and a sum row: the sum row is read
    data, ev, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 20),
            (40, 100, "Facture N°  F-2024-17"),
            (40, 115, "Date :  15/01/2024"),
            (40, 500, "Base"),
            (200, 500, "Total HT"),
            (320, 500, "TVA"),
            (440, 500, "Total TTC"),
            (40, 515, "20 %"),
            (200, 515, "100,00"),
            (320, 515, "20,00"),
            (440, 515, "120,00"),
            (40, 530, "5,5 %"),
            (200, 530, "50,00"),
            (320, 530, "2,75"),
            (440, 530, "52,75"),
            (200, 545, "150,00"),
            (320, 545, "22,75"),
            (440, 545, "172,75"),
        ]
    )
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("150.00", "22.75", "172.75")
    assert ev["total"].bbox[1] > 540


def test_a_line_item_header_is_no_totals_table() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Harbour Tools Ltd", 20),
            (40, 100, "Invoice No:  INV-9"),
            (40, 115, "Date:  2024-03-01"),
            (40, 300, "Description"),
            (250, 300, "Qty"),
            (320, 300, "VAT"),
            (440, 300, "Total"),
            (40, 315, "Widget"),
            (250, 315, "2"),
            (320, 315, "4.00"),
            (440, 315, "24.00"),
            (350, 600, "Subtotal  $20.00"),
            (350, 615, "Tax  $4.00"),
            (350, 630, "Total  $24.00"),
        ]
    )
    assert data["total"] == "24.00" and data["subtotal"] == "20.00"


def test_a_salutation_line_ends_the_sender_block_and_opens_the_addressee() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Nordlicht Handel GmbH", 14),
            (40, 56, "Am Hafen 3"),
            (40, 68, "Herrn"),
            (40, 80, "Jonas Beispiel"),
            (40, 92, "Lindenweg 7"),
            (40, 104, "54321 Beispielstadt"),
            (40, 160, "Rechnung Nr.  R-5512"),
            (40, 175, "Datum:  15.01.2024"),
            (350, 600, "Gesamtbetrag  119,00 €"),
        ]
    )
    assert data["vendor"]["address"] is None or "Jonas" not in data["vendor"]["address"]
    assert data["customer"]["name"] == "Herrn Jonas Beispiel"


def test_a_name_on_two_lines_ending_in_its_legal_form() -> None:
    data, _, _, _ = run(
        [
            (40, 29, "From:"),
            (40, 40, "Nordlicht"),
            (40, 51, "Handelsgesellschaft Hafenstadt mbH & Co. KG"),
            (40, 62, "Am Kai 4"),
            (40, 73, "20457 Hafenstadt"),
            (40, 160, "Rechnung Nr.  R-5512"),
            (40, 175, "Datum:  15.01.2024"),
            (350, 600, "Gesamtbetrag  119,00 €"),
        ]
    )
    assert data["vendor"]["name"] == "Nordlicht Handelsgesellschaft Hafenstadt mbH & Co. KG"
    assert data["vendor"]["address"] == "Am Kai 4, 20457 Hafenstadt"


# ---------------------------------------------------------------------------------------------
# invoices that carry no VAT


@pytest.mark.parametrize(
    "statement",
    [
        "Kein Ausweis der Umsatzsteuer: Kleinunternehmer gemäß § 19 UStG",
        "TVA non applicable, art. 293 B du CGI",
        "Reverse charge: the customer accounts for the VAT",
    ],
)
def test_a_stated_vat_exemption_makes_the_tax_zero_and_the_total_net(statement: str) -> None:
    data, ev, conf, _ = run(
        [
            (40, 40, "Werkstatt Beispiel", 20),
            (40, 100, "Rechnung Nr. 2024-17"),
            (350, 600, "Gesamtbetrag  125,50 €"),
            (40, 660, statement),
        ]
    )
    assert data["total"] == "125.50"
    assert data["tax_total"] == "0.00"
    assert data["subtotal"] == "125.50"  # no net total printed: the total is net
    assert ev["tax_total"].bbox[1] >= 655  # the evidence of the 0 is the statement's line
    assert ev["subtotal"].text == ev["total"].text
    assert conf["tax_total"] <= 0.7  # a rule's inference, not a printed amount


def test_a_printed_tax_or_no_statement_leaves_the_tax_alone() -> None:
    printed, _, _, _ = run(
        [
            (350, 585, "Nettobetrag  100,00 €"),
            (350, 600, "MwSt. 19 %  19,00 €"),
            (350, 615, "Gesamtbetrag  119,00 €"),
            (40, 660, "Steuerfreie Umsätze sind gesondert ausgewiesen"),
        ]
    )
    assert (printed["subtotal"], printed["tax_total"], printed["total"]) == ("100.00", "19.00", "119.00")
    silent, _, _, _ = run([(350, 600, "Gesamtbetrag  125,50 €")])
    assert silent["total"] == "125.50"
    assert silent.get("tax_total") is None and silent.get("subtotal") is None


def test_document_level_charges_and_allowances_are_not_the_total() -> None:
    data, _, _, _ = run(
        [
            (350, 570, "Positionssumme  300,00"),
            (350, 585, "Gesamtbetrag der Zuschläge  0,00"),
            (350, 600, "Gesamtbetrag der Abschläge  -0,00"),
            (350, 615, "Steuerbetrag  57,00"),
            (350, 630, "Bruttosumme  357,00"),
        ]
    )
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("300.00", "57.00", "357.00")


# ---------------------------------------------------------------------------------------------
# party blocks set as keyed lines ("Name: X", a form-like party table)

_TOTALS = [(350, 640, "Net total  100.00"), (350, 655, "VAT 20%  20.00"), (350, 670, "Total  120.00")]


def test_keyed_lines_under_seller_and_buyer_headings_side_by_side() -> None:
    data, ev, _, _ = run(
        [
            (40, 40, "Rechnung", 16),
            (40, 80, "Rechnungsnummer:  R-1001"),
            (40, 95, "Rechnungsdatum:  01.03.2024"),
            (40, 130, "Verkäufer", 11),
            (40, 145, "Name:  Nordwind Technik GmbH"),
            (40, 160, "Straße:  Hafenweg 3"),
            (40, 175, "PLZ / Ort:  20457 Hamburg"),
            (40, 190, "USt-IdNr.:  DE123456789"),
            (300, 130, "Käufer", 11),
            (300, 145, "Name:  Bergblick Hotel KG"),
            (300, 160, "Straße:  Almweg 12"),
            (300, 175, "PLZ / Ort:  83471 Berchtesgaden"),
            *_TOTALS,
        ]
    )
    assert data["customer"]["name"] == "Bergblick Hotel KG"  # not the label word "Name"
    assert ev["customer.name"].text == "Bergblick Hotel KG"
    assert data["customer"]["address"] == "Almweg 12, 83471 Berchtesgaden"
    assert data["vendor"]["name"] == "Nordwind Technik GmbH"
    assert data["vendor"]["address"] == "Hafenweg 3, 20457 Hamburg"  # the VAT id line is no address
    assert data["vendor"]["tax_id"] == "DE123456789"


def test_keyed_lines_with_a_spaced_colon_and_stacked_sections() -> None:
    fr, _, _, _ = run(
        [
            (40, 40, "FACTURE", 16),
            (40, 80, "Numéro de facture :  F-2024-9"),
            (40, 130, "Vendeur"),
            (40, 145, "Raison sociale :  Atelier Bleu SAS"),
            (40, 160, "Adresse :  4 rue Haute, 69001 Lyon"),
            (300, 130, "Acheteur"),
            (300, 145, "Raison sociale :  Maison Verte SARL"),
            (300, 160, "Adresse :  9 place Basse, 33000 Bordeaux"),
            *_TOTALS,
        ]
    )
    assert (fr["vendor"]["name"], fr["customer"]["name"]) == ("Atelier Bleu SAS", "Maison Verte SARL")
    assert fr["customer"]["address"] == "9 place Basse, 33000 Bordeaux"
    en, _, _, _ = run(
        [
            (40, 40, "Invoice", 16),
            (40, 70, "Invoice No.:  5544"),
            (40, 120, "Seller:"),
            (40, 135, "Company name:  Harbour Lights Ltd"),
            (40, 150, "Address:  12 Quay Street, Bristol BS1 4QA"),
            (40, 200, "Buyer:"),
            (40, 215, "Company name:  Meadow Farm Supplies"),
            (40, 230, "Address:  3 Green Lane, York YO1 7HH"),
            *_TOTALS,
        ]
    )
    assert (en["vendor"]["name"], en["customer"]["name"]) == ("Harbour Lights Ltd", "Meadow Farm Supplies")
    assert en["customer"]["address"] == "3 Green Lane, York YO1 7HH"


def test_a_name_that_starts_with_a_label_word_is_not_a_keyed_line() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "INVOICE", 16),
            (40, 80, "Invoice number  INV-78"),
            (40, 130, "Bill to:"),
            (40, 145, "Name Brothers Ltd"),
            (40, 160, "Via Roma 1"),
            (40, 175, "00184 Roma"),
            *_TOTALS,
        ]
    )
    assert data["customer"]["name"] == "Name Brothers Ltd"
    assert data["customer"]["address"] == "Via Roma 1, 00184 Roma"


def test_firma_over_the_addressee_and_a_title_right_of_the_bill_to_label() -> None:
    de, _, _, _ = run(
        [
            (40, 40, "Elbwerk Maschinenbau GmbH", 16),
            (40, 100, "Elbwerk Maschinenbau GmbH · Kaistraße 8 · 21073 Hamburg", 6),
            (40, 115, "Firma"),
            (40, 130, "Deichblick Logistik AG"),
            (40, 145, "Hafenring 22"),
            (40, 160, "27568 Bremerhaven"),
            (380, 115, "Rechnungsnummer:  2024-311"),
            *_TOTALS,
        ]
    )
    assert de["customer"]["name"] == "Deichblick Logistik AG"  # "Firma" is how the letter addresses it
    fr, _, _, _ = run(
        [
            (40, 40, "Boulangerie Dorée SARL", 16),
            (40, 110, "Facturé à :"),
            (40, 125, "Restaurant Le Quai"),
            (40, 140, "3 quai des Brumes, 13002 Marseille"),
            (380, 110, "Facture N° 2024-045"),
            *_TOTALS,
        ]
    )
    assert fr["customer"]["name"] == "Restaurant Le Quai"  # not the invoice title across the page


def test_an_invoicer_label_and_a_number_word_left_by_the_title() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Rechnung Nr. 88", 16),
            (40, 110, "Rechnungssteller"),
            (300, 110, "Rechnungsempfänger"),
            (40, 125, "Sonnental Bäckerei GmbH"),
            (300, 125, "Café Morgenrot"),
            (40, 140, "Marktplatz 4"),
            (300, 140, "Lindenallee 9"),
            (40, 155, "79098 Freiburg"),
            (300, 155, "79100 Freiburg"),
            *_TOTALS,
        ]
    )
    assert (data["vendor"]["name"], data["customer"]["name"]) == ("Sonnental Bäckerei GmbH", "Café Morgenrot")


def _de_page(*totals: tuple[float, float, str]) -> list[Line]:
    return [
        (40, 40, "Sonnental Bäckerei GmbH", 16),
        (40, 100, "Rechnungsnummer: 2024-17"),
        (40, 115, "Rechnungsdatum: 12.03.2024"),
        *totals,
    ]


def test_several_vat_rates_and_no_tax_total_printed() -> None:
    data, ev, _, _ = run(
        _de_page(
            (330, 600, "Nettobetrag  200,00 EUR"),
            (330, 615, "MwSt. 7% auf 100,00  7,00 EUR"),
            (330, 630, "MwSt. 19% auf 100,00  19,00 EUR"),
            (330, 645, "Gesamtbetrag  226,00 EUR"),
        )
    )
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("200.00", "26.00", "226.00")
    assert ev["tax_total"].text == "7,00 EUR + 19,00 EUR"  # the two tax lines it adds
    # two taxes of one rate (India's central and state GST) add up too, though their amounts are equal
    data, _, _, _ = run(
        [
            (40, 40, "Ganga Traders Pvt Ltd", 16),
            (40, 100, "Invoice No: 5521"),
            (40, 115, "Invoice Date: 12/03/2024"),
            (330, 600, "Taxable Value  200.00"),
            (330, 615, "CGST 9%  18.00"),
            (330, 630, "SGST 9%  18.00"),
            (330, 645, "Total  236.00"),
        ]
    )
    assert (data["subtotal"], data["tax_total"], data["total"]) == ("200.00", "36.00", "236.00")
    # a printed tax total that closes the sum wins over adding its own rate lines to it
    data, _, _, _ = run(
        _de_page(
            (330, 600, "Nettobetrag  200,00 EUR"),
            (330, 615, "MwSt. 7%  7,00 EUR"),
            (330, 630, "MwSt. 19%  19,00 EUR"),
            (330, 645, "MwSt. gesamt  26,00 EUR"),
            (330, 660, "Gesamtbetrag  226,00 EUR"),
        )
    )
    assert data["tax_total"] == "26.00"
    # one rate line that closes subtotal + tax = total is no reason to add another
    data, _, _, _ = run(
        _de_page(
            (330, 600, "Nettobetrag  100,00 EUR"),
            (330, 615, "MwSt. 19%  19,00 EUR"),
            (330, 630, "MwSt. 0%  0,00 EUR"),
            (330, 645, "Gesamtbetrag  119,00 EUR"),
        )
    )
    assert (data["subtotal"], data["tax_total"]) == ("100.00", "19.00")


def test_currency_codes_are_whole_words_and_crowns_take_the_country() -> None:
    # "MWST" holds "WST" (the Samoan tala) and a Swiss company id starts with "CHE": neither is the currency
    data, _, _, _ = run(
        [
            (40, 40, "Alpen Werkzeug AG", 16),
            (40, 55, "CHE-123.456.789 MWST"),
            (40, 100, "Rechnung Nr. 2024-17"),
            (330, 600, "Total exkl. MWST  100.00"),
            (330, 615, "MWST 8.1%  8.10"),
            (330, 630, "Total CHF  108.10"),
        ]
    )
    assert data["currency"] == "CHF"
    pln, _, _, _ = run(_de_page((330, 615, "Razem  123,00 zł"), (330, 600, "Suma  100,00 zł")))
    assert pln["currency"] == "PLN"
    crowns = [(330, 600, "Netto  1 000,00 kr"), (330, 630, "Total  1 250,00 kr")]
    sek, ev, _, _ = run([*_de_page(*crowns), (40, 700, "IBAN: SE45 5000 0000 0583 9825 7466")])
    assert sek["currency"] == "SEK"
    assert ev["currency"].text == "1 000,00 kr"
    nok, _, _, _ = run([*_de_page(*crowns), (40, 55, "Org.nr. 123 456 789 MVA")])
    assert nok["currency"] == "NOK"
    # no country printed: "kr" names no one currency
    unknown, _, _, _ = run(_de_page(*crowns))
    assert unknown["currency"] is None


NORDIC_AND_CENTRAL_EUROPEAN_PAGES = [
    (  # Swedish
        [
            (40, 40, "Norrviken Verktyg AB", 16),
            (40, 55, "Momsreg.nr SE556677889901"),
            (40, 100, "Fakturanummer: 10442"),
            (40, 115, "Fakturadatum: 2024-03-12"),
            (40, 130, "Förfallodag: 2024-04-11"),
            (330, 600, "Summa exkl. moms  1 000,00 kr"),
            (330, 615, "Moms 25%  250,00 kr"),
            (330, 630, "Att betala  1 250,00 kr"),
        ],
        {"invoice_number": "10442", "invoice_date": "2024-03-12", "due_date": "2024-04-11"},
        ("1000.00", "250.00", "1250.00", "SEK"),
    ),
    (  # Danish
        [
            (40, 40, "Fjordlys Tryk ApS", 16),
            (40, 55, "CVR-nr. DK12345678"),
            (40, 100, "Fakturanr. 2024-88"),
            (40, 115, "Fakturadato: 05.02.2024"),
            (40, 130, "Forfaldsdato: 19.02.2024"),
            (330, 600, "Subtotal ekskl. moms  800,00 kr"),
            (330, 615, "Moms 25%  200,00 kr"),
            (330, 630, "I alt  1.000,00 kr"),
        ],
        {"invoice_number": "2024-88", "invoice_date": "2024-02-05", "due_date": "2024-02-19"},
        ("800.00", "200.00", "1000.00", "DKK"),
    ),
    (  # Polish
        [
            (40, 40, "Wisła Meble Sp. z o.o.", 16),
            (40, 55, "NIP: PL5260001246"),
            (40, 100, "Faktura nr FV/2024/03/17"),
            (40, 115, "Data wystawienia: 14.03.2024"),
            (40, 130, "Termin płatności: 28.03.2024"),
            (330, 600, "Wartość netto  400,00 zł"),
            (330, 615, "VAT 23%  92,00 zł"),
            (330, 630, "Razem do zapłaty  492,00 zł"),
        ],
        {"invoice_number": "FV/2024/03/17", "invoice_date": "2024-03-14", "due_date": "2024-03-28"},
        ("400.00", "92.00", "492.00", "PLN"),
    ),
    (  # Czech
        [
            (40, 40, "Vltava Stroje s.r.o.", 16),
            (40, 55, "DIČ: CZ12345679"),
            (40, 100, "Číslo faktury: 2024013"),
            (40, 115, "Datum vystavení: 02.01.2024"),
            (40, 130, "Datum splatnosti: 16.01.2024"),
            (330, 600, "Základ daně  1 000,00 Kč"),
            (330, 615, "DPH 21%  210,00 Kč"),
            (330, 630, "Celkem k úhradě  1 210,00 Kč"),
        ],
        {"invoice_number": "2024013", "invoice_date": "2024-01-02", "due_date": "2024-01-16"},
        ("1000.00", "210.00", "1210.00", "CZK"),
    ),
]


@pytest.mark.parametrize(("lines", "header", "amounts"), NORDIC_AND_CENTRAL_EUROPEAN_PAGES)
def test_nordic_and_central_european_labels(lines: list[Line], header: dict, amounts: tuple) -> None:
    data, _, _, _ = run(lines)
    assert {k: data[k] for k in header} == header
    assert (data["subtotal"], data["tax_total"], data["total"], data["currency"]) == amounts
    assert data["vendor"]["tax_id"] == lines[1][2].split()[-1]


def test_an_identifier_that_holds_a_date_is_kept_and_a_date_is_not_an_identifier() -> None:
    assert read_id("FV/2024/03/17") == ("FV/2024/03/17", 0, 13)
    assert read_id("INV-2024-03-17 paid") == ("INV-2024-03-17", 0, 14)
    assert read_id("2024-03-17") is None
    assert read_id("17.03.2024/") is None
    assert read_id("/DATE:15403(29/07/2016") is None  # a date inside words and brackets is no number


_SELLER = ("Hansa Feinmechanik GmbH", "Werftstraße 12", "20457 Hamburg")
_BUYER = ("Lindenhof Möbel KG", "Am Markt 3", "04109 Leipzig")
_HEAD = [(40, 200, "Rechnungsnummer: R-2024-0042"), (40, 215, "Rechnungsdatum: 12.03.2024")]


@pytest.mark.parametrize(("seller", "buyer"), [("Verkäufer", "Käufer"), ("Seller", "Buyer")])
def test_party_name_and_address_on_one_line_after_its_label(seller: str, buyer: str) -> None:
    data, ev, _, _ = run(
        [
            (40, 40, "Rechnung", 18),
            (40, 100, f"{seller}: {', '.join(_SELLER)}"),
            (40, 115, f"{buyer}: {', '.join(_BUYER)}"),
            *_HEAD,
        ]
    )
    assert data["vendor"]["name"] == _SELLER[0]
    assert data["customer"]["name"] == _BUYER[0]
    assert data["customer"]["address"] == ", ".join(_BUYER[1:])
    assert ev["customer.name"].text == _BUYER[0]
    # a comma inside a name with no address after it keeps the name whole
    data, _, _, _ = run([(40, 40, "Rechnung", 18), (40, 100, "Käufer: Weber, Roth & Partner mbB"), *_HEAD])
    assert data["customer"]["name"] == "Weber, Roth & Partner mbB"


def test_an_identifier_over_a_party_name_is_not_the_name() -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Rechnung", 18),
            (40, 100, "Verkäufer"),
            (300, 100, "Käufer"),
            (40, 115, "GLN 4000001000005"),
            (300, 115, "GLN 4000002000004"),
            *[(40, 128 + 13 * i, t) for i, t in enumerate(_SELLER)],
            *[(300, 128 + 13 * i, t) for i, t in enumerate(_BUYER)],
            *_HEAD,
        ]
    )
    assert (data["vendor"]["name"], data["customer"]["name"]) == (_SELLER[0], _BUYER[0])


@pytest.mark.parametrize(
    ("buyer_lines", "name"),
    [
        (
            ("Lindenhof Möbel", "Handelsgesellschaft KG", *_BUYER[1:]),
            "Lindenhof Möbel Handelsgesellschaft KG",
        ),
        (("Frau Petra Keller", *_BUYER), _BUYER[0]),  # the contact person over the company
        (
            (_BUYER[0], "Abteilung Einkauf", *_BUYER[1:]),
            _BUYER[0],
        ),  # a department under the name is not of it
    ],
)
def test_a_company_name_set_on_two_lines_or_under_its_contact(
    buyer_lines: tuple[str, ...], name: str
) -> None:
    data, _, _, _ = run(
        [
            (40, 40, "Rechnung", 18),
            (40, 100, "Verkäufer"),
            (300, 100, "Käufer"),
            *[(40, 115 + 13 * i, t) for i, t in enumerate(_SELLER)],
            *[(300, 115 + 13 * i, t) for i, t in enumerate(buyer_lines)],
            (350, 40, "Rechnungsnummer: R-2024-0042"),
            (350, 53, "Rechnungsdatum: 12.03.2024"),
        ]
    )
    assert data["customer"]["name"] == name
    assert data["vendor"]["name"] == _SELLER[0]


@pytest.mark.parametrize(
    ("terms", "due"),
    [
        ("Zahlbar innerhalb von 14 Tagen ohne Abzug.", "2024-03-26"),
        ("Zahlungsziel: 30 Tage netto", "2024-04-11"),
        ("Payment terms: Net 30", "2024-04-11"),
        ("Please pay within 30 days from invoice date.", "2024-04-11"),
        ("Conditions de règlement : 30 jours net", "2024-04-11"),
        ("Zahlbar sofort ohne Abzug.", "2024-03-12"),
        ("Due upon receipt", "2024-03-12"),
        # the net term, not the discount's; the date the terms print, not the sum
        ("Zahlbar innerhalb 8 Tagen mit 2 % Skonto, innerhalb 30 Tagen netto.", "2024-04-11"),
        ("Zahlbar innerhalb 30 Tagen netto bis 10.04.2024", "2024-04-10"),
        # no payment terms: a delivery time, an end-of-month rule
        ("Delivery within 3-5 business days after payment.", None),
        ("Paiement à 30 jours fin de mois", None),
    ],
)
def test_due_date_from_the_payment_terms(terms: str, due: str | None) -> None:
    data, ev, conf, _ = run([*_de_page((330, 645, "Gesamtbetrag  119,00 EUR")), (40, 700, terms)])
    assert data["invoice_date"] == "2024-03-12"
    assert data["due_date"] == due
    if due is not None:
        assert ev["due_date"].text in terms and conf["due_date"] < 1.0  # below a printed due date's
    # a printed due date wins over the terms
    data, _, _, _ = run([*_de_page((40, 130, "Fälligkeitsdatum: 01.05.2024")), (40, 700, terms)])
    assert data["due_date"] == "2024-05-01"
