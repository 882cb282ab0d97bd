"""The return-address line of a window-envelope invoice, and the party-block fixes that came with it."""

from __future__ import annotations

from collections.abc import Sequence

from docvlm.engines import LayoutOptions
from docvlm.engines.layout import LayoutEngine
from docvlm.engines.layout.candidates.sender import company_lines, window_block
from docvlm.engines.layout.text import page_lines
from schemas.invoice import Invoice
from tests.helpers.pages import Line, make_page

# a letter-style invoice: the logo top right, the return-address line in small type above the window
LETTER: list[Line] = [
    (380, 40, "Fjordlicht Instruments AG", 14),
    (380, 60, "Werkstraße 9"),
    (380, 72, "20095 Hamburg"),
    (70, 150, "Fjordlicht Instruments AG · Werkstraße 9 · 20095 Hamburg", 6),
    (70, 165, "Bergmann & Töchter KG"),
    (70, 178, "Frau Ilse Bergmann"),
    (70, 191, "Am Stadtpark 4"),
    (70, 214, "30159 Hannover"),
    (380, 260, "Rechnungsnummer:  R-2291"),
    (380, 273, "Rechnungsdatum:  04.02.2025"),
    (70, 330, "Pos  Beschreibung  Menge  Betrag"),
    (70, 345, "1  Messschieber digital  2  100,00"),
    (300, 400, "Nettobetrag  100,00 €"),
    (300, 413, "USt. 19%  19,00 €"),
    (300, 426, "Gesamtbetrag  119,00 €"),
]


def run(lines: Sequence[Line]) -> dict:
    return LayoutEngine(LayoutOptions(use_model=False)).extract([make_page(lines)], Invoice).data


def test_the_return_address_line_names_both_parties() -> None:
    data = run(LETTER)
    assert data["vendor"]["name"] == "Fjordlicht Instruments AG"
    assert data["customer"]["name"] == "Bergmann & Töchter KG"
    assert data["customer"]["address"].endswith("30159 Hannover")
    assert "Werkstraße" not in data["customer"]["address"]


def test_a_company_line_needs_a_name_and_a_town() -> None:
    pl = page_lines(
        make_page(
            [
                (70, 100, "Lindqvist Design Studio · Havnegade 3 · 1058 København", 6),
                (70, 120, "12 Quay Street · Cork · Ireland", 6),  # no name first
                (70, 140, "IBAN DE02 1203 0000 0000 2020 51 · BIC BYLADEM1001 · Bank", 6),  # no town
                (70, 160, "Tel 040 123 · Fax 040 124 · info", 6),
            ]
        )
    )
    found = company_lines(pl)
    assert [cl.line.text[cl.start : cl.end] for cl in found] == ["Lindqvist Design Studio"]
    assert found[0].top_half


def test_no_window_block_when_nothing_address_like_follows() -> None:
    pl = page_lines(
        make_page(
            [
                (70, 100, "Lindqvist Design Studio · Havnegade 3 · 1058 København", 6),
                (70, 112, "Thank you for your order"),
                (70, 300, "Total  12,00 €"),
            ]
        )
    )
    (cl,) = company_lines(pl)
    assert window_block(pl, cl) is None


def test_a_label_word_that_starts_a_company_name_is_not_a_label() -> None:
    # "Supplier" is a seller label, "Supplier Ltd" is a name
    data = run(
        [
            (40, 40, "Invoice", 18),
            (40, 80, "Issued by"),
            (40, 94, "Supplier Ltd"),
            (40, 106, "1 High Street"),
            (40, 118, "Leeds LS1 1AA"),
            (350, 80, "Invoice No:  77-1"),
        ]
    )
    assert data["vendor"]["name"] == "Supplier Ltd"


def test_a_party_number_above_the_name_is_skipped() -> None:
    data = run(
        [
            (40, 40, "Invoice", 18),
            (50, 100, "Buyer:"),
            (50, 112, "Number  : 75960012"),
            (50, 124, "Halvorsen Maskin AS"),
            (50, 136, "Storgata 5"),
            (50, 148, "0155 Oslo"),
            (350, 100, "Invoice No:  A-19"),
        ]
    )
    assert data["customer"]["name"] == "Halvorsen Maskin AS"


def test_two_labels_joined_by_a_slash_are_one_label() -> None:
    data = run(
        [
            (40, 40, "Rechnung", 18),
            (50, 100, "Käufer/Leistungsempfänger:"),
            (50, 118, "Liselotte Beispiel"),
            (50, 130, "Ringstraße 2"),
            (50, 142, "12345 Musterstadt"),
            (350, 100, "Rechnungsnummer:  44"),
        ]
    )
    assert data["customer"]["name"] == "Liselotte Beispiel"


