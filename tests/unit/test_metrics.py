"""Metrics against hand-computed values: ANLS, field comparison, line-item F1, calibration."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from evaluation.metrics import (
    FieldStats,
    Outcome,
    anls,
    anls_score,
    anls_similarity,
    expected_calibration_error,
    field_kind,
    field_outcome,
    line_item_f1,
    normalize_value,
    reliability_bins,
    values_match,
)
from schemas.kinds import FieldKind

# ---- ANLS ----------------------------------------------------------------------------------


def test_anls_exact_and_case_whitespace() -> None:
    assert anls_similarity("hello", "hello") == 1.0
    assert anls_similarity("  Hello   World ", "hello world") == 1.0


def test_anls_partial() -> None:
    # one substitution in four characters: NL = 0.25
    assert anls_similarity("abcd", "abce") == pytest.approx(0.75)
    # one in three: NL = 1/3
    assert anls_similarity("abc", "abd") == pytest.approx(2 / 3)


def test_anls_threshold_exactly_half_is_zero() -> None:
    assert anls_similarity("ab", "ac") == 0.0  # NL = 1/2
    assert anls_similarity("abcdef", "abcxyz") == 0.0  # NL = 3/6
    # just under the threshold still scores: 2 edits in 5 characters -> 0.6
    assert anls_similarity("abcde", "abcxy") == pytest.approx(0.6)


def test_anls_empty_answers() -> None:
    assert anls_similarity("", "x") == 0.0
    assert anls_similarity(None, "x") == 0.0
    assert anls_similarity("x", "") == 0.0
    assert anls_similarity("", "") == 1.0
    assert anls_similarity("   ", "") == 1.0
    assert anls_score("x", []) == 0.0


def test_anls_max_over_gold_answers_and_mean() -> None:
    assert anls_score("9.00", ["RM9.00", "9.00"]) == 1.0
    # "9.00" vs "RM9.00": 2 insertions over 6 characters -> 1 - 1/3
    assert anls_score("9.00", ["RM9.00"]) == pytest.approx(2 / 3)
    assert anls(["9.00", "", "abcd"], [["RM9.00"], ["x"], ["abce"]]) == pytest.approx((2 / 3 + 0 + 0.75) / 3)
    with pytest.raises(ValueError):
        anls(["a"], [])


# ---- fields --------------------------------------------------------------------------------


def test_field_kinds() -> None:
    assert field_kind("total") is FieldKind.MONEY
    assert field_kind("line_items.3.amount") is FieldKind.MONEY
    assert field_kind("invoice_date") is FieldKind.DATE
    assert field_kind("vendor.tax_id") is FieldKind.COMPACT_ID
    assert field_kind("vendor.iban") is FieldKind.COMPACT_ID
    assert field_kind("invoice_number") is FieldKind.IDENTIFIER
    assert field_kind("vendor.name") is FieldKind.TEXT


def test_money_matches_to_the_cent() -> None:
    assert values_match("total", "RM 9.00", "9.00")
    assert values_match("total", 4.11, "4.11")
    assert values_match("total", "1.234,56", 1234.56)
    assert values_match("total", "$1,234.56", "1234.56")
    assert not values_match("total", "9.01", "9.00")
    assert normalize_value("total", "12.5") == Decimal("12.50")


def test_dates_match_as_calendar_dates() -> None:
    assert values_match("invoice_date", "25/12/2018", "2018-12-25")
    assert values_match("invoice_date", "05-01-18", "2018-01-05")  # day-first
    assert values_match("invoice_date", "15 JAN 2018", dt.date(2018, 1, 15))
    assert values_match("invoice_date", "2018-01-05", "05/01/2018")  # ISO is read first
    assert not values_match("invoice_date", "2018-01-06", "05/01/2018")


def test_identifiers() -> None:
    assert values_match("invoice_number", " INV/2023/03/0008 ", "INV/2023/03/0008")
    assert not values_match("invoice_number", "inv/2023/03/0008", "INV/2023/03/0008")
    assert not values_match("invoice_number", "INV 2023", "INV2023")
    assert values_match("vendor.tax_id", "NL 8104 33941 b01", "NL810433941B01")
    assert values_match("vendor.iban", "nl50 ingb 0683 2513 09", "NL50INGB0683251309")


def test_names_and_addresses_normalised() -> None:
    assert values_match("vendor.name", "BOOK TA .K (TAMAN DAYA)  SDN BHD.", "book ta .k (taman daya) sdn bhd")
    assert values_match("vendor.address", '"Weena 664, Rotterdam"', "WEENA 664, ROTTERDAM")
    assert not values_match("vendor.name", "SDN. BHD", "SDN BHD")  # only edge punctuation is stripped


def test_field_outcomes() -> None:
    assert field_outcome("total", "9.00", "9.00") is Outcome.TP
    assert field_outcome("total", None, None) is Outcome.TN
    assert field_outcome("total", "", None) is Outcome.TN
    assert field_outcome("total", "1.00", None) is Outcome.FP
    assert field_outcome("total", None, "9.00") is Outcome.FN
    assert field_outcome("total", "8.00", "9.00") is Outcome.WRONG


def test_field_stats_by_hand() -> None:
    st = FieldStats()
    for o in (Outcome.TP, Outcome.TP, Outcome.TN, Outcome.FP, Outcome.FN, Outcome.WRONG):
        st.add(o)
    assert st.n == 6 and st.present == 5
    assert st.accuracy == pytest.approx(2 / 5)  # TP over the fields present on either side; TN left out
    assert st.precision == pytest.approx(2 / 4)  # TP / (TP + FP + WRONG)
    assert st.recall == pytest.approx(2 / 4)  # TP / (TP + FN + WRONG)
    assert st.f1 == pytest.approx(0.5)


def test_nulls_on_both_sides_do_not_count_as_right() -> None:
    # a DocILE-like label set annotates every field type: most are null in the gold and the prediction
    st = FieldStats()
    for o in [Outcome.TN] * 8 + [Outcome.FN, Outcome.FP]:
        st.add(o)
    assert st.accuracy == 0.0 and st.precision == 0.0 and st.recall == 0.0  # not 0.8
    empty = FieldStats()
    empty.add(Outcome.TN)
    assert empty.present == 0 and empty.accuracy == 0.0


# ---- line items ----------------------------------------------------------------------------


def test_line_items_bipartite_by_hand() -> None:
    gold = [{"description": "A", "amount": "10"}, {"description": "B", "amount": "20"}]
    pred = [{"description": "B", "amount": "20.00"}, {"description": "A", "amount": "11"}]
    s = line_item_f1(pred, gold)
    assert (s.tp, s.fp, s.fn) == (3, 1, 1)
    assert sorted(s.pairs) == [(0, 1), (1, 0)]
    assert s.f1 == pytest.approx(6 / 8)


def test_line_items_matching_is_optimal_not_greedy() -> None:
    # pred 0 ties between both gold rows; only pairing it with gold 1 lets pred 1 match gold 0
    gold = [{"description": "A", "amount": "5"}, {"description": "B", "amount": "5"}]
    pred = [{"description": "C", "amount": "5"}, {"description": "A", "amount": "7"}]
    s = line_item_f1(pred, gold)
    assert (s.tp, s.fp, s.fn) == (2, 2, 2)
    assert sorted(s.pairs) == [(0, 1), (1, 0)]


def test_line_items_identical_rows_tie() -> None:
    gold = [{"description": "X", "amount": "1"}, {"description": "X", "amount": "1"}]
    pred = [{"description": "X", "amount": "1"}]
    s = line_item_f1(pred, gold)
    assert (s.tp, s.fp, s.fn) == (2, 0, 2)
    assert s.f1 == pytest.approx(4 / 6)


def test_line_items_only_gold_fields_count() -> None:
    gold = [{"description": "Widget"}]
    pred = [{"description": "widget", "quantity": "3", "amount": "9"}]
    s = line_item_f1(pred, gold)
    assert (s.tp, s.fp, s.fn) == (1, 0, 0)


def test_line_items_labelled_empty_field_is_false_positive() -> None:
    gold = [{"description": "Olive Oil", "product_code": ""}]
    pred = [{"description": "Olive Oil", "product_code": "OIL1"}]
    s = line_item_f1(pred, gold)
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)


def test_line_items_empty() -> None:
    s = line_item_f1([], [{"description": "A", "amount": "1"}])
    assert (s.tp, s.fp, s.fn) == (0, 0, 2)
    assert s.f1 == 0.0
    s = line_item_f1([{"description": "A"}], [], fields=["description"])
    assert (s.tp, s.fp, s.fn) == (0, 1, 0)


# ---- calibration ---------------------------------------------------------------------------


def test_ece_by_hand() -> None:
    ece, bins = expected_calibration_error([0.95, 0.95, 0.15, 0.15], [True, False, False, False])
    # bin 9: conf .95, acc .5 -> .45 * 2/4; bin 1: conf .15, acc 0 -> .15 * 2/4
    assert ece == pytest.approx(0.3)
    assert bins[9].count == 2 and bins[9].accuracy == 0.5 and bins[9].confidence == pytest.approx(0.95)
    assert bins[1].count == 2 and bins[1].accuracy == 0.0
    assert sum(b.count for b in bins) == 4


def test_ece_edges_and_perfect() -> None:
    bins = reliability_bins([1.0, 0.0, 0.1], [True, False, True], n_bins=10)
    assert bins[9].count == 1  # 1.0 lands in the last bin
    assert bins[0].count == 1
    assert bins[1].count == 1  # 0.1 is the lower edge of bin 1
    ece, _ = expected_calibration_error([1.0, 1.0], [True, True])
    assert ece == 0.0
    ece, bins = expected_calibration_error([], [])
    assert ece == 0.0 and len(bins) == 10
    ece, bins = expected_calibration_error([0.8], [False], n_bins=4)
    assert ece == pytest.approx(0.8) and len(bins) == 4
