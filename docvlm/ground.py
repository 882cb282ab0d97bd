"""Ground stage: validated values in, evidence (page, box, printed text, score) and confidence out.

Values an engine already located keep their evidence. Values a generative model produced are
searched for in the page words: amounts and dates by their parsed value, text by fuzzy match.
A value that is not found is flagged ``ungrounded`` and gets a low confidence; this is also the
defence against hallucinations and instructions planted in a document. Values that come from
elsewhere than the page (an e-invoice's XML: ``EngineOutput.source``) keep their confidence,
their evidence says where they came from, and each path the output expects on the page
(``EngineOutput.expect_on_page``) that is not found gets the warning it names.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz, process

from docvlm.datamodel import EngineOutput, Evidence, Page, RecordWarning, Word
from docvlm.geometry import union
from docvlm.parsers import detect_currency, find_dates, normalize_text, parse_amount, parse_date
from docvlm.paths import iter_leaves

_log = logging.getLogger(__name__)

NUMERIC_LEAVES = frozenset(
    {"subtotal", "tax_total", "total", "amount_due", "quantity", "unit_price", "amount", "tax_rate"}
)
DATE_LEAVES = frozenset({"invoice_date", "due_date"})
#: identifiers printed in groups ("DE89 3704 0044 ...") or glued to a label ("IBAN:DE89...")
IDENTIFIER_LEAVES = frozenset({"iban", "tax_id", "invoice_number", "purchase_order"})
MAX_ID_WORDS = 9
#: a segment with more alphabetic words than this is prose; amounts inside prose are not field values
PROSE_WORDS = 6
UNGROUNDED_CONFIDENCE = 0.15
RULE_PENALTY = 0.6
FUZZY_THRESHOLD = 80.0

_ALPHA = re.compile(r"[^\W\d_]{2,}")
_NON_ALNUM = re.compile(r"[\W_]+")
_CANONICAL_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")


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


def find_evidence(
    value: Any,
    path: str,
    pages: Sequence[Page] | PageIndex,
    exact_ids: bool = False,
    kind: str | None = None,
) -> Evidence | None:
    """Locate ``value`` (of the field at dotted ``path``) in the page words; None when it is not there.

    Identifiers are matched character for character (spaces and punctuation aside), then, unless
    ``exact_ids``, fuzzily as text: an exact value (an e-invoice's) one digit off is not on the page.
    ``kind`` (``number``, ``date``, ``bool``, ``text``; a user schema's field types) wins over the
    invoice leaf names.
    """
    index = pages if isinstance(pages, PageIndex) else PageIndex(pages)
    leaf = path.rsplit(".", 1)[-1]
    if kind == "bool":
        return None  # a ticked box has no text to find; its reader gives the box
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = Decimal(str(value))
    if kind is not None and kind != "text":
        leaf = {"number": "amount", "date": "invoice_date"}.get(kind, leaf)
    elif kind == "text" and (leaf in NUMERIC_LEAVES or leaf in DATE_LEAVES):
        leaf = "text"
    if leaf in NUMERIC_LEAVES:
        amount = value if isinstance(value, Decimal) else parse_amount(str(value))
        return _find_amount(amount, index) if amount is not None else None
    if leaf in DATE_LEAVES:
        d = value if isinstance(value, dt.date) else parse_date(str(value))
        return _find_date(d, index) if d is not None else None
    if leaf == "currency":
        return _find_currency(str(value).upper(), index)
    text = str(value)
    if leaf in IDENTIFIER_LEAVES or (
        kind == "text" and any(map(str.isdigit, text)) and len(text.split()) <= 3
    ):
        found = _find_identifier(text, index)
        if found is not None or exact_ids:
            return found
    return _find_text(text, index)


def ground(
    record_data: dict[str, Any],
    output: EngineOutput,
    pages: Sequence[Page],
    rule_warnings: Sequence[RecordWarning],
    kinds: Mapping[str, str] | None = None,
) -> tuple[dict[str, Evidence], dict[str, float], list[RecordWarning]]:
    """Evidence and confidence for every emitted leaf of ``record_data`` (the validated, JSON-mode data).

    Engine evidence is kept for paths the engine located itself; generated paths and paths
    without evidence are searched on the page. Rule failures lower the confidence of the fields
    they name. The record's money and numbers are canonical decimal strings ("1.000" is one, not
    a thousand), so they are searched for as such. ``kinds`` (dotted paths without list indexes ->
    ``number``/``date``/``text``/``bool``) says how a user schema's leaves are searched for.
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
        leaf = path.rsplit(".", 1)[-1]
        kind = kinds.get(".".join(p for p in path.split(".") if not p.isdigit())) if kinds else None
        numeric = kind == "number" if kind else leaf in NUMERIC_LEAVES
        if numeric and isinstance(value, str) and _CANONICAL_DECIMAL.fullmatch(value):
            value = Decimal(value)
        found = find_evidence(value, path, index, exact_ids=output.source is not None, kind=kind)
        if output.source is not None:  # values from elsewhere (XML): the page locates them, nothing more
            confidence[path] = output.confidence.get(path, 1.0)
            if found is not None:
                evidence[path] = replace(found, source=output.source)
            elif path in output.expect_on_page:
                warnings.append(
                    RecordWarning(
                        output.expect_on_page[path],
                        f"{path}={value!s} ({output.source}) is not printed on the page",
                        path,
                    )
                )
        elif found is not None:
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
