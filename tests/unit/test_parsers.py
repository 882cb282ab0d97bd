import datetime as dt
from decimal import Decimal

import pytest

from docvlm.parsers import detect_currency, find_amounts, find_dates, iban_is_valid, parse_amount, parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1'234.56", "1234.56"),
        ("RM 9.00", "9.00"),
        ("$8.20", "8.20"),
        ("12.50-", "-12.50"),
        ("(3.00)", "-3.00"),
        ("9,00", "9.00"),
        ("1,234", "1234"),
        ("€ 1.234.567,89", "1234567.89"),
        ("4.11 USD", "4.11"),
    ],
)
def test_parse_amount_locales(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "12/03/2018", "1.2.3,4,5"])
def test_parse_amount_rejects(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-01-15", dt.date(2018, 1, 15)),
        ("25/12/2018", dt.date(2018, 12, 25)),
        ("15 JAN 2018", dt.date(2018, 1, 15)),
        ("05-01-18", dt.date(2018, 1, 5)),
        ("14/03/20185:57PM", dt.date(2018, 3, 14)),
        ("18 april 2014", dt.date(2014, 4, 18)),
        ("March 20, 2023", dt.date(2023, 3, 20)),
        ("03/20/2023", dt.date(2023, 3, 20)),
        ("5 mars 2024", dt.date(2024, 3, 5)),
        ("12. März 2024", dt.date(2024, 3, 12)),
        ("2024.03.05", dt.date(2024, 3, 5)),
    ],
)
def test_parse_date_formats(text, expected):
    assert parse_date(text) == expected


def test_iso_dates_are_not_read_day_first():
    # dateutil's dayfirst=True would swap month and day here
    assert parse_date("2024-03-05", dayfirst=True) == dt.date(2024, 3, 5)


def test_month_first_when_asked():
    assert parse_date("03/05/2024", dayfirst=False) == dt.date(2024, 3, 5)
    assert parse_date("03/05/2024", dayfirst=True) == dt.date(2024, 5, 3)


def test_find_dates_and_amounts_in_a_line():
    assert [d for d, _ in find_dates("Date: 14/03/2018 Due: 28/03/2018")] == [
        dt.date(2018, 3, 14),
        dt.date(2018, 3, 28),
    ]
    assert [a for a, _ in find_amounts("Total RM 37.10 Cash 50.00")] == [Decimal("37.10"), Decimal("50.00")]


def test_currency_and_iban():
    assert detect_currency("Total € 12,00") == "EUR"
    assert detect_currency("TOTAL RM 9.00") == "MYR"
    assert detect_currency("Amount USD 4.11") == "USD"
    assert detect_currency("nothing here") is None
    assert iban_is_valid("NL50 INGB 0683 2513 09")
    assert not iban_is_valid("NL50INGB0683251308")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the shortest text of each form: the digit and letter counts that gate each search
        ("1/2/34", dt.date(2034, 2, 1)),
        ("3 May 21", dt.date(2021, 5, 3)),
        ("May 3 2021", dt.date(2021, 5, 3)),
        ("2021-5-3", dt.date(2021, 5, 3)),
        ("\uff13 May 21", dt.date(2021, 5, 3)),  # a full-width digit, a digit after NFKC
    ],
)
def test_find_dates_reads_the_shortest_form_of_each_kind(text, expected):
    assert [d for d, _ in find_dates(text)] == [expected]


@pytest.mark.parametrize("text", ["12", "Invoice", "No. 12 May", "May", "12-05"])
def test_find_dates_finds_nothing_without_enough_digits(text):
    assert find_dates(text) == []


@pytest.mark.parametrize("text", ["Mo.-Fr. 08.30 - 12.30 Uhr", "open 9.00-17.30", "1.5-2.25"])
def test_a_date_uses_one_separator_twice(text):
    # opening hours and ranges mix a dot and a dash: no date
    assert find_dates(text) == []
    assert [d for d, _ in find_dates("Fällig am 06.12.2013 " + text)] == [dt.date(2013, 12, 6)]
