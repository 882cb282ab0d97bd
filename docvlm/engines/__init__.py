"""Engines and their factory. Each engine module is imported lazily, so the core stays light."""

from __future__ import annotations

import importlib
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from docvlm.engines.base import BaseEngine


class LayoutOptions(BaseModel):
    """The offline geometry engine: no model download, CPU only."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["layout"] = "layout"
    dayfirst: bool | None = Field(default=None, description="None: infer from the document")
    model: str | None = Field(
        default=None, description="model folder from `docvlm train`; None: the model shipped in the package"
    )
    use_model: bool = Field(default=True, description="False: the rules alone choose every value")
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0, description="drop ranked values below this")
    line_items: bool = Field(
        default=True,
        description="read the line-item tables (off: header fields only, as the e-invoice check needs)",
    )


class TransformersOptions(BaseModel):
    """A local image-text-to-text model through Hugging Face transformers."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    kind: Literal["transformers"] = "transformers"
    model: str = Field(description="model id on the hub or a local folder")
    device: str | None = Field(default=None, description="cuda, mps or cpu; None chooses")
    dtype: str | None = Field(default=None, description="bfloat16, float16 or float32; None chooses")
    max_new_tokens: int = 1024
    max_attempts: int = 3
    temperature: float = 0.0
    temperature_step: float = 0.3
    constrained: bool = True
    batch_size: int = 4
    max_prompt_words: int = 600
    max_pixels: int | None = None
    trust_remote_code: bool = False


class OpenAIOptions(BaseModel):
    """Any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, hosted APIs)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    kind: Literal["openai"] = "openai"
    model: str
    base_url: str = "http://localhost:8000/v1"
    api_key_env: str = Field(default="OPENAI_API_KEY", description="name of the env var holding the key")
    timeout_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 0.5
    max_concurrency: int = 4
    max_attempts: int = 3
    temperature: float = 0.0
    temperature_step: float = 0.3
    max_tokens: int = 1024
    json_schema: bool | None = Field(default=None, description="None: try json_schema, then JSON mode")
    max_prompt_words: int = 600
    max_pixels: int = 1_600_000


class HybridOptions(BaseModel):
    """Layout first, then a VLM only for missing, low-confidence or rule-failing fields."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["hybrid"] = "hybrid"
    vlm: TransformersOptions | OpenAIOptions = Field(discriminator="kind")
    min_confidence: float = 0.6


EngineOptions = Annotated[
    LayoutOptions | TransformersOptions | OpenAIOptions | HybridOptions, Field(discriminator="kind")
]


class _Entry(NamedTuple):
    """Where an engine lives: its module and class, and a light module that answers
    ``schema_problem(schema)`` without importing the engine (None: the class answers)."""

    module: str
    cls: str
    schema_check: str | None = None


_ENGINES = {
    "layout": _Entry("docvlm.engines.layout", "LayoutEngine", "docvlm.engines.layout.support"),
    "transformers": _Entry("docvlm.engines.transformers", "TransformersEngine"),
    "openai": _Entry("docvlm.engines.openai_engine", "OpenAIEngine"),
    "hybrid": _Entry("docvlm.engines.hybrid_engine", "HybridEngine"),
}


def create_engine(options: LayoutOptions | TransformersOptions | OpenAIOptions | HybridOptions) -> BaseEngine:
    """Import the engine for ``options.kind`` lazily and build it."""
    engine: BaseEngine = engine_class(options.kind)(options)  # type: ignore[call-arg]
    return engine


def engine_class(kind: str) -> type[BaseEngine]:
    """The engine class for ``kind`` (its module imported, nothing built)."""
    entry = _ENGINES[kind]
    cls: type[BaseEngine] = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def schema_problem(
    options: LayoutOptions | TransformersOptions | OpenAIOptions | HybridOptions, schema: type[BaseModel]
) -> str | None:
    """Why the engine ``options`` configure cannot extract ``schema``, or None; no model is loaded."""
    kinds = [options.kind] if options.kind != "hybrid" else ["layout", options.vlm.kind]  # type: ignore[union-attr]
    for kind in kinds:
        check = _ENGINES[kind].schema_check
        # a light module where there is one: the CLI's parent checks the schema without loading the engine
        problem = (
            importlib.import_module(check).schema_problem(schema)
            if check
            else engine_class(kind).schema_problem(schema)
        )
        if problem:
            return problem
    return None


__all__ = [
    "BaseEngine",
    "EngineOptions",
    "HybridOptions",
    "LayoutOptions",
    "OpenAIOptions",
    "TransformersOptions",
    "create_engine",
    "engine_class",
    "schema_problem",
]
