"""The JSON Schema that generation follows, built from a Pydantic schema.

``bounded_json_schema`` turns a Pydantic schema into the JSON Schema used for constrained
generation: strings have a ``maxLength``, money and numbers are strings with a bounded regex
pattern, arrays have ``maxItems``, every object is closed and fully ``required`` (nullable leaves
instead of optional keys, as OpenAI's strict mode and xgrammar want), and there are no ``$ref``s.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal, Union

from pydantic import BaseModel

from schemas.kinds import FieldKind

#: pattern of a decimal amount or number as generated: optional minus, up to 12 integer digits, 4 decimals
NUMBER_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,4})?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
#: maxLength of a string field whose schema sets none
DEFAULT_MAX_LENGTH = 300
#: maxItems of an array field whose schema sets none (or a larger one)
DEFAULT_MAX_ITEMS = 100


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (annotation, False)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return Union[tuple(args)], nullable  # noqa: UP007 - rebuilt at runtime from a tuple
    return annotation, False


def _constraint(metadata: Sequence[Any], name: str) -> Any:
    for m in metadata:
        value = getattr(m, name, None)
        if value is not None:
            return value
    return None


def _annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated[...]`` and return the base type and its metadata."""
    meta: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation, meta = args[0], [*meta, *args[1:]]
    return annotation, meta


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _type_schema(
    annotation: Any,
    metadata: list[Any],
    description: str | None,
    subtree: dict[str, Any] | None,
    stack: tuple[type, ...],
) -> dict[str, Any]:
    """The bounded schema of one annotation (without nullability)."""
    annotation, extra_meta = _annotated(annotation)
    metadata = [*metadata, *extra_meta]
    annotation, _ = _split_optional(annotation)
    annotation, more_meta = _annotated(annotation)
    metadata = [*metadata, *more_meta]
    origin = typing.get_origin(annotation)
    out: dict[str, Any]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        out = _object_schema(annotation, subtree, stack)
    elif origin in (list, Sequence, tuple, set, frozenset) or annotation in (list, tuple, set):
        args = typing.get_args(annotation)
        item = args[0] if args else str
        max_items = _constraint(metadata, "max_length")
        max_items = min(max_items, DEFAULT_MAX_ITEMS) if max_items else DEFAULT_MAX_ITEMS
        out = {"type": "array", "items": _type_schema(item, [], None, subtree, stack), "maxItems": max_items}
    elif origin is Literal:
        values = list(typing.get_args(annotation))
        out = {"enum": values}
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        out = {"enum": [m.value for m in annotation]}
    elif annotation is bool:
        out = {"type": "boolean"}
    elif annotation in (Decimal, float, int):
        # numbers as strings: a bounded pattern keeps the grammar finite and avoids binary floats
        out = {"type": "string", "pattern": NUMBER_PATTERN}
    elif annotation is dt.date:
        out = {"type": "string", "pattern": DATE_PATTERN}
    elif annotation is str and FieldKind.CURRENCY in metadata:
        out = {"type": "string", "pattern": CURRENCY_PATTERN}
    elif annotation is str:
        max_len = _constraint(metadata, "max_length") or DEFAULT_MAX_LENGTH
        out = {"type": "string", "maxLength": int(min(max_len, 2000))}
    else:
        # unions of several types and anything exotic: a bounded string is always generatable
        out = {"type": "string", "maxLength": DEFAULT_MAX_LENGTH}
    if description and "description" not in out:
        out["description"] = description
    return out


def _object_schema(
    model: type[BaseModel], subtree: dict[str, Any] | None, stack: tuple[type, ...]
) -> dict[str, Any]:
    if model in stack:
        raise ValueError(f"{model.__name__} refers to itself; a bounded schema cannot hold a cycle")
    props: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if subtree is not None and name not in subtree:
            continue
        child = subtree.get(name) if subtree is not None else None
        base, nullable = _split_optional(info.annotation)
        base, meta = _annotated(base)
        schema = _type_schema(base, [*info.metadata, *meta], info.description, child, (*stack, model))
        # only Optional fields may be null; every key is required (closed objects for strict mode)
        props[name] = _nullable(schema) if nullable else schema
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _field_tree(schema: type[BaseModel], fields: Sequence[str]) -> dict[str, Any]:
    """Dotted paths -> nested dict of wanted names; numeric parts (list indexes) are dropped.

    A path that names an object or an array keeps all of it (the value ``None`` in the tree).
    """
    tree: dict[str, Any] = {}
    for path in fields:
        parts = [p for p in path.split(".") if p and not p.isdigit()]
        if not parts:
            raise ValueError(f"empty field path {path!r}")
        node = tree
        model: Any = schema
        for i, part in enumerate(parts):
            if (
                not (isinstance(model, type) and issubclass(model, BaseModel))
                or part not in model.model_fields
            ):
                raise ValueError(f"{path!r} is not a field of {schema.__name__}")
            ann, _ = _split_optional(model.model_fields[part].annotation)
            ann, _ = _annotated(ann)
            if typing.get_origin(ann) is list:
                ann = typing.get_args(ann)[0]
            model = ann
            last = i == len(parts) - 1
            if last:
                node[part] = None  # the whole field
            else:
                existing = node.get(part, {})
                if existing is None:  # the whole field was already asked for
                    break
                node[part] = existing
                node = existing
    return tree


def bounded_json_schema(schema: type[BaseModel], fields: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON Schema that generation must follow for ``schema``.

    ``fields`` restricts it to a subset of dotted paths (``"total"``, ``"vendor.name"``,
    ``"line_items"``; list indexes are ignored). Raises ValueError for a path that is not a field.
    """
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ValueError(f"schema must be a Pydantic model class, got {schema!r}")
    # a None value in the tree means "all of this field"
    subtree = _field_tree(schema, fields) if fields is not None else None
    out = _object_schema(schema, subtree, ())
    out["title"] = schema.model_config.get("title") or schema.__name__
    return out


__all__ = ["CURRENCY_PATTERN", "DATE_PATTERN", "NUMBER_PATTERN", "bounded_json_schema"]
