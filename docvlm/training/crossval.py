"""Leave-one-group-out cross-validation of the trained components (``docvlm eval crossval``).

In: ``TrainingDoc``s of several datasets. For every held-out fold the components are trained on
all other documents (``train_model``, from scratch), the engine's chooser is applied with that
model to the held-out documents (the product path: ``ranker.apply_model`` on the rules' pool),
and the records are kept. Out: one record per document, every one predicted by a model that never
saw its group, plus the fold plan. ``evaluation`` scores them per dataset. The table model is
held out on the same folds (``crossval_tables``: line-item F1 per held-out group, beside the
table rules alone). The header candidates' features read the tables with the package's table
model (as the engine does), which was trained on the shared data: for the header figures, that
is the one part not held out.

Folds: a dataset with at most ``logo_max`` groups holds out one group at a time (leave-one-group-
out); a dataset with more (SROIE by company) is dealt into ``folds`` folds of whole groups.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docvlm.engines.layout.candidates.base import HeaderResult
from docvlm.training.data import TrainingDoc

_log = logging.getLogger(__name__)


@dataclass
class CrossvalResult:
    """Held-out records (keyed by source), the rules-only records, which fold held each document, the
    line-item scores of the table model on the same folds (``docvlm.training.tables.cross_validate``;
    None when no document labels line items); ``model`` holds the held-out model's own choice of
    every field it ranked (where the rules kept a field, for error analysis), as
    {source: {field: (value, raw probability)}}."""

    records: dict[str, dict[str, Any]]
    rules: dict[str, dict[str, Any]]
    folds: dict[str, str]
    model: dict[str, dict[str, tuple[str, float]]] = field(default_factory=dict)
    tables: dict[str, Any] | None = None


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
    are the engine's (``ranker.choose``). Whether the model or the rules decide a field on a type of
    document, and the isotonic map that calibrates the model's raw probabilities, are fitted on the
    held-out choices of the *other* folds (cross-fitting): nothing that scores a fold was tuned on it.
    Generated documents (``TrainingDoc.synthetic``) are in every fold's training, and are never held
    out, scored, or used to decide or calibrate: their records are not made.
    """
    from docvlm.engines.layout.candidates.pool import RANKED_FIELDS
    from docvlm.engines.layout.credit_notes import restate_credit_note
    from docvlm.engines.layout.ranker import Calibration
    from docvlm.labels.values import values_match
    from docvlm.training.calibration import fit_by_type, fit_rule_maps, rule_outcomes
    from docvlm.training.data import gold_value
    from docvlm.training.header import choices, decide_use, doc_type, featurise, fit_boosters, ranked_for

    docs = list(docs)
    plan = fold_plan(docs, logo_max, folds)
    rules: dict[str, dict[str, Any]] = {}
    feats = {}
    for d in _maybe_progress(docs, progress, "features"):
        feats[d.source] = featurise(d)
        pool = feats[d.source].pool
        rules_res = _copy(pool.rules)
        restate_credit_note(pool.pls, rules_res, [], pool.is_receipt)  # as the engine finishes it
        rules[d.source] = _record(d, rules_res)
    chosen: dict[str, dict[str, Any]] = {}
    ranked: dict[str, set[str]] = {}
    real = [d for d in docs if not d.synthetic]
    for fold in _maybe_progress(sorted({plan[d.source] for d in real}), progress, "held-out groups"):
        train = [feats[d.source] for d in docs if d.synthetic or plan[d.source] != fold]
        boosters = fit_boosters(train, rounds, seed)
        for d in real:
            if plan[d.source] == fold:
                chosen[d.source] = choices(boosters, feats[d.source])
                ranked[d.source] = ranked_for(boosters, feats[d.source])
        _log.info("fold %s done", fold)
    # per field: (fold, document type, raw, model right, rules right) where the model ranked it
    rows: dict[str, list[tuple[str, str, float, float, float]]] = {f: [] for f in RANKED_FIELDS}
    for d in real:
        f_ = feats[d.source]
        for f in ranked[d.source]:
            labelled, value = gold_value(d.gold, f)
            if not labelled or value is None:
                continue
            got = chosen[d.source].get(f)
            right = float(got is not None and values_match(f, got[0].value, value))
            raw = got[1] if got is not None else -1.0
            rows[f].append((plan[d.source], doc_type(f_), raw, right, float(f_.rule.get(f, False))))
    # the rules' own confidences, by (fold, document type, field, confidence, right)
    rule_rows = [
        (plan[d.source], doc_type(feats[d.source]), *o)
        for d in real
        for o in rule_outcomes(
            feats[d.source].pool.rules.values, feats[d.source].pool.rules.confidence, d.gold
        )
    ]
    rule_maps: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {}
    records: dict[str, dict[str, Any]] = {}
    fitted: dict[tuple[str, str], tuple[list[str], dict[str, Calibration]]] = {}
    for d in real:
        fold = plan[d.source]
        f_ = feats[d.source]
        res = _copy(f_.pool.rules)
        if fold not in rule_maps:  # the rules' confidences calibrated on the other folds only
            rule_maps[fold] = fit_rule_maps([r[1:] for r in rule_rows if r[0] != fold])
        maps = rule_maps[fold].get(doc_type(f_), {})
        for f in list(res.confidence):
            if f in maps:
                res.confidence[f] = round(Calibration(maps[f]["x"], maps[f]["y"])(res.confidence[f]), 4)
        for f in ranked[d.source]:
            if (f, fold) not in fitted:  # decided and calibrated on the other folds only
                other = [r for r in rows[f] if r[0] != fold]
                use_on = decide_use([(k, m, r) for _, k, _, m, r in other])
                cals = fit_by_type([(k, raw, m) for _, k, raw, m, _ in other if raw >= 0 and k in use_on])
                fitted[(f, fold)] = (use_on, {k: Calibration(c["x"], c["y"]) for k, c in cals.items()})
            use_on, calibrations = fitted[(f, fold)]
            if doc_type(f_) not in use_on:
                continue  # the rules keep this field here
            calibrate = calibrations.get(doc_type(f_), calibrations["all"])
            got = chosen[d.source].get(f)
            if got is None:
                res.drop(f)
                continue
            res.values[f] = got[0].value
            res.evidence[f] = got[0].evidence
            res.confidence[f] = round(calibrate(got[1]), 4)
        restate_credit_note(f_.pool.pls, res, [], f_.pool.is_receipt)
        records[d.source] = _record(d, res)
    model = {src: {f: (p.value, raw) for f, (p, raw) in c.items()} for src, c in chosen.items()}
    return CrossvalResult(records, rules, plan, model, crossval_tables(docs, plan, seed))


