"""The cross-validation report: per dataset, per field, held-out accuracy beside the rules' and a fit.

In: the documents, their gold (``GoldDoc`` by source), a ``CrossvalResult`` and optionally the
records of a model trained on everything. Out: Markdown tables (one per dataset: field, n,
held-out accuracy, rules-only accuracy, candidate recall, and the fit when given) and the same
numbers as a dict. The held-out figures are the headline; the fit is labelled as one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from evaluation.score import ExtractionScore, score_extraction

_log = logging.getLogger(__name__)


def _recall(docs: Sequence[Any]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for d in docs:
        feats = d.cache.get("header")
        if feats is None:
            continue
        for f, y in feats.y.items():
            c = out.setdefault(f, [0, 0])
            c[0] += int(len(y) > 0 and y.max() > 0)
            c[1] += 1
    return {f: (a, b) for f, (a, b) in out.items()}


def crossval_markdown(
    docs: Sequence[Any],
    gold: Mapping[str, Any],
    result: Any,
    fitted: Mapping[str, dict[str, Any]] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Markdown and a dict of the held-out scores per dataset (see the module docstring)."""
    lines: list[str] = []
    scores: dict[str, Any] = {}
    for ds in sorted({d.dataset for d in docs}):
        members = [d for d in docs if d.dataset == ds]
        g = {d.source: gold[d.source] for d in members}
        held: ExtractionScore = score_extraction({k: result.records[k] for k in g if k in result.records}, g)
        rules = score_extraction({k: result.rules[k] for k in g}, g)
        fit = score_extraction({k: fitted[k] for k in g}, g) if fitted else None
        recall = _recall(members)
        groups = len({d.group for d in members})
        lines.append(f"### {ds}: {len(members)} documents, {groups} groups (held out by group)\n")
        head = "| field | n | held-out | rules | candidate recall |" + (
            " fit (trained on all) |" if fit else ""
        )
        lines.append(head)
        lines.append("|---|---:|---:|---:|---:|" + ("---:|" if fit else ""))
        per: dict[str, Any] = {}
        for f, st in held.per_field.items():
            r = recall.get(f)
            rec = f"{r[0] / r[1]:.3f}" if r and r[1] else ""
            row = f"| {f} | {st.n} | {st.accuracy:.3f} | {rules.per_field[f].accuracy:.3f} | {rec} |"
            if fit:
                row += f" {fit.per_field[f].accuracy:.3f} |"
            lines.append(row)
            per[f] = {
                "n": st.n,
                "held_out": round(st.accuracy, 4),
                "rules": round(rules.per_field[f].accuracy, 4),
                "candidate_recall": round(r[0] / r[1], 4) if r and r[1] else None,
                **({"fit": round(fit.per_field[f].accuracy, 4)} if fit else {}),
            }
        overall = f"| **all** | {held.overall.n} | **{held.overall.accuracy:.3f}** | {rules.overall.accuracy:.3f} | |"
        if fit:
            overall += f" {fit.overall.accuracy:.3f} |"
        lines.append(overall)
        lines.append(f"\nECE held-out {held.ece:.3f} (rules {rules.ece:.3f})\n")
        scores[ds] = {
            "documents": len(members),
            "groups": groups,
            "held_out": round(held.overall.accuracy, 4),
            "rules": round(rules.overall.accuracy, 4),
            "ece_held_out": round(held.ece, 4),
            "ece_rules": round(rules.ece, 4),
            **({"fit": round(fit.overall.accuracy, 4)} if fit else {}),
            "fields": per,
        }
    return "\n".join(lines), scores
