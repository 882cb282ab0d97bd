"""The schema resolver: what ``--schema`` (or ``PipelineOptions.schema_name``) names, as a Pydantic model.

A schema is named in one of three ways:

- a built-in name (``invoice``, ``receipt``, ``form``: ``schemas.SCHEMAS``);
- ``module:Class``, an importable Pydantic model (``mymodels:DeliveryNote``);
- the path of a JSON Schema file (``delivery_note.schema.json``), turned into a Pydantic model.

A model class handed to the Python API is resolved the same way. Every stage reads a record through
the resolved ``model``. For a user's model that is a copy in which every field may be absent
(``None``, or an empty list), because a document need not print every field and the output contract
says an absent value is null; the user's types, constraints, descriptions, aliases and validators
are kept. ``field_kinds`` tells grounding which leaves are numbers and dates.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import os
import re
import sys
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

#: how a leaf is read and grounded
Kind = Literal["number", "date", "bool", "text", "list", "object"]


class SchemaError(ValueError):
    """A schema name, reference or file that cannot be turned into a model."""


@dataclass(frozen=True)
class ResolvedSchema:
    """A resolved schema: its name (the record's ``document_type`` for user schemas), the model the
    stages use, the user's own model, and ``spec``: how a worker process names it again (None when
    the class cannot be imported by name, e.g. one defined in ``__main__``)."""

    name: str
    model: type[BaseModel]
    user_model: type[BaseModel]
    spec: str | None
    builtin: bool


def _builtins() -> dict[str, type[BaseModel]]:
    from schemas import builtin_schemas

    return builtin_schemas()


def class_spec(model: type[BaseModel]) -> str | None:
    """``module:Qualname`` when importing that gives back ``model``, else None."""
    module, qual = model.__module__, model.__qualname__
    if module == "__main__" or "<locals>" in qual:
        return None
    try:
        return f"{module}:{qual}" if _import_ref(f"{module}:{qual}") is model else None
    except SchemaError:
        return None


def _import_ref(ref: str) -> type[BaseModel]:
    module_name, _, qual = ref.partition(":")
    if not module_name or not qual:
        raise SchemaError(f"{ref!r} is not of the form module:Class")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:  # `docvlm` run from the folder of the user's module
        sys.path.append(cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SchemaError(f"cannot import {module_name!r} for schema {ref!r}: {exc}") from exc
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise SchemaError(f"module {module_name!r} has no {qual!r} (schema {ref!r})")
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        raise SchemaError(f"{ref!r} is not a Pydantic model class")
    return obj


def resolve_schema(spec: str | type[BaseModel]) -> ResolvedSchema:
    """The model for a built-in name, ``module:Class``, a JSON Schema path or a model class.

    Raises ``SchemaError`` with a message meant for the user.
    """
    from schemas import BUILTIN_NAMES, get_schema

    if isinstance(spec, str) and spec.strip() in BUILTIN_NAMES:  # imports that document type only
        model = get_schema(spec.strip())
        return ResolvedSchema(spec.strip(), model, model, spec.strip(), True)
    builtins = _builtins()
    if isinstance(spec, type):
        if not issubclass(spec, BaseModel):
            raise SchemaError(f"{spec!r} is not a Pydantic model class")
        for name, model in builtins.items():
            if model is spec:
                return ResolvedSchema(name, model, model, name, True)
        return ResolvedSchema(_doc_type(spec), lenient_model(spec), spec, class_spec(spec), False)
    text = str(spec).strip()
    if text in builtins:
        return ResolvedSchema(text, builtins[text], builtins[text], text, True)
    path = Path(text)
    if text.endswith(".json") or (path.suffix and path.is_file()):
        user = model_from_json_schema_file(path)
        return ResolvedSchema(_doc_type(user), lenient_model(user), user, str(path.resolve()), False)
    if ":" in text:
        user = _import_ref(text)
        return (
            resolve_schema(user)
            if user in builtins.values()
            else ResolvedSchema(_doc_type(user), lenient_model(user), user, text, False)
        )
    raise SchemaError(
        f"unknown schema {text!r}: give a built-in name ({', '.join(sorted(builtins))}), "
        "module:Class (an importable Pydantic model) or the path of a JSON Schema file"
    )


def _doc_type(model: type[BaseModel]) -> str:
    """snake_case of the class name: ``DeliveryNote`` -> ``delivery_note``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", model.__name__).lower()


