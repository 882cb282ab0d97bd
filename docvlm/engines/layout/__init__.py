"""The offline layout engine (``LayoutEngine``): key-value geometry for header fields, receipts and tables."""

from __future__ import annotations

import logging

from docvlm.engines.layout.layout_engine import LayoutEngine

_log = logging.getLogger(__name__)

__all__ = ["LayoutEngine"]
