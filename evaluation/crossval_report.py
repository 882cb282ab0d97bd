"""The cross-validation report: per dataset, per field, held-out accuracy beside the rules' and a fit.

In: the documents, their gold (``GoldDoc`` by source), a ``CrossvalResult`` and optionally the
records of a model trained on everything. Out: Markdown tables (one per dataset: field, n,
held-out accuracy, rules-only accuracy, candidate recall, and the fit when given; then, where the
dataset labels line items, the line-item F1 of every layout group held out from the table model,
beside the table rules alone and the fit) and the same numbers as a dict. The held-out figures
are the headline; the fit is labelled as one.
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
    tables_fit: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Markdown and a dict of the held-out scores per dataset (see the module docstring); line
    items (``result.tables``, and ``tables_fit`` for the fit) where the dataset labels them."""
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
        items = _line_items(ds, sorted({d.group for d in members}), result.tables, tables_fit)
        if items is not None:
            lines.extend(items[0])
        scores[ds] = {
            **({"line_items": items[1]} if items is not None else {}),
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


def _f1_cell(s: Mapping[str, Any]) -> str:
    return f"{s['f1']:.3f} ({s['tp']}/{s['fp']}/{s['fn']})"


def _line_items(
    ds: str, members: Sequence[str], tables: Mapping[str, Any] | None, fit: Mapping[str, Any] | None
) -> tuple[list[str], dict[str, Any]] | None:
    """The line-item table (Markdown lines) and numbers of dataset ``ds`` (its groups: ``members``),
    or None when it labels none."""
    if not tables or ds not in tables["sets"]:
        return None
    rules = tables.get("rules", {})
    prefix = f"{ds}/"
    groups = [g for g in members if g in tables["groups"]]
    out = [
        f"line items, each group held out from the table model ({tables['cross_validation']}); "
        "F1 (tp/fp/fn):\n",
        "| group | held-out | rules |" + (" fit (trained on all) |" if fit else ""),
        "|---|---:|---:|" + ("---:|" if fit else ""),
    ]

    def row(name: str, held: Mapping[str, Any], rule: Mapping[str, Any] | None, fitted: Any) -> str:
        text = f"| {name} | {_f1_cell(held)} | {_f1_cell(rule) if rule else ''} |"
        return text + (f" {_f1_cell(fitted) if fitted else ''} |" if fit else "")

    for g in groups:
        fit_g = fit["groups"].get(g) if fit else None
        out.append(row(g.removeprefix(prefix), tables["groups"][g], rules.get("groups", {}).get(g), fit_g))
    total, rule_total = tables["sets"][ds], rules.get("sets", {}).get(ds)
    fit_total = fit["sets"].get(ds) if fit else None
    out.append(row("**all**", total, rule_total, fit_total))
    out.append("")
    numbers: dict[str, Any] = {
        "held_out": {k: total[k] for k in ("f1", "precision", "recall", "tp", "fp", "fn")},
        "rules": {k: rule_total[k] for k in ("f1", "precision", "recall", "tp", "fp", "fn")}
        if rule_total
        else None,
        "groups": {
            g.removeprefix(prefix): {
                "held_out": round(tables["groups"][g]["f1"], 4),
                "rules": round(rules["groups"][g]["f1"], 4) if g in rules.get("groups", {}) else None,
            }
            for g in groups
        },
        **({"fit": round(fit_total["f1"], 4)} if fit_total else {}),
    }
    return out, numbers
