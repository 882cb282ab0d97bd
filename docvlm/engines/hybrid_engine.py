"""The ``hybrid`` engine: the layout engine first, a VLM only for what the layout engine could not settle.

In: the pages of a document and a schema. The layout engine runs first. A field is put to the
VLM when it is

- missing and core to the document (date, vendor name, total),
- present with a confidence below ``options.min_confidence``, or
- named by a business rule that fails (``schemas.checks.rule_failures``).

When a call is made anyway, other missing fields ride along. The VLM is asked only for those
fields (``bounded_json_schema(..., fields=...)``) and only on the pages where they are printed
(header fields: the first page, totals: the last page, line items: all pages).

Out: the layout output (candidates), where a VLM value replaces the layout value only if it is
printed on the page (``docvlm.evidence.find_evidence``: fuzzy for text, by value for amounts and
dates, never inside prose) and does not break a business rule that the current values satisfy
(``schemas.checks``). Taken values are marked ``generated``, so the ground stage places them on
the page. Rejections are warnings (``vlm_rejected``); ``usage`` reports ``vlm_calls`` and
``vlm_calls_saved`` (page calls a VLM-only run would have made minus the calls made).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from docvlm.datamodel import EngineOutput, Evidence, Page, RecordWarning
from docvlm.engines import HybridOptions
from docvlm.engines.base import BaseEngine
from docvlm.engines.generative.fallback import LazyEngine
from docvlm.errors import DecodeError, EngineError
from docvlm.evidence import PageIndex, find_evidence
from docvlm.paths import get_path, iter_leaves, set_path
from schemas.checks import Finding, rule_failures
from schemas.docvqa import Answer
from schemas.invoice import HEADER_FIELDS, Invoice
from schemas.kinds import FieldKind, is_late, kind_of

_log = logging.getLogger(__name__)

#: fields whose absence makes an invoice or receipt record doubtful on its own (every invoice and
#: receipt prints them; many receipts print no invoice number or currency, so those only ride along)
CORE_FIELDS: tuple[str, ...] = ("invoice_date", "vendor.name", "total")
#: fields a failing rule also casts doubt on, besides the one it names
RULE_RELATED: dict[str, tuple[str, ...]] = {
    "total_mismatch": ("subtotal", "tax_total", "total"),
    "line_sum_mismatch": ("subtotal", "line_items"),
    "line_amount_mismatch": ("line_items",),
}
#: confidence of a layout value the VLM read the same way (two independent readers agree)
AGREEMENT_CONFIDENCE = 0.9
#: confidence prior of an accepted VLM value, times its grounding score
VLM_CONFIDENCE = 0.85
#: share of the text leaves of VLM line items that must be found on the page to take the table
LINE_ITEMS_GROUNDED_SHARE = 0.8
#: numbers of a VLM line item that must all be found on the page (a tax rate may be printed once)
ITEM_NUMBERS = frozenset({"quantity", "unit_price", "amount"})


@dataclass
class _Doubt:
    path: str
    reason: str


def _same(a: Any, b: Any, kind: FieldKind) -> bool:
    """Two readings of one field agree (amounts and dates by value, text by normalised form)."""
    from docvlm.parsers import normalize_text, parse_amount, parse_date

    if kind is FieldKind.MONEY:
        x, y = parse_amount(str(a)), parse_amount(str(b))
        return x is not None and x == y
    if kind is FieldKind.DATE:
        return parse_date(str(a)) is not None and parse_date(str(a)) == parse_date(str(b))
    return normalize_text(str(a)).casefold() == normalize_text(str(b)).casefold()


class HybridEngine(BaseEngine):
    """Layout first; the VLM settles missing, low-confidence or rule-failing fields.

    ``layout`` and ``vlm`` may be passed in (constructor injection); by default they are built
    from ``LayoutOptions()`` and ``options.vlm`` on first use.
    """

    name = "hybrid"
    needs_images = True

    def __init__(
        self, options: HybridOptions, *, layout: BaseEngine | None = None, vlm: BaseEngine | None = None
    ) -> None:
        self.options = options
        self._layout = LazyEngine(engine=layout)
        self._vlm = LazyEngine(options.vlm, engine=vlm)

    @property
    def layout(self) -> BaseEngine:
        return self._layout.get()

    @property
    def vlm(self) -> BaseEngine:
        return self._vlm.get()

    def warm(self) -> None:
        """Build and warm the layout engine, which reads every document first. The VLM is left to the
        first field that needs one: loading a model (or reaching a server) is not cheap, and a
        document the layout engine reads confidently never asks it."""
        self.layout.warm()

    # ---- what to ask ---------------------------------------------------------------------

    def _confidence(self, out: EngineOutput, path: str) -> float:
        if path in out.confidence:
            return out.confidence[path]
        ev = out.evidence.get(path)
        return ev.score if ev is not None else 1.0  # an engine that rates nothing is not doubted

    def find_doubts(self, out: EngineOutput, schema: type[BaseModel]) -> tuple[list[_Doubt], list[str]]:
        """The fields to put to the VLM: (doubts that justify a call, missing fields that may ride along)."""
        doubts: list[_Doubt] = []
        optional: list[str] = []
        seen: set[str] = set()

        def doubt(path: str, reason: str) -> None:
            if path not in seen:
                seen.add(path)
                doubts.append(_Doubt(path, reason))

        if not issubclass(schema, Invoice):
            # a generic schema: every top-level field that the layout engine left empty
            for name in schema.model_fields:
                value = out.data.get(name)
                if value in (None, [], {}, ""):
                    doubt(name, "missing")
            for path, _ in iter_leaves(out.data):
                if self._confidence(out, path) < self.options.min_confidence:
                    doubt(path.split(".", 1)[0], "low confidence")
            return doubts, optional
        for path in HEADER_FIELDS:
            value = get_path(out.data, path)
            if value is None:
                if path in CORE_FIELDS:
                    doubt(path, "missing")
                else:
                    optional.append(path)
            elif self._confidence(out, path) < self.options.min_confidence:
                doubt(path, f"confidence {self._confidence(out, path):.2f}")
        items = out.data.get("line_items") or []
        if not items:
            optional.append("line_items")
        elif any(
            self._confidence(out, p) < self.options.min_confidence
            for p, _ in iter_leaves(items, "line_items.")
            if p in out.confidence or p in out.evidence
        ):
            doubt("line_items", "low confidence")
        for w in self._rule_failures(out.data):
            named = [w.field] if w.field else []
            for path in (*named, *RULE_RELATED.get(w.code, ())):
                doubt("line_items" if path.startswith("line_items") else path, f"rule {w.code}")
        return doubts, [p for p in optional if p not in seen]

    @staticmethod
    def _rule_failures(data: dict[str, Any]) -> list[Finding]:
        return rule_failures(Invoice, data)

    @staticmethod
    def _pages_for(fields: Sequence[str], pages: Sequence[Page], schema: type[BaseModel]) -> list[Page]:
        """Where the asked fields are printed: header on the first page, totals on the last, items anywhere."""
        if any(f.split(".", 1)[0] == "line_items" for f in fields) or len(pages) <= 2:
            return list(pages)
        wanted: list[Page] = []
        if any(not is_late(schema, f) for f in fields):
            wanted.append(pages[0])
        if any(is_late(schema, f) for f in fields):
            wanted.append(pages[-1])
        return wanted

    # ---- extraction ----------------------------------------------------------------------

    def extract(self, pages: Sequence[Page], schema: type[BaseModel]) -> EngineOutput:
        """Layout output, improved by grounded VLM values for the doubtful fields."""
        base = self.layout.extract(pages, schema)
        out = copy.deepcopy(base)
        doubts, optional = self.find_doubts(base, schema)
        if not doubts:
            out.usage["vlm_calls"] = 0
            out.usage["vlm_calls_saved"] = len(pages)
            return out
        fields = [d.path for d in doubts] + optional
        # the doubts choose the pages; missing optional fields ride along on those pages
        asked = self._pages_for([d.path for d in doubts], pages, schema)
        _log.info(
            "asking the VLM for %s on %d page(s): %s",
            ", ".join(fields),
            len(asked),
            "; ".join(f"{d.path}: {d.reason}" for d in doubts),
        )
        out.usage["vlm_calls"] = len(asked)
        out.usage["vlm_calls_saved"] = len(pages) - len(asked)
        try:
            extract_fields = getattr(self.vlm, "extract_fields", None)
            if callable(extract_fields):
                vout: EngineOutput = extract_fields(asked, schema, fields)
            else:  # an engine without field subsets: ask for everything, use only what was doubted
                vout = self.vlm.extract(asked, schema)
        except (EngineError, DecodeError) as exc:
            out.warnings.append(
                RecordWarning("vlm_error", f"the VLM could not be asked ({exc}); kept layout values")
            )
            return out
        for k, v in vout.usage.items():
            out.usage[k] = out.usage.get(k, 0) + v
        out.attempts.extend(vout.attempts)
        if vout.fallback:
            out.warnings.append(
                RecordWarning(
                    "vlm_unusable",
                    "the VLM gave no usable reply; kept layout values for " + ", ".join(fields),
                )
            )
            return out
        self._merge(out, vout, fields, pages, schema)
        return out

    def _merge(
        self,
        out: EngineOutput,
        vout: EngineOutput,
        fields: Sequence[str],
        pages: Sequence[Page],
        schema: type[BaseModel],
    ) -> None:
        """Take each VLM value that is on the page and does not break a rule the current values satisfy."""
        index = PageIndex(pages)
        invoice = issubclass(schema, Invoice)
        failing = self._failing(out.data) if invoice else set()
        for fld in fields:
            if fld == "line_items" or (not invoice and isinstance(get_path(vout.data, fld), list)):
                failing = self._merge_list(out, vout, fld, index, failing, schema)
                continue
            new = get_path(vout.data, fld)
            if isinstance(new, dict):
                candidates = [(f"{fld}.{p}", v) for p, v in iter_leaves(new)]
            else:
                candidates = [(fld, new)] if new is not None else []
            for path, value in candidates:
                old = get_path(out.data, path)
                if old is not None and _same(old, value, kind_of(schema, path)):
                    out.confidence[path] = max(self._confidence(out, path), AGREEMENT_CONFIDENCE)
                    continue
                ev = find_evidence(value, kind_of(schema, path), index)
                if ev is None:
                    out.warnings.append(
                        RecordWarning(
                            "vlm_rejected", f"VLM value {value!r} for {path} is not on the page", path
                        )
                    )
                    continue
                trial = copy.deepcopy(out.data)
                set_path(trial, path, value)
                if invoice and self._breaks_rules(
                    trial, failing, out, f"VLM value {value!r} for {path}", path
                ):
                    continue
                self._accept(out, path, value, ev.score)
                out.data = trial
                if invoice:  # a rule the taken value satisfies must stay satisfied by later values
                    failing = self._failing(trial)

    def _merge_list(
        self,
        out: EngineOutput,
        vout: EngineOutput,
        fld: str,
        index: PageIndex,
        failing: set[tuple[str, str | None]],
        schema: type[BaseModel],
    ) -> set[tuple[str, str | None]]:
        """Take the VLM's whole list (line items) when its values are on the page and no rule breaks."""
        invoice = issubclass(schema, Invoice)
        items = get_path(vout.data, fld) or []
        if not items:
            return failing
        leaves = list(iter_leaves(items, f"{fld}."))
        found: dict[str, Evidence] = {}
        missing_numbers = 0
        for path, value in leaves:
            ev = find_evidence(value, kind_of(schema, path), index)
            if ev is not None:
                found[path] = ev
            elif not isinstance(value, str) or path.rsplit(".", 1)[-1] in ITEM_NUMBERS:
                missing_numbers += 1
        share = len(found) / len(leaves) if leaves else 0.0
        if missing_numbers or share < LINE_ITEMS_GROUNDED_SHARE:
            out.warnings.append(
                RecordWarning(
                    "vlm_rejected",
                    f"VLM {fld} not taken: {len(found)}/{len(leaves)} values found on the page",
                    fld,
                )
            )
            return failing
        trial = copy.deepcopy(out.data)
        trial[fld] = items
        if invoice and self._breaks_rules(trial, failing, out, f"VLM {fld}", fld):
            return failing
        # the old rows' annotations do not describe the new rows
        for mapping in (out.evidence, out.confidence):
            for key in [k for k in mapping if k.startswith(fld + ".")]:
                del mapping[key]
        out.generated = {g for g in out.generated if not g.startswith(fld + ".")}
        out.data = trial
        for path, value in leaves:
            ev = found.get(path)
            if ev is not None:
                self._accept(out, path, value, ev.score)
            else:
                out.generated.add(path)
        return self._failing(trial) if invoice else failing

    @staticmethod
    def _accept(out: EngineOutput, path: str, value: Any, score: float) -> None:
        """Take a VLM value: a generated path (the ground stage places it) with the VLM's confidence prior."""
        _log.debug("taking VLM value %r for %s", value, path)
        out.evidence.pop(path, None)  # the layout value's evidence does not describe the new value
        out.confidence[path] = VLM_CONFIDENCE * score
        out.generated.add(path)

    def _failing(self, data: dict[str, Any]) -> set[tuple[str, str | None]]:
        return {(w.code, w.field) for w in self._rule_failures(data)}

    def _breaks_rules(
        self,
        trial: dict[str, Any],
        failing: set[tuple[str, str | None]],
        out: EngineOutput,
        what: str,
        path: str,
    ) -> bool:
        """Whether ``trial`` fails a rule the current values pass; if so, warn ``vlm_rejected`` on ``out``."""
        broken = self._failing(trial) - failing
        if broken:
            out.warnings.append(
                RecordWarning(
                    "vlm_rejected", f"{what} would break {', '.join(sorted(c for c, _ in broken))}", path
                )
            )
        return bool(broken)

    # ---- question answering --------------------------------------------------------------

    def answer(self, pages: Sequence[Page], question: str) -> Answer:
        """The layout engine's answer, or the VLM's when the layout one is weak and the VLM's is on the page."""
        first = self.layout.answer(pages, question)
        if first.answer and first.confidence >= self.options.min_confidence:
            return first
        try:
            second = self.vlm.answer(pages, question)
        except (EngineError, DecodeError) as exc:
            _log.warning("VLM answer failed (%s); keeping the layout answer", exc)
            return first
        if second.answer and second.page is not None and second.confidence > first.confidence:
            return second
        return first

    def close(self) -> None:
        self._layout.close()
        self._vlm.close()


__all__ = ["CORE_FIELDS", "HybridEngine"]