def test_a_column_field_beside_the_bill_to_label_is_not_the_name() -> None:
    # "Customer no." with its code sits right of the label; the name is under the label
    data = run(
        [
            (40, 40, "Invoice", 18),
            (40, 100, "Bill to  Customer no  C-20211"),
            (50, 114, "Okafor Trading Ltd"),
            (50, 126, "3 Marina Road"),
            (50, 138, "Lagos 101241"),
            (350, 160, "Invoice No:  B-5"),
        ]
    )
    assert data["customer"]["name"] == "Okafor Trading Ltd"


def test_labels_that_name_another_field_or_start_prose_are_not_party_labels() -> None:
    data = run(
        [
            (40, 40, "Invoice", 18),
            (40, 100, "Delivery Address"),
            (40, 114, "Okafor Trading Ltd"),
            (40, 126, "3 Marina Road"),
            (40, 138, "Lagos 101241"),
            (40, 200, "Customer VAT Number  NG12345678"),
            (40, 400, "Invoice to pay by wire transfer to the following account"),
            (350, 100, "Invoice No:  B-5"),
        ]
    )
    assert data["customer"]["name"] == "Okafor Trading Ltd"
    assert data["vendor"]["tax_id"] is None
    assert data["customer"]["tax_id"] == "NG12345678"


def test_a_vat_id_printed_in_groups_after_its_country_code() -> None:
    data = run(
        [
            (40, 40, "Atelier Brunvoll SARL", 16),
            (40, 100, "Facture n° 2024-17"),
            (40, 700, "No TVA intracommunautaire : FR 34 999 888 779"),
        ]
    )
    assert data["vendor"]["tax_id"].replace(" ", "") == "FR34999888779"


def test_a_label_inside_a_token_is_part_of_a_value() -> None:
    data = run(
        [
            (40, 40, "Apexford Tools Ltd", 16),
            (40, 100, "Invoice No:  77-1"),
            (350, 100, "Customer VAT ID:"),
            (350, 112, "US-TAXID-7890123"),
            (40, 700, "VAT ID: GB987654321"),
        ]
    )
    assert data["vendor"]["tax_id"] == "GB987654321"


def test_a_number_label_holding_a_name_is_still_a_keyed_line() -> None:
    data = run(
        [
            (40, 40, "Rechnung", 18),
            (50, 100, "Käufer:"),
            (50, 112, "Nummer  : Halvor Beispiel"),
            (50, 124, "Halvor Beispiel"),
            (50, 136, "Ringstraße 2"),
            (50, 148, "12345 Musterstadt"),
            (350, 100, "Rechnungsnummer:  44"),
        ]
    )
    assert data["customer"]["name"] == "Halvor Beispiel"


def test_a_to_label_and_a_table_under_the_block() -> None:
    data = run(
        [
            (200, 40, "Demo Invoice", 24),
            (90, 150, "TO:  Rhea Beispiel"),
            (125, 162, "Harbour Lane 4"),
            (125, 174, "22111 Hamburg"),
            (110, 188, "Description  Unit Price  Quantity  Base Unit  Sub Total"),
            (90, 200, "Rock  €5,00  5  Kilograms  €25,00"),
            (300, 300, "Invoice Number:  245625"),
        ]
    )
    assert data["customer"]["name"] == "Rhea Beispiel"
    assert data["customer"]["address"] == "Harbour Lane 4, 22111 Hamburg"


def test_a_salutation_alone_over_the_name_is_part_of_it() -> None:
    data = run(
        [
            (40, 40, "Rechnung", 18),
            (50, 100, "Käufer:"),
            (50, 112, "Herrn"),
            (50, 124, "Max Beispiel"),
            (50, 136, "Ringstraße 2"),
            (50, 148, "12345 Musterstadt"),
            (350, 100, "Rechnungsnummer:  44"),
        ]
    )
    assert data["customer"]["name"] == "Herrn Max Beispiel"
    assert data["customer"]["address"] == "Ringstraße 2, 12345 Musterstadt"


def test_the_legal_footer_carries_the_sellers_vat_id() -> None:
    data = run(
        [
            (40, 40, "FACTURE", 20),
            (40, 100, "Hôtel du Phare"),
            (40, 112, "2, rue du Port"),
            (40, 124, "29200 Brest"),
            (380, 250, "Exemple Conseil SARL"),
            (380, 262, "27, rue Haute"),
            (380, 274, "75008 Paris"),
            (380, 300, "TVA : FR38500003710"),
            (40, 800, "SASU au capital de 20000€ - SIRET 12345682400016 – TVA FR40123456824"),
        ]
    )
    assert data["vendor"]["tax_id"] == "FR40123456824"
