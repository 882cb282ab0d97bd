"""Scoring functions, exactly as the benchmarks define them.

- ANLS (DocVQA): per question the best ``1 - NL`` over gold answers, 0 when NL >= tau.
- Field comparison per README "How a field counts as right": money to the cent, dates as calendar
  dates, identifiers exact after trim (VAT/IBAN ignore spacing and case), names and addresses
  normalised (casefold, whitespace collapsed, punctuation stripped at the ends).
- Field accuracy / precision / recall over labelled fields. Accuracy counts only the fields present in
  the gold or the prediction: a field null on both sides (a true negative) is not counted as right,
  so a label set that annotates every field type (DocILE) does not score empty predictions well.
- Line-item F1 after one-to-one maximum bipartite matching on the number of equal fields (DocILE LIR).
- Expected calibration error and reliability-diagram bins.

Inputs are plain values (str, numbers, Decimal, date, None); outputs are floats and small dataclasses.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein
from scipy.optimize import linear_sum_assignment

from docvlm.parsers import parse_amount, parse_date

_log = logging.getLogger(__name__)

ANLS_THRESHOLD = 0.5
_CENT = Decimal("0.01")
# punctuation stripped at the ends of names/addresses: ASCII punctuation plus common typographic marks
_EDGE_PUNCT = string.punctuation + "«»“”‘’„‚·•–—…"


# ---------------------------------------------------------------------------------------------
# ANLS


def normalize_answer(text: str | None) -> str:
    """Lower-case, trim and collapse whitespace, as the official DocVQA script does."""
    if text is None:
        return ""
    return " ".join(str(text).strip().lower().split())


def anls_similarity(prediction: str | None, gold: str | None, threshold: float = ANLS_THRESHOLD) -> float:
    """``1 - NL`` between one prediction and one gold answer, 0 when NL >= ``threshold``.

    NL is the Levenshtein distance divided by the longer length. Both empty -> 1; exactly one
    empty -> 0. The cut is the DocVQA paper's (0 when NL >= tau); the RRC script's
    ``1 - NL < tau`` keeps 0.5 at exactly NL = 0.5, the only case where the two differ.
    """
    a, b = normalize_answer(prediction), normalize_answer(gold)
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    nl = Levenshtein.distance(a, b) / max(len(a), len(b))
    return 0.0 if nl >= threshold else 1.0 - nl


def anls_score(prediction: str | None, answers: Sequence[str], threshold: float = ANLS_THRESHOLD) -> float:
    """ANLS of one question: the best similarity over its gold answers (0 when there are none)."""
    if not answers:
        return 0.0
    return max(anls_similarity(prediction, g, threshold) for g in answers)


def anls(
    predictions: Sequence[str | None], answers: Sequence[Sequence[str]], threshold: float = ANLS_THRESHOLD
) -> float:
    """Mean ANLS over questions; ``predictions[i]`` is scored against ``answers[i]``."""
    if len(predictions) != len(answers):
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} questions")
    if not predictions:
        return 0.0
    return sum(anls_score(p, a, threshold) for p, a in zip(predictions, answers, strict=True)) / len(
        predictions
    )


# ---------------------------------------------------------------------------------------------
# Field comparison


class FieldKind(str, enum.Enum):
    """How a field's values are compared."""

    MONEY = "money"  # numbers, to the cent (amounts, quantities, rates)
    DATE = "date"  # calendar dates
    IDENTIFIER = "identifier"  # exact after trimming
    COMPACT_ID = "compact_id"  # exact after removing all whitespace and case (VAT ids, IBANs)
    CODE = "code"  # short codes compared case-insensitively (currency)
    TEXT = "text"  # names, addresses, descriptions: normalised text, plus ANLS


_KIND_BY_LEAF: dict[str, FieldKind] = {
    "subtotal": FieldKind.MONEY,
    "tax_total": FieldKind.MONEY,
    "total": FieldKind.MONEY,
    "amount_due": FieldKind.MONEY,
    "quantity": FieldKind.MONEY,
    "unit_price": FieldKind.MONEY,
    "amount": FieldKind.MONEY,
    "tax_rate": FieldKind.MONEY,
    "invoice_date": FieldKind.DATE,
    "due_date": FieldKind.DATE,
    "tax_id": FieldKind.COMPACT_ID,
    "iban": FieldKind.COMPACT_ID,
    "currency": FieldKind.CODE,
    "invoice_number": FieldKind.IDENTIFIER,
    "purchase_order": FieldKind.IDENTIFIER,
    "product_code": FieldKind.IDENTIFIER,
    "email": FieldKind.CODE,
    "phone": FieldKind.IDENTIFIER,
    "name": FieldKind.TEXT,
    "address": FieldKind.TEXT,
    "description": FieldKind.TEXT,
    "unit": FieldKind.TEXT,
}


