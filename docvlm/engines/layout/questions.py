"""Questions to schema fields: which field of the invoice schema a free-text question names.

``map_question`` finds a field phrase of ``lexicon.questions`` in the question (whole words, longest
first), else fuzzy-matches the question's subject against the phrases (typos), else falls back to
weak cues ("how much", "when", "where"). The question word then decides the kind of answer ("Where
is the company?" asks for its address).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from docvlm.engines.layout.lexicon.questions import (
    FIELD_PHRASES,
    HOW_MUCH_WORDS,
    ITEM_COST_WORDS,
    ITEM_UNIT_WORDS,
    STOPWORDS,
    WEAK_CUES,
    WHEN_WORDS,
    WHERE_WORDS,
)
from schemas.invoice import Invoice
from schemas.kinds import FieldKind, kind_of

#: fuzzy score (0-100) a question phrase must reach to count as naming a field
FIELD_MATCH_THRESHOLD = 88.0


def field_kind(field: str) -> FieldKind:
    """The kind of an invoice field named by a question."""
    return kind_of(Invoice, field)


@dataclass(frozen=True)
class FieldMatch:
    """The schema field a question was mapped to, the phrase that named it and the match score (0-1)."""

    field: str
    phrase: str
    score: float


def fold(text: str) -> str:
    """Casefold, strip accents and punctuation (apostrophes included) to single spaces."""
    # possessive 's goes first: "the merchant's address" names the "merchant address"
    t = re.sub(r"['’]s\b", "", text.casefold())
    t = unicodedata.normalize("NFKD", t)
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = re.sub(r"[^\w#]+", " ", t)
    return " ".join(t.split())


FOLDED_PHRASES: list[tuple[str, str]] = sorted(
    {(fold(p), f) for f, phrases in FIELD_PHRASES.items() for p in phrases},
    key=lambda pf: (-len(pf[0]), pf[0]),
)


def question_subject(question: str) -> str:
    """The words of a question that are not function words: the label it names, folded."""
    return " ".join(w for w in fold(question).split() if w not in STOPWORDS)


def map_question(question: str) -> FieldMatch | None:
    """Map a question to the schema field it names, or ``None``.

    A field phrase contained in the question (whole words) wins, longest first; then a fuzzy match
    of the question's subject against the phrases (typos: "totl amount"); then weak cues ("how much",
    "when", "where").
    """
    folded = f" {fold(question)} "
    for phrase, fld in FOLDED_PHRASES:
        if f" {phrase} " in folded:
            return _question_word_kind(folded, FieldMatch(fld, phrase, 1.0))
    subject = question_subject(question)
    if len(subject) >= 3:
        best: FieldMatch | None = None
        for phrase, fld in FOLDED_PHRASES:
            s = fuzz.ratio(subject, phrase)
            if s >= FIELD_MATCH_THRESHOLD and (best is None or s / 100 > best.score):
                best = FieldMatch(fld, phrase, s / 100)
        if best is not None:
            return best
    for cue, fld in WEAK_CUES:
        if f" {cue.strip()} " in folded:
            return FieldMatch(fld, cue.strip(), 0.8)
    return None


def _question_word_kind(folded: str, match: FieldMatch) -> FieldMatch:
    """The question word decides the kind of answer when the named field is of another kind.

    "Where is the company located?" names the company but asks for its address; "How much did
    the customer pay?" names the customer but asks for an amount; "When..." asks for a date.
    """
    if match.field.endswith(".name") and any(w in folded for w in WHERE_WORDS):
        return FieldMatch(match.field.replace(".name", ".address"), match.phrase, match.score)
    if field_kind(match.field) is not FieldKind.MONEY and any(w in folded for w in HOW_MUCH_WORDS):
        return FieldMatch("total", match.phrase, 0.8)
    if field_kind(match.field) is not FieldKind.DATE and any(w in folded for w in WHEN_WORDS):
        return FieldMatch("invoice_date", match.phrase, 0.8)
    return match


def item_subject(question: str) -> str | None:
    """The item a cost question names ("brake cables"), or None when it is not a cost question."""
    folded = f" {fold(question)} "
    costs = any(w in folded for w in HOW_MUCH_WORDS) or any(
        f" {w} " in folded for w in ("cost", "costs", "price", "kosten", "kostet", "prix", "prijs", "precio")
    )
    if not costs:
        return None
    words = [
        w
        for w in folded.split()
        if w not in STOPWORDS and w not in ITEM_COST_WORDS and w not in ITEM_UNIT_WORDS
    ]
    words = [w for w in words if len(w) >= 2 and not w.isdigit()]
    return " ".join(words) or None


__all__ = [
    "FOLDED_PHRASES",
    "FieldMatch",
    "field_kind",
    "fold",
    "item_subject",
    "map_question",
    "question_subject",
]
