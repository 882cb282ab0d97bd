"""Value matching: whether a predicted value counts as right for a gold value, as the README defines it.

In: a dotted field path of the invoice schema and two plain values (str, numbers, Decimal, date,
None); or two lists of line items. Out: the comparable form of a value, a match, or the field counts
of line items matched one to one.

- Money to the cent, dates as calendar dates, identifiers and codes exact after trimming, VAT ids
  and IBANs without spacing and case, currencies and e-mails case-insensitive, names and addresses
  normalised (casefold, whitespace collapsed, punctuation stripped at the ends). The kind of each
  field is ``schemas.field_kinds``.
- Line items are matched one to one to maximise the number of equal fields (DocILE LIR).

The library scores with it when it trains and cross-validates the layout model; the evaluation's
metrics build on it.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from docvlm.parsers import parse_amount, parse_date
from schemas.invoice import Invoice
from schemas.kinds import FieldKind, kind_of

_CENT = Decimal("0.01")
# punctuation stripped at the ends of names/addresses: ASCII punctuation plus common typographic marks
_EDGE_PUNCT = string.punctuation + "«»“”‘’„‚·•–—…"


def field_kind(path: str) -> FieldKind:
    """The kind of a dotted field path of the invoice schema (``vendor.tax_id``, ``line_items.2.amount``)."""
    return kind_of(Invoice, path)


def normalize_text_value(text: str) -> str:
    """Casefold, collapse whitespace and strip punctuation at both ends."""
    collapsed = " ".join(text.casefold().split())
    return collapsed.strip(_EDGE_PUNCT + " ")


_PLAIN_DECIMAL = re.compile(r"-?\d+\.\d+")


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            return parse_amount(value)
        except InvalidOperation:
            return None
    text = str(value).strip()
    # records and XML write plain decimals: "5.000" is five, where a locale reading makes it 5000
    if _PLAIN_DECIMAL.fullmatch(text):
        return Decimal(text)
    return parse_amount(text)


def normalize_value(path: str, value: Any) -> Any:
    """Turn a predicted or gold value into the comparable form for its field, or ``None`` when empty.

    Money -> ``Decimal`` rounded to the cent; dates -> ``datetime.date`` (day-first, ISO first);
    identifiers -> trimmed string; VAT/IBAN -> string without whitespace, upper-cased; text ->
    casefolded, whitespace-collapsed string without edge punctuation. A value that cannot be parsed
    for a numeric or date field falls back to its trimmed text, so it can still match exactly.
    """
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    kind = field_kind(path)
    if kind is FieldKind.MONEY:
        num = _to_decimal(value)
        if num is not None:
            return num.quantize(_CENT)
        return str(value).strip()
    if kind is FieldKind.DATE:
        if isinstance(value, (dt.date, dt.datetime)):
            return parse_date(value)
        d = parse_date(str(value))
        return d if d is not None else str(value).strip()
    text = str(value)
    if kind in (FieldKind.IDENTIFIER, FieldKind.CODE):
        return text.strip()
    if kind is FieldKind.COMPACT_ID:
        return re.sub(r"\s+", "", text).upper()
    if kind in (FieldKind.CURRENCY, FieldKind.EMAIL):  # codes: case-insensitive
        return text.strip().casefold()
    norm = normalize_text_value(text)
    return norm or None


def values_match(path: str, predicted: Any, gold: Any) -> bool:
    """Whether ``predicted`` counts as right for ``gold`` on field ``path``; two empties match."""
    return normalize_value(path, predicted) == normalize_value(path, gold)


# ---------------------------------------------------------------------------------------------
# Line items


@dataclass
class LineItemScore:
    """Line-item result of one document: field counts and the matched (pred, gold) index pairs."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 1.0

    def merge(self, other: LineItemScore) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _item_prefix(name: str) -> str:
    return f"line_items.{name}"


def line_item_f1(
    predicted: Sequence[Mapping[str, Any]],
    gold: Sequence[Mapping[str, Any]],
    fields: Sequence[str] | None = None,
) -> LineItemScore:
    """Match items one-to-one to maximise the number of equal fields, then count fields.

    Only ``fields`` count; by default, the field names the gold items carry (a gold key with an
    empty value is labelled empty, so a predicted value there is a false positive).
    TP = equal fields of matched pairs (gold non-empty); FP = predicted non-empty fields that are
    not TP; FN = gold non-empty fields that are not TP.
    """
    names = list(fields) if fields is not None else sorted({k for g in gold for k in g})
    pred_n = [{k: normalize_value(_item_prefix(k), p.get(k)) for k in names} for p in predicted]
    gold_n = [{k: normalize_value(_item_prefix(k), g.get(k)) for k in names} for g in gold]
    pred_total = sum(v is not None for p in pred_n for v in p.values())
    gold_total = sum(v is not None for g in gold_n for v in g.values())
    score = LineItemScore()
    if pred_n and gold_n:
        equal = np.zeros((len(pred_n), len(gold_n)), dtype=np.int64)
        for i, p in enumerate(pred_n):
            for j, g in enumerate(gold_n):
                equal[i, j] = sum(1 for k in names if g[k] is not None and p[k] == g[k])
        from scipy.optimize import linear_sum_assignment  # scipy loads with the first scored document

        rows, cols = linear_sum_assignment(equal, maximize=True)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if equal[i, j] > 0:
                score.pairs.append((i, j))
                score.tp += int(equal[i, j])
    score.fp = pred_total - score.tp
    score.fn = gold_total - score.tp
    return score
