"""The chooser: a trained model scores every candidate value, and the best one of each field wins.

In: a ``Pool`` (proposals by kind), its feature matrices, and a ``HeaderModel`` (a model folder:
``meta.json`` plus one LightGBM text model per field, and the calibration maps). Out: the
``HeaderResult`` with every ranked field set to the chosen proposal, its evidence, and a
confidence that is the calibrated probability that the choice is right. A field the model has no
booster for, or whose cross-validated choice did not beat the rules' on this type of document
(``use_on`` in the model's meta), keeps the rules' value.

Amounts are chosen jointly: the best few candidates of subtotal, tax, total and amount due are
combined, and the business rules (subtotal + tax = total, the line items add up to the subtotal,
no part larger than the total) are soft constraints that add to or take from the combination's
log-probability. Names: the seller and the buyer are never the same printed block.

The model folder is read lazily on first use and cached per path. LightGBM trains the models, but
predicting needs only numpy (``gbdt.TextModel`` reads LightGBM's text format), so a process that
extracts never imports LightGBM (about 2 s of imports).
A folder whose feature set differs from ``features.FEATURE_SET``/``FEATURE_VERSION`` refuses to load.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from docvlm.engines.layout.candidates.base import HeaderResult
from docvlm.engines.layout.candidates.pool import KINDS, Pool, Proposal, ranked_fields
from docvlm.engines.layout.features import FEATURE_SET, FEATURE_VERSION, feature_names, kind_matrix
from docvlm.engines.layout.gbdt import TextModel
from docvlm.errors import EngineError

_log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
META = "meta.json"
_CENT = Decimal("0.01")
_ROUNDING = Decimal("0.10")  # a total rounded to 5 or 10 cents may sit a little under the subtotal
_TOP = 4  # candidates per amount field combined in the joint choice
_RULE_BONUS = 2.0  # log-odds taken from a combination that breaks a business rule
_SUM_MATCH = 3.0  # log-odds added when subtotal + tax = total (exactly, to the cent)
_SUM_BONUS = 1.0  # log-odds added when the line items add up to the subtotal (or the total)
_EPS = 1e-4
# The identifier and date fields whose rule value, read beside or under a label of the field, the
# model does not overwrite with another value; amounts are chosen jointly with the business rules
_KEYED = frozenset({"invoice_number", "invoice_date", "due_date", "purchase_order"})
# a rule score this high is a value read at one of the field's strong labels ("Date d'échéance :",
# "fällig am"): 0.55 + 0.35 x strength 1.0 in ``candidates.keyed``, less the nearest-position bonus
_STRONG_RULE = 0.9
# the least raw probability of a chosen identifier, date or name (the amounts' joint choice has its own
# empty option): below it the calibration, fit on choices that were nearly all right, would still
# map the choice to a high confidence
_MIN_CHOICE = 0.5


class ModelError(EngineError):
    """A model folder is missing, unreadable or was trained on another feature set."""


@dataclass
class Calibration:
    """A monotone map from the model's raw probability to the observed share of right choices."""

    x: list[float]
    y: list[float]

    def __call__(self, p: float) -> float:
        if not self.x:
            return p
        return float(np.interp(p, self.x, self.y))


