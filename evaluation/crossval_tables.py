"""Line items, leave one layout group out: the table model trained on every group but one, scored on that one.

Groups: e-invoices by the ``layout_group`` of their manifest (truth from ``<stem>.json``; the page is
read, never the embedded XML), invoice2data and docvlm samples one group per file, generated
documents (``samples/generate.py --batch``) one group for all (always in training, never in a
figure on real documents). SROIE receipts label no line items, so they train no table model.

Prints, per held-out group, the model's line-item F1 beside the rules alone, the sum per source,
the headline (real documents, every group held out), and the fit (train on all, scored on the same
documents). The metric is the project's (DocILE-style one-to-one matching, F1 over fields)::

    python samples/generate.py --batch 60 --seed 7 --out /tmp/gen
    python evaluation/crossval_tables.py ../shared/data/einvoices ../shared/data/invoices/invoice2data \\
        samples --generated /tmp/gen
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from docvlm.training.data import TrainingDoc
from docvlm.training.tables import (
    GENERATED,
    cross_validate,
    doc_examples,
    gold_items,
    load_docs,
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
    ap.add_argument("inputs", nargs="*", help="labelled document folders, as for docvlm train")
    ap.add_argument(
        "--labels", action="append", default=[], help="the label format of each input (default auto)"
    )
    ap.add_argument(
        "--generated", action="append", default=[], metavar="DIR", help="generated documents (one group)"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    labels = args.labels or ["auto"]
    docs: list[TrainingDoc] = []
    for k, folder in enumerate(args.inputs):
        docs += load_docs([folder], None, labels[min(k, len(labels) - 1)])
    docs += load_docs([], generated=args.generated)
    if not docs:
        ap.error("no labelled documents")
    print(report(docs, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