# ---------------------------------------------------------------------------------------------
# Every field may be absent


def _strip_optional(ann: Any) -> tuple[Any, bool]:
    if typing.get_origin(ann) in (Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) < len(typing.get_args(ann)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return ann, False


def _relax(ann: Any) -> Any:
    """``ann`` with nested models replaced by their lenient copies (Annotated metadata kept)."""
    if typing.get_origin(ann) is typing.Annotated:
        base, *meta = typing.get_args(ann)
        return typing.Annotated[(_relax(base), *meta)]  # type: ignore[valid-type]
    origin = typing.get_origin(ann)
    if origin in (Union, types.UnionType):
        return Union[tuple(_relax(a) for a in typing.get_args(ann))]  # noqa: UP007
    if origin is list:
        (item,) = typing.get_args(ann) or (Any,)
        return list[_relax(item)]  # type: ignore[misc]
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return lenient_model(ann)
    return ann


@functools.cache
def lenient_model(model: type[BaseModel]) -> type[BaseModel]:
    """A subclass of ``model`` whose every field may be absent: required fields default to None (lists
    to an empty list), nested models likewise; fields are also accepted by name when they have an
    alias (engines write names). Types, constraints, descriptions and validators are kept."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        ann = _relax(info.annotation)
        base, _ = _strip_optional(ann)
        new = FieldInfo.merge_field_infos(info)
        if info.is_required():
            if typing.get_origin(base) is list:
                new = FieldInfo.merge_field_infos(info, default_factory=list)
            else:
                new = FieldInfo.merge_field_infos(info, default=None)
                ann = Optional[ann]  # noqa: UP045 - built at runtime
        fields[name] = (ann, new)
    config = ConfigDict(validate_by_name=True, validate_by_alias=True)
    lenient: type[BaseModel] = create_model(  # type: ignore[call-overload]
        model.__name__, __base__=model, __module__=model.__module__, __config__=None, **fields
    )
    lenient.model_config.update(config)
    lenient.model_rebuild(force=True)
    lenient.__doc__ = model.__doc__
    return lenient


# ---------------------------------------------------------------------------------------------
# What each leaf is


def leaf_kind(ann: Any) -> tuple[Kind, Any]:
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    ann, _ = _strip_optional(ann)
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    if typing.get_origin(ann) is list:
        return "list", (typing.get_args(ann) or (str,))[0]
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "object", ann
    if ann is bool:
        return "bool", ann
    if ann in (Decimal, float, int):
        return "number", ann
    if ann in (dt.date, dt.datetime):
        return "date", ann
    return "text", ann


def field_kinds(model: type[BaseModel], prefix: str = "") -> dict[str, Kind]:
    """Dotted paths (list items without their index) of every field -> its kind."""
    out: dict[str, Kind] = {}
    for name, info in model.model_fields.items():
        kind, inner = leaf_kind(info.annotation)
        path = f"{prefix}{name}"
        out[path] = kind
        if kind == "object":
            out.update(field_kinds(inner, path + "."))
        elif kind == "list":
            ikind, iinner = leaf_kind(inner)
            if ikind == "object":
                out.update(field_kinds(iinner, path + "."))
    return out


def kind_of(kinds: dict[str, Kind] | None, path: str) -> Kind | None:
    """The kind of a record path (``items.3.quantity`` -> the kind of ``items.quantity``)."""
    if not kinds:
        return None
    return kinds.get(".".join(p for p in path.split(".") if not p.isdigit()))


# ---------------------------------------------------------------------------------------------
# JSON Schema -> Pydantic model

_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": Decimal, "boolean": bool}


def model_from_json_schema_file(path: Path) -> type[BaseModel]:
    """The model for a JSON Schema file (an object schema); ``SchemaError`` when it cannot be read."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"schema file {str(path)!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise SchemaError(f"schema file {str(path)!r} is not readable JSON: {exc}") from exc
    default = re.sub(r"\W+", "_", path.name.split(".")[0]).strip("_") or "Schema"
    return model_from_json_schema(schema, default.title().replace("_", ""))


def model_from_json_schema(schema: dict[str, Any], name: str = "Schema") -> type[BaseModel]:
    """A Pydantic model for an object JSON Schema: properties with type (string, number, integer,
    boolean, array, object), ``format: date``, ``enum``, ``anyOf`` with null, ``$ref`` into
    ``$defs``/``definitions``, ``description``, ``title``, ``maxLength`` and ``maxItems``."""
    if not isinstance(schema, dict) or (
        schema.get("type", "object") != "object" or "properties" not in schema
    ):
        raise SchemaError("a JSON Schema for --schema must be an object schema with properties")
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    built: dict[str, type[BaseModel]] = {}
    return _object_model(schema, str(schema.get("title") or name), defs, built, ())


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    ref = node.get("$ref")
    if not ref:
        return node, None
    key = ref.rsplit("/", 1)[-1]
    if key not in defs:
        raise SchemaError(f"$ref {ref!r} names no definition")
    return defs[key], key


def _object_model(
    node: dict[str, Any],
    name: str,
    defs: dict[str, Any],
    built: dict[str, type[BaseModel]],
    stack: tuple[str, ...],
) -> type[BaseModel]:
    if name in stack:
        raise SchemaError(f"the JSON Schema refers to {name!r} inside itself; a record cannot be recursive")
    if name in built:
        return built[name]
    required = set(node.get("required", []))
    fields: dict[str, Any] = {}
    for prop, sub in (node.get("properties") or {}).items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prop):
            raise SchemaError(f"property {prop!r} is not usable as a field name")
        ann, nullable = _json_type(sub, f"{name}_{prop}", defs, built, (*stack, name))
        kwargs: dict[str, Any] = {}
        for key, arg in (("description", "description"), ("title", "title")):
            if isinstance(sub, dict) and key in sub:
                kwargs[arg] = sub[key]
        if isinstance(sub, dict) and "maxLength" in sub:
            kwargs["max_length"] = sub["maxLength"]
        if prop in required and not nullable:
            fields[prop] = (ann, Field(**kwargs))
        else:
            fields[prop] = (Optional[ann], Field(default=None, **kwargs))  # noqa: UP045
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        re.sub(r"\W", "_", name), __doc__=node.get("description"), **fields
    )
    built[name] = model
    return model


