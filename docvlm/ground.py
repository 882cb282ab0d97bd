"""Ground stage: validated values in, evidence (page, box, printed text, score) and confidence out.

Values an engine already located keep their evidence. Values a generative model produced are
searched for in the page words: amounts and dates by their parsed value, text by fuzzy match.
A value that is not found is flagged ``ungrounded`` and gets a low confidence; this is also the
defence against hallucinations and instructions planted in a document.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from rapidfuzz import fuzz

from docvlm.datamodel import EngineOutput, Evidence, Page, RecordWarning, Word
from docvlm.geometry import union
from docvlm.parsers import detect_currency, find_dates, normalize_text, parse_amount, parse_date
from docvlm.paths import iter_leaves
from schemas.kinds import FieldKind, kind_of

_log = logging.getLogger(__name__)

#: a segment with more alphabetic words than this is prose; amounts inside prose are not field values
PROSE_WORDS = 6
UNGROUNDED_CONFIDENCE = 0.15
RULE_PENALTY = 0.6
FUZZY_THRESHOLD = 80.0

_ALPHA = re.compile(r"[^\W\d_]{2,}")


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


def find_evidence(value: Any, kind: FieldKind, pages: Sequence[Page] | PageIndex) -> Evidence | None:
    """Locate ``value`` (a field value of ``kind``) in the page words; None when it is not there."""
    index = pages if isinstance(pages, PageIndex) else PageIndex(pages)
    if kind is FieldKind.MONEY:
        amount = parse_amount(value if isinstance(value, str) else str(value))
        return _find_amount(amount, index) if amount is not None else None
    if kind is FieldKind.DATE:
        d = value if isinstance(value, dt.date) else parse_date(str(value))
        return _find_date(d, index) if d is not None else None
    if kind is FieldKind.CURRENCY:
        return _find_currency(str(value).upper(), index)
    return _find_text(str(value), index)


def ground(
    record_data: dict[str, Any],
    output: EngineOutput,
    pages: Sequence[Page],
    rule_warnings: Sequence[RecordWarning],
    schema: type[BaseModel],
) -> tuple[dict[str, Evidence], dict[str, float], list[RecordWarning]]:
    """Evidence and confidence for every emitted leaf of ``record_data`` (the validated, JSON-mode data).

    Engine evidence is kept for paths the engine located itself; generated paths and paths
    without evidence are searched on the page. Rule failures lower the confidence of the fields
    they name.
    """
    evidence: dict[str, Evidence] = {}
    confidence: dict[str, float] = {}
    warnings: list[RecordWarning] = []
    index: PageIndex | None = None
    for path, value in iter_leaves(record_data):
        ev = output.evidence.get(path)
        if ev is not None and path not in output.generated:
            evidence[path] = ev
            confidence[path] = output.confidence.get(path, ev.score)
            continue
        if index is None:
            index = PageIndex(pages)
        found = find_evidence(value, kind_of(schema, path), index)
        if found is not None:
            evidence[path] = found
            base = output.confidence.get(path, 0.9)
            confidence[path] = min(base, 0.95) * found.score
        else:
            confidence[path] = UNGROUNDED_CONFIDENCE
            if path in output.generated:
                warnings.append(
                    RecordWarning(
                        "ungrounded", f"{path}={value!r} is not supported by any text on the page", path
                    )
                )
    for w in rule_warnings:
        if w.field and w.field in confidence:
            confidence[w.field] *= RULE_PENALTY
    return evidence, {k: max(0.0, min(1.0, v)) for k, v in confidence.items()}, warnings
