"""The offline layout engine (``LayoutEngine``): key-value geometry for header fields, receipts and tables."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docvlm.engines.layout.layout_engine import LayoutEngine

_log = logging.getLogger(__name__)

__all__ = ["LayoutEngine"]


def __getattr__(name: str) -> Any:
    # the engine (its models, the table and chooser code) loads when it is asked for: a module that
    # reads only the lexicon (``docvlm.split``, the CLI's parent process) does not pay for it
    if name == "LayoutEngine":
        return importlib.import_module("docvlm.engines.layout.layout_engine").LayoutEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
