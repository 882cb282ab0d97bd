"""The label formats the dataset readers know, and the error they raise: a leaf module, so that the
``docvlm eval`` command line can name them without loading the readers and the schemas."""

from __future__ import annotations

from typing import Literal

from docvlm.errors import DocvlmError

LabelFormat = Literal["auto", "docvlm", "invoice2data", "sroie", "docile", "einvoice"]
LABEL_FORMATS: tuple[str, ...] = ("auto", "docvlm", "invoice2data", "sroie", "docile", "einvoice")


class DatasetError(DocvlmError):
    """A dataset, label or prediction file is missing or not in the expected format."""
