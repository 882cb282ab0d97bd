"""Train the layout engine's table model (column classifier + row segmenter) from labelled documents.

In: training documents, each with ``source``, ``group`` (its layout group), ``pages``
(``list[Page]``, words from the text layer or OCR; never an embedded XML) and ``gold`` (an
Invoice-shaped dict whose ``line_items`` are the truth). Out: a model folder
(``table_columns.txt``, ``table_rows.txt``: LightGBM text; ``table_meta.json``: feature set,
classes, data and cross-validated scores) and the scores.

Labels are derived by matching the page to the truth: a body line whose numbers (amount, unit
price, quantity) and words match a labelled item is that item's anchor; the text lines set next to
it whose words are in the item's description belong to it (begin / inside); other lines are
outside; the line after the document's last item ends the table. A column is named after the
field its cells equal on the anchor lines. Training is deterministic (fixed seed, one thread).

    fit(docs, out_dir, init_dir=None, seed=0) -> dict of cross-validated scores

``docvlm train`` runs it as its ``tables`` component (``TableTrainer``, registered in
``docvlm.training.components``); ``docvlm eval crossval`` holds it out by layout group beside the
header chooser (``docvlm.training.crossval.crossval_tables``).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from docvlm.datamodel import Page
from docvlm.engines.layout.tables.cells import Column, Layout
from docvlm.engines.layout.tables.document import table_lines
from docvlm.engines.layout.tables.features import (
    BEGIN,
    COLUMN_CLASSES,
    COLUMN_FEATURES,
    FEATURE_SET,
    INSIDE,
    NONE,
    OUTSIDE,
    ROW_CLASSES,
    ROW_FEATURES,
    cell_number,
    cells_by_column,
    row_features,
)
from docvlm.engines.layout.tables.header import HeaderCache, label_kind, resolve_columns
from docvlm.engines.layout.tables.learned import column_inputs, regions
from docvlm.engines.layout.tables.model import (
    COLUMNS_FILE,
    META_FILE,
    MODEL_NAME,
    ROWS_FILE,
    TableModel,
    check_meta,
    clear_cache,
)
from docvlm.engines.layout.tables.rows import ITEM, running_furniture
from docvlm.engines.layout.tables.text import fold, word_tokens
from docvlm.engines.layout.tables.vocab import (
    AMOUNT,
    DESCRIPTION,
    OTHER,
    PRODUCT_CODE,
    QUANTITY,
    TAX_RATE,
    UNIT,
    UNIT_PRICE,
    UNKNOWN,
)
from docvlm.errors import DocvlmError
from docvlm.training.data import TrainingDoc
from docvlm.training.header import fold_of
from schemas.invoice import LINE_ITEM_FIELDS

_log = logging.getLogger(__name__)

_CENT = Decimal("0.01")
_NUMERIC_FIELDS = (AMOUNT, UNIT_PRICE, QUANTITY, TAX_RATE)
# the order fields pick their column in, and which column wins a tie (rightmost for the amount)
_FIELD_ORDER = (AMOUNT, DESCRIPTION, QUANTITY, UNIT_PRICE, TAX_RATE, PRODUCT_CODE, UNIT)
_ANCHOR_MIN = 3.0  # an amount (3), or two of unit price / quantity / description (1 + 1 + 2)

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


@dataclass
class Examples:
    """Feature rows and class labels of one document, for both models."""

    col_x: list[list[float]] = field(default_factory=list)
    col_y: list[int] = field(default_factory=list)
    row_x: list[list[float]] = field(default_factory=list)
    row_y: list[int] = field(default_factory=list)


def _get(doc: Any, name: str) -> Any:
    return doc[name] if isinstance(doc, Mapping) else getattr(doc, name)


def gold_items(gold: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The labelled line items of an Invoice-shaped truth (None when it labels none)."""
    items = gold.get("line_items")
    if not isinstance(items, list):
        return None
    return [{k: it.get(k) for k in LINE_ITEM_FIELDS if k in it} for it in items if isinstance(it, Mapping)]


# ---------------------------------------------------------------------------------------------
# Labels from the truth


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip().replace(",", ".")).quantize(_CENT)
    except (InvalidOperation, ValueError):
        return None


