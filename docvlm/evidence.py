"""Evidence lookup: where on the pages a value is printed (page, box, printed text, match score).

In: a typed value, its ``FieldKind`` (``schemas.field_kinds``) and the pages of one document.
Out: the ``Evidence`` of the tightest run of page words that prints it, or None. Amounts and
dates are found by value (``Decimal`` and ``date``; never inside prose, so a sentence planted in a
document cannot supply a total), currencies by code or symbol, text by fuzzy match.

This is a lookup, not a stage: the ground stage uses it for every record value, and engines use it
to judge a candidate (is the VLM's value printed?) or to place an answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from docvlm.datamodel import Evidence, Page, Word
from docvlm.geometry import union
from docvlm.parsers import detect_currency, find_dates, normalize_text, parse_amount, parse_date
from schemas.kinds import FieldKind

_log = logging.getLogger(__name__)

#: a segment with more alphabetic words than this is prose; amounts inside prose are not field values
PROSE_WORDS = 6
FUZZY_THRESHOLD = 80.0
#: confidence of a generated value (or answer) that is not found on the page
UNGROUNDED_CONFIDENCE = 0.15
#: confidence prior of a value found on the page that its engine did not rate (times the match score)
FOUND_PRIOR = 0.9

_ALPHA = re.compile(r"[^\W\d_]{2,}")
_PLAIN_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass
class _Segment:
    page: int
    words: list[Word]
    prose: bool


class PageIndex:
    """Line segments of all pages, built once per document for every lookup."""

    def __init__(self, pages: Sequence[Page]) -> None:
        self.segments: list[_Segment] = []
        self.words_by_page: dict[int, list[Word]] = {}
        for page in pages:
            ordered: list[Word] = []
            for line in page.lines:
                ordered.extend(line.words)
                for seg in line.segments:
                    alpha = sum(1 for w in seg if _ALPHA.search(w.text))
                    self.segments.append(_Segment(page.number, seg, alpha > PROSE_WORDS))
            self.words_by_page[page.number] = ordered


def _evidence(page: int, words: Sequence[Word], score: float) -> Evidence:
    return Evidence(
        page=page, bbox=union(w.bbox for w in words), text=" ".join(w.text for w in words), score=score
    )


def _runs(words: Sequence[Word], max_len: int) -> Iterator[tuple[int, int]]:
    """Spans of consecutive words, shortest first, so evidence is as tight as possible."""
    for size in range(1, max_len + 1):
        for i in range(len(words) - size + 1):
            yield i, i + size


def _find_amount(value: Decimal, index: PageIndex) -> Evidence | None:
    best: Evidence | None = None
    for seg in index.segments:
        if seg.prose:
            continue
        for i, j in _runs(seg.words, 3):
            run = seg.words[i:j]
            text = " ".join(w.text for w in run)
            parsed = parse_amount(text)
            if parsed is None or abs(parsed) != abs(value):
                continue
            score = 1.0 if j - i == 1 else 0.95
            if best is None or score > best.score:
                best = _evidence(seg.page, run, score)
    return best


def _find_date(value: dt.date, index: PageIndex) -> Evidence | None:
    for seg in index.segments:
        for i, j in _runs(seg.words, 4):
            text = " ".join(w.text for w in seg.words[i:j])
            if not any(ch.isdigit() for ch in text):
                continue
            hits = {d for d, _ in find_dates(text)} | {d for d, _ in find_dates(text, dayfirst=False)}
            if value in hits:
                return _evidence(seg.page, seg.words[i:j], 1.0)
    return None


def _find_currency(code: str, index: PageIndex) -> Evidence | None:
    for seg in index.segments:
        for w in seg.words:
            if detect_currency(w.text) == code:
                return _evidence(seg.page, [w], 1.0 if code in w.text.upper() else 0.9)
    return None


def _norm(s: str) -> str:
    return " ".join(normalize_text(s).casefold().replace(",", " ").split()).strip(" .:;-")


def _find_text(value: str, index: PageIndex) -> Evidence | None:
    target = _norm(value)
    if not target:
        return None
    n = len(target.split())
    best: tuple[float, int, list[Word]] | None = None
    for page_no, words in index.words_by_page.items():
        normed = [_norm(w.text) for w in words]
        for size in {max(1, n - 1), n, n + 1}:
            if size > len(words):
                continue
            for i in range(len(words) - size + 1):
                cand = " ".join(t for t in normed[i : i + size] if t)
                if abs(len(cand) - len(target)) > max(4, len(target) // 3):
                    continue
                score = fuzz.ratio(cand, target)
                if best is None or score > best[0]:
                    best = (score, page_no, words[i : i + size])
                    if score == 100:
                        break
    if best is None or best[0] < FUZZY_THRESHOLD:
        return None
    return _evidence(best[1], best[2], best[0] / 100.0)


def _as_decimal(value: Any) -> Decimal | None:
    """A schema value as a number: a Decimal as it is, its JSON form ("1.234") exactly, else parsed."""
    if isinstance(value, Decimal):
        return value
    text = str(value)
    if _PLAIN_DECIMAL.fullmatch(text):
        return Decimal(text)  # the JSON form of Money; parse_amount would read "1.234" as 1234
    return parse_amount(text)


def find_evidence(value: Any, kind: FieldKind, pages: Sequence[Page] | PageIndex) -> Evidence | None:
    """Locate ``value`` (a field value of ``kind``) in the page words; None when it is not there."""
    index = pages if isinstance(pages, PageIndex) else PageIndex(pages)
    if kind is FieldKind.MONEY:
        amount = _as_decimal(value)
        return _find_amount(amount, index) if amount is not None else None
    if kind is FieldKind.DATE:
        d = value if isinstance(value, dt.date) else parse_date(str(value))
        return _find_date(d, index) if d is not None else None
    if kind is FieldKind.CURRENCY:
        return _find_currency(str(value).upper(), index)
    return _find_text(str(value), index)


__all__ = ["FOUND_PRIOR", "UNGROUNDED_CONFIDENCE", "PageIndex", "find_evidence"]
