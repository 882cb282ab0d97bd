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
import tempfile
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
    """Train on all folds but one, predict the one left out, for every fold."""
    from docvlm.engines.layout.ranker import apply_model, load_model
    from docvlm.training.header import HeaderTrainer, featurise
    from docvlm.training.train import train_model

    docs = list(docs)
    plan = fold_plan(docs, logo_max, folds)
    records: dict[str, dict[str, Any]] = {}
    rules: dict[str, dict[str, Any]] = {}
    for d in docs:
        f = featurise(d)
        rules[d.source] = _record(d, f.pool.rules)
    folds = sorted(set(plan.values()))
    items: Any = folds
    if progress:
        from tqdm import tqdm

        items = tqdm(folds, desc="held-out groups", unit="fold")
    for fold in items:
        train = [d for d in docs if plan[d.source] != fold]
        held = [d for d in docs if plan[d.source] == fold]
        with tempfile.TemporaryDirectory(prefix="docvlm-cv-") as tmp:
            train_model(train, tmp, None, seed, trainers=[HeaderTrainer(rounds=rounds, folds=2)])
            model = load_model(tmp)
            for d in held:
                f = featurise(d)
                res = _copy(f.pool.rules)
                apply_model(model, f.pool, res, f.table_boxes, f.line_sum)
                records[d.source] = _record(d, res)
            load_model.cache_clear()
        _log.info("fold %s: %d held out, %d trained on", fold, len(held), len(train))
    return CrossvalResult(records, rules, plan)


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
    """Records of a model trained on all ``docs`` and applied to the same documents (a fit, not a score)."""
    from docvlm.engines.layout.ranker import apply_model, load_model
    from docvlm.training.header import HeaderTrainer, featurise
    from docvlm.training.train import train_model

    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="docvlm-fit-") as tmp:
        train_model(list(docs), tmp, None, seed, trainers=[HeaderTrainer(rounds=rounds, folds=2)])
        model = load_model(tmp)
        for d in docs:
            f = featurise(d)
            res = _copy(f.pool.rules)
            apply_model(model, f.pool, res, f.table_boxes, f.line_sum)
            out[d.source] = _record(d, res)
        load_model.cache_clear()
    return out
