"""A title that names the document's number and date ("Handelsrechnung Nr. X vom DD.MM.YYYY")."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from docvlm.engines import LayoutOptions
from docvlm.engines.layout import LayoutEngine
from schemas.invoice import Invoice
from tests.helpers.pages import Line, make_page


def run(lines: Sequence[Line]) -> dict:
    return LayoutEngine(LayoutOptions(use_model=False)).extract([make_page(lines)], Invoice).data


HEADER: list[Line] = [
    (50, 40, "Format-Version: 2.1 vom 24.03.2020"),  # an earlier date that is not the invoice's
    (50, 160, "Seller:"),
    (50, 172, "Brightwater Tools Ltd"),
]
FOOT: list[Line] = [(300, 600, "Gesamtbetrag  119,00 €")]


@pytest.mark.parametrize(
    ("title", "number", "date"),
    [
        ("Handelsrechnung Nr. TX-4711 vom 30.10.2018", "TX-4711", "2018-10-30"),
        ("Rechnung # RE-2017/505 von 09.05.2017", "RE-2017/505", "2017-05-09"),
        ("Invoice # RE-2020/508 issued at 2020-11-21", "RE-2020/508", "2020-11-21"),
        ("Facture n° FA-2024-9 du 02/05/2024", "FA-2024-9", "2024-05-02"),
    ],
)
def test_the_title_names_the_number_and_the_date(title: str, number: str, date: str) -> None:
    data = run([*HEADER, (50, 100, title, 16), *FOOT])
    assert data["invoice_number"] == number
    assert data["invoice_date"] == date


def test_the_date_may_sit_on_the_line_under_the_title() -> None:
    data = run(
        [
            *HEADER,
            (50, 100, "Gutschrift (Selbst ausgestellte Rechnung) Nr. 47110818", 16),
            (50, 118, "vom 31.10.2018", 16),
            *FOOT,
        ]
    )
    assert (data["invoice_number"], data["invoice_date"]) == ("47110818", "2018-10-31")


def test_a_title_without_a_number_names_nothing() -> None:
    data = run([*HEADER, (50, 100, "Rechnung für Ihre Bestellung", 16), *FOOT])
    assert data["invoice_number"] is None


@pytest.mark.parametrize("under", [["N°F-2024-0014"], ["02/05/2024", "no 2024-6013"]])
def test_the_number_may_sit_under_a_lone_title(under: list[str]) -> None:
    lines: list[Line] = [*HEADER, (480, 100, "FACTURE", 16)]
    lines += [(480, 120 + 14 * i, text) for i, text in enumerate(under)]
    data = run([*lines, *FOOT])
    assert data["invoice_number"] == under[-1].removeprefix("no ").removeprefix("N°")


def test_a_number_in_another_column_is_not_the_titles() -> None:
    data = run([*HEADER, (480, 100, "FACTURE", 16), (50, 118, "No 12 rue du Port"), *FOOT])
    assert data["invoice_number"] is None


def test_amounts_in_a_named_currency() -> None:
    data = run([*HEADER, (350, 100, "Beträge in   EUR"), (300, 600, "Summe  119,00")])
    assert data["currency"] == "EUR"


def test_a_version_line_proposes_no_date() -> None:
    from docvlm.engines.layout.candidates.pool import _line_dates
    from docvlm.engines.layout.text import page_lines

    pl = page_lines(
        make_page([(50, 40, "Format-Version: 2.1 vom 24.03.2020"), (50, 60, "Fällig am 30.11.2018")])
    )
    dates = [p.value for tl in pl.lines for p in _line_dates(tl, True)]
    assert dates == ["2018-11-30"]


def test_a_french_fee_note_title_is_no_seller() -> None:
    data = run(
        [
            (12, 10, "Cabinet Exemple", 15),
            (200, 226, "NOTE D'HONORAIRES", 20),
            (41, 141, "Facture n° : 2022-01"),
            *FOOT,
        ]
    )
    assert data["vendor"]["name"] == "Cabinet Exemple"
