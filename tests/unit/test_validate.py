from decimal import Decimal

from docvlm.validate import check_rules, validate, validate_data
from schemas.invoice import Invoice


def _codes(ws):
    return {w.code for w in ws}


def test_consistent_invoice_has_no_rule_warnings():
    data = {
        "invoice_date": "2024-03-01",
        "due_date": "2024-03-31",
        "subtotal": "100.00",
        "tax_total": "21.00",
        "total": "121.00",
        "vendor": {"iban": "NL50 INGB 0683 2513 09"},
        "line_items": [
            {"quantity": "2", "unit_price": "25.00", "amount": "50.00"},
            {"quantity": "1", "unit_price": "50.00", "amount": "50.00"},
        ],
    }
    model, warnings = validate(data, Invoice)
    assert warnings == []
    assert model.total == Decimal("121.00")
    assert model.vendor.iban == "NL50INGB0683251309"


def test_each_business_rule_fires():
    inv = Invoice.model_validate(
        {
            "invoice_date": "2024-03-01",
            "due_date": "2024-02-01",
            "subtotal": "10",
            "tax_total": "1",
            "total": "12",
            "vendor": {"iban": "NL50INGB0683251308"},
            "line_items": [{"quantity": "2", "unit_price": "5", "amount": "11"}],
        }
    )
    ws = check_rules(inv)
    assert _codes(ws) == {
        "line_amount_mismatch",
        "line_sum_mismatch",
        "total_mismatch",
        "due_before_issue",
        "iban_checksum",
    }
    fields = {w.code: w.field for w in ws}
    assert fields["total_mismatch"] == "total"
    assert fields["line_amount_mismatch"] == "line_items.0.amount"


def test_gross_line_amounts_may_sum_to_the_total():
    inv = Invoice.model_validate(
        {"subtotal": "100", "tax_total": "21", "total": "121", "line_items": [{"amount": "121"}]}
    )
    assert check_rules(inv) == []


def test_lines_far_above_the_total_warn_without_a_subtotal():
    # two invoices read as one: the lines of both against the total of one; tax known, no subtotal
    lines = [{"amount": a} for a in ("100.00", "55.00", "50.00", "100.00", "55.00")]
    merged = Invoice.model_validate({"tax_total": "10.00", "total": "165.00", "line_items": lines})
    (w,) = check_rules(merged)
    assert w.code == "line_sum_mismatch" and w.field == "total" and "far more" in w.message
    # lines under the total (tax on top) or a little over it (a discount) are not flagged
    for total in ("250.00", "360.00", "400.00"):
        inv = Invoice.model_validate({"tax_total": "10.00", "total": total, "line_items": lines})
        assert check_rules(inv) == [], total


def test_invalid_values_are_dropped_not_fatal():
    model, ws = validate_data(
        {"currency": "XXZ", "total": "abc", "invoice_number": "A-1", "bogus": 1}, Invoice
    )
    assert model.invoice_number == "A-1"
    assert model.currency is None and model.total is None
    assert {w.field for w in ws} == {"currency", "total", "bogus"}
    assert all(w.code == "invalid_value" for w in ws)


def test_locale_amounts_and_dates_are_normalised():
    model, _ = validate_data({"total": "1.234,56", "invoice_date": "05.03.2024", "currency": "eur"}, Invoice)
    dumped = model.model_dump(mode="json")
    assert dumped["total"] == "1234.56"
    assert dumped["invoice_date"] == "2024-03-05"
    assert dumped["currency"] == "EUR"


def test_blank_strings_become_null():
    model, warnings = validate_data(
        {"invoice_number": "  ", "vendor": {"name": ""}, "total": "", "invoice_date": " "}, Invoice
    )
    assert model.invoice_number is None and model.vendor.name is None
    assert model.total is None and model.invoice_date is None
    assert warnings == []  # blanks are absent values, not invalid ones
