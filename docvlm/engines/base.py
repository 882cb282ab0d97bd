"""The engine seam: pages plus a target schema in, schema-shaped candidates with evidence out.

Engines never see Documents or Extractions. ``extract`` gets the pages of one document (their
words, sizes and lazy image renderers) and returns an ``EngineOutput``. ``answer`` gets the same
pages and a question and returns an ``Answer``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Page
from schemas.docvqa import Answer


class BaseEngine(ABC):
    """Interface every engine implements."""

    name: str = "base"
    #: whether the pipeline must render page images for this engine (the layout engine needs none)
    needs_images: bool = False

    @classmethod
    def schema_problem(cls, schema: type[BaseModel]) -> str | None:
        """Why this engine cannot extract ``schema``, or None when it can (checked before any file is read).

        Generative engines need a schema they can turn into a bounded JSON Schema for their grammar.
        """
        from docvlm.engines.generative.json_schema import bounded_json_schema

        try:
            bounded_json_schema(schema)
        except ValueError as exc:
            return str(exc)
        return None

    @abstractmethod
    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        """Extract the fields of ``schema`` from the pages of one document."""

    def extract_batch(self, docs: Sequence[Sequence[Page]], schema: type[BaseModel]) -> list[EngineOutput]:
        """Extract several documents; engines that batch generation override this."""
        return [self.extract(pages, schema) for pages in docs]

    @abstractmethod
    def answer(self, pages: Sequence[Page], question: str) -> Answer:
        """Answer a question about one document, with the text as printed and its evidence."""

    def warm(self) -> None:  # noqa: B027 - optional hook
        """Load now what the first document would load (a worker calls it before its first document is timed)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models, sessions or pools."""
