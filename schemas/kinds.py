"""Field kinds: what sort of value each field of a schema holds, read from the schema's annotations.

A schema marks a field's kind with an annotated type (``schemas.invoice.Money``, ``IsoDate``,
``Currency``, ``Identifier``, ``CompactId``, ``Code``, ``Email``): the ``FieldKind`` is an item of the
``Annotated`` metadata, which Pydantic keeps and ignores. A field without a marker (a user's
schema) takes its kind from its type: numbers are MONEY, dates DATE, booleans BOOL, strings STRING.

``field_kinds(Model)`` maps the dotted path of every leaf (list items without their index:
``line_items.amount``) to its kind. Grounding (amounts and dates are found by value), merging and
the hybrid engine (totals are printed last), question answering and the evaluation's comparisons
all read this one map.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import types
import typing
from decimal import Decimal
from typing import Any, Union

from pydantic import BaseModel


class FieldKind(str, enum.Enum):
    """The sort of value a field holds; decides how it is found on a page and how it is compared."""

    MONEY = "money"  # amounts, quantities and rates: numbers, matched by value (to the cent)
    DATE = "date"  # calendar dates, matched by value
    CURRENCY = "currency"  # ISO 4217 codes, found by code or symbol
    IDENTIFIER = "identifier"  # invoice and order numbers: exact after trimming, printed as they are
    COMPACT_ID = "compact_id"  # VAT ids and IBANs: exact without whitespace and case
    # phones and product codes: compared exactly after trimming like identifiers, but printed with
    # other grouping and prefixes ("+33 4 72 ..." for "04 72 ..."), so found on a page by fuzzy match
    CODE = "code"
    EMAIL = "email"  # e-mail addresses: case-insensitive
    TEXT = "text"  # names, addresses, descriptions: normalised text
    # a user schema's unmarked string: a short one with digits may be a code, so it is looked for
    # character for character first, then as text
    STRING = "string"
    BOOL = "bool"  # a ticked box: no text to find on the page


_LISTS = (list, tuple, set, frozenset)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without ``Annotated`` and ``Optional`` layers, and the metadata found on the way."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            meta.extend(extra)
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, meta
            annotation = args[0]
        else:
            return annotation, meta


def _kind(annotation: Any, metadata: list[Any]) -> FieldKind:
    for m in metadata:
        if isinstance(m, FieldKind):
            return m
    if annotation is bool:
        return FieldKind.BOOL
    if annotation in (Decimal, int, float):
        return FieldKind.MONEY
    if annotation in (dt.date, dt.datetime):
        return FieldKind.DATE
    return FieldKind.STRING


@functools.cache
def field_kinds(schema: type[BaseModel]) -> dict[str, FieldKind]:
    """Dotted leaf path -> kind for every field of ``schema`` (nested models and list items included)."""
    out: dict[str, FieldKind] = {}
    for name, info in schema.model_fields.items():
        base, meta = _unwrap(info.annotation)
        meta = [*info.metadata, *meta]
        if typing.get_origin(base) in _LISTS:
            item_args = typing.get_args(base)
            base, item_meta = _unwrap(item_args[0] if item_args else str)
            meta = [*meta, *item_meta]
        if isinstance(base, type) and issubclass(base, BaseModel):
            out.update({f"{name}.{path}": kind for path, kind in field_kinds(base).items()})
        else:
            out[name] = _kind(base, meta)
    return out


def _schema_path(path: str) -> str:
    """A record path without its list indexes: ``line_items.3.amount`` -> ``line_items.amount``."""
    return ".".join(p for p in path.split(".") if not p.isdigit())


def kind_of(schema: type[BaseModel], path: str) -> FieldKind:
    """The kind of the value at record path ``path`` (indexes allowed); TEXT for a path the schema lacks."""
    return field_kinds(schema).get(_schema_path(path), FieldKind.TEXT)


def is_late(schema: type[BaseModel], path: str) -> bool:
    """Whether the value at ``path`` is printed at the end of a document: a MONEY field outside lists (totals)."""
    info = schema.model_fields.get(path.split(".", 1)[0])
    if info is not None and typing.get_origin(_unwrap(info.annotation)[0]) in _LISTS:
        return False
    return kind_of(schema, path) is FieldKind.MONEY


__all__ = ["FieldKind", "field_kinds", "is_late", "kind_of"]
