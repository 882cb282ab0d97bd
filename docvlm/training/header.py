"""The header component: fits the layout engine's chooser (one LightGBM model per header field).

In: ``TrainingDoc``s. Each document runs through the engine's rules once (``rule_pass``), its
candidate pool is built and featurised (cached on the document), and every proposal of a field's
kind is a row: positive when its value matches the gold value as the evaluation compares them.
Out: in the model folder, ``header_<field>.txt`` (LightGBM text) per field with enough positive
examples, and the meta entry: feature set, per field its file, features, calibration map and
cross-validated scores (the engine's own choice, ``ranker.choose``, scored on documents of groups
the fold did not train on), the rules' accuracy on the same documents, and the candidate recall.

Determinism: LightGBM runs single-threaded with ``deterministic`` and the given seed; folds are
assigned from a hash of the group names, so the same documents give the same model.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from docvlm.engines.layout.candidates.pool import KINDS, RANKED_FIELDS, Pool, build_pool, ranked_fields
from docvlm.engines.layout.features import FEATURE_SET, FEATURE_VERSION, feature_names, kind_matrix
from docvlm.engines.layout.layout_engine import rule_pass
from docvlm.engines.layout.ranker import check_meta, choose
from docvlm.training.calibration import fit_by_type, fit_rule_maps, rule_outcomes
from docvlm.training.data import TrainingDoc, gold_value

_log = logging.getLogger(__name__)

MAX_NEGATIVES = 25  # negatives kept per document and field when training
MIN_USE_DOCS = 3  # held-out documents of a type needed before the model may replace the rules there
# documents more the model must get right than the rules before it replaces them on a type: a win
# of one document out of 25 is noise (it cost three customer names on samples/)
MIN_USE_MARGIN = 2
MIN_POSITIVES = 8  # a field with fewer labelled documents whose value is a candidate keeps the rules
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.15,
    "num_leaves": 15,
    "min_data_in_leaf": 15,
    "feature_fraction": 0.8,
    "lambda_l2": 5.0,
    "max_bin": 63,
    "num_threads": 1,
    "deterministic": True,
    "force_col_wise": True,
    "verbose": -1,
}


@dataclass
class DocFeatures:
    """One document's pool, feature matrices and labels (cached on the ``TrainingDoc``)."""

    pool: Pool
    line_sum: Decimal | None
    table_boxes: dict[int, Any]
    x: dict[str, np.ndarray]  # kind -> matrix
    y: dict[str, np.ndarray]  # field -> 0/1 per proposal of its kind (labelled, non-empty fields only)
    rule: dict[str, bool]  # field -> whether the rules' own value is right


def featurise(doc: TrainingDoc, table_model: str | None = None) -> DocFeatures:
    """The pool, features and labels of one document (computed once, kept in ``doc.cache``); the
    tables are read with the table model of the folder ``table_model`` (None: the package's)."""
    cached = doc.cache.get("header")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from docvlm.labels.values import values_match

    rp = rule_pass(doc.pages, model_dir=table_model)
    pool = build_pool(rp.pls, rp.header, rp.signal.is_receipt, rp.table_boxes)
    x = {kind: kind_matrix(pool, kind, rp.table_boxes, rp.line_sum) for kind in KINDS}
    y: dict[str, np.ndarray] = {}
    rule: dict[str, bool] = {}
    for kind, fields in KINDS.items():
        props = pool.by_kind.get(kind, [])
        for f in fields:
            labelled, value = gold_value(doc.gold, f)
            if not labelled or value is None or (isinstance(value, str) and not value.strip()):
                continue
            y[f] = np.asarray([values_match(f, p.value, value) for p in props], dtype=np.float32)
            rule[f] = values_match(f, rp.header.values.get(f), value)
    feats = DocFeatures(pool, rp.line_sum, rp.table_boxes, x, y, rule)
    doc.cache["header"] = feats
    return feats


def fold_of(group: str, k: int) -> int:
    """A fold index from the group name (stable across runs and machines)."""
    return zlib.crc32(group.encode("utf-8")) % k