def _text_tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[^\W_]+", fold(text)) if len(t) >= 2 or t.isdigit()}


@dataclass
class _Gold:
    numbers: dict[str, Decimal | None]
    desc: set[str]
    code: str | None
    unit: str | None


def _golds(items: Sequence[Mapping[str, Any]]) -> list[_Gold]:
    return [
        _Gold(
            numbers={k: _dec(it.get(k)) for k in _NUMERIC_FIELDS},
            desc=_text_tokens(str(it.get(DESCRIPTION) or "")),
            code=str(it[PRODUCT_CODE]).strip().casefold() if it.get(PRODUCT_CODE) else None,
            unit=str(it[UNIT]).strip().casefold() if it.get(UNIT) else None,
        )
        for it in items
    ]


def _desc_share(text: str, gold: _Gold, digits: bool = False) -> float:
    """Share of the line's words (with ``digits``, its numbers too) that are words of the labelled description."""
    toks = {t for t in _text_tokens(text) if digits or not t.isdigit()}
    if not toks or not gold.desc:
        return 0.0
    return len(toks & gold.desc) / len(toks)


def _cell_values(cells: list[list[Any]]) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    for cs in cells:
        if cs and cs[0].numeric:
            v = cell_number(" ".join(c.text for c in cs))
            out.append(v.quantize(_CENT) if v is not None else None)
        else:
            out.append(None)
    return out


def _anchor_score(values: list[Decimal | None], text: str, gold: _Gold) -> float:
    present = {v for v in values if v is not None}
    score = 0.0
    for name, weight in ((AMOUNT, 3.0), (UNIT_PRICE, 1.0), (QUANTITY, 1.0)):
        g = gold.numbers.get(name)
        if g is not None and g in present:
            score += weight
    toks = {t for t in _text_tokens(text) if not t.isdigit()}
    recall = len(toks & gold.desc) / len(gold.desc) if gold.desc else 0.0
    if _desc_share(text, gold) >= 0.5 or recall >= 0.5:
        score += 2.0
    return score


@dataclass
class _Line:
    region: int
    k: int  # index in the region's body
    cells: list[list[Any]]
    values: list[Decimal | None]
    text: str


