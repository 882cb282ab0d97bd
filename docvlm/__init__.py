"""docvlm: invoices and forms in, validated and grounded JSON out.

Public API::

    from docvlm import Pipeline, PipelineOptions, extract
    for ex in Pipeline().run(["invoices/"]):
        print(ex.to_record())
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# onnxruntime (RapidOCR's runtime) writes a device id and an event database under
# ~/.cache/Microsoft when it is imported, unless this is set first (honoured by onnxruntime 1.2x;
# a value the user set wins). Newer releases also read ORT_TELEMETRY_DISABLED.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")

__version__ = "0.1.0"

_LAZY = {
    "Pipeline": "docvlm.pipeline",
    "PipelineOptions": "docvlm.pipeline",
    "extract": "docvlm.pipeline",
    "Extraction": "docvlm.datamodel",
    "Evidence": "docvlm.datamodel",
    "Page": "docvlm.datamodel",
    "Word": "docvlm.datamodel",
    "LayoutOptions": "docvlm.engines",
    "TransformersOptions": "docvlm.engines",
    "OpenAIOptions": "docvlm.engines",
    "HybridOptions": "docvlm.engines",
    "create_engine": "docvlm.engines",
    "create_sink": "docvlm.sinks",
    "DocvlmError": "docvlm.errors",
}

if TYPE_CHECKING:
    from docvlm.datamodel import Evidence, Extraction, Page, Word
    from docvlm.engines import HybridOptions, LayoutOptions, OpenAIOptions, TransformersOptions, create_engine
    from docvlm.errors import DocvlmError
    from docvlm.pipeline import Pipeline, PipelineOptions, extract
    from docvlm.sinks import create_sink


def __getattr__(name: str) -> Any:
    # imported lazily so that `import docvlm` stays cheap (no pandas, onnxruntime or torch)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'docvlm' has no attribute {name!r}")


__all__ = [
    "DocvlmError",
    "Evidence",
    "Extraction",
    "HybridOptions",
    "LayoutOptions",
    "OpenAIOptions",
    "Page",
    "Pipeline",
    "PipelineOptions",
    "TransformersOptions",
    "Word",
    "create_engine",
    "create_sink",
    "extract",
]
