"""Candidates and the header result the rules fill, plus the small text tests all rules share."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from docvlm.datamodel import BBox, Evidence
from docvlm.engines.layout.text import TextLine

_log = logging.getLogger(__name__)

_CENT = Decimal("0.01")
_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})\s?[-/.]\s?(\d{1,2})\s?[-/.]\s?(\d{4}|\d{2})(?!\d)")
_HAS_DIGIT = re.compile(r"\d")
_LETTERS = re.compile(r"[^\W\d_]")
_CURRENCY_WORDS = re.compile(r"^(?:RM|Rs\.?|US\$|[$€£₹¥]|kr\.?|zł|kč|Ft|Fr\.)$", re.IGNORECASE)
_URL = re.compile(
    r"(?:https?://|www\.)[\w.-]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|de|fr|nl|es|it|be|uk|in|my|io|co)\b",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------
# Candidates and results


@dataclass
class Candidate:
    """A value for one field with its evidence and how sure the rule that found it is."""

    path: str
    value: str
    evidence: Evidence
    score: float
    line: TextLine | None = None
    number: Decimal | None = None


@dataclass
class HeaderResult:
    """Header values keyed by dotted path, with evidence and confidence for each."""

    values: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    dayfirst: bool = True
    customer_regions: list[tuple[int, BBox]] = field(default_factory=list)

    def put(self, c: Candidate, confidence: float | None = None) -> None:
        self.values[c.path] = c.value
        self.evidence[c.path] = c.evidence
        self.confidence[c.path] = round(max(0.0, min(1.0, c.score if confidence is None else confidence)), 4)

    def drop(self, path: str) -> None:
        self.values.pop(path, None)
        self.evidence.pop(path, None)
        self.confidence.pop(path, None)


def _in_regions(page: int, box: BBox, regions: Sequence[tuple[int, BBox]]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(p == page and r[0] - 2 <= cx <= r[2] + 2 and r[1] - 2 <= cy <= r[3] + 2 for p, r in regions)


def _fmt(v: Decimal) -> str:
    """Money as a plain decimal string with two places ("1234.50")."""
    q = v.quantize(_CENT) if v == v.quantize(_CENT) else v
    return format(q, "f")