def _anchors(lines: list[_Line], golds: list[_Gold]) -> dict[int, int]:
    """Line (index into ``lines``) -> gold item, one to one, by the best total match."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    if not lines or not golds:
        return {}
    score = np.zeros((len(lines), len(golds)))
    for i, ln in enumerate(lines):
        if not any(v is not None for v in ln.values):
            continue
        for j, g in enumerate(golds):
            score[i, j] = _anchor_score(ln.values, ln.text, g)
    rows, cols = linear_sum_assignment(score, maximize=True)
    return {int(i): int(j) for i, j in zip(rows, cols, strict=True) if score[i, j] >= _ANCHOR_MIN}


def _column_labels(
    columns: Sequence[Column], anchored: list[tuple[_Line, _Gold]], labelled: set[str]
) -> list[str | None]:
    """The field each column holds on the anchor lines; None where the truth cannot tell."""
    n = len(columns)
    counts = [dict.fromkeys(_FIELD_ORDER, 0) for _ in range(n)]
    need = dict.fromkeys(_FIELD_ORDER, 0)
    for ln, g in anchored:
        for name in _NUMERIC_FIELDS:
            need[name] += g.numbers.get(name) is not None
        need[DESCRIPTION] += bool(g.desc)
        need[PRODUCT_CODE] += g.code is not None
        need[UNIT] += g.unit is not None
        for i in range(n):
            v = ln.values[i]
            text = " ".join(c.text for c in ln.cells[i]).strip()
            for name in _NUMERIC_FIELDS:
                if v is not None and g.numbers.get(name) == v:
                    counts[i][name] += 1
            if text and v is None and _desc_share(text, g) >= 0.6:
                counts[i][DESCRIPTION] += 1
            if g.code and text and text.casefold() == g.code:
                counts[i][PRODUCT_CODE] += 1
            if g.unit and text and (text.casefold() == g.unit or text.casefold().endswith(" " + g.unit)):
                counts[i][UNIT] += 1
    labels: list[str | None] = [None] * n
    for name in _FIELD_ORDER:
        free = [i for i in range(n) if labels[i] is None and counts[i][name] > 0]
        if not free:
            continue
        best = max(free, key=lambda i: (counts[i][name], i if name == AMOUNT else -i))
        if counts[best][name] >= max(1, 0.5 * need[name]):
            labels[best] = name
    out: list[str | None] = []
    for i, c in enumerate(columns):
        if labels[i] is not None:
            out.append(labels[i])
        elif label_kind(word_tokens(c.label)) in (set(LINE_ITEM_FIELDS) - labelled):
            out.append(None)  # a column of a field the truth does not label: no lesson either way
        else:
            out.append(NONE)
    return out


def _groups(region_lines: list[_Line], anchors: dict[int, int], golds: list[_Gold]) -> dict[int, int]:
    """Line -> gold item: the anchors plus the description lines set next to them."""
    member = dict(anchors)
    for i, j in anchors.items():
        for step in (-1, 1):
            k = i + step
            while 0 <= k < len(region_lines) and k not in member:
                ln = region_lines[k]
                if ln.region != region_lines[i].region or _desc_share(ln.text, golds[j], digits=True) < 0.6:
                    break
                member[k] = j
                k += step
    return member


def doc_examples(pages: Sequence[Page], items: Sequence[Mapping[str, Any]]) -> Examples:
    """Feature rows and labels of one document (labels derived from its truth, see the module doc)."""
    ex = Examples()
    page_lines = [table_lines(p) for p in pages]
    headers = HeaderCache()
    furniture = running_furniture(pages, page_lines)
    regs = regions(pages, page_lines, headers)
    golds = _golds(items)
    labelled = {k for it in items for k in it}
    # the columns each region is read with: its band's, or the last band's for a page that goes on
    cols_of: list[list[Column] | None] = []
    last: list[Column] | None = None
    for r in regs:
        if r.band is not None:
            last = r.band.columns
        cols_of.append(r.band.columns if r.band is not None else last)
    lines: list[_Line] = []
    for ri, (r, cols) in enumerate(zip(regs, cols_of, strict=True)):
        if cols is None:
            continue
        for k, line in enumerate(r.body):
            cells = cells_by_column(line, cols)
            lines.append(_Line(ri, k, cells, _cell_values(cells), line.text))
    anchors = _anchors(lines, golds)
    if not anchors:
        return ex  # the page and the truth do not meet: nothing to learn from this document
    member = _groups(lines, anchors, golds)
    unmatched = len(set(anchors.values())) < len(golds)
    # columns: named after the anchor lines of their band's region
    kinds_of: dict[int, list[str]] = {}
    for ri, (r, cols) in enumerate(zip(regs, cols_of, strict=True)):
        if r.band is None or cols is None:
            continue
        anchored = [(lines[i], golds[j]) for i, j in anchors.items() if lines[i].region == ri]
        feats = column_inputs(r)
        if not anchored:
            # a header band with no labelled item under it (a tax breakdown, a payment table): no item columns
            ex.col_x += feats
            ex.col_y += [COLUMN_CLASSES.index(NONE)] * len(feats)
            continue
        labels = _column_labels(cols, anchored, labelled)
        for f, lab in zip(feats, labels, strict=True):
            if lab is not None:
                ex.col_x.append(f)
                ex.col_y.append(COLUMN_CLASSES.index(lab))
        # the rows learn with the columns named as the truth names them (the rules' name where it cannot tell)
        resolved = resolve_columns(cols, r.body[:8])
        kinds_of[ri] = [
            res.kind if lab is None else (OTHER if lab == NONE else lab)
            for lab, res in zip(labels, resolved, strict=True)
        ]
    # rows: begin / inside / outside, up to where the rules end each table
    index = {(ln.region, ln.k): i for i, ln in enumerate(lines)}
    last_kinds: list[str] | None = None
    for ri, (r, cols) in enumerate(zip(regs, cols_of, strict=True)):
        if cols is None:
            continue
        kinds = kinds_of.get(ri) if r.band is not None else last_kinds
        if r.band is not None:
            last_kinds = kinds
        if kinds is None:
            continue
        named = [
            Column(OTHER if kd == UNKNOWN else kd, c.x0, c.x1, c.label)
            for kd, c in zip(kinds, cols, strict=True)
        ]
        inputs = row_features(
            r.body, Layout(named), r.page.number, r.page.height, headers, furniture, r.band is None
        )
        for k, f in enumerate(inputs.features):
            i = index[(ri, k)]
            j = member.get(i)
            if j is None and unmatched and inputs.rows[k].kind == ITEM:
                continue  # reads as an item, and a labelled item found no line: no lesson either way
            if j is None:
                label = OUTSIDE
            else:
                label = BEGIN if member.get(i - 1) != j or lines[i - 1].region != ri else INSIDE
            ex.row_x.append(f)
            ex.row_y.append(ROW_CLASSES.index(label))
    return ex


def examples_of(doc: Any) -> Examples:
    """``doc_examples`` of a training document, kept in its ``cache`` (when it has one) across fits."""
    cache = getattr(doc, "cache", None)
    if isinstance(cache, dict) and "tables" in cache:
        return cache["tables"]  # type: ignore[no-any-return]
    ex = doc_examples(_get(doc, "pages"), gold_items(_get(doc, "gold")) or [])
    if isinstance(cache, dict):
        cache["tables"] = ex
    return ex


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
    from evaluation.metrics import LineItemScore, line_item_f1

    total = LineItemScore()
    per_doc: dict[str, dict[str, Any]] = {}
    for d in docs:
        gold = gold_items(_get(d, "gold")) or []
        pred = rule_pass(_get(d, "pages"), use_model=model is not None, table_model=model).items
        s = line_item_f1(pred, gold)
        total.merge(s)
        per_doc[str(_get(d, "source"))] = s.to_dict()
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
    ``rules``: also score the table rules alone on the same documents.

    Returns ``groups`` (F1 per held-out group), ``sets`` (summed over the groups of each source: the
    document's ``dataset``, else the part of the group name before "/"), ``line_items`` (summed over every group) and ``cross_validation`` (how); with ``rules``, ``rules`` holds
    the same three for the rules alone.
    """
    exs = examples if examples is not None else {i: examples_of(d) for i, d in enumerate(docs)}
    group = [str(_get(d, "group")) for d in docs]
    groups = sorted(set(group))
    if isinstance(folds, Mapping):
        fold_names = [str(folds[str(_get(d, "source"))]) for d in docs]
        how = "the evaluation's fold plan: whole layout groups"
    elif folds is None:
        fold_names = group
        how = "leave one group out"
    else:
        n = max(2, min(folds, len(groups)))
        fold_names = [str(fold_of(g, n)) for g in group]
        how = f"{len(set(fold_names))} folds by group"
    model_scores = Tally()
    rule_scores = Tally()
    for k in sorted(set(fold_names)):
        held = [i for i in range(len(docs)) if fold_names[i] == k]
        train = merge_examples(exs[i] for i in range(len(docs)) if fold_names[i] != k)
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


