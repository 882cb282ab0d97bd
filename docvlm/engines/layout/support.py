"""Which schemas the layout engine can read, decided without loading the engine.

In: a schema class. Out: why the layout engine cannot extract it, or None. The CLI's parent process
checks the schema before any file is read; with the documents in worker processes it never needs
the engine itself (its tables, chooser and models), so this check imports none of them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from schemas.docvqa import Answer
from schemas.forms import Form
from schemas.invoice import Invoice
from schemas.resolve import leaf_kind


def is_object_list(annotation: Any) -> bool:
    """A field that holds a list of objects (line items, a form's table rows)."""
    kind, inner = leaf_kind(annotation)
    return kind == "list" and leaf_kind(inner)[0] == "object"


def schema_problem(schema: type[BaseModel]) -> str | None:
    """The layout engine reads invoices, the form schema and any model with a field a label can name."""
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return f"{schema!r} is not a Pydantic model"
    if issubclass(schema, (Invoice, Form)):
        return None
    from docvlm.engines.layout.kvmap import schema_targets

    if issubclass(schema, Answer):
        return "question answers come from `docvlm ask`, not from extraction"
    if not schema_targets(schema) and not any(
        is_object_list(info.annotation) for info in schema.model_fields.values()
    ):
        return "it has no field that a printed label could name (only nested lists or no fields)"
    return None
