"""Calibration: a monotone map from a model's raw score to the observed chance of being right.

In: out-of-fold raw probabilities of the chosen values and whether each was right. Out: the
breakpoints ``{"x": [...], "y": [...]}`` of an isotonic (pool-adjacent-violators) fit, which the
engine applies with linear interpolation (``ranker.Calibration``). Tiny samples are shrunk toward
the overall rate so a handful of documents cannot produce confidences of exactly 0 or 1.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

_log = logging.getLogger(__name__)

_PRIOR = 2.0  # pseudo-observations at the overall rate added to every block


def fit_isotonic(raw: Sequence[float], right: Sequence[float]) -> dict[str, list[float]]:
    """Pool-adjacent-violators over (raw, right) pairs sorted by raw; empty input gives the identity."""
    if not raw:
        return {"x": [], "y": []}
    rate = sum(right) / len(right)
    # equal scores are one observation of their mean: a rule's fixed confidence (0.75 for every
    # address it finds) must map to that confidence's accuracy, not to its first-sorted outcome
    tied: dict[float, list[float]] = {}
    for x, y in zip(raw, right, strict=True):
        t = tied.setdefault(float(x), [0.0, 0.0])
        t[0] += float(y)
        t[1] += 1.0
    # blocks of (sum of right, count, min raw, max raw), merged while they decrease
    blocks: list[list[float]] = []
    for x, (s_, n_) in sorted(tied.items()):
        blocks.append([s_, n_, x, x])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, n, lo, hi = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
            blocks[-1][3] = hi
    xs: list[float] = []
    ys: list[float] = []
    for s, n, lo, hi in blocks:
        y = (s + _PRIOR * rate) / (n + _PRIOR)
        for x in (lo, hi) if hi > lo else (lo,):
            if xs and x <= xs[-1]:
                continue
            xs.append(round(float(x), 6))
            ys.append(round(float(y), 6))
    for i in range(1, len(ys)):  # the shrinkage keeps the order; this guards rounding
        ys[i] = max(ys[i], ys[i - 1])
    return {"x": xs, "y": ys}


TYPE_PRIOR = 30.0  # pseudo-rows of the pooled map in every document type's map


def fit_by_type(rows: Sequence[tuple[str, float, float]]) -> dict[str, dict[str, list[float]]]:
    """Per document type, the isotonic map of the model's raw score to its observed accuracy:
    ``rows`` are (document type, raw, right). A receipt's total and an invoice's differ in how
    often the surest candidate is right, so each type has its own map, shrunk toward the map of
    all rows together (kept as ``"all"``) by ``TYPE_PRIOR`` pseudo-rows: a type with few rows
    leans on the pooled map, one with hundreds stands on its own."""
    pooled = fit_isotonic([r for _, r, _ in rows], [c for _, _, c in rows])
    out: dict[str, dict[str, list[float]]] = {"all": pooled}
    for kind in sorted({k for k, _, _ in rows}):
        mine = [(r, c) for k, r, c in rows if k == kind]
        own = fit_isotonic([r for r, _ in mine], [c for _, c in mine])
        out[kind] = _blend(own, pooled, len(mine) / (len(mine) + TYPE_PRIOR))
    return out


def _blend(a: dict[str, list[float]], b: dict[str, list[float]], w: float) -> dict[str, list[float]]:
    """The map ``w * a + (1 - w) * b`` on the breakpoints of both (both monotone, so is the blend)."""
    import numpy as np

    xs = sorted(set(a["x"]) | set(b["x"]))
    if not xs:
        return {"x": [], "y": []}
    ya = np.interp(xs, a["x"], a["y"]) if a["x"] else np.asarray(xs)
    yb = np.interp(xs, b["x"], b["y"]) if b["x"] else np.asarray(xs)
    return {
        "x": [round(float(x), 6) for x in xs],
        "y": [round(float(w * p + (1 - w) * q), 6) for p, q in zip(ya, yb, strict=True)],
    }


MIN_RULE_PAIRS = 8  # labelled rule values of a field and document type needed to recalibrate them


def rule_outcomes(
    values: dict[str, str], confidence: dict[str, float], gold: dict[str, object]
) -> list[tuple[str, float, float]]:
    """(field, the rules' confidence, whether the rules' value is right) for every labelled field
    the rules filled."""
    from docvlm.labels.values import values_match
    from docvlm.training.data import gold_value

    out: list[tuple[str, float, float]] = []
    for f, v in values.items():
        labelled, g = gold_value(gold, f)
        if labelled and not isinstance(g, (dict, list)):
            out.append((f, float(confidence.get(f, 0.5)), float(values_match(f, v, g))))
    return out


def fit_rule_maps(
    rows: Sequence[tuple[str, str, float, float]],
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per document type and field, the isotonic map of the rules' confidence to their observed
    accuracy: ``rows`` are (document type, field, confidence, right); sparse fields keep theirs."""
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for kind, f, conf, right in rows:
        groups.setdefault((kind, f), []).append((conf, right))
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for (kind, f), pairs in sorted(groups.items()):
        if len(pairs) >= MIN_RULE_PAIRS:
            out.setdefault(kind, {})[f] = fit_isotonic([c for c, _ in pairs], [r for _, r in pairs])
    return out
