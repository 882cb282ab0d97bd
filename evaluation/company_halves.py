"""Held-out records scored on two fixed halves of a receipt set's companies: one to read, one never read.

Rules are written by reading errors, and a rule written while reading a document fits it. To
measure how a rule carries to shops never read, the companies of a SROIE-style set are split
once, by a hash of the company's name, into a *read* half (whose errors may be read while writing
rules) and an *unread* half (whose errors are never looked at, only scored). A rule change is
judged by the unread half. ``--show read`` lists the read half's wrong fields; the unread half's
cannot be listed.

    docvlm eval crossval ... ../shared/data/receipts/sroie_train -o cv.jsonl
    python evaluation/company_halves.py cv.jsonl ../shared/data/receipts/sroie_train [--show read]

Fields are compared as ``docvlm eval`` compares them (``metrics.field_outcome``). A key whose
value is not printed in the receipt's transcript (joined lines, case and spacing folded) cannot
be read off the page; those are counted apart, as *not printed*.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(_REPO))

from evaluation.metrics import Outcome, field_outcome  # noqa: E402

FIELDS = {"vendor.name": "company", "vendor.address": "address", "invoice_date": "date", "total": "total"}


def _fold(text: str) -> str:
    return " ".join(text.upper().split())


def half_of(company: str) -> str:
    """The half a company belongs to, fixed by a hash of its folded name."""
    return "read" if zlib.crc32(_fold(company).encode()) % 2 == 0 else "unread"


def _transcript(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        return " ".join(",".join(row[8:]) for row in csv.reader(fh) if len(row) >= 9)


def _value(rec: dict[str, Any], path: str) -> Any:
    node: Any = rec.get("data") or {}
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def score_halves(records: Path, root: Path, show: str | None = None) -> dict[str, dict[str, list[int]]]:
    """Per half and field: [right, labelled, not printed]; prints the ``show`` half's wrong fields."""
    by_key: dict[str, dict[str, Any]] = {}
    root = root.resolve()
    with records.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            source = Path(rec["source"]).resolve()
            if source.parent.parent == root:  # a receipt of this set: its img/ or box/ file
                by_key[source.stem] = rec
    out: dict[str, dict[str, list[int]]] = {"read": {}, "unread": {}}
    for key_file in sorted((root / "key").glob("*.json")):
        gold = json.loads(key_file.read_text(encoding="utf-8"))
        rec = by_key.get(key_file.stem)
        if rec is None or "company" not in gold:
            continue
        half = half_of(gold["company"])
        box = root / "box" / f"{key_file.stem}.csv"
        printed_text = _fold(_transcript(box)) if box.exists() else ""
        for path, gk in FIELDS.items():
            if gk not in gold:
                continue
            predicted = _value(rec, path)
            right = field_outcome(path, predicted, gold[gk]) is Outcome.TP
            printed = (
                path not in ("vendor.name", "vendor.address") or _fold(gold[gk]).strip(" .,") in printed_text
            )
            tally = out[half].setdefault(path, [0, 0, 0])
            tally[0] += right
            tally[1] += 1
            tally[2] += not printed
            if show == half and not right and printed:
                print(f"{key_file.stem} {path}\n  gold: {gold[gk]}\n  pred: {predicted}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, help="held-out records (docvlm eval crossval -o)")
    ap.add_argument("root", type=Path, help="the receipt set (key/, box/)")
    ap.add_argument("--show", choices=["read"], help="list the read half's wrong fields")
    args = ap.parse_args(argv)
    halves = score_halves(args.records, args.root, args.show)
    print("| half | field | right / labelled | accuracy | not printed |")
    print("|---|---|---:|---:|---:|")
    for half, fields in halves.items():
        for path, (right, n, unprinted) in sorted(fields.items()):
            print(f"| {half} | {path} | {right} / {n} | {right / n:.3f} | {unprinted} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
