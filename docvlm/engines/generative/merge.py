"""Merge per-page (or per-tile) outputs of a generative engine into one document-level output.

In: the ``EngineOutput`` of each page or tile, in page order, and the target schema. Out: one
``EngineOutput`` where

- lists (line items, form fields) are concatenated in page order, and the dotted paths of their
  evidence, confidence and ``generated`` entries are re-indexed (``line_items.0.amount`` of page 2
  becomes ``line_items.7.amount`` when page 1 had 7 rows);
- an item that repeats an item of the previous output (a row seen on two overlapping tiles, or
  carried over at a page break) is dropped; identical items within one output are kept (two real
  purchases of the same thing);
- a scalar takes the value of the page with the highest confidence for it; on a tie, amounts
  (totals, ``schemas.is_late``, are printed at the end) come from the latest page and everything
  else (numbers, dates, parties are printed at the top) from the earliest;
- warnings and attempts are concatenated, usage is summed, and ``fallback`` is true if any page
  fell back.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Evidence
from docvlm.paths import get_path, list_paths, reindex, scalar_paths, set_path
from schemas.kinds import is_late

_log = logging.getLogger(__name__)

#: confidence assumed for a value an output does not rate
DEFAULT_CONFIDENCE = 0.5


def _item_key(item: Any) -> tuple[tuple[str, str], ...] | None:
    """A comparable form of a list item (non-null fields, case and space folded); None when empty."""
    if not isinstance(item, dict):
        return None if item is None else (("", " ".join(str(item).lower().split())),)
    pairs = tuple(
        sorted((k, " ".join(str(v).lower().split())) for k, v in item.items() if v not in (None, ""))
    )
    return pairs or None


def _remove_items(out: EngineOutput, key: str, drop: set[int]) -> EngineOutput:
    """A copy of ``out`` without items ``drop`` of list ``key``, with annotation paths re-indexed."""
    items = out.data.get(key) or []
    new_index: dict[int, int] = {}
    for i in range(len(items)):
        if i not in drop:
            new_index[i] = len(new_index)
    pruned = copy.copy(out)
    pruned.data = dict(out.data)
    pruned.data[key] = [copy.deepcopy(it) for i, it in enumerate(items) if i not in drop]

    def rename(path: str) -> str | None:
        return reindex(path, key, new_index.get)

    pruned.evidence = {n: v for p, v in out.evidence.items() if (n := rename(p)) is not None}
    pruned.confidence = {n: v for p, v in out.confidence.items() if (n := rename(p)) is not None}
    pruned.generated = {n for p in out.generated if (n := rename(p)) is not None}
    return pruned


def _drop_repeats(outputs: Sequence[EngineOutput]) -> list[EngineOutput]:
    """The outputs without the list items that repeat an item of the previous output."""
    pruned: list[EngineOutput] = [outputs[0]]
    for prev, cur in itertools.pairwise(outputs):
        for key, items in cur.data.items():
            prev_items = prev.data.get(key)
            if not isinstance(items, list) or not isinstance(prev_items, list):
                continue
            seen = {k for it in prev_items if (k := _item_key(it)) is not None}
            drop = {i for i, it in enumerate(items) if _item_key(it) in seen}
            if drop:
                _log.debug("dropping %d repeated %s item(s)", len(drop), key)
                cur = _remove_items(cur, key, drop)
        pruned.append(cur)
    return pruned


def merge_page_outputs(outputs: Sequence[EngineOutput], schema: type[BaseModel]) -> EngineOutput:
    """One document-level output from per-page outputs (see the module docstring for the rules)."""
    if len(outputs) <= 1:
        return outputs[0] if outputs else EngineOutput(data={})
    outputs = _drop_repeats(outputs)
    merged = EngineOutput(data=copy.deepcopy(outputs[0].data), document_type=outputs[0].document_type)
    for path in list_paths(merged.data):
        set_path(merged.data, path, [])
    best: dict[str, tuple[float, int]] = {}  # scalar path -> (confidence, page position) of the kept value
    for pos, out in enumerate(outputs):
        offsets: dict[str, int] = {}
        for path in list_paths(out.data):
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
                    return reindex(p, prefix, off.__add__) or p
            return p

        scalar_winners: set[str] = set()
        for path in scalar_paths(out.data):
            value = get_path(out.data, path)
            if value is None:
                continue
            conf = out.confidence.get(path, DEFAULT_CONFIDENCE)
            kept = best.get(path)
            if kept is None or conf > kept[0] or (conf == kept[0] and is_late(schema, path)):
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
    for path in scalar_paths(merged.data):
        if path not in best:
            set_path(merged.data, path, None)
    _log.debug("merged %d page outputs", len(outputs))
    return merged


def _take_annotations(
    merged: EngineOutput, out: EngineOutput, rename: Callable[[str], str], scalar_winners: set[str]
) -> None:
    """Copy evidence, confidence and generated marks of ``out`` that belong to values kept in ``merged``."""
    keys: set[str] = set(out.evidence) | set(out.confidence) | set(out.generated)
    for key in keys:
        new = rename(key)
        is_list_entry = new != key or isinstance(out.data.get(key.split(".", 1)[0]), list)
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


__all__ = ["merge_page_outputs"]
