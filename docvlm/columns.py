"""Table columns of a schema: the documents and line-items tables that CSV and Parquet write.

In: a Pydantic model class (``schemas.invoice.Invoice``, or any other document type). Out: a
``TableLayout``: the record's status columns, every scalar field of the model as a dotted path in
model order (nested models flattened: ``vendor.name``), and the model's first list-of-models
field (``line_items``) as the second table, each column with its kind and Arrow type. The layout
is derived from the model alone, so every batch gets the same columns and the same Arrow schema,
whatever its values (an all-null column keeps its type).

Kinds and Arrow types: text ``string``; dates ``date32``; decimals ``decimal128(p, s)`` from the
field's ``DecimalColumn`` (amounts 18, 2); integers ``int64``; floats ``float64``; booleans
``bool``; anything else (a list of scalars, a nested list) ``string`` holding its JSON text.

``typed_value`` turns a record's JSON value into the column's Python value. A value the column
cannot hold (more decimals than its scale, more digits than its precision, a date that does not
parse) is never rounded or guessed: it becomes null, and the caller records why.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import types
import typing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from docvlm.errors import ValueNotRepresentable
from schemas.invoice import DecimalColumn

if TYPE_CHECKING:
    import pyarrow as pa

Kind = Literal["text", "date", "decimal", "int", "float", "bool", "json"]

#: the default column of a ``Decimal`` field that names none
DEFAULT_DECIMAL = DecimalColumn()


@dataclass(frozen=True)
class Column:
    """One table column: its name (a dotted path of the record's ``data``, or a status column) and kind."""

    name: str
    kind: Kind
    decimal: DecimalColumn | None = None

    def arrow_type(self) -> pa.DataType:
        import pyarrow as pa

        if self.kind == "decimal":
            spec = self.decimal or DEFAULT_DECIMAL
            return pa.decimal128(spec.precision, spec.scale)
        simple = {"date": pa.date32(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
        return simple.get(self.kind, pa.string())


#: the status columns of the documents table, before the schema's fields
DOCUMENT_HEAD: tuple[Column, ...] = (
    Column("source", "text"),
    Column("sha256", "text"),
    Column("status", "text"),
    Column("document_type", "text"),
    Column("engine", "text"),
    Column("pages", "int"),
    Column("part", "int"),
    Column("page_first", "int"),
    Column("page_last", "int"),
)
#: the summary columns of the documents table, after the schema's fields
DOCUMENT_TAIL: tuple[Column, ...] = (
    Column("line_item_count", "int"),
    Column("min_confidence", "float"),
    Column("warnings", "text"),
    Column("error_type", "text"),
    Column("error_message", "text"),
    Column("total_s", "float"),
)
#: the key columns of the line-items table, before the item's fields
ITEM_HEAD: tuple[Column, ...] = (Column("source", "text"), Column("part", "int"), Column("index", "int"))


@dataclass(frozen=True)
class TableLayout:
    """The columns of a schema's two tables."""

    fields: tuple[Column, ...]  # the scalar fields of the record's data, as dotted paths
    items_field: str | None  # the list-of-models field that is the second table (None: the model has none)
    item_fields: tuple[Column, ...]

    @property
    def documents(self) -> tuple[Column, ...]:
        return (*DOCUMENT_HEAD, *self.fields, *DOCUMENT_TAIL)

    @property
    def items(self) -> tuple[Column, ...]:
        return (*ITEM_HEAD, *self.item_fields)

    def arrow_schemas(self) -> tuple[pa.Schema, pa.Schema]:
        """The Arrow schemas of the documents table and the line-items table."""
        import pyarrow as pa

        def schema(cols: tuple[Column, ...]) -> pa.Schema:
            return pa.schema([pa.field(c.name, c.arrow_type(), nullable=True) for c in cols])

        return schema(self.documents), schema(self.items)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """``annotation`` without ``Optional`` and ``Annotated``, with the metadata it carried."""
    meta: list[Any] = []
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            meta.extend(extra)
            continue
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation, meta


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _scalar(name: str, annotation: Any, meta: list[Any]) -> Column:
    decimal = next((m for m in meta if isinstance(m, DecimalColumn)), None)
    if annotation is Decimal or decimal is not None:
        return Column(name, "decimal", decimal or DEFAULT_DECIMAL)
    if annotation is dt.date:
        return Column(name, "date")
    if annotation is bool:
        return Column(name, "bool")
    if annotation is int:
        return Column(name, "int")
    if annotation is float:
        return Column(name, "float")
    if annotation is str or typing.get_origin(annotation) is Literal:
        return Column(name, "text")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Column(name, "text")
    return Column(name, "json")


def _model_columns(model: type[BaseModel], prefix: str, lists: list[tuple[str, Any]]) -> list[Column]:
    cols: list[Column] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation, meta = _unwrap(info.annotation)
        meta = [*info.metadata, *meta]
        if _is_model(annotation):
            cols.extend(_model_columns(annotation, f"{path}.", lists))
            continue
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation) or (Any,)
            item, _ = _unwrap(item)
            if not prefix and _is_model(item) and not lists:
                lists.append((name, item))  # the first top-level list of models is the second table
                continue
        cols.append(_scalar(path, annotation, meta))
    return cols


@cache
def table_layout(model: type[BaseModel]) -> TableLayout:
    """The table columns of ``model`` (see the module docstring)."""
    lists: list[tuple[str, Any]] = []
    fields = _model_columns(model, "", lists)
    if not lists:
        return TableLayout(tuple(fields), None, ())
    items_field, item_model = lists[0]
    return TableLayout(tuple(fields), items_field, tuple(_model_columns(item_model, "", [])))


def _fits(value: Decimal, spec: DecimalColumn) -> bool:
    if not value.is_finite():
        return False
    quantum = Decimal(1).scaleb(-spec.scale)
    try:
        scaled = value.quantize(quantum)
    except InvalidOperation:  # more digits than the context holds
        return False
    return scaled == value and abs(scaled) < Decimal(10) ** (spec.precision - spec.scale)


def typed_value(column: Column, value: Any) -> Any:
    """``value`` (as a record holds it: JSON) as column ``column`` stores it; raises ``ValueNotRepresentable``."""
    if value is None:
        return None
    kind = column.kind
    try:
        if kind == "decimal":
            spec = column.decimal or DEFAULT_DECIMAL
            number = Decimal(str(value)) if not isinstance(value, bool) else None
            if number is None or not _fits(number, spec):
                raise ValueNotRepresentable(
                    f"{value!r} does not fit decimal128({spec.precision}, {spec.scale})"
                )
            return number
        if kind == "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueNotRepresentable(f"{value!r} is not an integer")
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueNotRepresentable(f"{value!r} is not true or false")
            return value
    except ValueNotRepresentable:
        raise
    except (InvalidOperation, ValueError, TypeError):
        raise ValueNotRepresentable(f"{value!r} is not a {kind}") from None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
