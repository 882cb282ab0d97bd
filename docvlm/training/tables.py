"""Train the layout engine's table model (column classifier + row segmenter) from labelled documents.

In: training documents, each with ``source``, ``group`` (its layout group), ``pages``
(``list[Page]``, words from the text layer or OCR; never an embedded XML) and ``gold`` (an
Invoice-shaped dict whose ``line_items`` are the truth). Out: a model folder
(``table_columns.txt``, ``table_rows.txt``: LightGBM text; ``table_meta.json``: feature set,
classes, data and cross-validated scores) and the scores.

Labels are derived by matching the page to the truth (``table_labels``). Training is
deterministic (fixed seed, one thread).

    fit(docs, out_dir, init_dir=None, seed=0) -> dict of cross-validated scores

``docvlm train`` runs it as its ``tables`` component (``TableTrainer``, registered in
``docvlm.training.components``); ``docvlm eval crossval`` holds it out by layout group beside the
header chooser (``docvlm.training.crossval.crossval_tables``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from docvlm.engines.layout.tables.features import (
    COLUMN_CLASSES,
    COLUMN_FEATURES,
    FEATURE_SET,
    ROW_CLASSES,
)
from docvlm.engines.layout.tables.line_features import ROW_FEATURES
from docvlm.engines.layout.tables.model import (
    COLUMNS_FILE,
    META_FILE,
    MODEL_NAME,
    ROWS_FILE,
    TableModel,
    check_meta,
    clear_cache,
)
from docvlm.errors import DocvlmError
from docvlm.training.data import TrainingDoc
from docvlm.training.header import fold_of
from docvlm.training.table_labels import Examples, doc_attr, examples_of, gold_items
from schemas.invoice import LINE_ITEM_FIELDS

_log = logging.getLogger(__name__)

PARAMS: dict[str, Any] = {
    "objective": "multiclass",
    "learning_rate": 0.08,
    # random split points (extra trees): on a few hundred examples they carry to unseen layouts far better
    "extra_trees": True,
    "num_leaves": 8,
    "min_data_in_leaf": 3,
    "min_sum_hessian_in_leaf": 1e-3,
    "lambda_l2": 1.0,
    "feature_fraction": 0.8,
    "feature_fraction_seed": 1,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}
ROUNDS = 100  # boosting rounds of the row segmenter
COLUMN_ROUNDS = 30  # of the column classifier (eight classes: eight trees a round)


class TrainingError(DocvlmError):
    """Training data that cannot make a model (no labelled line items, one class only...)."""


# ---------------------------------------------------------------------------------------------
# Fitting


def _weights(y: Sequence[int], n_classes: int) -> list[float]:
    """Rare classes weigh more (square root of the inverse frequency)."""
    counts = [max(1, sum(1 for v in y if v == c)) for c in range(n_classes)]
    total = len(y)
    return [math.sqrt(total / (n_classes * counts[v])) for v in y]


def _lightgbm() -> Any:
    import lightgbm  # a core dependency (the header chooser reads with it too)

    return lightgbm


def _train_rounds(classes: tuple[str, ...]) -> int:
    return COLUMN_ROUNDS if classes == COLUMN_CLASSES else ROUNDS


def _train(
    x: list[list[float]], y: list[int], classes: tuple[str, ...], names: tuple[str, ...], seed: int, init: Any
) -> Any:
    import numpy as np

    lgb = _lightgbm()
    if len(set(y)) < 2:
        raise TrainingError(f"the training data hold one class only ({classes[y[0]] if y else 'none'})")
    params = {
        **PARAMS,
        "num_class": len(classes),
        "seed": seed,
        "bagging_seed": seed,
        "data_random_seed": seed,
    }
    data = lgb.Dataset(
        np.asarray(x, dtype=np.float64),
        label=np.asarray(y),
        weight=np.asarray(_weights(y, len(classes))),
        feature_name=list(names),
        free_raw_data=True,
        params={"verbosity": -1},
    )
    return lgb.train(
        params, data, num_boost_round=_train_rounds(classes), init_model=init, keep_training_booster=False
    )


def _init_boosters(init_dir: str | Path | None) -> tuple[Any, Any]:
    if init_dir is None:
        return None, None
    folder = Path(init_dir)
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        _log.info("no table model in %s to start from; training from scratch", folder)
        return None, None
    check_meta(json.loads(meta_path.read_text(encoding="utf-8")), folder)
    lgb = _lightgbm()
    return lgb.Booster(model_file=str(folder / COLUMNS_FILE)), lgb.Booster(model_file=str(folder / ROWS_FILE))


def merge_examples(exs: Iterable[Examples]) -> Examples:
    out = Examples()
    for e in exs:
        out.col_x += e.col_x
        out.col_y += e.col_y
        out.row_x += e.row_x
        out.row_y += e.row_y
    return out


def train_model(examples: Examples, seed: int = 0, init_dir: str | Path | None = None) -> TableModel:
    """Both boosters trained on ``examples`` (continuing the model in ``init_dir`` when it holds one)."""
    init_cols, init_rows = _init_boosters(init_dir)
    cols = _train(examples.col_x, examples.col_y, COLUMN_CLASSES, COLUMN_FEATURES, seed, init_cols)
    rows = _train(examples.row_x, examples.row_y, ROW_CLASSES, ROW_FEATURES, seed, init_rows)
    return TableModel(Path("."), cols, rows, {})


def score_docs(docs: Sequence[Any], model: TableModel | None) -> dict[str, Any]:
    """Line-item F1 (DocILE-style matching, the project's metric) of ``model`` on ``docs``, overall and
    per doc. The items are the layout engine's (``rule_pass``: the tables read with ``model``, or with
    the table rules alone when it is None; a receipt without a table header gives its item lines)."""
    from docvlm.engines.layout.layout_engine import rule_pass
    from docvlm.labels.values import LineItemScore, line_item_f1

    total = LineItemScore()
    per_doc: dict[str, dict[str, Any]] = {}
    for d in docs:
        gold = gold_items(doc_attr(d, "gold")) or []
        pred = rule_pass(doc_attr(d, "pages"), use_model=model is not None, table_model=model).items
        s = line_item_f1(pred, gold)
        total.merge(s)
        per_doc[str(doc_attr(d, "source"))] = s.to_dict()
    return {**total.to_dict(), "documents": per_doc}


def cross_validate(
    docs: Sequence[Any],
    seed: int = 0,
    init_dir: str | Path | None = None,
    examples: Mapping[int, Examples] | None = None,
    folds: int | Mapping[str, str] | None = None,
    rules: bool = False,
) -> dict[str, Any]:
    """Hold out whole layout groups: train on the others, score the ones left out, for every fold.

    ``folds``: None leaves one group out at a time; a number deals the groups into that many folds (as
    ``docvlm train`` does: ``docvlm.training.header.fold_of``); a mapping names the fold of every
    document by its ``source`` (``docvlm eval crossval``'s plan, the one its header scores use).
    ``rules``: also score the table rules alone on the same documents. Generated documents
    (``synthetic``) are in the training of every fold, and never held out or scored.

    Returns ``groups`` (F1 per held-out group), ``sets`` (summed over the groups of each source: the
    document's ``dataset``, else the part of the group name before "/"), ``line_items`` (summed over every group) and ``cross_validation`` (how); with ``rules``, ``rules`` holds
    the same three for the rules alone.
    """
    exs = examples if examples is not None else {i: examples_of(d) for i, d in enumerate(docs)}
    group = [str(doc_attr(d, "group")) for d in docs]
    groups = sorted(set(group))
    if isinstance(folds, Mapping):
        fold_names = [str(folds[str(doc_attr(d, "source"))]) for d in docs]
        how = "the evaluation's fold plan: whole layout groups"
    elif folds is None:
        fold_names = group
        how = "leave one group out"
    else:
        n = max(2, min(folds, len(groups)))
        fold_names = [str(fold_of(g, n)) for g in group]
        how = f"{len(set(fold_names))} folds by group"
    synthetic = [_synthetic(d) for d in docs]
    model_scores = Tally()
    rule_scores = Tally()
    for k in sorted({f for f, s in zip(fold_names, synthetic, strict=True) if not s}):
        held = [i for i in range(len(docs)) if fold_names[i] == k and not synthetic[i]]
        train = merge_examples(exs[i] for i in range(len(docs)) if synthetic[i] or fold_names[i] != k)
        try:
            model = train_model(train, seed, init_dir)
        except TrainingError as e:
            _log.warning("fold %s: %s; scored with the rules alone", k, e)
            model = None
        for g in sorted({group[i] for i in held}):
            members = [docs[i] for i in held if group[i] == g]
            source = _source_set(members[0])
            model_scores.add(g, score_docs(members, model), source)
            if rules:
                rule_scores.add(g, score_docs(members, None), source)
    out = {**model_scores.to_dict(), "cross_validation": how}
    if rules:
        out["rules"] = rule_scores.to_dict()
    return out


def _synthetic(doc: Any) -> bool:
    """Whether a training document is a generated one (``TrainingDoc.synthetic``; a dict's key)."""
    return bool(doc.get("synthetic") if isinstance(doc, Mapping) else getattr(doc, "synthetic", False))


def _source_set(doc: Any) -> str:
    """The set a document's scores are summed in: its dataset, else its group's name before "/"."""
    dataset = doc.get("dataset") if isinstance(doc, Mapping) else getattr(doc, "dataset", None)
    return str(dataset or str(doc_attr(doc, "group")).split("/", 1)[0])


class Tally:
    """Line-item scores per held-out group, summed per source and over all groups."""

    def __init__(self) -> None:
        from docvlm.labels.values import LineItemScore

        self.groups: dict[str, Any] = {}
        self.sets: dict[str, LineItemScore] = {}
        self.total = LineItemScore()

    def add(self, group: str, s: dict[str, Any], source: str | None = None) -> None:
        """``source``: the set the group belongs to (default: its name before "/")."""
        from docvlm.labels.values import LineItemScore

        self.groups[group] = s
        one = LineItemScore(tp=s["tp"], fp=s["fp"], fn=s["fn"])
        self.sets.setdefault(source or group.split("/", 1)[0], LineItemScore()).merge(one)
        self.total.merge(one)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line_items": self.total.to_dict(),
            "sets": {k: v.to_dict() for k, v in sorted(self.sets.items())},
            "groups": dict(sorted(self.groups.items())),
        }


def fit(
    docs: Sequence[Any],
    out_dir: str | Path,
    init_dir: str | Path | None = None,
    seed: int = 0,
    folds: int | None = None,
) -> dict[str, Any]:
    """Train the table model on ``docs`` and write it to ``out_dir``; returns the cross-validated scores.

    ``docs``: ``docvlm.training.data.TrainingDoc``s (or anything with ``source``, ``group``, ``pages``
    (``list[Page]``) and ``gold``, an Invoice-shaped dict with ``line_items``); documents whose truth
    labels no line items are left out. ``init_dir``: a model folder whose table model to continue
    from (LightGBM ``init_model``; None, or a folder without one: from scratch). ``folds``: None
    leaves one layout group out at a time; a number splits the groups into that many folds.
    The scores: ``line_items`` (tp/fp/fn/precision/recall/f1 over the held-out groups), ``sets``
    (the same per source), ``groups`` (per group), ``cross_validation`` (how), and ``fit`` (train on all, scored on the same documents: a fit, not a held-out figure).
    """
    used = [d for d in docs if gold_items(doc_attr(d, "gold")) is not None]
    if not used:
        raise TrainingError("no training document labels line items")
    exs = {i: examples_of(d) for i, d in enumerate(used)}
    n_groups = len({str(doc_attr(d, "group")) for d in used if not _synthetic(d)})
    scores = cross_validate(used, seed, init_dir, exs, folds) if n_groups > 1 else {}
    everything = merge_examples(exs.values())
    model = train_model(everything, seed, init_dir)
    real = [d for d in used if not _synthetic(d)]
    scores["fit"] = {k: v for k, v in score_docs(real, model).items() if k != "documents"}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model._columns.save_model(str(out / COLUMNS_FILE))
    model._rows.save_model(str(out / ROWS_FILE))
    lgb = _lightgbm()

    meta = {
        "name": MODEL_NAME,
        "feature_set": FEATURE_SET,
        "version": 1,
        "column_features": list(COLUMN_FEATURES),
        "row_features": list(ROW_FEATURES),
        "column_classes": list(COLUMN_CLASSES),
        "row_classes": list(ROW_CLASSES),
        "seed": seed,
        "lightgbm": lgb.__version__,
        "params": {**PARAMS, "rounds": ROUNDS, "column_rounds": COLUMN_ROUNDS},
        "init_from": str(init_dir) if init_dir is not None else None,
        "trained_on": {
            "documents": len(used),
            "groups": sorted({str(doc_attr(d, "group")) for d in used}),
            "column_examples": len(everything.col_y),
            "row_examples": len(everything.row_y),
        },
        "scores": _summary(scores),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    clear_cache()
    return scores


def _summary(scores: Mapping[str, Any]) -> dict[str, Any]:
    """The scores for meta.json: overall and per group, without the per-document detail."""
    out: dict[str, Any] = {}
    if "line_items" in scores:
        out["cross_validated"] = scores["line_items"]
        out["groups"] = {
            g: {k: v for k, v in s.items() if k != "documents"} for g, s in scores["groups"].items()
        }
    if "cross_validation" in scores:
        out["cross_validation"] = scores["cross_validation"]
    if "fit" in scores:
        out["fit"] = scores["fit"]
    return out


class TableTrainer:
    """The table model as a ``docvlm train`` component (``docvlm.training.ComponentTrainer``)."""

    name = "tables"

    def __init__(self, folds: int | None = 4) -> None:
        self.folds = folds

    def fit(self, docs: list[TrainingDoc], out_dir: Any, init_dir: Any, seed: int) -> dict[str, Any]:
        """Write ``table_*`` into ``out_dir`` (continuing ``init_dir``'s table model when it has one);
        returns the meta entry: feature set, fields, files and cross-validated scores."""
        labelled = [d for d in docs if gold_items(d.gold) is not None]
        if not labelled:
            _log.info("no training document labels line items: no table model trained")
            return {"feature_set": FEATURE_SET, "skipped": "no labelled line items"}
        scores = fit(labelled, out_dir, init_dir, seed, self.folds)
        return {
            "feature_set": FEATURE_SET,
            "fields": list(LINE_ITEM_FIELDS),
            "files": [COLUMNS_FILE, ROWS_FILE, META_FILE],
            "documents": len(labelled),
            "scores": _summary(scores),
        }