def field_kind(path: str) -> FieldKind:
    """The comparison kind of a dotted field path (``vendor.tax_id``, ``line_items.2.amount``, ``amount``)."""
    leaf = path.rsplit(".", 1)[-1]
    return _KIND_BY_LEAF.get(leaf, FieldKind.TEXT)


def normalize_text_value(text: str) -> str:
    """Casefold, collapse whitespace and strip punctuation at both ends."""
    collapsed = " ".join(text.casefold().split())
    return collapsed.strip(_EDGE_PUNCT + " ")


_PLAIN_DECIMAL = re.compile(r"-?\d+\.\d+")


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            return parse_amount(value)
        except InvalidOperation:
            return None
    text = str(value).strip()
    # records and XML write plain decimals: "5.000" is five, where a locale reading makes it 5000
    if _PLAIN_DECIMAL.fullmatch(text):
        return Decimal(text)
    return parse_amount(text)


def normalize_value(path: str, value: Any) -> Any:
    """Turn a predicted or gold value into the comparable form for its field, or ``None`` when empty.

    Money -> ``Decimal`` rounded to the cent; dates -> ``datetime.date`` (day-first, ISO first);
    identifiers -> trimmed string; VAT/IBAN -> string without whitespace, upper-cased; text ->
    casefolded, whitespace-collapsed string without edge punctuation. A value that cannot be parsed
    for a numeric or date field falls back to its trimmed text, so it can still match exactly.
    """
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    kind = field_kind(path)
    if kind is FieldKind.MONEY:
        num = _to_decimal(value)
        if num is not None:
            return num.quantize(_CENT)
        return str(value).strip()
    if kind is FieldKind.DATE:
        if isinstance(value, (dt.date, dt.datetime)):
            return parse_date(value)
        d = parse_date(str(value))
        return d if d is not None else str(value).strip()
    text = str(value)
    if kind is FieldKind.IDENTIFIER:
        return text.strip()
    if kind is FieldKind.COMPACT_ID:
        return re.sub(r"\s+", "", text).upper()
    if kind is FieldKind.CODE:
        return text.strip().casefold()
    norm = normalize_text_value(text)
    return norm or None


def values_match(path: str, predicted: Any, gold: Any) -> bool:
    """Whether ``predicted`` counts as right for ``gold`` on field ``path``; two empties match."""
    return normalize_value(path, predicted) == normalize_value(path, gold)


def value_anls(predicted: Any, gold: Any, threshold: float = ANLS_THRESHOLD) -> float:
    """ANLS between two field values as text (reported for names and addresses)."""
    p = "" if predicted is None else str(predicted)
    g = "" if gold is None else str(gold)
    return anls_similarity(p, g, threshold)


# ---------------------------------------------------------------------------------------------
# Header fields


class Outcome(str, enum.Enum):
    """Result of one labelled field of one document."""

    TP = "tp"  # gold has a value and the prediction matches it
    TN = "tn"  # gold is labelled empty and nothing was predicted
    FP = "fp"  # gold is labelled empty but a value was predicted
    FN = "fn"  # gold has a value and nothing was predicted
    WRONG = "wrong"  # gold has a value and a different value was predicted (one FP and one FN)


def field_outcome(path: str, predicted: Any, gold: Any) -> Outcome:
    """Classify one labelled field; ``gold is None`` means labelled empty."""
    p, g = normalize_value(path, predicted), normalize_value(path, gold)
    if g is None:
        return Outcome.TN if p is None else Outcome.FP
    if p is None:
        return Outcome.FN
    return Outcome.TP if p == g else Outcome.WRONG


