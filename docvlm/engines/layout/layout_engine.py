"""The offline layout engine: header fields by key-value geometry, line items by table structure.

In: the pages of one document (words with boxes, from the text layer or OCR) and the target
schema (``schemas.invoice.Invoice``). Out: an ``EngineOutput`` whose ``data`` has the shape of
the Invoice schema (values as strings: amounts "1234.56", dates ISO, currency ISO 4217, None
when absent), with evidence and a confidence for every emitted path and ``document_type``
"invoice" or "receipt". No download, no network, CPU only: the only model is the small table
model the project trains itself (``LayoutOptions.model``, else the package's), read with numpy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from docvlm.datamodel import BBox, EngineOutput, Evidence, Page
from docvlm.engines import LayoutOptions
from docvlm.engines.base import BaseEngine
from docvlm.engines.layout.fields import HeaderResult, PageLines, extract_header, page_lines, sum_line_amounts
from docvlm.engines.layout.receipts import extract_receipt, extract_receipt_items, receipt_signal
from docvlm.errors import EngineError
from schemas.docvqa import Answer
from schemas.invoice import HEADER_FIELDS, LINE_ITEM_FIELDS, Invoice

_log = logging.getLogger(__name__)


def _empty_data() -> dict[str, Any]:
    """An Invoice-shaped dict with every header field None and no line items."""
    data: dict[str, Any] = {"vendor": {}, "customer": {}}
    for path in HEADER_FIELDS:
        if "." in path:
            party, leaf = path.split(".", 1)
            data[party][leaf] = None
        else:
            data[path] = None
    for leaf in ("iban", "email", "phone"):
        data["customer"].setdefault(leaf, None)
    data["line_items"] = []
    return data


class LayoutEngine(BaseEngine):
    """Geometry rules over page words and a small trained table model: no templates per vendor."""

    name = "layout"
    needs_images = False

    def __init__(self, options: LayoutOptions | None = None) -> None:
        self.options = options or LayoutOptions()

    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        """Read header fields, receipt fields and line items from ``pages`` (one document)."""
        if not (isinstance(schema, type) and issubclass(schema, Invoice)):
            raise EngineError(f"the layout engine extracts invoices and receipts, not {schema!r}")
        t0 = time.perf_counter()
        pls: list[PageLines] = [page_lines(p) for p in pages]
        table = self._tables(pages)
        table_boxes: dict[int, BBox] = dict(getattr(table, "table_bbox", {}) or {}) if table else {}
        items: list[dict[str, str | None]] = list(getattr(table, "items", []) or []) if table else []
        line_sum = sum_line_amounts(items)
        header: HeaderResult = extract_header(pls, self.options.dayfirst, table_boxes, line_sum)
        signal = receipt_signal(pls)
        doc_type = "receipt" if signal.is_receipt else "invoice"
        if signal.is_receipt:
            extract_receipt(pls, header)
            if not items:  # a till roll without a table header: one item per amount line
                table = extract_receipt_items(pls, header)
                items = table.items
        data = _empty_data()
        for path, value in header.values.items():
            if "." in path:
                party, leaf = path.split(".", 1)
                data[party][leaf] = value
            else:
                data[path] = value
        evidence: dict[str, Evidence] = dict(header.evidence)
        confidence: dict[str, float] = dict(header.confidence)
        if table is not None:
            data["line_items"] = [{k: it.get(k) for k in LINE_ITEM_FIELDS} for it in items]
            evidence.update(getattr(table, "evidence", {}) or {})
            confidence.update(getattr(table, "confidence", {}) or {})
        _log.debug(
            "layout: %d pages, %s (aspect %.2f, %d receipt cues), %d header fields, %d items in %.1f ms",
            len(pages),
            doc_type,
            signal.aspect,
            signal.cues,
            len(header.values),
            len(items),
            (time.perf_counter() - t0) * 1000,
        )
        return EngineOutput(data=data, evidence=evidence, confidence=confidence, document_type=doc_type)

    def _tables(self, pages: Sequence[Page]) -> Any:
        """The line-item tables, or None when the table reader is not available or fails on this input."""
        try:
            from docvlm.engines.layout.tables import extract_line_items
        except ImportError:
            _log.debug("docvlm.engines.layout.tables is not available; no line items")
            return None
        try:
            return extract_line_items(pages, model_dir=self.options.model)
        except (ValueError, KeyError, IndexError, ArithmeticError) as e:
            # a table the reader cannot parse must not cost the header fields
            _log.warning("line-item extraction failed (%s: %s); header fields only", type(e).__name__, e)
            return None

    def answer(self, pages: Sequence[Page], question: str) -> Answer:
        """Answer a question about one document (delegates to ``docvlm.qa``)."""
        from docvlm.qa import answer_question

        return answer_question(pages, question, engine=self)
