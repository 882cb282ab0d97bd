"""Score extraction records against gold labels: per-field counts, line-item F1, calibration, speed.

In: predictions ``{key: output-contract record}`` (``readers.read_predictions``) and gold
``{key: GoldDoc}`` (``readers.read_gold``). Out: an ``ExtractionScore`` holding per-document and
per-field results, which the reports render. A gold document without a prediction is scored as
if nothing was predicted (and listed); a prediction without gold is listed and not scored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluation.metrics import (
    FieldStats,
    LineItemScore,
    Outcome,
    ReliabilityBin,
    expected_calibration_error,
    field_kind,
    field_outcome,
    line_item_f1,
    value_anls,
)
from evaluation.readers import GoldBox, GoldDoc, record_fields
from schemas.kinds import FieldKind

_log = logging.getLogger(__name__)

# how bad an outcome is, for ordering the worst cases
_SEVERITY = {Outcome.WRONG: 3, Outcome.FP: 2, Outcome.FN: 1, Outcome.TP: 0, Outcome.TN: 0}


@dataclass
class FieldResult:
    """One labelled field of one document."""

    key: str
    path: str
    gold: Any
    predicted: Any
    outcome: Outcome
    confidence: float | None = None
    evidence: dict[str, Any] | None = None
    anls: float | None = None
    gold_box: GoldBox | None = None

    @property
    def correct(self) -> bool:
        return self.outcome in (Outcome.TP, Outcome.TN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "field": self.path,
            "gold": _jsonable(self.gold),
            "predicted": _jsonable(self.predicted),
            "outcome": self.outcome.value,
            "confidence": self.confidence,
            "anls": None if self.anls is None else round(self.anls, 4),
            "evidence": self.evidence,
        }


@dataclass
class DocResult:
    """All scored fields of one document plus its line-item score and record metadata."""

    key: str
    source: str | None
    status: str
    fields: list[FieldResult] = field(default_factory=list)
    line_items: LineItemScore | None = None
    pages: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    label_format: str = ""
    document: str | None = None

    @property
    def accuracy(self) -> float:
        """Right fields among those present in the gold or the prediction (as ``FieldStats.accuracy``)."""
        present = [f for f in self.fields if f.outcome is not Outcome.TN]
        return sum(f.outcome is Outcome.TP for f in present) / len(present) if present else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "status": self.status,
            "accuracy": round(self.accuracy, 4),
            "fields": [f.to_dict() for f in self.fields],
            "line_items": self.line_items.to_dict() if self.line_items else None,
        }


@dataclass
class ExtractionScore:
    """The whole evaluation: per-field and overall stats, line items, calibration and timings."""

    docs: list[DocResult]
    per_field: dict[str, FieldStats]
    overall: FieldStats
    line_items: LineItemScore
    line_item_docs: int
    ece: float
    reliability: list[ReliabilityBin]
    missing_predictions: list[str]
    unmatched_predictions: list[str]
    timings: dict[str, dict[str, float]]

    def worst_cases(self, n: int = 10) -> list[FieldResult]:
        """Wrong fields first, then false positives, then misses; confident mistakes before unsure ones."""
        bad = [f for d in self.docs for f in d.fields if not f.correct]
        bad.sort(key=lambda f: (-_SEVERITY[f.outcome], -(f.confidence or 0.0), f.key, f.path))
        return bad[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": len(self.docs),
            "overall": self.overall.to_dict(),
            "fields": {k: v.to_dict() for k, v in self.per_field.items()},
            "line_items": {**self.line_items.to_dict(), "documents": self.line_item_docs},
            "calibration": {"ece": round(self.ece, 4), "bins": [b.to_dict() for b in self.reliability]},
            "missing_predictions": self.missing_predictions,
            "unmatched_predictions": self.unmatched_predictions,
            "timings": self.timings,
            "per_document": [d.to_dict() for d in self.docs],
        }


def score_extraction(
    predictions: Mapping[str, Mapping[str, Any]], gold: Mapping[str, GoldDoc], n_bins: int = 10
) -> ExtractionScore:
    """Compare every gold document with the prediction of the same key; see the module docstring."""
    per_field: dict[str, FieldStats] = {}
    overall = FieldStats()
    items_total = LineItemScore()
    item_docs = 0
    docs: list[DocResult] = []
    conf: list[float] = []
    ok: list[bool] = []
    missing = sorted(k for k in gold if k not in predictions)
    unmatched = sorted(k for k in predictions if k not in gold)
    timing_sum: dict[str, float] = {}
    timing_n: dict[str, int] = {}
    for key in sorted(gold):
        g = gold[key]
        rec = predictions.get(key, {})
        pred_fields, pred_items = record_fields(rec)
        confidence = rec.get("confidence") or {}
        evidence = rec.get("evidence") or {}
        doc = DocResult(
            key=key,
            source=rec.get("source"),
            status=str(rec.get("status", "missing")),
            pages=int(rec.get("pages") or 0),
            timings=dict(rec.get("timings") or {}),
            label_format=g.label_format,
            document=g.document,
        )
        for path, gold_value in g.fields.items():
            predicted = pred_fields.get(path)
            outcome = field_outcome(path, predicted, gold_value)
            c = confidence.get(path)
            fr = FieldResult(
                key=key,
                path=path,
                gold=gold_value,
                predicted=predicted,
                outcome=outcome,
                confidence=float(c) if c is not None else None,
                evidence=evidence.get(path),
                gold_box=g.boxes.get(path),
            )
            stats = per_field.setdefault(path, FieldStats())
            stats.add(outcome)
            overall.add(outcome)
            if field_kind(path) is FieldKind.TEXT and gold_value is not None:
                fr.anls = value_anls(predicted, gold_value)
                stats.anls_sum += fr.anls
                stats.anls_n += 1
                overall.anls_sum += fr.anls
                overall.anls_n += 1
            if predicted is not None and fr.confidence is not None:
                conf.append(fr.confidence)
                ok.append(outcome is Outcome.TP)
            doc.fields.append(fr)
        if g.line_items_labelled:
            doc.line_items = line_item_f1(pred_items, g.line_items, g.line_item_fields or None)
            items_total.merge(doc.line_items)
            item_docs += 1
        for stage, secs in doc.timings.items():
            if isinstance(secs, (int, float)):
                timing_sum[stage] = timing_sum.get(stage, 0.0) + float(secs)
                timing_n[stage] = timing_n.get(stage, 0) + 1
        docs.append(doc)
    ece, bins = expected_calibration_error(conf, ok, n_bins)
    timings = {
        s: {
            "total_s": round(timing_sum[s], 4),
            "mean_s": round(timing_sum[s] / timing_n[s], 4),
            "n": timing_n[s],
        }
        for s in sorted(timing_sum)
    }
    if missing:
        _log.warning("%d labelled documents have no prediction: %s", len(missing), ", ".join(missing[:10]))
    return ExtractionScore(
        docs=docs,
        per_field=dict(sorted(per_field.items())),
        overall=overall,
        line_items=items_total,
        line_item_docs=item_docs,
        ece=ece,
        reliability=bins,
        missing_predictions=missing,
        unmatched_predictions=unmatched,
        timings=timings,
    )


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)
