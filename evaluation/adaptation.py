"""Does `docvlm train` adapt the layout engine to a user's own sellers? Scored on their other documents.

The scenario of ``docvlm train``'s default (continued training): a company labels a handful of
documents of each of its sellers and continues the package's model on them. This measures it
honestly on the labelled data:

1. Sellers are the layout groups with more than ``--shots`` documents; they are dealt into
   ``--halves`` halves by a hash of the group name.
2. For each half, a **base** model is trained from scratch on every document outside that half's
   sellers (the product's own ``train_model``), so it has never seen one of them: it stands for
   the package's model meeting new sellers.
3. The first ``--shots`` documents of each of the half's sellers (by file name) are the user's
   labels: the **adapted** model is ``train_model`` on them, continued from the base.
4. Both read every other document of those sellers through the product path (``LayoutEngine``
   with the model folder), and are scored against the labels. The documents scored are never
   trained on by either model.

Out: per dataset, header-field accuracy and ECE of the base and the adapted model on the same
documents, and the fields that changed.

    python evaluation/adaptation.py ../shared/data/einvoices ../shared/data/invoices/invoice2data/*.pdf \
        ../shared/data/receipts/sroie ../shared/data/receipts/sroie_train --shots 1
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docvlm.training.data import TrainingDoc

_log = logging.getLogger(__name__)


@dataclass
class Split:
    """One half's documents: base training, the user's labelled shots, and the documents scored."""

    base: list[TrainingDoc]
    shots: list[TrainingDoc]
    test: list[TrainingDoc]


def plan_splits(docs: Sequence[TrainingDoc], shots: int, halves: int = 2) -> list[Split]:
    """Deal the sellers (groups with more than ``shots`` documents) into ``halves`` and split each half."""
    by_group: dict[str, list[TrainingDoc]] = {}
    for d in docs:
        by_group.setdefault(d.group, []).append(d)
    sellers = sorted(g for g, ds in by_group.items() if len(ds) > shots)
    out: list[Split] = []
    for h in range(halves):
        mine = {g for g in sellers if zlib.crc32(g.encode()) % halves == h}
        if not mine:
            continue
        shot_docs: list[TrainingDoc] = []
        test_docs: list[TrainingDoc] = []
        for g in sorted(mine):
            members = sorted(by_group[g], key=lambda d: d.source)
            shot_docs.extend(members[:shots])
            test_docs.extend(members[shots:])
        out.append(Split([d for d in docs if d.group not in mine], shot_docs, test_docs))
    return out


def _record(doc: TrainingDoc, engine: Any) -> dict[str, Any]:
    from schemas.invoice import Invoice

    out = engine.extract(doc.pages, Invoice)
    return {"source": doc.source, "status": "ok", "data": out.data, "confidence": dict(out.confidence)}


def run(docs: Sequence[TrainingDoc], shots: int, halves: int, seed: int, work: Path) -> dict[str, Any]:
    """Train base and adapted models per half; the records of both on the documents scored."""
    from docvlm.engines import LayoutOptions, create_engine
    from docvlm.training import components
    from docvlm.training.train import train_model

    base_recs: dict[str, dict[str, Any]] = {}
    adapted_recs: dict[str, dict[str, Any]] = {}
    trees_recs: dict[str, dict[str, Any]] = {}
    tested: list[TrainingDoc] = []
    splits = plan_splits(docs, shots, halves)
    if not splits:
        raise SystemExit(f"no layout group has more than {shots} documents: nothing to adapt to")
    for i, split in enumerate(splits):
        base_dir, adapted_dir = work / f"base{i}", work / f"adapted{i}"
        print(
            f"half {i}: base trained on {len(split.base)} documents; {len(split.shots)} shots of "
            f"{len({d.group for d in split.shots})} sellers; {len(split.test)} documents scored",
            flush=True,
        )
        # the base stands for the package's model, which holds no seller profiles
        train_model(split.base, base_dir, None, seed, trainers=components(sellers=False))
        train_model(split.shots, adapted_dir, base_dir, seed, trainers=components())
        # the same continued training without the profiles: which of the two moved a field
        trees_dir = work / f"trees{i}"
        train_model(split.shots, trees_dir, base_dir, seed, trainers=components(sellers=False))
        base = create_engine(LayoutOptions(model=str(base_dir)))
        adapted = create_engine(LayoutOptions(model=str(adapted_dir)))
        trees = create_engine(LayoutOptions(model=str(trees_dir)))
        for d in split.test:
            base_recs[d.source] = _record(d, base)
            adapted_recs[d.source] = _record(d, adapted)
            trees_recs[d.source] = _record(d, trees)
        tested.extend(split.test)
    return {"base": base_recs, "adapted": adapted_recs, "trees": trees_recs, "docs": tested}


def report(result: dict[str, Any]) -> str:
    """Per dataset: accuracy and ECE of both models on the same documents, and what changed."""
    from docvlm.training.crossval import gold_docs
    from evaluation.score import score_extraction

    docs: list[TrainingDoc] = result["docs"]
    gold = gold_docs(docs)
    lines = [
        "| dataset | documents scored | sellers | base: header fields | ECE | continued, no profiles | ECE "
        "| adapted (continued + profiles) | ECE |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    changes: list[str] = []
    for ds in sorted({d.dataset for d in docs}):
        keys = [d.source for d in docs if d.dataset == ds]
        g = {k: gold[k] for k in keys}
        b = score_extraction({k: result["base"][k] for k in keys}, g)
        t = score_extraction({k: result["trees"][k] for k in keys}, g)
        a = score_extraction({k: result["adapted"][k] for k in keys}, g)
        sellers = len({d.group for d in docs if d.dataset == ds})
        cells = [
            f"{s.overall.accuracy:.3f} ({s.overall.tp}/{s.overall.present}) | {s.ece:.3f}" for s in (b, t, a)
        ]
        lines.append(f"| {ds} | {len(keys)} | {sellers} | " + " | ".join(cells) + " |")
        for f in sorted(set(b.per_field) | set(a.per_field) | set(t.per_field)):
            got = [s.per_field.get(f) for s in (b, t, a)]
            right = [st.tp if st else 0 for st in got]
            if len(set(right)) > 1:
                n = max(st.present if st else 0 for st in got)
                changes.append(f"- {ds} {f}: {right[0]} -> {right[1]} -> {right[2]} of {n}")
    return "\n".join(
        [
            *lines,
            "",
            "fields that changed (right answers: base -> continued -> adapted):",
            *(changes or ["- none"]),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", help="labelled documents or folders, as for docvlm train")
    ap.add_argument("--gold", default=None, help="label folder (default: each input's own)")
    ap.add_argument("--labels", default="auto")
    ap.add_argument("--shots", type=int, default=1, help="labelled documents of each seller the user adds")
    ap.add_argument("--halves", type=int, default=2, help="the sellers are dealt into this many halves")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from docvlm.training.data import load_training_docs

    docs = load_training_docs(args.inputs, args.gold, args.labels)
    with tempfile.TemporaryDirectory(prefix="docvlm-adapt-") as tmp:
        result = run(docs, args.shots, args.halves, args.seed, Path(tmp))
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
