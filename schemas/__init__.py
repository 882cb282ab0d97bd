"""Document-type schemas. Add a document type by adding a module here and registering it below."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from schemas.docvqa import Answer, Dataset, Prediction, Question
from schemas.forms import Form, FormField
from schemas.invoice import HEADER_FIELDS, LINE_ITEM_FIELDS, Invoice, LineItem, Party
from schemas.kinds import FieldKind, field_kinds, is_late, kind_of

SCHEMAS: dict[str, type[BaseModel]] = {
    "invoice": Invoice,
    "receipt": Invoice,  # receipts share the invoice schema
    "form": Form,
    "docvqa_answer": Answer,
}


def get_schema(name: str) -> type[BaseModel]:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(sorted(SCHEMAS))}") from None


def json_schema(name: str) -> dict[str, Any]:
    return get_schema(name).model_json_schema()


def json_schema_text(name: str) -> str:
    return json.dumps(json_schema(name), indent=2)


__all__ = [
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
    "field_kinds",
    "get_schema",
    "is_late",
    "json_schema",
    "json_schema_text",
    "kind_of",
]
