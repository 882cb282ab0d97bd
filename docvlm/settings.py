"""Global settings from the environment (``DOCVLM_*``); the CLI flags override them.

``DOCVLM_<FIELD>`` sets a field, the name in any case (``DOCVLM_DPI=150``,
``DOCVLM_OCR_BACKEND=tesseract``); an empty value leaves the default. The values are validated
like any model's, so ``DOCVLM_WORKERS=two`` is a clear error. ``DocvlmSettings()`` reads the
process's environment; arguments win over it. A plain pydantic model, not
pydantic-settings: both processes of a run read these first, and that package's import (about
0.2 s) was a tenth of a one-worker run's start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from docvlm.datamodel import DEFAULT_DPI

ENV_PREFIX = "DOCVLM_"


class DocvlmSettings(BaseModel):
    """Defaults a deployment can set once, e.g. ``DOCVLM_OCR_BACKEND=tesseract``."""

    model_config = ConfigDict(extra="ignore")

    dpi: int = DEFAULT_DPI
    ocr_backend: str = "rapidocr"
    ocr_mode: str = "auto"
    ocr_threads: int | None = None  # None: the cores shared among the workers
    ocr_detector: Literal["float", "int8"] = "float"  # RapidOCR's text detector (OcrOptions.detector)
    workers: int = 1
    log_level: str = "WARNING"
    max_megapixels: float = 100.0
    max_file_mb: float = 512.0

    @model_validator(mode="before")
    @classmethod
    def _environment_first(cls, data: Any) -> Any:
        """Fields given as arguments win over the environment's ``DOCVLM_*`` values."""
        if not isinstance(data, dict):
            return data
        return {**from_environment(os.environ, cls.model_fields), **data}


def from_environment(environ: Mapping[str, str], fields: Mapping[str, Any]) -> dict[str, str]:
    """The non-empty ``DOCVLM_<FIELD>`` values of ``environ`` for the names in ``fields``, any case."""
    out: dict[str, str] = {}
    for key, value in environ.items():
        if len(key) > len(ENV_PREFIX) and key[: len(ENV_PREFIX)].upper() == ENV_PREFIX and value != "":
            name = key[len(ENV_PREFIX) :].lower()
            if name in fields:
                out[name] = value
    return out
