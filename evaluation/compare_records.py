"""Compare two JSONL record files, ignoring timings: did a change alter any output record?

    python evaluation/compare_records.py before.jsonl after.jsonl [--ignore timings,usage.x]

Records are paired by ``source`` and must come in the same order. Two records are the same when
their JSON text is identical once the ignored keys are removed (``timings`` by default, with the
key order of the file kept, so a reordered key counts as a change). For each record that differs
the dotted paths of the differing values are listed. Exit code 0 when every record is the same,
1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

DEFAULT_IGNORE = ("timings",)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _drop(record: dict[str, Any], dotted: str) -> None:
    node: Any = record
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def canonical(record: dict[str, Any], ignore: Sequence[str] = DEFAULT_IGNORE) -> str:
    """The record's JSON text without the ignored keys, key order as in the file."""
    rec = json.loads(json.dumps(record))
    for key in ignore:
        _drop(rec, key)
    return json.dumps(rec, ensure_ascii=False)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value:
            yield prefix, {}
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list):
        if not value:
            yield prefix, []
        for i, v in enumerate(value):
            yield from _flatten(v, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, value


def differences(a: dict[str, Any], b: dict[str, Any], ignore: Sequence[str] = DEFAULT_IGNORE) -> list[str]:
    """Dotted paths whose values differ (``path: before -> after``), or a key-order note."""
    ca, cb = json.loads(canonical(a, ignore)), json.loads(canonical(b, ignore))
    fa, fb = dict(_flatten(ca)), dict(_flatten(cb))
    out = [
        f"{p}: {json.dumps(fa.get(p), ensure_ascii=False)[:80]} -> {json.dumps(fb.get(p), ensure_ascii=False)[:80]}"
        for p in sorted(set(fa) | set(fb))
        if fa.get(p, ...) != fb.get(p, ...)
    ]
    if not out and canonical(a, ignore) != canonical(b, ignore):
        out.append("same values, different key order")
    return out


def compare(
    before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]], ignore: Sequence[str] = DEFAULT_IGNORE
) -> tuple[int, list[str]]:
    """(records that are the same, report lines for everything that is not)."""
    report: list[str] = []
    if len(before) != len(after):
        report.append(f"{len(before)} records before, {len(after)} after")
    same = 0
    for i, (a, b) in enumerate(zip(before, after, strict=False)):
        if a.get("source") != b.get("source"):
            report.append(f"record {i}: source {a.get('source')!r} before, {b.get('source')!r} after")
            continue
        if canonical(a, ignore) == canonical(b, ignore):
            same += 1
            continue
        report.append(f"{a.get('source')}:")
        report.extend(f"  {d}" for d in differences(a, b, ignore))
    return same, report


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compare two JSONL record files, ignoring timings.")
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument(
        "--ignore", default=",".join(DEFAULT_IGNORE), help="comma-separated dotted keys to leave out"
    )
    args = ap.parse_args(argv)
    ignore = [k for k in args.ignore.split(",") if k]
    before, after = read_records(args.before), read_records(args.after)
    same, report = compare(before, after, ignore)
    for line in report:
        print(line)
    total = max(len(before), len(after))
    print(f"{same}/{total} records identical (ignoring {', '.join(ignore) or 'nothing'})")
    return 0 if same == total and not report else 1


if __name__ == "__main__":
    sys.exit(main())