@dataclass
class FieldStats:
    """Counts for one field (or all fields together) over many documents."""

    tp: int = 0
    tn: int = 0
    fp: int = 0
    fn: int = 0
    wrong: int = 0
    anls_sum: float = 0.0
    anls_n: int = 0

    def add(self, outcome: Outcome) -> None:
        if outcome is Outcome.TP:
            self.tp += 1
        elif outcome is Outcome.TN:
            self.tn += 1
        elif outcome is Outcome.FP:
            self.fp += 1
        elif outcome is Outcome.FN:
            self.fn += 1
        else:
            self.wrong += 1

    def merge(self, other: FieldStats) -> None:
        self.tp += other.tp
        self.tn += other.tn
        self.fp += other.fp
        self.fn += other.fn
        self.wrong += other.wrong
        self.anls_sum += other.anls_sum
        self.anls_n += other.anls_n

    @property
    def n(self) -> int:
        """Number of labelled (scored) instances."""
        return self.tp + self.tn + self.fp + self.fn + self.wrong

    @property
    def present(self) -> int:
        """Labelled instances with a value in the gold or the prediction (all but the true negatives)."""
        return self.tp + self.fp + self.fn + self.wrong

    @property
    def accuracy(self) -> float:
        """Right values among the fields present in the gold or the prediction (nulls on both sides left out)."""
        return self.tp / self.present if self.present else 0.0

    @property
    def precision(self) -> float:
        denom = self.tp + self.fp + self.wrong
        return self.tp / denom if denom else 0.0

    @property
    def recall(self) -> float:
        denom = self.tp + self.fn + self.wrong
        return self.tp / denom if denom else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def anls(self) -> float | None:
        return self.anls_sum / self.anls_n if self.anls_n else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "present": self.present,
            "tp": self.tp,
            "tn": self.tn,
            "fp": self.fp,
            "fn": self.fn,
            "wrong": self.wrong,
            "accuracy": round(self.accuracy, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "anls": None if self.anls is None else round(self.anls, 4),
        }


# ---------------------------------------------------------------------------------------------
# Line items


@dataclass
class LineItemScore:
    """Line-item result of one document: field counts and the matched (pred, gold) index pairs."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 1.0

    def merge(self, other: LineItemScore) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _item_prefix(name: str) -> str:
    return f"line_items.{name}"


def line_item_f1(
    predicted: Sequence[Mapping[str, Any]],
    gold: Sequence[Mapping[str, Any]],
    fields: Sequence[str] | None = None,
) -> LineItemScore:
    """Match items one-to-one to maximise the number of equal fields, then count fields.

    Only ``fields`` count; by default, the field names the gold items carry (a gold key with an
    empty value is labelled empty, so a predicted value there is a false positive).
    TP = equal fields of matched pairs (gold non-empty); FP = predicted non-empty fields that are
    not TP; FN = gold non-empty fields that are not TP.
    """
    names = list(fields) if fields is not None else sorted({k for g in gold for k in g})
    pred_n = [{k: normalize_value(_item_prefix(k), p.get(k)) for k in names} for p in predicted]
    gold_n = [{k: normalize_value(_item_prefix(k), g.get(k)) for k in names} for g in gold]
    pred_total = sum(v is not None for p in pred_n for v in p.values())
    gold_total = sum(v is not None for g in gold_n for v in g.values())
    score = LineItemScore()
    if pred_n and gold_n:
        equal = np.zeros((len(pred_n), len(gold_n)), dtype=np.int64)
        for i, p in enumerate(pred_n):
            for j, g in enumerate(gold_n):
                equal[i, j] = sum(1 for k in names if g[k] is not None and p[k] == g[k])
        rows, cols = linear_sum_assignment(equal, maximize=True)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if equal[i, j] > 0:
                score.pairs.append((i, j))
                score.tp += int(equal[i, j])
    score.fp = pred_total - score.tp
    score.fn = gold_total - score.tp
    return score


# ---------------------------------------------------------------------------------------------
# Calibration


@dataclass(frozen=True)
class ReliabilityBin:
    """One equal-width confidence bin: mean confidence, accuracy and count of its samples."""

    lo: float
    hi: float
    confidence: float
    accuracy: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "lo": round(self.lo, 4),
            "hi": round(self.hi, 4),
            "confidence": round(self.confidence, 4),
            "accuracy": round(self.accuracy, 4),
            "count": self.count,
        }


def reliability_bins(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; a confidence of exactly 1.0 goes to the last bin."""
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences for {len(correct)} outcomes")
    sums = [0.0] * n_bins
    hits = [0] * n_bins
    counts = [0] * n_bins
    for c, ok in zip(confidences, correct, strict=True):
        c = min(1.0, max(0.0, float(c)))
        b = min(int(c * n_bins), n_bins - 1)
        sums[b] += c
        hits[b] += int(bool(ok))
        counts[b] += 1
    return [
        ReliabilityBin(
            lo=b / n_bins,
            hi=(b + 1) / n_bins,
            confidence=sums[b] / counts[b] if counts[b] else 0.0,
            accuracy=hits[b] / counts[b] if counts[b] else 0.0,
            count=counts[b],
        )
        for b in range(n_bins)
    ]


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> tuple[float, list[ReliabilityBin]]:
    """ECE = sum over bins of (bin count / N) * |accuracy - mean confidence|, with the bins."""
    bins = reliability_bins(confidences, correct, n_bins)
    total = sum(b.count for b in bins)
    if total == 0:
        return 0.0, bins
    ece = sum(b.count / total * abs(b.accuracy - b.confidence) for b in bins)
    return ece, bins