@dataclass
class HeaderModel:
    """One model folder's header component: a booster per field, calibration per field."""

    path: Path
    meta: dict[str, Any]
    boosters: dict[str, TextModel] = field(default_factory=dict)
    calibration: dict[str, Calibration] = field(default_factory=dict)
    # per (document type, field): the calibration of that type's held-out choices, where the meta has one
    type_calibration: dict[tuple[str, str], Calibration] = field(default_factory=dict)
    # per field, the document types ("invoice", "receipt") where the model beat the rules held out
    use_on: dict[str, frozenset[str]] = field(default_factory=dict)
    # per (document type, field) the rules keep: their confidence mapped to their held-out accuracy
    rules_calibration: dict[tuple[str, str], Calibration] = field(default_factory=dict)

    def fields(self) -> list[str]:
        return sorted(self.boosters)

    def kinds_for(self, is_receipt: bool, rules: HeaderResult) -> set[str]:
        """The candidate kinds this model decides a field of on such a document (others need no pool)."""
        doc = "receipt" if is_receipt else "invoice"
        return {
            kind
            for kind, fields in KINDS.items()
            for f in ranked_fields(fields, is_receipt, rules)
            if f in self.boosters and doc in self.use_on.get(f, frozenset())
        }

    def predict(self, fld: str, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return np.zeros(0)
        return self.boosters[fld].predict(x)


def check_meta(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """The header component's meta, or a ``ModelError`` saying why this folder cannot be used."""
    comp = (meta.get("components") or {}).get("header")
    if comp is None:
        raise ModelError(f"{path}: no header component in {META}")
    fs = comp.get("feature_set", {})
    if fs.get("name") != FEATURE_SET or fs.get("version") != FEATURE_VERSION:
        raise ModelError(
            f"{path}: trained on feature set {fs.get('name')!r} v{fs.get('version')}, this docvlm computes "
            f"{FEATURE_SET!r} v{FEATURE_VERSION}; retrain it with `docvlm train` (see the README)"
        )
    return dict(comp)


@functools.lru_cache(maxsize=8)
def load_model(path: str | None = None) -> HeaderModel:
    """Read a model folder (None: the package's default model). Raises ``ModelError``."""
    root = Path(path) if path else DEFAULT_MODEL_DIR
    meta_path = root / META
    if not meta_path.is_file():
        raise ModelError(f"{root}: not a docvlm model folder (no {META})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta_path}: {exc}") from exc
    comp = check_meta(meta, root)
    model = HeaderModel(path=root, meta=meta)
    for fld, spec in (comp.get("fields") or {}).items():
        kind = spec["kind"]
        if spec.get("features") != feature_names(kind):
            raise ModelError(f"{root}: the features of {fld} differ from this docvlm's; retrain the model")
        try:
            model.boosters[fld] = TextModel.load(root / spec["file"])
        except (OSError, ValueError) as exc:
            raise ModelError(f"{root}: {exc}") from exc
        cal = spec.get("calibration") or {}
        model.calibration[fld] = Calibration(list(cal.get("x", [])), list(cal.get("y", [])))
        for doc, tcal in (spec.get("calibration_by_type") or {}).items():
            model.type_calibration[(doc, fld)] = Calibration(list(tcal.get("x", [])), list(tcal.get("y", [])))
        model.use_on[fld] = frozenset(spec.get("use_on", ("invoice", "receipt")))
    for doc, maps in (comp.get("rules_calibration") or {}).items():
        for fld, cal in maps.items():
            model.rules_calibration[(doc, fld)] = Calibration(list(cal.get("x", [])), list(cal.get("y", [])))
    _log.debug("loaded layout model %s (%d fields)", root, len(model.boosters))
    return model


def score_pool(
    model: HeaderModel, pool: Pool, table_boxes: dict[int, Any] | None, line_sum: Decimal | None
) -> dict[str, np.ndarray]:
    """Raw probabilities of every proposal for every field the model ranks, keyed by field."""
    out: dict[str, np.ndarray] = {}
    for kind, fields in KINDS.items():
        kind_of_doc = "receipt" if pool.is_receipt else "invoice"
        todo = [
            f
            for f in ranked_fields(fields, pool.is_receipt, pool.rules)
            if f in model.boosters and kind_of_doc in model.use_on.get(f, frozenset())
        ]
        if not todo or not pool.by_kind.get(kind):
            continue
        x = kind_matrix(pool, kind, table_boxes, line_sum)
        for f in todo:
            out[f] = model.predict(f, x)
    return out


def choose(
    pool: Pool, probs: dict[str, np.ndarray], line_sum: Decimal | None
) -> dict[str, tuple[Proposal, float]]:
    """The chosen proposal and its raw probability per field (amounts jointly, names exclusively)."""
    chosen: dict[str, tuple[Proposal, float]] = {}
    for kind, fields in KINDS.items():
        props = pool.by_kind.get(kind, [])
        present = [f for f in fields if f in probs and len(probs[f])]
        if not props or not present:
            continue
        if kind == "amount":
            chosen.update(_joint_amounts(props, {f: probs[f] for f in present}, line_sum))
            continue
        taken: set[int] = set()
        # the field whose best candidate is surest picks first; the other may not take the same block
        order = sorted(present, key=lambda f: -float(probs[f].max()))
        for f in order:
            p = probs[f]
            ranked = np.argsort(-p, kind="stable")
            for i in ranked:
                if p[int(i)] < _MIN_CHOICE:
                    break  # no candidate is more likely right than wrong: the model chooses none
                if kind == "name" and int(i) in taken:
                    continue
                chosen[f] = (props[int(i)], float(p[int(i)]))
                taken.add(int(i))
                break
    return chosen


def _best_per_value(props: list[Proposal], p: np.ndarray) -> list[tuple[int, float]]:
    """The indices of the best few distinct values, with their probability, best first."""
    out: list[tuple[int, float]] = []
    seen: set[str] = set()
    for i in np.argsort(-p, kind="stable"):
        v = props[int(i)].value
        if v in seen:
            continue
        seen.add(v)
        out.append((int(i), float(p[int(i)])))
        if len(out) >= _TOP:
            break
    return out


def _joint_amounts(
    props: list[Proposal], probs: dict[str, np.ndarray], line_sum: Decimal | None
) -> dict[str, tuple[Proposal, float]]:
    fields = list(probs)
    # per field: (index, raw probability, value, log-probability) of its best distinct values
    options: list[list[tuple[int, float, Decimal, float] | None]] = []
    for f in fields:
        best = [
            (i, p, Decimal(props[i].value), math.log(max(_EPS, p)))
            for i, p in _best_per_value(props, probs[f])
        ]
        top = best[0][1] if best else 0.0
        # a field may stay empty only when no candidate is more likely right than wrong
        none: list[tuple[int, float, Decimal, float] | None] = [] if top >= 0.5 else [None]
        options.append([*best, *none])
    empty = [
        math.log(max(_EPS, 1.0 - max((o[1] for o in opts if o is not None), default=0.0))) for opts in options
    ]
    printed = {Decimal(p.value) for p in props}
    best_combo: tuple[float, tuple[tuple[int, float, Decimal, float] | None, ...]] | None = None
    for combo in itertools.product(*options):
        score = 0.0
        vals: dict[str, Decimal] = {}
        for f, c, e in zip(fields, combo, empty, strict=True):
            if c is None:
                score += e
            else:
                score += c[3]
                vals[f] = c[2]
        score += _consistency(vals, line_sum, printed)
        if best_combo is None or score > best_combo[0]:
            best_combo = (score, combo)
    out: dict[str, tuple[Proposal, float]] = {}
    if best_combo is None:
        return out
    for f, c in zip(fields, best_combo[1], strict=True):
        if c is not None:
            out[f] = (props[c[0]], c[1])
    return out


def _consistency(
    vals: dict[str, Decimal],
    line_sum: Decimal | None,
    printed: set[Decimal] | frozenset[Decimal] = frozenset(),
) -> float:
    """Log-odds the business rules add to a combination of amounts (soft constraints). ``printed``
    holds the page's amounts: a tax basis printed between the lines' sum and the tax (the subtotal
    less an allowance, plus a charge) also closes subtotal -> total."""
    s, x, t, d = (vals.get(k) for k in ("subtotal", "tax_total", "total", "amount_due"))
    bonus = 0.0
    if s is not None and x is not None and t is not None:
        if abs(s + x - t) <= _CENT:
            bonus += _SUM_MATCH
        elif t - x in printed and t - x != s and t - x > 0:
            bonus += _SUM_MATCH / 2
        else:
            bonus -= _RULE_BONUS / 2
    if t is not None:
        if s is not None and s > t + _ROUNDING:
            bonus -= _RULE_BONUS
        if x is not None and x >= t and t > 0:
            bonus -= _RULE_BONUS
        if d is not None and d > t + _CENT:
            bonus -= _RULE_BONUS / 2
    if line_sum is not None:
        if s is not None and abs(line_sum - s) <= _CENT:
            bonus += _SUM_BONUS
        elif s is None and t is not None and abs(line_sum - t) <= _CENT:
            bonus += _SUM_BONUS / 2
    return bonus


def apply_model(
    model: HeaderModel,
    pool: Pool,
    res: HeaderResult,
    table_boxes: dict[int, Any] | None,
    line_sum: Decimal | None,
    min_confidence: float = 0.0,
) -> dict[str, tuple[Proposal, float]]:
    """Overwrite the ranked fields of ``res`` with the model's choice; returns the raw choices."""
    probs = score_pool(model, pool, table_boxes, line_sum)
    chosen = choose(pool, probs, line_sum)
    doc = "receipt" if pool.is_receipt else "invoice"
    # an identifier or date of the rules stays theirs where they read it at a strong label (the
    # model learnt which of a page's dates is due from the layouts it was trained on; a label names
    # it on any layout), or where the model found no candidate more likely right than wrong
    kept = {
        f
        for f in probs
        if f in _KEYED and f in res.values and (res.confidence.get(f, 0.0) >= _STRONG_RULE or f not in chosen)
    }
    for f in list(res.confidence):  # the fields the rules keep, calibrated as the model's are
        cal = model.rules_calibration.get((doc, f))
        if cal is not None and (f not in probs or f in kept):
            res.confidence[f] = round(max(0.0, min(1.0, cal(res.confidence[f]))), 4)
    for f in probs:
        if f in kept:
            continue
        if f not in chosen:
            res.drop(f)
            continue
        prop, raw = chosen[f]
        cal = model.type_calibration.get((doc, f)) or model.calibration.get(f)
        conf = cal(raw) if cal is not None else raw
        if conf < min_confidence:
            res.drop(f)
            continue
        res.values[f] = prop.value
        res.evidence[f] = prop.evidence
        res.confidence[f] = round(max(0.0, min(1.0, conf)), 4)
    return chosen
