"""Line items, leave one layout group out: the table model trained on every group but one, scored on that one.

Groups: e-invoices by the ``layout_group`` of their manifest (truth from ``<stem>.json``; the page is
read, never the embedded XML), invoice2data and docvlm samples one group per file, generated
documents (``samples/generate.py --batch``) one group for all (always in training, never in a
figure on real documents). SROIE receipts label no line items, so they train no table model.

Prints, per held-out group, the model's line-item F1 beside the rules alone, the sum per source,
the headline (real documents, every group held out), and the fit (train on all, scored on the same
documents). The metric is the project's (DocILE-style one-to-one matching, F1 over fields)::

    python samples/generate.py --batch 60 --seed 7 --out /tmp/gen
    python evaluation/crossval_tables.py --einvoice ../shared/data/einvoices \\
        --invoice2data ../shared/data/invoices/invoice2data --docvlm samples/ground_truth \\
        --generated /tmp/gen/ground_truth
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from docvlm.training.labelled import LABEL_KINDS, labelled_docs
from docvlm.training.tables import (
    GENERATED,
    TrainingDoc,
    cross_validate,
    doc_examples,
    gold_items,
    merge_examples,
    score_docs,
    train_model,
)

_log = logging.getLogger(__name__)


def _row(name: str, model: dict[str, Any], rules: dict[str, Any] | None) -> str:
    text = f"{name[:58]:58s} {model['f1']:6.3f} {model['precision']:6.3f} {model['recall']:6.3f} {model['tp']:5d} {model['fp']:5d} {model['fn']:5d}"
    return text + (f"   {rules['f1']:6.3f}" if rules is not None else "")


def _f1(tp: int, fp: int, fn: int) -> dict[str, Any]:
    denom = 2 * tp + fp + fn
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": 2 * tp / denom if denom else 1.0}


def report(docs: Sequence[TrainingDoc], seed: int = 0) -> str:
    """The held-out table (model vs rules per group, per source, overall) and the fit, as text."""
    exs = {i: doc_examples(d.pages, gold_items(d.gold) or []) for i, d in enumerate(docs)}
    cv = cross_validate(docs, seed, None, exs)
    rules = {g: score_docs([d for d in docs if d.group == g], None) for g in cv["groups"]}
    head = f"{'line items, group held out':58s} {'F1':>6s} {'P':>6s} {'R':>6s} {'tp':>5s} {'fp':>5s} {'fn':>5s}   rules F1"
    out = [head]
    sums: dict[str, list[int]] = {}
    for g, s in cv["groups"].items():
        out.append(_row(g, s, rules[g]))
        acc = sums.setdefault(g.split("/", 1)[0], [0] * 6)
        for k, key in enumerate(("tp", "fp", "fn")):
            acc[k] += s[key]
            acc[k + 3] += rules[g][key]
    out.append("")
    real = [0] * 6
    for name, acc in sorted(sums.items()):
        out.append(_row(f"{name}: all its groups, each held out", _f1(*acc[:3]), _f1(*acc[3:])))
        if name + "/" != GENERATED:
            real = [a + b for a, b in zip(real, acc, strict=True)]
    out.append(_row("REAL DOCUMENTS, HELD OUT (headline)", _f1(*real[:3]), _f1(*real[3:])))
    model = train_model(merge_examples(exs.values()), seed)
    fit = score_docs([d for d in docs if not d.group.startswith(GENERATED)], model)
    out.append(_row("fit: trained on all, scored on the same (no held-out figure)", fit, None))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for kind in LABEL_KINDS:
        ap.add_argument(
            f"--{kind}", action="append", default=[], metavar="DIR", help=f"{kind} labelled documents"
        )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    docs: list[TrainingDoc] = []
    for kind in LABEL_KINDS:
        for folder in getattr(args, kind):
            docs += labelled_docs(folder, kind)
    if not docs:
        ap.error("no labelled documents: give --einvoice, --invoice2data, --docvlm or --generated folders")
    print(report(docs, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
