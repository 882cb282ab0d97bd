"""Line-item tables of the layout engine: synthetic word layouts plus the F1 bar on real invoices."""

from __future__ import annotations

from pathlib import Path

import pytest

from docvlm.datamodel import Page, Word
from docvlm.engines.layout.tables import TableResult, extract_line_items
from schemas.invoice import LINE_ITEM_FIELDS
from tests.helpers.pages import load_pages

CHAR_W = 5.0  # width of one character of the synthetic 10 pt font
SPACE = 2.5


@pytest.fixture(autouse=True, params=["model", "rules"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: with the package's trained table model, and with the rules alone (no model)."""
    if request.param == "rules":
        import docvlm.engines.layout.tables.document as document

        monkeypatch.setattr(document, "load_model", lambda _folder=None: None)
    return str(request.param)


# ---------------------------------------------------------------------------------------------
# Building synthetic pages


def words_at(
    y: float, cells: list[tuple[float, str]], page: int = 1, right: bool = False, size: float = 10.0
) -> list[Word]:
    """Words of one printed line: ``cells`` are (x, text); x is the left edge, or the right edge if ``right``."""
    out: list[Word] = []
    for x, text in cells:
        parts = text.split()
        width = sum(len(p) * CHAR_W for p in parts) + SPACE * (len(parts) - 1)
        cur = x - width if right else x
        for p in parts:
            w = len(p) * CHAR_W
            out.append(Word(text=p, bbox=(cur, y, cur + w, y + size), page=page))
            cur += w + SPACE
    return out


def row(
    y: float, desc: str | None, numbers: list[tuple[float, str]], page: int = 1, x: float = 40
) -> list[Word]:
    """A body line: description left-aligned at ``x``, numbers right-aligned at their x."""
    ws = words_at(y, [(x, desc)], page) if desc else []
    return ws + words_at(y, numbers, page, right=True)


def page_of(number: int, words: list[Word]) -> Page:
    return Page(number=number, width=595, height=842, unit="pt", words=words)


# Columns of the synthetic EN table: right edges of the numeric columns.
QTY_R, PRICE_R, TAX_R, AMOUNT_R = 330.0, 410.0, 470.0, 550.0


def en_header(y: float, page: int = 1) -> list[Word]:
    return words_at(y, [(40, "Description")], page) + words_at(
        y, [(QTY_R, "Qty"), (PRICE_R, "Unit Price"), (TAX_R, "VAT %"), (AMOUNT_R, "Amount")], page, right=True
    )


def en_row(
    y: float, desc: str | None, qty: str, price: str, tax: str, amount: str, page: int = 1
) -> list[Word]:
    return row(y, desc, [(QTY_R, qty), (PRICE_R, price), (TAX_R, tax), (AMOUNT_R, amount)], page)


def values(result: TableResult, name: str) -> list[str | None]:
    return [it[name] for it in result.items]


# ---------------------------------------------------------------------------------------------
# Synthetic tables


def test_header_table_with_multiline_description_and_totals_stop() -> None:
    words = (
        words_at(60, [(40, "INVOICE 2024-001")])
        + en_header(200)
        + en_row(220, "Beeswax XL", "2", "10.00", "21%", "20.00")
        + words_at(231, [(40, "Acme beeswax")])  # set tight under its row: same item
        + en_row(250, "Office chair", "1", "70.00", "21%", "70.00")
        + row(280, None, [(AMOUNT_R, "90.00")])
        + words_at(280, [(380, "Subtotal")])
        + row(295, None, [(AMOUNT_R, "18.90")])
        + words_at(295, [(380, "VAT 21%")])
        + row(310, None, [(AMOUNT_R, "108.90")])
        + words_at(310, [(380, "Total")])
        + words_at(340, [(40, "Thank you for your business")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Beeswax XL\nAcme beeswax", "Office chair"]
    assert values(result, "quantity") == ["2", "1"]
    assert values(result, "unit_price") == ["10.00", "70.00"]
    assert values(result, "amount") == ["20.00", "70.00"]
    assert values(result, "tax_rate") == ["21", "21"]
    assert set(result.items[0]) == set(LINE_ITEM_FIELDS)
    # the table region runs from the header to the last row, not into the totals
    _, y0, _, y1 = result.table_bbox[1]
    assert y0 == pytest.approx(200) and y1 == pytest.approx(260)
    ev = result.evidence["line_items.0.amount"]
    assert ev.page == 1 and ev.text == "20.00" and ev.bbox[2] == pytest.approx(AMOUNT_R)
    assert result.evidence["line_items.0.description"].bbox[3] == pytest.approx(241)
    assert all(0.0 < c <= 1.0 for c in result.confidence.values())
    assert set(result.confidence) == set(result.evidence)


def test_eu_number_format_and_german_header() -> None:
    words = (
        words_at(100, [(40, "Bezeichnung")])
        + words_at(100, [(300, "Menge"), (400, "Einzelpreis"), (460, "MwSt"), (550, "Betrag")], right=True)
        + row(120, "Beratung Projekt", [(300, "3"), (400, "1.234,50"), (460, "19 %"), (550, "3.703,50")])
        + row(135, "Reisekosten", [(300, "1"), (400, "99,90"), (460, "7 %"), (550, "99,90")])
        + row(160, None, [(550, "3.803,40")])
        + words_at(160, [(380, "Zwischensumme")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Beratung Projekt", "Reisekosten"]
    assert values(result, "unit_price") == ["1234.50", "99.90"]
    assert values(result, "amount") == ["3703.50", "99.90"]
    assert values(result, "tax_rate") == ["19", "7"]
    assert values(result, "quantity") == ["3", "1"]


def test_a_tightly_set_table_a_word_height_between_its_columns() -> None:
    # an HTML table padded a few pixels: its labels and cells 12-14 pt apart in 10 pt type (the word
    # boxes 12.4 pt high), where a line's segments start at 1.6 heights
    h = 12.4

    rows = [
        ["Pos.", "Art.-Nr.", "Bezeichnung", "Menge", "Einheit", "Einzelpreis", "USt.", "Gesamt"],
        ["1", "SP-12", "Spindel M12", "2", "Stk", "30,00", "19 %", "60,00"],
        ["2", "LB-04", "Lagerbuchse", "4", "Stk", "10,00", "19 %", "40,00"],
    ]

    def width(text: str) -> float:
        return len(text.replace(" ", "")) * CHAR_W + SPACE * text.count(" ")

    # each column as wide as its widest cell, 13 pt between columns, cells left-aligned
    lefts = [60.0]
    for col in range(len(rows[0]) - 1):
        lefts.append(lefts[-1] + max(width(r[col]) for r in rows) + 13.0)
    words = []
    for y, cells in zip((100, 125, 150), rows, strict=True):
        for x, text in zip(lefts, cells, strict=True):
            for part in text.split():
                words.append(Word(text=part, bbox=(x, y, x + len(part) * CHAR_W, y + h), page=1))
                x += len(part) * CHAR_W + SPACE
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Spindel M12", "Lagerbuchse"]
    assert values(result, "amount") == ["60.00", "40.00"]
    assert values(result, "quantity") == ["2", "4"]


def test_french_dutch_spanish_headers_are_recognised() -> None:
    for labels in (
        ("Désignation", "Qté", "Prix unitaire", "Montant"),
        ("Omschrijving", "Aantal", "Stukprijs", "Bedrag"),
        ("Descripción", "Cantidad", "Precio", "Importe"),
    ):
        desc, qty, price, amount = labels
        words = (
            words_at(100, [(40, desc)])
            + words_at(100, [(QTY_R, qty), (PRICE_R, price), (AMOUNT_R, amount)], right=True)
            + row(120, "Article un", [(QTY_R, "2"), (PRICE_R, "5,00"), (AMOUNT_R, "10,00")])
        )
        result = extract_line_items([page_of(1, words)])
        assert values(result, "amount") == ["10.00"], labels
        assert values(result, "unit_price") == ["5.00"], labels
        assert values(result, "quantity") == ["2"], labels


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (
            ["Désignation", "Qté", "Prix unit. HT", "TVA %", "Montant HT"],
            ["description", "quantity", "unit_price", "tax_rate", "amount"],
        ),
        (
            ["Bezeichnung", "Menge", "Einheit", "E-Preis", "MwSt.-Satz", "Gesamtpreis"],
            ["description", "quantity", "unit", "unit_price", "tax_rate", "amount"],
        ),
        (
            ["Concepto", "Código", "Uds.", "Precio unit.", "IVA", "Importe"],
            ["description", "product_code", "quantity", "unit_price", "tax_rate", "amount"],
        ),
        (
            ["Description", "Qty", "Net Price", "VAT %", "Gross"],
            ["description", "quantity", "unit_price", "tax_rate", "amount"],
        ),
        (
            ["Tätigkeit", "Menge", "Preis", "Betrag"],  # a description word the lexicon lacks
            ["description", "quantity", "unit_price", "amount"],
        ),
        (
            ["Activity", "Qty", "Rate", "Amount"],
            ["description", "quantity", "unit_price", "amount"],
        ),
        (
            ["Artikel", "Aantal", "Prijs per stuk", "BTW", "Prijs incl. BTW"],
            ["description", "quantity", "unit_price", "tax_rate", "amount"],
        ),
    ],
)
def test_header_terms_name_the_columns(labels: list[str], expected: list[str]) -> None:
    cells = {"description": "Widget", "quantity": "2", "unit": "pcs", "unit_price": "5,00"}
    cells |= {"tax_rate": "21%", "amount": "10,00", "product_code": "W-1"}
    xs = [40.0] + [200.0 + 75 * i for i in range(1, len(labels))]
    header = words_at(100, [(xs[0], labels[0])]) + words_at(
        100, list(zip(xs[1:], labels[1:], strict=True)), right=True
    )
    body = words_at(120, [(xs[0], cells[expected[0]])])
    body += words_at(120, [(x, cells[k]) for x, k in zip(xs[1:], expected[1:], strict=True)], right=True)
    result = extract_line_items([page_of(1, header + body)])
    assert len(result.items) == 1
    got = result.items[0]
    want = {"description": "Widget", "quantity": "2", "unit": "pcs", "unit_price": "5.00"}
    want |= {"tax_rate": "21", "amount": "10.00", "product_code": "W-1"}
    for k in expected:
        assert got[k] == want[k], (labels, k)


def test_table_continues_over_pages_with_repeated_header_footer_and_carried_columns() -> None:
    p1 = (
        words_at(50, [(40, "ACME GmbH")])
        + en_header(200)
        + en_row(220, "Item one", "1", "1.00", "20%", "1.00")
        + en_row(235, "Item two", "2", "2.00", "20%", "4.00")
        + words_at(800, [(260, "Page 1 of 3")])
    )
    p2 = (
        words_at(50, [(40, "ACME GmbH")])
        + words_at(65, [(40, "Invoice 2024-001 (continued)")])
        + en_header(100, page=2)
        + row(118, "Carried forward", [(AMOUNT_R, "5.00")], page=2)
        + en_row(135, "Item three", "3", "3.00", "20%", "9.00", page=2)
        + row(150, "Office suite licence", [(AMOUNT_R, "99.00")], page=2)
        + row(165, "Transport to site", [(AMOUNT_R, "50.00")], page=2)
        + words_at(800, [(260, "Page 2 of 3")], page=2)
    )
    # page 3 has no repeated header: the columns of page 2 still hold
    p3 = (
        words_at(50, [(40, "ACME GmbH")], page=3)
        + en_row(100, "Item four", "4", "4.00", "20%", "16.00", page=3)
        + row(130, None, [(AMOUNT_R, "30.00")], page=3)
        + words_at(130, [(380, "Total")], page=3)
        + words_at(800, [(260, "Page 3 of 3")], page=3)
    )
    result = extract_line_items([page_of(1, p1), page_of(2, p2), page_of(3, p3)])
    assert values(result, "description") == [
        "Item one",
        "Item two",
        "Item three",
        "Office suite licence",
        "Transport to site",
        "Item four",
    ]
    assert values(result, "amount") == ["1.00", "4.00", "9.00", "99.00", "50.00", "16.00"]
    assert [result.evidence[f"line_items.{i}.amount"].page for i in range(6)] == [1, 1, 2, 2, 2, 3]
    assert sorted(result.table_bbox) == [1, 2, 3]
    # the footer and letterhead stay outside the table region
    assert result.table_bbox[1][3] < 800 and result.table_bbox[3][1] >= 100


def test_page_subtotal_at_the_foot_of_a_page_does_not_end_the_table() -> None:
    p1 = (
        en_header(200)
        + en_row(220, "Item one", "1", "1.00", "20%", "1.00")
        + en_row(235, "Item two", "2", "2.00", "20%", "4.00")
        + row(260, None, [(AMOUNT_R, "5.00")])
        + words_at(260, [(380, "Subtotal")])
        + words_at(800, [(260, "Page 1 of 2")])
    )
    p2 = (
        words_at(50, [(40, "ACME GmbH, Invoice 2024-001")], page=2)
        + en_row(100, "Item three", "3", "3.00", "20%", "9.00", page=2)
        + row(130, None, [(AMOUNT_R, "14.00")], page=2)
        + words_at(130, [(380, "Total")], page=2)
        + words_at(150, [(40, "Payment within 30 days")], page=2)
    )
    result = extract_line_items([page_of(1, p1), page_of(2, p2)])
    assert values(result, "description") == ["Item one", "Item two", "Item three"]
    # a table closed by its totals with more text after it does not run on to the next page
    p3 = en_row(100, "Not an item", "1", "1.00", "20%", "1.00", page=3) + words_at(
        50, [(40, "Terms")], page=3
    )
    result = extract_line_items([page_of(1, p1), page_of(2, p2), page_of(3, p3)])
    assert values(result, "description") == ["Item one", "Item two", "Item three"]


def test_missing_columns_description_and_amount_only() -> None:
    words = (
        words_at(100, [(40, "Description")])
        + words_at(100, [(AMOUNT_R, "Amount")], right=True)
        + row(120, "Consulting, March", [(AMOUNT_R, "$1,200.00")])
        + row(135, "Travel", [(AMOUNT_R, "$310.50")])
        + row(160, None, [(AMOUNT_R, "$1,510.50")])
        + words_at(160, [(380, "Total due")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "amount") == ["1200.00", "310.50"]
    assert values(result, "quantity") == [None, None]
    assert values(result, "unit_price") == [None, None]


def test_sections_notes_and_attribute_lines_stay_out_of_items() -> None:
    words = (
        en_header(100)
        + words_at(120, [(40, "--- Food ---")])
        + en_row(140, "[OIL-1] Olive oil", "1", "5.00", "6%", "5.00")
        + words_at(151, [(40, "Serial no: X123")])  # tight, but an attribute of the row
        + words_at(158, [(40, "Price includes a deposit of 0.10")], size=6.0)  # small print: a note
        + words_at(170, [(40, "Delivered in a re-usable glass bottle")])  # a loose note
        + en_row(190, "Bread", "2", "1.50", "6%", "3.00")
        + en_row(205, "Butter", "1", "2.50", "6%", "incl.")  # no amount printed: still an item
        + row(230, None, [(AMOUNT_R, "8.00")])
        + words_at(230, [(380, "Subtotal")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Olive oil", "Bread", "Butter"]
    assert values(result, "product_code") == ["OIL-1", None, None]
    assert values(result, "amount") == ["5.00", "3.00", None]


def test_section_subtotal_inside_table_does_not_end_it() -> None:
    words = (
        en_header(100)
        + en_row(120, "Chair", "1", "70.00", "15%", "70.00")
        + row(140, None, [(AMOUNT_R, "70.00")])
        + words_at(140, [(400, "Subtotal")])
        + words_at(160, [(40, "--- Food ---")])
        + en_row(180, "Truffles", "15", "10.00", "0%", "150.00")
        + row(210, None, [(AMOUNT_R, "220.00")])
        + words_at(210, [(400, "Subtotal")])
        + row(225, None, [(AMOUNT_R, "220.00")])
        + words_at(225, [(400, "Total")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Chair", "Truffles"]


def test_inconsistent_row_is_kept_with_lower_confidence() -> None:
    words = (
        en_header(100)
        + en_row(120, "Good row", "2", "5.00", "20%", "10.00")
        + en_row(135, "Odd row", "2", "5.00", "20%", "12.00")  # 2 x 5.00 != 12.00
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "amount") == ["10.00", "12.00"]
    assert result.confidence["line_items.1.amount"] < result.confidence["line_items.0.amount"]


def test_two_line_header_and_unit_column() -> None:
    words = (
        words_at(90, [(40, "Item")])
        + words_at(90, [(300, "Qty"), (350, "Unit"), (420, "Unit"), (550, "Line")], right=True)
        + words_at(101, [(420, "Price"), (550, "Total")], right=True)
        + row(120, "Cable 2m", [(300, "3"), (350, "pcs"), (420, "4.00"), (550, "12.00")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "unit") == ["pcs"]
    assert values(result, "unit_price") == ["4.00"]
    assert values(result, "amount") == ["12.00"]


def test_quantity_that_lands_in_the_unit_column_is_split_off() -> None:
    # on a scan, boxes shared out along an OCR line "40 Stk" can put the digits under "Einheit"
    words = (
        words_at(90, [(40, "Bezeichnung")])
        + words_at(90, [(300, "Menge"), (350, "Einheit"), (440, "Einzelpreis"), (550, "Gesamt")], right=True)
        + row(110, "Passfeder DIN 6885", [(350, "40 Stk"), (440, "0,85"), (550, "34,00")])
        + row(125, "Montage", [(350, "3,5 Std."), (440, "62,00"), (550, "217,00")])
        + row(140, "Zuschnitt", [(300, "2"), (350, "Stk"), (440, "5,00"), (550, "10,00")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "quantity") == ["40", "3.5", "2"]
    assert values(result, "unit") == ["Stk", "Std.", "Stk"]
    assert result.evidence["line_items.0.quantity"].text == "40"
    assert result.evidence["line_items.0.unit"].text == "Stk"


def test_a_continuation_line_within_one_line_height_stays_with_its_item() -> None:
    # OCR'd line centres jitter: one pair of lines came out 8 apart, so the leading estimate is
    # 8, and a continuation 11 under its item (less than its 12-high boxes) must still join it
    words = (
        en_header(100)
        + en_row(120, "Conception graphique", "1", "2400.00", "20%", "2400.00")
        + words_at(131, [(40, "logo, palette et typographies")], size=12)
        + en_row(150, "Maquettes du site", "12", "180.00", "20%", "2160.00")
        + words_at(158, [(40, "version mobile")], size=12)
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == [
        "Conception graphique\nlogo, palette et typographies",
        "Maquettes du site\nversion mobile",
    ]


def test_description_starting_left_of_its_header_under_a_quantity_first_layout() -> None:
    # "QUANTITY   DESCRIPTION   UNIT PRICE   TOTAL" with the text starting well left of its
    # centred header, inside the quantity column's zone
    words = (
        words_at(100, [(59, "QUANTITY"), (241, "DESCRIPTION")])
        + words_at(100, [(479, "UNIT PRICE"), (548, "TOTAL")], right=True)
        + words_at(120, [(42, "1"), (136, "Test for 23 fields")])
        + words_at(120, [(485, "1"), (570, "$100.00")], right=True)
        + words_at(135, [(42, "2"), (136, "Cable ties 200mm")])
        + words_at(135, [(485, "3.50"), (570, "$7.00")], right=True)
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Test for 23 fields", "Cable ties 200mm"]
    assert values(result, "quantity") == ["1", "2"]
    assert values(result, "amount") == ["100.00", "7.00"]


@pytest.mark.parametrize(
    "net,tax,gross",
    [("Nettobetrag", "zzgl. MwSt. 19 %", "Gesamtbetrag"), ("Zwischensumme", "inkl. MwSt. 19 %", "Endsumme")],
)
def test_german_compound_totals_labels_end_the_table(net: str, tax: str, gross: str) -> None:
    words = (
        words_at(90, [(40, "Bezeichnung")])
        + words_at(90, [(300, "Menge"), (440, "Einzelpreis"), (550, "Gesamt")], right=True)
        + row(110, "Passfeder DIN 6885", [(300, "40"), (440, "0,85"), (550, "34,00")])
        + row(125, "Montage", [(300, "2"), (440, "62,00"), (550, "124,00")])
        + words_at(150, [(335, net)])
        + words_at(150, [(550, "158,00 €")], right=True)
        + words_at(165, [(335, tax)])
        + words_at(165, [(550, "30,02 €")], right=True)
        + words_at(180, [(335, gross)])
        + words_at(180, [(550, "188,02 €")], right=True)
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "amount") == ["34.00", "124.00"]


def test_running_footer_under_a_table_that_goes_on_is_not_an_item() -> None:
    # the seller's address and bank details under every page, with digits an amount column can
    # take; page 1 is full down to its footer, so no gap ends the table there
    footer = [
        (755, [(40, "Atelier Lumiere SARL")], [(AMOUNT_R, "N TVA FR47851203964")]),
        (
            767,
            [(40, "18 rue des Tanneurs"), (300, "IBAN: FR76 2004")],
            [(AMOUNT_R, "1010 0505 0012 3456 769")],
        ),
        (779, [(40, "69002 Lyon")], []),
    ]

    def page(n: int, rows: list[tuple[str, str]]) -> Page:
        ws = en_header(100, n)
        for i, (desc, amount) in enumerate(rows):
            ws += en_row(120 + 15 * i, desc, "1", amount, "20%", amount, n)
        ws += words_at(740, [(470, f"Page {n} / 2")], n)
        for y, left, right in footer:
            ws += words_at(y, left, n) + words_at(y, right, n, right=True)
        return page_of(n, ws)

    first = [(f"Design {i}", f"{10 + i}.00") for i in range(41)]  # rows down to y = 720
    result = extract_line_items([page(1, first), page(2, [("Archive", "60.00")])])
    assert values(result, "description") == [d for d, _ in first] + ["Archive"]
    assert values(result, "amount") == [a for _, a in first] + ["60.00"]


def test_quantity_with_unit_and_currency_sign_cells() -> None:
    words = (
        en_header(100)
        + en_row(120, "Beeswax", "1.00 kg", "42.00", "15.00%", "$ 42.00")
        + en_row(135, "Gold leaf", "2 Units", "€ 1.234,00", "15.00%", "€ 2.468,00")
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "quantity") == ["1.00", "2"]
    assert values(result, "unit") == ["kg", "Units"]
    assert values(result, "unit_price") == ["42.00", "1234.00"]
    assert values(result, "amount") == ["42.00", "2468.00"]


def test_totals_word_opening_a_description_is_still_an_item() -> None:
    words = (
        words_at(100, [(40, "Description")])
        + words_at(100, [(AMOUNT_R, "Amount")], right=True)
        + row(120, "Tax consulting, Q1", [(AMOUNT_R, "500.00")])
        + row(135, "Bookkeeping", [(AMOUNT_R, "250.00")])
        + row(160, None, [(AMOUNT_R, "750.00")])
        + words_at(160, [(380, "Subtotal")])
        + row(175, "Balance due by 31 March 2024", [(AMOUNT_R, "750.00")])
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Tax consulting, Q1", "Bookkeeping"]


def test_rate_from_header_percent_and_tax_amount_column_ignored() -> None:
    def table(tax_label: str) -> TableResult:
        words = (
            words_at(100, [(40, "Description")])
            + words_at(
                100, [(QTY_R, "Qty"), (PRICE_R, "Price"), (TAX_R, tax_label), (AMOUNT_R, "Total")], right=True
            )
            + row(120, "Widget", [(QTY_R, "2"), (PRICE_R, "50.00"), (TAX_R, "21"), (AMOUNT_R, "100.00")])
        )
        return extract_line_items([page_of(1, words)])

    assert values(table("VAT %"), "tax_rate") == ["21"]
    assert values(table("VAT"), "tax_rate") == [None]  # a bare number under "VAT" may be the tax amount


def test_ocr_text_runs_and_glued_totals() -> None:
    def run(x0: float, y: float, text: str) -> Word:
        # one OCR box holding several tokens
        return Word(text=text, bbox=(x0, y, x0 + len(text) * CHAR_W, y + 12), page=1, conf=0.9)

    words = [
        run(40, 100, "Description"),
        run(280, 100, "Qty"),
        run(330, 100, "Unit Price"),
        run(500, 100, "Amount"),
        run(40, 120, "Beeswax XL"),
        run(285, 120, "1.00kg"),
        run(340, 120, "42.00"),
        run(500, 120, "$42.00"),
        run(40, 140, "Office Chair"),
        run(285, 140, "2 Units"),
        run(340, 140, "70.00"),
        run(500, 140, "$140.00"),
        run(430, 165, "Subtotal$182.00"),
        run(430, 185, "Total $182.00"),
    ]
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Beeswax XL", "Office Chair"]
    assert values(result, "unit") == ["kg", "Units"]
    assert values(result, "amount") == ["42.00", "140.00"]
    assert all(c < 0.9 for c in result.confidence.values())  # OCR word confidence carries through


def test_quantity_first_and_description_above_the_numbers() -> None:
    # a receipt: "QTY ITEM TOTAL", the quantity set right against the item name
    words = (
        words_at(100, [(20, "QTY"), (60, "ITEM")])
        + words_at(100, [(300, "TOTAL")], right=True)
        + words_at(120, [(30, "2"), (38, "CHICKEN MUFFIN")])
        + words_at(120, [(300, "11.00")], right=True)
        + words_at(140, [(30, "1"), (38, "PORRIDGE")])
        + words_at(140, [(300, "5.60")], right=True)
        + words_at(170, [(20, "TOTAL ROUNDED")])
        + words_at(170, [(300, "16.60")], right=True)
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["CHICKEN MUFFIN", "PORRIDGE"]
    assert values(result, "quantity") == ["2", "1"]
    # the item name on its own line, the price under the item column on the line below
    words = (
        words_at(100, [(40, "ITEM"), (140, "QTY")])
        + words_at(100, [(300, "TOTAL")], right=True)
        + words_at(120, [(40, "SR 100100000060- 4 VEGE")])
        + words_at(131, [(40, "$5.50"), (142, "1")])
        + words_at(131, [(300, "$5.50")], right=True)
        + words_at(150, [(40, "SR 100100000006- PORK")])
        + words_at(161, [(40, "$2.70"), (142, "1")])
        + words_at(161, [(300, "$2.70")], right=True)
        + words_at(190, [(200, "TOTAL AMOUNT:")])
        + words_at(190, [(300, "$8.20")], right=True)
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["SR 100100000060- 4 VEGE", "SR 100100000006- PORK"]
    assert values(result, "amount") == ["5.50", "2.70"]


def test_position_code_and_service_columns() -> None:
    words = (
        words_at(100, [(20, "Pos"), (45, "Item #"), (110, "Description")])
        + words_at(100, [(330, "Hours"), (410, "Rate (EUR)"), (550, "Amount €")], right=True)
        + words_at(120, [(25, "1"), (45, "SRV-01"), (110, "Design work")])
        + words_at(120, [(330, "12.5"), (410, "80.00"), (550, "1,000.00")], right=True)
        + words_at(135, [(25, "2"), (45, "SRV-02"), (110, "Review")])
        + words_at(135, [(330, "2"), (410, "80.00"), (550, "160.00")], right=True)
        + words_at(160, [(400, "Total")])
        + words_at(160, [(550, "1,160.00")], right=True)
    )
    result = extract_line_items([page_of(1, words)])
    assert values(result, "description") == ["Design work", "Review"]
    assert values(result, "product_code") == ["SRV-01", "SRV-02"]
    assert values(result, "quantity") == ["12.5", "2"]
    assert values(result, "amount") == ["1000.00", "160.00"]


def test_headerless_statement_rows_kept_only_when_they_add_up() -> None:
    def statement(amounts: list[str], total: str) -> list[Word]:
        ws = words_at(60, [(40, "Detail")])
        y = 80.0
        for i, a in enumerate(amounts):
            ws += row(y, f"Cloud service {i + 1}", [(550, a)], x=50)
            ws += row(y + 14, "Charges", [(550, a)], x=60)  # an indented breakdown line
            y += 30
        ws += row(y + 20, "Total for this invoice", [(550, total)], x=40)
        return ws

    good = extract_line_items([page_of(1, statement(["$0.01", "$1.87", "$2.22"], "$4.10"))])
    assert values(good, "description") == ["Cloud service 1", "Cloud service 2", "Cloud service 3"]
    assert values(good, "amount") == ["0.01", "1.87", "2.22"]
    assert good.confidence["line_items.0.amount"] < 0.8  # no header: lower confidence
    bad = extract_line_items([page_of(1, statement(["$0.01", "$1.87", "$2.22"], "$9.99"))])
    assert bad.items == []


def test_page_without_table_gives_empty_result() -> None:
    words = (
        words_at(60, [(40, "Dear customer,")])
        + words_at(80, [(40, "Invoice number: 12345")])
        + words_at(100, [(40, "Product price list available on request")])
        + row(120, "Total", [(550, "12.00")])
    )
    result = extract_line_items([page_of(1, words)])
    assert result.items == [] and result.evidence == {} and result.table_bbox == {}
    assert extract_line_items([]).items == []


def _reportlab_invoice(path: Path, rows: int, repeat_header: bool) -> list[str]:
    """A born-digital invoice whose item table runs over pages; returns the printed amounts."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    height = A4[1]
    amounts: list[str] = []

    def header(y: float) -> None:
        c.setFont("Helvetica-Bold", 9)
        c.drawString(40, y, "Omschrijving")
        for x, label in ((330, "Aantal"), (410, "Stukprijs"), (470, "BTW"), (550, "Bedrag")):
            c.drawRightString(x, y, label)
        c.setFont("Helvetica", 9)

    page, y = 1, height - 120
    c.setFont("Helvetica", 12)
    c.drawString(40, height - 60, "FACTUUR 2024-17")
    header(y)
    for i in range(rows):
        y -= 16
        if y < 90:
            c.drawString(260, 40, f"Pagina {page} van 2")
            c.showPage()
            page, y = page + 1, height - 80
            c.setFont("Helvetica", 9)
            c.drawString(40, height - 50, "FACTUUR 2024-17 (vervolg)")
            if repeat_header:
                header(y)
                y -= 16
        qty = i % 4 + 1
        price = f"{(i + 1) * 125.5:,.2f}".replace(",", " ").replace(".", ",")
        amount = f"{qty * (i + 1) * 125.5:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        amounts.append(amount)
        c.drawString(40, y, f"Artikel nummer {i + 1}")
        c.drawRightString(330, y, str(qty))
        c.drawRightString(410, y, f"€ {price}")
        c.drawRightString(470, y, "21%")
        c.drawRightString(550, y, f"€ {amount}")
    y -= 30
    c.drawString(400, y, "Subtotaal")
    c.drawRightString(550, y, "€ 1,00")
    c.drawString(400, y - 14, "Totaal")
    c.drawRightString(550, y - 14, "€ 1,21")
    c.drawString(260, 40, f"Pagina {page} van 2")
    c.save()
    return amounts


@pytest.mark.parametrize("repeat_header", [True, False])
def test_generated_pdf_table_over_two_pages(tmp_path: Path, repeat_header: bool) -> None:
    pdf = tmp_path / "invoice.pdf"
    printed = _reportlab_invoice(pdf, rows=50, repeat_header=repeat_header)
    pages = load_pages(pdf)
    assert len(pages) == 2
    result = extract_line_items(pages)
    from docvlm.parsers import parse_amount

    assert values(result, "amount") == [str(parse_amount(a)) for a in printed]
    assert values(result, "description") == [f"Artikel nummer {i + 1}" for i in range(50)]
    assert values(result, "quantity") == [str(i % 4 + 1) for i in range(50)]
    assert values(result, "unit_price")[6] == "878.50"
    assert values(result, "unit_price")[-1] == "6275.00"  # printed "€ 6 275,00": space-grouped thousands
    assert set(values(result, "tax_rate")) == {"21"}
    assert sorted(result.table_bbox) == [1, 2]
    assert {result.evidence[f"line_items.{i}.amount"].page for i in range(50)} == {1, 2}


# ---------------------------------------------------------------------------------------------
# Real invoices: line-item F1 with one-to-one matching (DocILE style)
