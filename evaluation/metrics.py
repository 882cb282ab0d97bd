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

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein

# re-exported: value matching and line-item F1 are the library's (docvlm.labels.values), which trains with them
from docvlm.labels.values import LineItemScore as LineItemScore
from docvlm.labels.values import field_kind as field_kind
from docvlm.labels.values import line_item_f1 as line_item_f1
from docvlm.labels.values import normalize_text_value as normalize_text_value
from docvlm.labels.values import normalize_value as normalize_value
from docvlm.labels.values import values_match as values_match

_log = logging.getLogger(__name__)

ANLS_THRESHOLD = 0.5


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
# Field comparison (``values_match`` and ``normalize_value``: docvlm.labels.values)


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