def fit_boosters(
    feats: Sequence[DocFeatures], rounds: int, seed: int, init: dict[str, Path] | None = None
) -> dict[str, Any]:
    import lightgbm as lgb

    boosters: dict[str, Any] = {}
    for kind, fields in KINDS.items():
        for f in fields:
            xs, ys = [], []
            for j, d in enumerate(feats):
                if f in d.y and len(d.y[f]):
                    keep = _sample(d.y[f], seed + j)
                    xs.append(d.x[kind][keep])
                    ys.append(d.y[f][keep])
            positives = sum(int(v.max() > 0) for v in ys)
            if positives < MIN_POSITIVES:
                continue
            data = lgb.Dataset(
                np.vstack(xs), label=np.concatenate(ys), feature_name=feature_names(kind), free_raw_data=True
            )
            params = {**PARAMS, "seed": seed}
            start = init.get(f) if init else None
            boosters[f] = lgb.train(
                params, data, num_boost_round=rounds, init_model=str(start) if start else None
            )
    return boosters


def _sample(y: np.ndarray, seed: int) -> np.ndarray:
    """Row indices kept for training: every positive, and at most ``MAX_NEGATIVES`` negatives drawn
    with a fixed seed (a page holds hundreds of candidate names; a few dozen teach as much)."""
    neg = np.flatnonzero(y == 0)
    if len(neg) <= MAX_NEGATIVES:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked = rng.choice(neg, size=MAX_NEGATIVES, replace=False)
    return np.sort(np.concatenate([np.flatnonzero(y > 0), picked]))


def ranked_for(boosters: dict[str, Any], d: DocFeatures) -> set[str]:
    """The fields the boosters decide on this document (the rules keep the others)."""
    return {
        f
        for kind, fields in KINDS.items()
        if d.pool.by_kind.get(kind)
        for f in ranked_fields(fields, d.pool.is_receipt, d.pool.rules)
        if f in boosters
    }


def choices(boosters: dict[str, Any], d: DocFeatures) -> dict[str, tuple[Any, float]]:
    """The engine's choice (``ranker.choose``) per ranked field, with its raw probability."""
    ranked = ranked_for(boosters, d)
    probs: dict[str, np.ndarray] = {}
    for kind, fields in KINDS.items():
        for f in fields:
            if f in ranked:
                probs[f] = np.asarray(boosters[f].predict(d.x[kind], num_threads=1), dtype=np.float64)
    return dict(choose(d.pool, probs, d.line_sum))


def doc_type(d: DocFeatures) -> str:
    return "receipt" if d.pool.is_receipt else "invoice"


def decide_use(rows: Sequence[tuple[str, float, float]]) -> list[str]:
    """The document types on which the model's held-out choice of a field beats the rules':
    ``rows`` are (document type, model right, rules right) for documents where the model ranked it."""
    out: list[str] = []
    for kind in ("invoice", "receipt"):
        mine = [(m, r) for k, m, r in rows if k == kind]
        if len(mine) >= MIN_USE_DOCS and sum(m for m, _ in mine) >= sum(r for _, r in mine) + MIN_USE_MARGIN:
            out.append(kind)
    return out


def _init_files(init_dir: Path | None) -> dict[str, Path]:
    if init_dir is None or not (init_dir / "meta.json").is_file():
        return {}
    meta = json.loads((init_dir / "meta.json").read_text(encoding="utf-8"))
    comp = check_meta(meta, init_dir)  # a model of another feature set cannot be continued
    return {f: init_dir / spec["file"] for f, spec in (comp.get("fields") or {}).items()}


