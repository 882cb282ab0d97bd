"""Generic key-value form schema: label/value pairs read off a page."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.kinds import FieldKind


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # printed text, found on the page by fuzzy match (FieldKind.TEXT), not a user's unmarked string
    key: Annotated[str, FieldKind.TEXT] = Field(max_length=200)
    value: Annotated[str | None, FieldKind.TEXT] = Field(default=None, max_length=1000)


class Form(BaseModel):
    """A form: its key-value pairs in reading order."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FormField] = Field(default_factory=list, max_length=200)
