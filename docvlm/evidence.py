"""Evidence lookup: where on the pages a value is printed (page, box, printed text, match score).

In: a typed value, its ``FieldKind`` (``schemas.field_kinds``) and the pages of one document.
Out: the ``Evidence`` of the tightest run of page words that prints it, or None. Amounts and
dates are found by value (``Decimal`` and ``date``; never inside prose, so a sentence planted in a
document cannot supply a total), currencies by code or symbol, identifiers (``IDENTIFIER`` and
``COMPACT_ID``) character for character with spaces and punctuation aside, text by fuzzy match.

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

from rapidfuzz import fuzz, process

from docvlm.datamodel import Evidence, Page, Word
from docvlm.geometry import union
from docvlm.parsers import detect_currency, find_dates, normalize_text, parse_amount, parse_date
from schemas.kinds import FieldKind

_log = logging.getLogger(__name__)

#: a segment with more alphabetic words than this is prose; amounts inside prose are not field values
PROSE_WORDS = 6
FUZZY_THRESHOLD = 80.0
#: identifiers are printed in groups ("DE89 3704 0044 ...") or glued to a label ("IBAN:DE89...")
MAX_ID_WORDS = 9
#: kinds matched character for character before (or, with ``exact_ids``, instead of) fuzzy text
_ID_KINDS = frozenset({FieldKind.IDENTIFIER, FieldKind.COMPACT_ID})
#: confidence of a generated value (or answer) that is not found on the page
UNGROUNDED_CONFIDENCE = 0.15
#: confidence prior of a value found on the page that its engine did not rate (times the match score)
FOUND_PRIOR = 0.9

_ALPHA = re.compile(r"[^\W\d_]{2,}")
_PLAIN_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")
_NON_ALNUM = re.compile(r"[\W_]+")


@dataclass
class _Segment:
    page: int
    words: list[Word]
    prose: bool


class PageIndex:
    """Line segments of all pages, built once per document for every lookup.

    The amounts printed on the pages and the normalised words are worked out on first use and
    kept, so that grounding many values (an e-invoice's) reads the page once.
    """

    def __init__(self, pages: Sequence[Page]) -> None:
        self.segments: list[_Segment] = []
        self.words_by_page: dict[int, list[Word]] = {}
        self._amounts: dict[Decimal, list[Evidence]] | None = None
        self._runs: dict[tuple[int, int], list[str]] = {}
        for page in pages:
            ordered: list[Word] = []
            for line in page.lines:
                ordered.extend(line.words)
                for seg in line.segments:
                    alpha = sum(1 for w in seg if _ALPHA.search(w.text))
                    self.segments.append(_Segment(page.number, seg, alpha > PROSE_WORDS))
            self.words_by_page[page.number] = ordered

    def amounts(self) -> dict[Decimal, list[Evidence]]:
        """Every amount printed outside prose (runs of up to 3 words), by magnitude, in page order."""
        if self._amounts is None:
            table: dict[Decimal, list[Evidence]] = {}
            for seg in self.segments:
                if seg.prose:
                    continue
                for i, j in _runs(seg.words, 3):
                    run = seg.words[i:j]
                    parsed = parse_amount(" ".join(w.text for w in run))
                    if parsed is not None:
                        table.setdefault(abs(parsed), []).append(
                            _evidence(seg.page, run, 1.0 if j - i == 1 else 0.95)
                        )
            self._amounts = table
        return self._amounts

    def text_runs(self, page: int, size: int) -> list[str]:
        """The normalised text of every run of ``size`` consecutive words of a page, by start word."""
        key = (page, size)
        if key not in self._runs:
            if (page, 1) not in self._runs:
                self._runs[(page, 1)] = [_norm(w.text) for w in self.words_by_page[page]]
            normed = self._runs[(page, 1)]
            self._runs[key] = [
                " ".join(t for t in normed[i : i + size] if t) for i in range(len(normed) - size + 1)
            ]
        return self._runs[key]


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
    """The first occurrence of the best score: one word before a run of words."""
    found = index.amounts().get(abs(value))
    return max(found, key=lambda ev: ev.score) if found else None


def _find_date(value: dt.date, index: PageIndex) -> Evidence | None:
    for seg in index.segments:
        for i, j in _runs(seg.words, 4):
            text = " ".join(w.text for w in seg.words[i:j])
            if not any(map(str.isdigit, text)):
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


def _compact(s: str) -> str:
    return _NON_ALNUM.sub("", normalize_text(s)).casefold()


def _find_identifier(value: str, index: PageIndex) -> Evidence | None:
    """An identifier whose characters, spaces and punctuation aside, are printed in a run of words.

    A run may carry a label before the value ("IBAN:DE89..."): letters only, nothing else.
    """
    target = _compact(value)
    if not target:
        return None
    best: tuple[int, int, list[Word]] | None = None  # (words in the run, page, run): the tightest wins
    for seg in index.segments:
        parts = [_compact(w.text) for w in seg.words]
        for i in range(len(parts)):
            text = ""
            for j in range(i, min(len(parts), i + MAX_ID_WORDS)):
                text += parts[j]
                if len(text) > len(target) + 12:
                    break  # a longer run from this start only adds characters
                if text == target or (text.endswith(target) and text[: -len(target)].isalpha()):
                    if best is None or j + 1 - i < best[0]:
                        best = (j + 1 - i, seg.page, seg.words[i : j + 1])
                    break
    return _evidence(best[1], best[2], 1.0) if best is not None else None


def _norm(s: str) -> str:
    return " ".join(normalize_text(s).casefold().replace(",", " ").split()).strip(" .:;-")


def _find_text(value: str, index: PageIndex) -> Evidence | None:
    target = _norm(value)
    if not target:
        return None
    n = len(target.split())
    slack = max(4, len(target) // 3)
    # the best-scoring run of n-1..n+1 words of about the target's length; the first one on a tie
    best: tuple[float, tuple[int, int, int], int, list[Word]] | None = None
    for p_order, (page_no, words) in enumerate(index.words_by_page.items()):
        for size in sorted({max(1, n - 1), n, n + 1}):
            if size > len(words):
                continue
            runs = index.text_runs(page_no, size)
            hits = process.extract(target, runs, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD, limit=None)
            for _, score, i in hits:
                if abs(len(runs[i]) - len(target)) > slack:
                    continue
                order = (p_order, size, i)
                if best is None or score > best[0] or (score == best[0] and order < best[1]):
                    best = (score, order, page_no, words[i : i + size])
    if best is None:
        return None
    return _evidence(best[2], best[3], best[0] / 100.0)


def _as_decimal(value: Any) -> Decimal | None:
    """A schema value as a number: a Decimal as it is, its JSON form ("1.234") exactly, else parsed."""
    if isinstance(value, Decimal):
        return value
    text = str(value)
    if _PLAIN_DECIMAL.fullmatch(text):
        return Decimal(text)  # the JSON form of Money; parse_amount would read "1.234" as 1234
    return parse_amount(text)


def find_evidence(
    value: Any, kind: FieldKind, pages: Sequence[Page] | PageIndex, exact_ids: bool = False
) -> Evidence | None:
    """Locate ``value`` (a field value of ``kind``) in the page words; None when it is not there.

    Identifiers are matched character for character (spaces and punctuation aside), then, unless
    ``exact_ids``, fuzzily as text: an exact value (an e-invoice's) one digit off is not on the page.
    """
    if kind is FieldKind.BOOL:
        return None  # a ticked box has no text to find; its reader gives the box
    index = pages if isinstance(pages, PageIndex) else PageIndex(pages)
    if kind is FieldKind.MONEY:
        amount = _as_decimal(value)
        return _find_amount(amount, index) if amount is not None else None
    if kind is FieldKind.DATE:
        d = value if isinstance(value, dt.date) else parse_date(str(value))
        return _find_date(d, index) if d is not None else None
    if kind is FieldKind.CURRENCY:
        return _find_currency(str(value).upper(), index)
    text = str(value)
    if kind in _ID_KINDS or (kind is FieldKind.STRING and _looks_like_code(text)):
        found = _find_identifier(text, index)
        if found is not None or exact_ids:
            return found
    return _find_text(text, index)


def _looks_like_code(text: str) -> bool:
    """A short string with digits ("DN-2024-17"): a user's field that may be a number or code."""
    return any(map(str.isdigit, text)) and len(text.split()) <= 3


__all__ = ["FOUND_PRIOR", "UNGROUNDED_CONFIDENCE", "PageIndex", "find_evidence"]
