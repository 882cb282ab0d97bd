"""Letters a recogniser reads for digits, put back where the word is a number.

In: an OCR word's text. Out: the same text, with the letter O read for a zero turned back into
``0`` in a word made only of digits, O's and a number's separators ("57O," -> "570,",
"6120O" -> "61200", "1O.5O" -> "10.50"). A word with other letters ("NO", "B2O", "ROOM") and a
word of fewer than two digits are left as read: there the O may be a letter.
"""

from __future__ import annotations

import re

_NUMBER_WITH_OS = re.compile(r"[(\-+]?(?=[\dOo.,:/\-]*\d[\dOo.,:/\-]*\d)[\dOo.,:/\-]*[Oo][\dOo.,:/\-]*[)%]?")
_PUNCT = ".,;:)(%"


def fix_digit_confusions(text: str) -> str:
    """``text`` with O's read for zeros turned back into zeros, where the word is a number."""
    if "O" not in text and "o" not in text:
        return text
    core = text.strip(_PUNCT)
    if not core or not _NUMBER_WITH_OS.fullmatch(core):
        return text
    lead = text[: len(text) - len(text.lstrip(_PUNCT))]
    tail = text[len(lead) + len(core) :]
    return lead + core.replace("O", "0").replace("o", "0") + tail
