"""Merge per-page engine outputs into one document-level output.

Generative engines read one page at a time; this joins their outputs. In: the ``EngineOutput``
of each page, in page order. Out: one ``EngineOutput`` where

- lists (line items, form fields) are concatenated in page order, and the dotted paths of their
  evidence, confidence and ``generated`` entries are re-indexed (``line_items.0.amount`` of page 2
  becomes ``line_items.7.amount`` when page 1 had 7 rows);
- a scalar takes the value of the page with the highest confidence for it; on a tie, amounts
  (totals, ``schemas.is_late``, are printed at the end) come from the latest page and everything else (numbers, dates,
  parties are printed at the top) from the earliest;
- warnings and attempts are concatenated, usage is summed, and ``fallback`` is true if any page
  fell back.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Evidence
from docvlm.paths import get_path, set_path
from schemas.kinds import is_late

_log = logging.getLogger(__name__)

#: confidence assumed for a value an output does not rate
DEFAULT_CONFIDENCE = 0.5


def _shift(path: str, prefix: str, offset: int) -> str:
    """``prefix.N.rest`` -> ``prefix.(N+offset).rest``; other paths unchanged."""
    head = prefix + "."
    if not path.startswith(head):
        return path
    rest = path[len(head) :]
    index, _, tail = rest.partition(".")
    if not index.isdigit():
        return path
    shifted = f"{head}{int(index) + offset}"
    return f"{shifted}.{tail}" if tail else shifted


def _list_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every list in ``data`` (lists inside lists are not re-indexed)."""
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            path = f"{prefix}{k}"
            if isinstance(v, list):
                out.append(path)
            elif isinstance(v, dict):
                out.extend(_list_paths(v, path + "."))
    return out


def _scalar_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the scalar (non-dict, non-list) leaves, nulls included."""
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, dict):
                out.extend(_scalar_paths(v, f"{prefix}{k}."))
            elif not isinstance(v, list):
                out.append(f"{prefix}{k}")
    return out


def merge_page_outputs(outputs: Sequence[EngineOutput], schema: type[BaseModel]) -> EngineOutput:
    """One document-level output from per-page outputs (see the module docstring for the rules)."""
    if not outputs:
        return EngineOutput(data={})
    if len(outputs) == 1:
        return outputs[0]
    merged = EngineOutput(data=copy.deepcopy(outputs[0].data), document_type=outputs[0].document_type)
    for path in _list_paths(merged.data):
        set_path(merged.data, path, [])
    best: dict[str, tuple[float, int]] = {}  # scalar path -> (confidence, page position) of the kept value
    for pos, out in enumerate(outputs):
        offsets: dict[str, int] = {}
        for path in _list_paths(out.data):
            items = get_path(out.data, path) or []
            target = get_path(merged.data, path)
            if not isinstance(target, list):
                target = []
                set_path(merged.data, path, target)
            offsets[path] = len(target)
            target.extend(copy.deepcopy(items))

        def rename(p: str, offsets: dict[str, int] = offsets) -> str:
            for prefix, off in offsets.items():
                if p.startswith(prefix + "."):
                    return _shift(p, prefix, off)
            return p

        scalar_winners: set[str] = set()
        for path in _scalar_paths(out.data):
            value = get_path(out.data, path)
            if value is None:
                continue
            conf = out.confidence.get(path, DEFAULT_CONFIDENCE)
            kept = best.get(path)
            late = is_late(schema, path)
            if kept is None or conf > kept[0] or (conf == kept[0] and late):
                best[path] = (conf, pos)
                set_path(merged.data, path, copy.deepcopy(value))
                scalar_winners.add(path)
        _take_annotations(merged, out, rename, scalar_winners)
        merged.warnings.extend(out.warnings)
        merged.attempts.extend(out.attempts)
        for k, v in out.usage.items():
            merged.usage[k] = merged.usage.get(k, 0) + v
        merged.fallback = merged.fallback or out.fallback
    # a scalar that no page filled must not keep a stale value from the deepcopy of page 1
    for path in _scalar_paths(merged.data):
        if path not in best:
            set_path(merged.data, path, None)
    _log.debug("merged %d page outputs", len(outputs))
    return merged


def _take_annotations(merged: EngineOutput, out: EngineOutput, rename: Any, scalar_winners: set[str]) -> None:
    """Copy evidence, confidence and generated marks of ``out`` that belong to values kept in ``merged``."""
    keys: set[str] = set(out.evidence) | set(out.confidence) | set(out.generated)
    for key in keys:
        new = rename(key)
        is_list_entry = new != key or _in_list(out.data, key)
        if not is_list_entry and key not in scalar_winners:
            continue  # the scalar value of another page won
        ev: Evidence | None = out.evidence.get(key)
        if ev is not None:
            merged.evidence[new] = ev
        elif not is_list_entry:
            merged.evidence.pop(new, None)
        if key in out.confidence:
            merged.confidence[new] = out.confidence[key]
        if key in out.generated:
            merged.generated.add(new)
        elif not is_list_entry:
            merged.generated.discard(new)


def _in_list(data: dict[str, Any], path: str) -> bool:
    head = path.split(".", 1)[0]
    return isinstance(data.get(head), list)


__all__ = ["merge_page_outputs"]
