"""Document-type schemas. Add a document type by adding a module here and registering it below.

Importing the package loads no model: each name below is imported when first read, so a command
that prints a built-in schema (``schemas.published``) needs neither pydantic nor the models.
"""

from __future__ import annotations

import json
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from schemas.docvqa import Answer, Dataset, Prediction, Question
    from schemas.forms import Form, FormField
    from schemas.invoice import HEADER_FIELDS, LINE_ITEM_FIELDS, Invoice, LineItem, Party
    from schemas.kinds import FieldKind, field_kinds, is_late, kind_of

# name -> (module, class); a command that needs one document type imports that one only
_BUILTIN: dict[str, tuple[str, str]] = {
    "invoice": ("schemas.invoice", "Invoice"),
    "receipt": ("schemas.invoice", "Invoice"),  # receipts share the invoice schema
    "form": ("schemas.forms", "Form"),
    "docvqa_answer": ("schemas.docvqa", "Answer"),
}
BUILTIN_NAMES: tuple[str, ...] = tuple(_BUILTIN)
_LAZY = {
    "Answer": "schemas.docvqa",
    "Dataset": "schemas.docvqa",
    "Prediction": "schemas.docvqa",
    "Question": "schemas.docvqa",
    "Form": "schemas.forms",
    "FormField": "schemas.forms",
    "HEADER_FIELDS": "schemas.invoice",
    "LINE_ITEM_FIELDS": "schemas.invoice",
    "Invoice": "schemas.invoice",
    "LineItem": "schemas.invoice",
    "Party": "schemas.invoice",
    "FieldKind": "schemas.kinds",
    "field_kinds": "schemas.kinds",
    "is_late": "schemas.kinds",
    "kind_of": "schemas.kinds",
}


def get_schema(name: str) -> type[BaseModel]:
    try:
        module, cls = _BUILTIN[name]
    except KeyError:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(sorted(_BUILTIN))}") from None
    model: type[BaseModel] = getattr(import_module(module), cls)
    return model


def builtin_schemas() -> dict[str, type[BaseModel]]:
    """Every built-in document type by name (imports them all)."""
    return {name: get_schema(name) for name in _BUILTIN}


def __getattr__(name: str) -> Any:
    if name == "SCHEMAS":
        return builtin_schemas()
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'schemas' has no attribute {name!r}")


def json_schema(name: str) -> dict[str, Any]:
    return get_schema(name).model_json_schema()


def json_schema_text(name: str) -> str:
    """The JSON Schema of a built-in type as ``docvlm schema`` prints it (``schemas.published``)."""
    return json.dumps(json_schema(name), indent=2)


__all__ = [
    "BUILTIN_NAMES",
    "HEADER_FIELDS",
    "LINE_ITEM_FIELDS",
    "SCHEMAS",
    "Answer",
    "Dataset",
    "FieldKind",
    "Form",
    "FormField",
    "Invoice",
    "LineItem",
    "Party",
    "Prediction",
    "Question",
    "builtin_schemas",
    "field_kinds",
    "get_schema",
    "is_late",
    "json_schema",
    "json_schema_text",
    "kind_of",
]
