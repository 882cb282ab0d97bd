"""The offline layout engine: header fields by key-value geometry, line items by table structure.

In: the pages of one document (words with boxes, from the text layer or OCR) and the target
schema (``schemas.invoice.Invoice``). Out: an ``EngineOutput`` whose ``data`` has the shape of
the Invoice schema (values as strings: amounts "1234.56", dates ISO, currency ISO 4217, None
when absent), with evidence and a confidence for every emitted path and ``document_type``
"invoice" or "receipt". CPU only, no network, no download.

Two halves: the rules (``candidates``) read every field and propose every plausible value
(``candidates.pool``); the chooser (``ranker``), a small model the project trains itself with
``docvlm train`` and ships in ``layout/model/``, picks each field's value among them and gives its
calibrated confidence. Without a model the rules' own choice stands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from docvlm.datamodel import BBox, EngineOutput, Evidence, Page
from docvlm.engines import LayoutOptions
from docvlm.engines.base import BaseEngine
from docvlm.engines.layout.candidates.amounts import sum_line_amounts
from docvlm.engines.layout.candidates.base import HeaderResult
from docvlm.engines.layout.candidates.header import extract_header
from docvlm.engines.layout.candidates.pool import build_pool
from docvlm.engines.layout.credit_notes import restate_credit_note
from docvlm.engines.layout.ranker import HeaderModel, ModelError, apply_model, load_model
from docvlm.engines.layout.receipts import (
    ReceiptSignal,
    extract_receipt,
    extract_receipt_items,
    receipt_signal,
)
from docvlm.engines.layout.sellers import SellerProfiles, apply_profile, load_profiles, profile_kinds
from docvlm.engines.layout.support import is_object_list, schema_problem
from docvlm.engines.layout.text import PageLines, page_lines
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


@dataclass
class RulePass:
    """What the rules read from one document: its lines, tables, header values and receipt signal."""

    pls: list[PageLines]
    header: HeaderResult
    signal: ReceiptSignal
    table: Any
    items: list[dict[str, str | None]]
    table_boxes: dict[int, BBox]
    line_sum: Decimal | None


def line_item_tables(
    pages: Sequence[Page], model_dir: str | None = None, use_model: bool = True, table_model: Any = None
) -> Any:
    """The line-item tables, or None when the table reader is not available or fails on this input.

    ``model_dir``: a model folder whose table model reads them (None, or a folder without one: the
    package's); ``table_model``: a loaded table model instead (training scores its folds so);
    ``use_model`` False: the table rules alone.
    """
    try:
        from docvlm.engines.layout.tables import extract_line_items
    except ImportError:
        _log.debug("docvlm.engines.layout.tables is not available; no line items")
        return None
    try:
        return extract_line_items(pages, model=table_model, model_dir=model_dir, use_model=use_model)
    except (ValueError, KeyError, IndexError, ArithmeticError) as e:
        # a table the reader cannot parse must not cost the header fields
        _log.warning("line-item extraction failed (%s: %s); header fields only", type(e).__name__, e)
        return None


def rule_pass(
    pages: Sequence[Page],
    dayfirst: bool | None = None,
    line_items: bool = True,
    model_dir: str | None = None,
    use_model: bool = True,
    table_model: Any = None,
) -> RulePass:
    """Run every rule over one document (the candidates' raw material and the rules' own choice);
    ``line_items`` False skips the tables (header fields only). The tables are read with
    ``table_model``, else the table model of ``model_dir``, else the package's (``use_model`` False:
    the table rules alone). A receipt's tables are read by the table rules alone: the table model learns from invoices (the
    labelled receipts label no items)."""
    pls: list[PageLines] = [page_lines(p) for p in pages]
    signal = receipt_signal(pls, decision_only=True)
    learned = use_model and not signal.is_receipt
    table = (
        line_item_tables(pages, model_dir, learned, table_model if learned else None) if line_items else None
    )
    table_boxes: dict[int, BBox] = dict(getattr(table, "table_bbox", {}) or {}) if table else {}
    items: list[dict[str, str | None]] = list(getattr(table, "items", []) or []) if table else []
    line_sum = sum_line_amounts(items)
    header: HeaderResult = extract_header(pls, dayfirst, table_boxes, line_sum)
    if signal.is_receipt:
        extract_receipt(pls, header)
        if not items:  # a till roll without a table header: one item per amount line
            table = extract_receipt_items(pls, header)
            items = table.items
    return RulePass(pls, header, signal, table, items, table_boxes, line_sum)


class LayoutEngine(BaseEngine):
    """Rules propose candidate values from page geometry; a trained model chooses among them."""

    name = "layout"
    needs_images = False

    def __init__(self, options: LayoutOptions | None = None) -> None:
        self.options = options or LayoutOptions()
        self._model: HeaderModel | None = None
        self._model_loaded = False
        self._profiles: SellerProfiles | None = None
        if self.options.model and self.options.use_model:
            self._model = load_model(self.options.model)  # a folder the user named must load
            self._model_loaded = True
            self._profiles = load_profiles(self.options.model)  # the user's sellers, when trained with them

    @property
    def model(self) -> HeaderModel | None:
        """The chooser (loaded on first use); None when disabled or when the package ships none."""
        if not self._model_loaded:
            self._model_loaded = True
            if self.options.use_model:
                try:
                    self._model = load_model(None)
                except ModelError as exc:
                    _log.warning("layout model not used: %s; the rules choose", exc)
        return self._model

    @classmethod
    def schema_problem(cls, schema: type[BaseModel]) -> str | None:
        """The layout engine reads invoices, the form schema and any model with a field a label can name."""
        return schema_problem(schema)

    def warm(self) -> None:
        _ = self.model

    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        """Read header fields, receipt fields and line items from ``pages`` (one document).

        Any schema other than the invoice's is read by the key-value reader (``kvmap``).
        """
        if not (isinstance(schema, type) and issubclass(schema, Invoice)):
            problem = self.schema_problem(schema)
            if problem:
                raise EngineError(
                    f"the layout engine cannot extract {getattr(schema, '__name__', schema)!r}: {problem}"
                )
            from docvlm.engines.layout.kvmap import extract_schema

            tables = (
                line_item_tables(pages)
                if self.options.line_items
                and any(is_object_list(i.annotation) for i in schema.model_fields.values())
                else None
            )
            return extract_schema(pages, schema, tables)
        t0 = time.perf_counter()
        rp = rule_pass(
            pages, self.options.dayfirst, self.options.line_items, self.options.model, self.options.use_model
        )
        header, signal, table, items = rp.header, rp.signal, rp.table, rp.items
        model = self.model
        t1 = time.perf_counter()
        profiles = self._profiles
        if (model is not None or profiles is not None) and rp.pls and any(pl.lines for pl in rp.pls):
            # the pool holds the kinds the model ranks, and those the seller's profile decides
            seller = profiles.seller_of(rp.pls) if profiles is not None else None
            kinds = model.kinds_for(signal.is_receipt, header) if model is not None else set()
            if profiles is not None and seller is not None:
                kinds |= profile_kinds(profiles, seller)
            pool = build_pool(rp.pls, header, signal.is_receipt, rp.table_boxes, kinds)
            if model is not None:
                apply_model(model, pool, header, rp.table_boxes, rp.line_sum, self.options.min_confidence)
            if profiles is not None and seller is not None:
                apply_profile(profiles, seller, pool, header)
        chooser_ms = (time.perf_counter() - t1) * 1000
        doc_type = "receipt" if signal.is_receipt else "invoice"
        if restate_credit_note(rp.pls, header, items, signal.is_receipt):
            doc_type = "credit_note"  # its amounts stated positive, as its XML states them
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
            "layout: %d pages, %s (aspect %.2f, %s receipt cues), %d header fields, %d items in %.1f ms "
            "(chooser %.2f ms)",
            len(pages),
            doc_type,
            signal.aspect,
            signal.cues if signal.complete else "unread",
            len(header.values),
            len(items),
            (time.perf_counter() - t0) * 1000,
            chooser_ms,
        )
        return EngineOutput(data=data, evidence=evidence, confidence=confidence, document_type=doc_type)

    def answer(self, pages: Sequence[Page], question: str) -> Answer:
        """Answer a question about one document from its words (``answers``: field or label routes)."""
        from docvlm.engines.layout.answers import answer_question

        return answer_question(pages, question, engine=self)
