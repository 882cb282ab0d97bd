"""``ocr.confusions``: an O read for a zero is turned back inside a number, and only there."""

from __future__ import annotations

import pytest

from docvlm.ocr.confusions import fix_digit_confusions


@pytest.mark.parametrize(
    ("read", "meant"),
    [("57O,", "570,"), ("6120O", "61200"), ("1O.5O", "10.50"), ("(1O.00)", "(10.00)"), ("12:3O", "12:30")],
)
def test_an_o_inside_a_number_is_a_zero(read: str, meant: str) -> None:
    assert fix_digit_confusions(read) == meant


@pytest.mark.parametrize("word", ["NO", "NO.1", "ROOM", "Oil", "B2O", "5OKG", "2O", "O", "OO", "12.50"])
def test_words_with_other_letters_or_under_two_digits_stay_as_read(word: str) -> None:
    assert fix_digit_confusions(word) == word