def _json_type(
    node: Any, name: str, defs: dict[str, Any], built: dict[str, type[BaseModel]], stack: tuple[str, ...]
) -> tuple[Any, bool]:
    """(annotation, nullable) of a property schema."""
    if not isinstance(node, dict):
        return str, True
    node, ref = _deref(node, defs)
    if ref:
        name = ref
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [o for o in node[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            first, _ = _json_type(options[0] if options else {}, name, defs, built, stack)
            return first, len(options) < len(node[key])
    typ = node.get("type", "string")
    nullable = False
    if isinstance(typ, list):
        nullable = "null" in typ
        typ = next((t for t in typ if t != "null"), "string")
    if "enum" in node:
        values = tuple(v for v in node["enum"] if v is not None)
        return Literal[values], nullable or None in node["enum"]  # type: ignore[valid-type]
    if typ == "object":
        if node.get("properties"):
            return _object_model(node, node.get("title") or name, defs, built, stack), nullable
        return str, True
    if typ == "array":
        item, _ = _json_type(node.get("items", {}), name + "_item", defs, built, stack)
        ann: Any = list[item]  # type: ignore[valid-type]
        if "maxItems" in node:
            ann = typing.Annotated[ann, Field(max_length=node["maxItems"])]
        return ann, nullable
    if typ == "string" and node.get("format") == "date":
        return dt.date, nullable
    if typ not in _JSON_TYPES:
        raise SchemaError(f"JSON Schema type {typ!r} is not supported")
    return _JSON_TYPES[typ], nullable


__all__ = [
    "Kind",
    "ResolvedSchema",
    "SchemaError",
    "class_spec",
    "field_kinds",
    "kind_of",
    "leaf_kind",
    "lenient_model",
    "model_from_json_schema",
    "model_from_json_schema_file",
    "resolve_schema",
]
