"""Generic key-value form schema: label/value pairs read off a page."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=200)
    value: str | None = Field(default=None, max_length=1000)


class Form(BaseModel):
    """A form: its key-value pairs in reading order."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FormField] = Field(default_factory=list, max_length=200)
