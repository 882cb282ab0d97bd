"""Dotted paths into schema-shaped data (``vendor.name``, ``line_items.3.amount``).

Evidence, confidence, warnings and the engines' merge logic all address values this way. The data
is JSON-like (dicts and lists) or, for ``iter_leaves``, a Pydantic model with typed values.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any


def _is_model(data: Any) -> bool:
    """Whether ``data`` is a Pydantic model (without importing pydantic: no model exists before it is)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(data, pydantic.BaseModel)


def get_path(data: Any, path: str) -> Any:
    """The value at ``path``, or None when any step is missing."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at ``path``, creating the objects on the way."""
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def iter_leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths and values of the non-null leaves, list items included, in field order.

    A Pydantic model yields its typed values (Decimal, date), in the order of its JSON dump.
    """
    if _is_model(data):
        for name in type(data).model_fields:
            yield from iter_leaves(getattr(data, name), f"{prefix}{name}.")
        for name, value in (data.model_extra or {}).items():
            yield from iter_leaves(value, f"{prefix}{name}.")
    elif isinstance(data, dict):
        for k, v in data.items():
            yield from iter_leaves(v, f"{prefix}{k}.")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from iter_leaves(v, f"{prefix}{i}.")
    elif data is not None:
        yield prefix[:-1], data


def list_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every list in ``data`` (lists inside lists are not looked into)."""
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            path = f"{prefix}{k}"
            if isinstance(v, list):
                out.append(path)
            elif isinstance(v, dict):
                out.extend(list_paths(v, path + "."))
    return out


def scalar_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the scalar (non-dict, non-list) leaves outside lists, nulls included."""
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, dict):
                out.extend(scalar_paths(v, f"{prefix}{k}."))
            elif not isinstance(v, list):
                out.append(f"{prefix}{k}")
    return out


def reindex(path: str, prefix: str, new_index: Callable[[int], int | None]) -> str | None:
    """``prefix.N.rest`` -> ``prefix.new_index(N).rest``; None when the item is gone; other paths unchanged."""
    head = prefix + "."
    if not path.startswith(head):
        return path
    index, _, tail = path[len(head) :].partition(".")
    if not index.isdigit():
        return path
    new = new_index(int(index))
    if new is None:
        return None
    return f"{head}{new}.{tail}" if tail else f"{head}{new}"