def crossval_tables(
    docs: Sequence[TrainingDoc], plan: dict[str, str], seed: int = 0
) -> dict[str, Any] | None:
    """The table model held out on the same folds as the header chooser: per fold, trained on the
    documents of the other folds that label line items, and scored on the fold's (with the table
    rules alone beside it); None when no document labels line items."""
    from docvlm.training.table_labels import gold_items
    from docvlm.training.tables import cross_validate

    labelled = [d for d in docs if gold_items(d.gold) is not None]
    if len({plan[d.source] for d in labelled}) < 2:
        return None
    return cross_validate(
        labelled, seed, None, None, {d.source: plan[d.source] for d in labelled}, rules=True
    )


def _maybe_progress(items: Any, enabled: bool, desc: str) -> Any:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(list(items), desc=desc, leave=False)


def gold_docs(docs: Sequence[TrainingDoc]) -> dict[str, Any]:
    """The documents' gold as evaluation ``GoldDoc``s keyed by source (for ``score_extraction``)."""
    from docvlm.labels.gold import GoldDoc, flatten_invoice

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


def fit_tables(docs: Sequence[TrainingDoc], seed: int = 0) -> dict[str, Any] | None:
    """Line-item scores of a table model trained on all ``docs`` that label line items, per group,
    scored on the same documents (a fit, not a score); None when none labels line items."""
    from docvlm.training.table_labels import examples_of, gold_items
    from docvlm.training.tables import Tally, merge_examples, score_docs, train_model

    labelled = [d for d in docs if gold_items(d.gold) is not None]
    if not labelled:
        return None
    model = train_model(merge_examples(examples_of(d) for d in labelled), seed)
    tally = Tally()
    for g in sorted({d.group for d in labelled}):
        members = [d for d in labelled if d.group == g]
        tally.add(g, score_docs(members, model), members[0].dataset or None)
    return tally.to_dict()


def fit_records(docs: Sequence[TrainingDoc], seed: int = 0, rounds: int = 60) -> dict[str, dict[str, Any]]:
    """Records of boosters trained on all ``docs`` and applied to the same documents (a fit, not a
    score; the confidences are the raw probabilities)."""
    from docvlm.engines.layout.credit_notes import restate_credit_note
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
        restate_credit_note(feats[d.source].pool.pls, res, [], feats[d.source].pool.is_receipt)
        out[d.source] = _record(d, res)
    return out
