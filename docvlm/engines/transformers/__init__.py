"""The ``transformers`` engine: a local image-text-to-text model through Hugging Face transformers.

- ``transformers_engine``: ``TransformersEngine`` (loading, batched generation, re-ask, merge);
- ``families``: one adapter per model family (prompt format, image placeholders, pixel budget);
- ``image_processors``: image-only processors for families whose stock ones need torchvision;
- ``constrain``: schema-constrained decoding with xgrammar.

Importing this package imports no torch; the engine loads the VLM stack when it is built.
"""

from __future__ import annotations

from docvlm.engines.transformers.transformers_engine import TransformersEngine

__all__ = ["TransformersEngine"]
