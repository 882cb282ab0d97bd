"""The layout engine's question answering: DocVQA-style answers read off the page words.

In: the pages of one document (words with boxes), a free-text question in English, German,
French, Dutch or Spanish, and the engine whose extraction answers questions that name a schema
field. Out: a ``schemas.docvqa.Answer`` with the answer text as printed on the page, its 1-based
page, box and a confidence; or a null answer when nothing on the page supports one (no
guessing).

Two routes:
1. The question names a schema field ("What is the total?", "Wie hoch ist der Gesamtbetrag?",
   ``questions.map_question``): the engine extracts the document and the field's evidence text is
   answered, trimmed to the printed value span (a date as printed, an amount without currency).
   Nothing is cached: each such question runs the extraction (milliseconds for the layout engine).
2. Otherwise a key-value lookup: the label the question names is found on the page by fuzzy
   matching, and its value is read by geometry (right of the label on its line, or below it).

A question about one line item ("How much did the brake cables cost?") is answered from that item
or not at all, never from a header total.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from docvlm.datamodel import Evidence, Page, Word
from docvlm.engines.base import BaseEngine
from docvlm.engines.layout.lexicon.questions import ITEM_UNIT_WORDS, WEAK_CUES
from docvlm.engines.layout.questions import (
    FOLDED_PHRASES,
    FieldMatch,
    field_kind,
    fold,
    item_subject,
    map_question,
    question_subject,
)
from docvlm.evidence import find_evidence
from docvlm.geometry import Line, union
from docvlm.parsers import MONTHS, find_amounts, find_dates, parse_amount, parse_date
from docvlm.paths import get_path
from schemas.docvqa import Answer
from schemas.invoice import Invoice
from schemas.kinds import FieldKind

_log = logging.getLogger(__name__)

#: fuzzy score (0-100) a label on the page must reach to count as the one the question names
LABEL_MATCH_THRESHOLD = 84.0

MONTH_WORDS = frozenset(MONTHS)
_DATE_SHAPE = re.compile(r"(?<!\d)\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?!\d)")


def _strip_currency(raw: str) -> str:
    """The printed amount word: a currency written apart is dropped, one glued to the number is kept.

    'RM 9.00' -> '9.00', '12.50 EUR' -> '12.50', but '$8.20' -> '$8.20' (DocVQA answers are
    printed words, and the symbol is part of that word).
    """
    t = re.sub(r"^[^\d\s\-(+]+\s+(?=[\d\-(+])", "", raw.strip())
    return re.sub(r"(?<=[\d)\-])\s+[^\d\s]+$", "", t).strip()


def printed_span(field: str, text: str, value: object = None) -> str:
    """The printed value inside an evidence text: the date or amount span for those fields.

    ``value`` (the engine's parsed value) picks the right span when the text holds several.
    """
    if field_kind(field) is FieldKind.DATE or field.endswith("_date"):
        dates = find_dates(text)
        target = parse_date(value) if isinstance(value, str) else None
        for d, raw in dates:
            if target is None or d == target:
                return raw
        return dates[0][1] if dates else text.strip()
    if field_kind(field) is FieldKind.MONEY:
        amounts = find_amounts(text)
        target_amt = parse_amount(value) if isinstance(value, (str, int, float)) else None
        for amt, raw in amounts:
            if target_amt is None or amt == target_amt:
                return _strip_currency(raw)
        return _strip_currency(amounts[-1][1]) if amounts else _strip_currency(text)
    printed = " ".join(text.split())
    if isinstance(value, str) and value.strip():
        # evidence that also holds its label ("client: FR124...") is cut to the value as printed
        wanted = " ".join(value.split())
        at = printed.casefold().find(wanted.casefold())
        if at >= 0:
            return printed[at : at + len(wanted)]
    return printed


def _answer_from_evidence(field: str, ev: Evidence, value: object, confidence: float) -> Answer:
    text = printed_span(field, ev.text, value)
    return Answer(
        answer=text[:500],
        page=ev.page,
        bbox=[round(v, 2) for v in ev.bbox],
        confidence=round(max(0.0, min(1.0, confidence)), 4),
        field=field,
    )


def _answer_field(engine: BaseEngine, pages: Sequence[Page], match: FieldMatch) -> Answer | None:
    output = engine.extract(pages, Invoice)
    value = get_path(output.data, match.field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    ev = output.evidence.get(match.field)
    if ev is None:
        # the engine gave a value without a box: it is answerable only if it can be found on the page
        ev = find_evidence(value, field_kind(match.field), pages)
        if ev is None:
            _log.info("value for %s is not on the page; not answering", match.field)
            return None
    if not _plausible(match.field, ev.text):
        _log.info("evidence %r does not look like a %s; not answering from it", ev.text, match.field)
        return None
    conf = output.confidence.get(match.field, ev.score) * match.score
    return _answer_from_evidence(match.field, ev, value, conf)


def _plausible(field: str, text: str) -> bool:
    """A name or address must hold words beyond a date, time or amount ("05 Mar 2018 18:24" is not one)."""
    if not (field.endswith(".name") or field.endswith(".address")):
        return True
    rest = text
    for _, raw in find_dates(text):
        rest = rest.replace(raw, " ")
    words = [w for w in re.findall(r"[^\W\d_]{2,}", rest) if w.casefold() not in MONTH_WORDS]
    return len(words) >= 1


# ---------------------------------------------------------------------------------------------
# The key-value route


@dataclass
class _Label:
    page: int
    line_index: int
    words: list[Word]
    score: float


def _find_label(lines_by_page: dict[int, list[Line]], phrases: Sequence[str]) -> _Label | None:
    """The best fuzzy match of any phrase among runs of consecutive words at the same line."""
    best: _Label | None = None
    for phrase in phrases:
        target = fold(phrase)
        if len(target) < 2:
            continue
        n_words = len(target.split())
        for page, lines in lines_by_page.items():
            for li, line in enumerate(lines):
                ws = line.words
                for i in range(len(ws)):
                    for j in range(i + 1, min(len(ws), i + n_words + 2) + 1):
                        cand = fold(" ".join(w.text for w in ws[i:j]))
                        if not cand:
                            continue
                        s = fuzz.ratio(cand, target)
                        # short labels must match exactly: "tel" must not match "tea"
                        if len(target) <= 4 and cand != target:
                            continue
                        if s >= LABEL_MATCH_THRESHOLD and (best is None or s / 100 > best.score):
                            best = _Label(page, li, ws[i:j], s / 100)
    return best


def _value_near(label: _Label, lines: list[Line], question_words: frozenset[str]) -> list[Word] | None:
    """Value words right of the label on its line, else the first line below that overlaps it.

    Words right of the label that the question itself uses ("Served by" for "served by?") are
    still part of the label, not the value.
    """
    line = lines[label.line_index]
    right = [w for w in line.words if w.x0 >= label.words[-1].x1 - 1 and w not in label.words]
    right = [w for w in right if fold(w.text)]  # drop lone ':' and the like
    label_words = list(label.words)
    while right and fold(right[0].text) in question_words:
        label_words.append(right.pop(0))
    if right:
        return right
    lb = union(w.bbox for w in label_words)
    for below in lines[label.line_index + 1 : label.line_index + 3]:
        # the value under a label starts within the label's horizontal span
        ws = [w for w in below.words if w.x1 >= lb[0] and w.x0 <= lb[2]]
        if ws:
            # take the whole run of words that starts there, up to the next wide gap
            first = below.words.index(ws[0])
            run = [below.words[first]]
            for prev, w in zip(below.words[first:], below.words[first + 1 :], strict=False):
                if w.x0 - prev.x1 > 1.6 * max(prev.height, 1.0):
                    break
                run.append(w)
            return run
    return None


def _answer_by_label(
    pages: Sequence[Page], phrases: Sequence[str], field: str | None, question: str
) -> Answer | None:
    lines_by_page = {p.number: p.lines for p in pages if p.words}
    label = _find_label(lines_by_page, phrases)
    if label is None:
        return None
    words = _value_near(label, lines_by_page[label.page], frozenset(fold(question).split()))
    if not words:
        return None
    text = " ".join(w.text for w in words).lstrip(":#-– ").strip()
    typed = 1.0
    if field is not None:
        # a typed field needs a value of its type next to the label, else it is not the answer
        if field_kind(field) is FieldKind.DATE and not find_dates(text):
            # OCR may cut a date short ("20/03/201"); the date-shaped token is still what is printed
            m = _DATE_SHAPE.search(text)
            if m is None:
                return None
            text, typed = m.group(0), 0.6
        elif field_kind(field) is FieldKind.MONEY and not find_amounts(text):
            return None
        else:
            text = printed_span(field, text)
    if not text:
        return None
    ocr_conf = typed * sum(w.conf for w in words) / len(words)
    return Answer(
        answer=text[:500],
        page=label.page,
        bbox=[round(v, 2) for v in union(w.bbox for w in words)],
        confidence=round(0.7 * label.score * ocr_conf, 4),
        field=field,
    )


def _only_date(pages: Sequence[Page]) -> Answer | None:
    """The document's date when exactly one distinct date is printed on it (unlabelled receipt dates)."""
    found: dict[object, tuple[int, list[Word], str]] = {}
    for page in pages:
        for line in page.lines:
            for d, raw in find_dates(line.text):
                words = [w for w in line.words if w.text in raw or raw in w.text] or line.words
                found.setdefault(d, (page.number, words, raw))
    if len(found) != 1:
        return None
    page_no, words, raw = next(iter(found.values()))
    return Answer(
        answer=raw[:500],
        page=page_no,
        bbox=[round(v, 2) for v in union(w.bbox for w in words)],
        confidence=0.5,
        field="invoice_date",
    )


# ---------------------------------------------------------------------------------------------
# Public API


def answer_question(pages: Sequence[Page], question: str, engine: BaseEngine) -> Answer:
    """Answer ``question`` about one document's ``pages``; a null answer when nothing supports one.

    ``engine`` runs the extraction for questions that name a schema field or a line item (the layout
    engine passes itself). The answer is the printed span, with its page, box and a confidence in
    [0, 1]. A question about one line item is answered from that item or not at all, never from the
    total; any other question that names no field goes to the key-value reader.
    """
    if not question or not question.strip():
        return Answer()
    if not any(p.words for p in pages):
        _log.info("no words on the pages; cannot answer %r", question)
        return Answer()
    match = map_question(question)
    # a question that names no field but a cost ("how much", "cost") may name a line item
    item = item_subject(question) if match is None or match.phrase in _WEAK_CUE_WORDS else None
    if item:
        return _answer_item(engine, pages, item, question)
    if match is not None:
        ans = _answer_field(engine, pages, match)
        if ans is not None:
            return ans
        phrases = [p for p, f in FOLDED_PHRASES if f == match.field]
        ans = _answer_by_label(pages, phrases, match.field, question)
        if ans is not None:
            return ans
        if match.field == "invoice_date":
            ans = _only_date(pages)
            if ans is not None:
                return ans
        _log.info("question %r maps to %s, which is not on the page", question, match.field)
        return Answer(field=match.field)
    subject = question_subject(question)
    if len(subject) < 3:
        return Answer()
    ans = _answer_by_pair(pages, subject) or _answer_by_label(pages, [subject], None, question)
    return ans if ans is not None else Answer()


# ---------------------------------------------------------------------------------------------
# Line items and key-value pairs

_WEAK_CUE_WORDS = frozenset(cue.strip() for cue, _ in WEAK_CUES)
#: fuzzy score (0-100, token set) an item description must reach to be the item a question names
ITEM_MATCH_THRESHOLD = 80.0
#: the confidence of "no such item": the question was understood, nothing on the page answers it
NO_ITEM_CONFIDENCE = 0.05


def _answer_item(engine: BaseEngine, pages: Sequence[Page], subject: str, question: str) -> Answer:
    """The amount of the line item the question names, or a null answer; never a header total."""
    output = engine.extract(pages, Invoice)
    unit = any(f" {w} " in f" {fold(question)} " for w in ITEM_UNIT_WORDS)
    best: tuple[float, int] | None = None
    for i, row in enumerate(output.data.get("line_items") or []):
        desc = row.get("description") if isinstance(row, dict) else None
        if not desc:
            continue
        score = fuzz.token_set_ratio(subject, fold(desc))
        if score >= ITEM_MATCH_THRESHOLD and (best is None or score > best[0]):
            best = (score, i)
    if best is not None:
        row = output.data["line_items"][best[1]]
        one = str(row.get("quantity") or "1").strip() in ("1", "1.0", "1.00")
        # the unit price answers "what did it cost" only for a single unit
        leaves = ("unit_price", "amount") if unit else ("amount", "unit_price") if one else ("amount",)
        for leaf in leaves:
            path = f"line_items.{best[1]}.{leaf}"
            ev = output.evidence.get(path)
            value = get_path(output.data, path)
            if ev is not None and value is not None:
                conf = output.confidence.get(path, ev.score) * best[0] / 100
                found = _answer_from_evidence("total", ev, value, conf)
                return found.model_copy(update={"field": path})
    by_pair = _answer_by_pair(pages, subject, money=True)
    if by_pair is not None:
        return by_pair
    _log.info("no line item matches %r; not answering from the totals", subject)
    return Answer(confidence=NO_ITEM_CONFIDENCE, field="line_items")


def _answer_by_pair(pages: Sequence[Page], subject: str, money: bool = False) -> Answer | None:
    """The value of the key-value pair whose label the question names (``layout.kv``)."""
    from docvlm.engines.layout.kv import KeyValue, read_pairs

    best: tuple[float, KeyValue] | None = None
    for kv in read_pairs(pages):
        score = fuzz.ratio(subject, fold(kv.label))
        if score >= LABEL_MATCH_THRESHOLD and (best is None or score > best[0]):
            best = (score, kv)
    if best is None:
        return None
    score, kv = best
    box = kv.value_box
    if kv.value is None or box is None:
        return Answer(confidence=NO_ITEM_CONFIDENCE, page=kv.page)  # the field is printed, empty
    if money and not find_amounts(kv.value):
        return None
    return Answer(
        answer=kv.value[:500],
        page=kv.page,
        bbox=[round(v, 2) for v in box],
        confidence=round(kv.confidence * score / 100, 4),
    )


__all__ = ["answer_question", "printed_span"]