def _source_set(doc: Any) -> str:
    """The set a document's scores are summed in: its dataset, else its group's name before "/"."""
    dataset = doc.get("dataset") if isinstance(doc, Mapping) else getattr(doc, "dataset", None)
    return str(dataset or str(_get(doc, "group")).split("/", 1)[0])


class Tally:
    """Line-item scores per held-out group, summed per source and over all groups."""

    def __init__(self) -> None:
        from evaluation.metrics import LineItemScore

        self.groups: dict[str, Any] = {}
        self.sets: dict[str, LineItemScore] = {}
        self.total = LineItemScore()

    def add(self, group: str, s: dict[str, Any], source: str | None = None) -> None:
        """``source``: the set the group belongs to (default: its name before "/")."""
        from evaluation.metrics import LineItemScore

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
    used = [d for d in docs if gold_items(_get(d, "gold")) is not None]
    if not used:
        raise TrainingError("no training document labels line items")
    exs = {i: examples_of(d) for i, d in enumerate(used)}
    n_groups = len({str(_get(d, "group")) for d in used})
    scores = cross_validate(used, seed, init_dir, exs, folds) if n_groups > 1 else {}
    everything = merge_examples(exs.values())
    model = train_model(everything, seed, init_dir)
    scores["fit"] = {k: v for k, v in score_docs(used, model).items() if k != "documents"}
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
            "groups": sorted({str(_get(d, "group")) for d in used}),
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