class HeaderTrainer:
    """Fits the header chooser: cross-validated choice scores, calibration, then the final boosters."""

    name = "header"

    def __init__(self, rounds: int = 60, folds: int = 4, progress: bool = False) -> None:
        self.rounds = rounds
        self.folds = folds
        self.progress = progress

    def fit(self, docs: list[TrainingDoc], out_dir: Any, init_dir: Any, seed: int) -> dict[str, Any]:
        """Write the header models into ``out_dir``; returns the meta entry (see the module docstring)."""
        from docvlm.labels.values import values_match

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        init = _init_files(Path(init_dir) if init_dir else None)
        # the tables as the engine will read them with this folder: its table model when one was just trained
        feats = [featurise(d, str(out)) for d in _progress(docs, self.progress, "features")]
        # cross-validation by group: out-of-fold choices give the scores and the calibration
        # (generated documents are in every fold's training and are never held out or scored)
        k = max(2, min(self.folds, len({d.group for d in docs if not d.synthetic})))
        oof: list[dict[str, tuple[str, float]]] = [{} for _ in docs]
        oof_ranked: list[set[str]] = [set() for _ in docs]
        for fold in _progress(range(k), self.progress, "cross-validation"):
            train = [
                f for d, f in zip(docs, feats, strict=True) if d.synthetic or fold_of(d.group, k) != fold
            ]
            boosters = fit_boosters(train, self.rounds, seed, init)
            for i, d in enumerate(docs):
                if not d.synthetic and fold_of(d.group, k) == fold:
                    oof[i] = {f: (p.value, raw) for f, (p, raw) in choices(boosters, feats[i]).items()}
                    oof_ranked[i] = ranked_for(boosters, feats[i])
        boosters = fit_boosters(feats, self.rounds, seed, init)
        fields_meta: dict[str, Any] = {}
        scores: dict[str, Any] = {}
        for f in RANKED_FIELDS:
            labelled = [(i, d.gold) for i, d in enumerate(docs) if f in feats[i].y and not d.synthetic]
            if not labelled:
                continue
            # (type, model right, rules right, raw) where the model ranked the field out of fold
            rows: list[tuple[str, float, float, float]] = []
            for i, g in labelled:
                if f not in oof_ranked[i]:
                    continue
                _, value = gold_value(g, f)
                got = oof[i].get(f)
                right_m = float(got is not None and values_match(f, got[0], value))
                rows.append((doc_type(feats[i]), right_m, float(feats[i].rule[f]), got[1] if got else -1.0))
            use_on = decide_use([(k_, m, r) for k_, m, r, _ in rows])
            right = []
            for i, g in labelled:
                _, value = gold_value(g, f)
                got = oof[i].get(f)
                if f in oof_ranked[i] and doc_type(feats[i]) in use_on:
                    right.append(float(got is not None and values_match(f, got[0], value)))
                else:
                    right.append(float(feats[i].rule[f]))
            recall = sum(float(feats[i].y[f].max() > 0) if len(feats[i].y[f]) else 0.0 for i, _ in labelled)
            rules = sum(float(feats[i].rule[f]) for i, _ in labelled)
            n = len(labelled)
            scores[f] = {
                "n": n,
                "accuracy": round(sum(right) / n, 4),
                "model_used_on": use_on if f in boosters else [],
                "rules_accuracy": round(rules / n, 4),
                "candidate_recall": round(recall / n, 4),
            }
            if f not in boosters:
                continue
            cals = fit_by_type([(k_, raw_p, m) for k_, m, _, raw_p in rows if raw_p >= 0 and k_ in use_on])
            fname = f"header_{f.replace('.', '_')}.txt"
            boosters[f].save_model(str(out / fname))
            fields_meta[f] = {
                "kind": next(kind for kind, fs in KINDS.items() if f in fs),
                "file": fname,
                "features": feature_names(next(kind for kind, fs in KINDS.items() if f in fs)),
                "calibration": cals["all"],
                "calibration_by_type": {k_: c for k_, c in cals.items() if k_ != "all"},
                "use_on": use_on,
                "trees": int(boosters[f].num_trees()),
            }
        rule_maps = fit_rule_maps(
            [
                (doc_type(feats[i]), *o)
                for i, d in enumerate(docs)
                if not d.synthetic
                for o in rule_outcomes(feats[i].pool.rules.values, feats[i].pool.rules.confidence, d.gold)
            ]
        )
        total_n = sum(s["n"] for s in scores.values())
        overall = sum(s["accuracy"] * s["n"] for s in scores.values()) / total_n if total_n else 0.0
        return {
            "feature_set": {"name": FEATURE_SET, "version": FEATURE_VERSION},
            "fields": fields_meta,
            # the fields the rules keep: their confidence mapped to their observed accuracy
            "rules_calibration": rule_maps,
            "scores": {
                "cross_validation": f"{k}-fold by layout group (no group in both training and scoring); "
                "where the model is used (model_used_on) was decided on the same folds",
                "overall_accuracy": round(overall, 4),
                "fields": scores,
            },
            "params": {
                **PARAMS,
                "seed": seed,
                "rounds": self.rounds,
                "continued_from": sorted(init) and str(init_dir),
            },
        }


def _progress(items: Any, enabled: bool, desc: str) -> Any:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, leave=False)
