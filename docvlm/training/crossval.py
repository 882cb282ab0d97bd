"""Leave-one-group-out cross-validation of the trained components (``docvlm eval crossval``).

In: ``TrainingDoc``s of several datasets. For every held-out fold the components are trained on
all other documents (``train_model``, from scratch), the engine's chooser is applied with that
model to the held-out documents (the product path: ``ranker.apply_model`` on the rules' pool),
and the records are kept. Out: one record per document, every one predicted by a model that never
saw its group, plus the fold plan. ``evaluation`` scores them per dataset.

Folds: a dataset with at most ``logo_max`` groups holds out one group at a time (leave-one-group-
out); a dataset with more (SROIE by company) is dealt into ``folds`` folds of whole groups.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docvlm.engines.layout.candidates.base import HeaderResult
from docvlm.training.data import TrainingDoc

_log = logging.getLogger(__name__)


@dataclass
class CrossvalResult:
    """Held-out records (keyed by source), the rules-only records, and which fold held each document."""

    records: dict[str, dict[str, Any]]
    rules: dict[str, dict[str, Any]]
    folds: dict[str, str]


def fold_plan(docs: Sequence[TrainingDoc], logo_max: int = 30, folds: int = 5) -> dict[str, str]:
    """Fold name per document source: its group, or a bucket of groups in a dataset with many."""

    # a group name shared by several datasets (one shop's receipts in two folders) is one population
    def population(d: TrainingDoc) -> str:
        return d.group.split(":", 1)[0] if ":" in d.group and "/" not in d.group else d.dataset

    by_set: dict[str, set[str]] = {}
    for d in docs:
        by_set.setdefault(population(d), set()).add(d.group)
    plan: dict[str, str] = {}
    for d in docs:
        pop = population(d)
        if len(by_set[pop]) <= logo_max:
            plan[d.source] = d.group
        else:
            plan[d.source] = f"{pop}#fold{zlib.crc32(d.group.encode()) % folds}"
    return plan


def _record(doc: TrainingDoc, res: HeaderResult) -> dict[str, Any]:
    from docvlm.training.data import nest_fields

    return {
        "source": doc.source,
        "status": "ok",
        "data": nest_fields(dict(res.values)),
        "confidence": dict(res.confidence),
    }


def _copy(res: HeaderResult) -> HeaderResult:
    return HeaderResult(
        values=dict(res.values),
        evidence=dict(res.evidence),
        confidence=dict(res.confidence),
        dayfirst=res.dayfirst,
        customer_regions=list(res.customer_regions),
    )


def crossval(
    docs: Sequence[TrainingDoc],
    seed: int = 0,
    logo_max: int = 30,
    folds: int = 5,
    progress: bool = False,
    rounds: int = 60,
) -> CrossvalResult:
    """Train on all folds but one, predict the one left out, for every fold.

    Each fold's model is the header component's boosters fitted on the other folds; its choices
    are the engine's (``ranker.choose``). Confidence: the raw probabilities of a fold's choices are
    calibrated by an isotonic map fitted on the choices of the *other* folds (cross-fitting), so no
    calibration ever sees the documents it is applied to.
    """
    from docvlm.engines.layout.candidates.pool import KINDS, RANKED_FIELDS, ranked_fields
    from docvlm.engines.layout.ranker import Calibration
    from docvlm.training.calibration import fit_isotonic
    from docvlm.training.data import gold_value
    from docvlm.training.header import choices, featurise, fit_boosters
    from evaluation.metrics import values_match

    docs = list(docs)
    plan = fold_plan(docs, logo_max, folds)
    rules: dict[str, dict[str, Any]] = {}
    feats = {}
    for d in _maybe_progress(docs, progress, "features"):
        feats[d.source] = featurise(d)
        rules[d.source] = _record(d, feats[d.source].pool.rules)
    chosen: dict[str, dict[str, Any]] = {}
    ranked: dict[str, set[str]] = {}
    for fold in _maybe_progress(sorted(set(plan.values())), progress, "held-out groups"):
        train = [feats[d.source] for d in docs if plan[d.source] != fold]
        boosters = fit_boosters(train, rounds, seed)
        for d in docs:
            if plan[d.source] == fold:
                f = feats[d.source]
                chosen[d.source] = choices(boosters, f)
                ranked[d.source] = {
                    fld
                    for kind, fields in KINDS.items()
                    if f.pool.by_kind.get(kind)
                    for fld in ranked_fields(fields, f.pool.is_receipt, f.pool.rules)
                    if fld in boosters
                }
        _log.info("fold %s done", fold)
    # (fold, raw, right) per field, for the cross-fitted calibration
    pairs: dict[str, list[tuple[str, float, float]]] = {f: [] for f in RANKED_FIELDS}
    for d in docs:
        for f, (prop, raw) in chosen[d.source].items():
            labelled, value = gold_value(d.gold, f)
            if labelled and value is not None:
                pairs[f].append((plan[d.source], raw, float(values_match(f, prop.value, value))))
    records: dict[str, dict[str, Any]] = {}
    maps: dict[tuple[str, str], Calibration] = {}
    for d in docs:
        fold = plan[d.source]
        res = _copy(feats[d.source].pool.rules)
        for f, (prop, raw) in chosen[d.source].items():
            if (f, fold) not in maps:
                other = [(r, c) for k, r, c in pairs[f] if k != fold]
                cal = fit_isotonic([r for r, _ in other], [c for _, c in other])
                maps[(f, fold)] = Calibration(cal["x"], cal["y"])
            res.values[f] = prop.value
            res.evidence[f] = prop.evidence
            res.confidence[f] = round(maps[(f, fold)](raw), 4)
        for f in ranked[d.source] - set(chosen[d.source]):
            res.drop(f)  # the model ranks this field here and chose nothing (as ``apply_model``)
        records[d.source] = _record(d, res)
    return CrossvalResult(records, rules, plan)


def _maybe_progress(items: Any, enabled: bool, desc: str) -> Any:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(list(items), desc=desc, leave=False)


def gold_docs(docs: Sequence[TrainingDoc]) -> dict[str, Any]:
    """The documents' gold as evaluation ``GoldDoc``s keyed by source (for ``score_extraction``)."""
    from evaluation.readers import GoldDoc, flatten_invoice

    out: dict[str, Any] = {}
    for d in docs:
        fields, _ = flatten_invoice(d.gold)
        out[d.source] = GoldDoc(key=d.source, fields=fields, label_format=d.dataset, document=d.source)
    return out


def write_records(path: Path, records: dict[str, dict[str, Any]]) -> None:
    import json

    with path.open("w", encoding="utf-8") as fh:
        for rec in records.values():
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def fit_records(docs: Sequence[TrainingDoc], seed: int = 0, rounds: int = 60) -> dict[str, dict[str, Any]]:
    """Records of boosters trained on all ``docs`` and applied to the same documents (a fit, not a
    score; the confidences are the raw probabilities)."""
    from docvlm.training.header import choices, featurise, fit_boosters

    feats = {d.source: featurise(d) for d in docs}
    boosters = fit_boosters(list(feats.values()), rounds, seed)
    out: dict[str, dict[str, Any]] = {}
    for d in docs:
        res = _copy(feats[d.source].pool.rules)
        for f, (prop, raw) in choices(boosters, feats[d.source]).items():
            res.values[f] = prop.value
            res.evidence[f] = prop.evidence
            res.confidence[f] = round(raw, 4)
        out[d.source] = _record(d, res)
    return out
