"""Seller profiles: where a user's labelled documents of one seller put each header field.

In: a model folder's ``sellers.json`` (written by ``docvlm train`` from the user's labels, see
``docvlm.training.sellers``) and one document's candidate ``Pool``. Out: the fields of the
``HeaderResult`` that the profile of the seller the page belongs to decides, each with its
evidence and a confidence measured when the profiles were built.

A profile is learnt, never written by hand: its seller is known by the identifiers the user
labelled (the seller's VAT id, IBAN, or name, found on the page), and each of its fields by
anchors: the label text before the labelled value on its line (or the line above it when the
value stands alone), the value's place on the page, and for the seller's own details (name,
address, ids) the value itself. On a new document of that seller, the candidate of the field's kind
whose anchor matches best is taken. This is how a handful of labelled invoices of each seller
adapts the offline engine to it (``evaluation/adaptation.py`` measures it); the package's own
model holds no profiles.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docvlm.engines.layout.candidates.base import HeaderResult
from docvlm.engines.layout.candidates.pool import KIND_OF, RECEIPT_FIELDS, Pool, Proposal
from docvlm.engines.layout.text import PageLines
from schemas.invoice import HEADER_FIELDS

_log = logging.getLogger(__name__)

PROFILES_FILE = "sellers.json"
PROFILES_VERSION = 1
#: the seller's own details: the same on every document of the seller, so the value itself is an anchor
SELLER_FIELDS: tuple[str, ...] = tuple(f for f in HEADER_FIELDS if f.startswith("vendor."))
#: a candidate at most this far (in page widths) from a profiled place is at the same place
NEAR = 0.03
#: places further than this (in page widths) add nothing to a match
FAR = 0.12
MAX_LABEL = 40  # characters of label text kept, counted back from the value
MIN_NAME = 5  # a seller's name shorter than this is no fingerprint
NAME_MATCH = 90.0  # rapidfuzz ratio of a page line to a profiled name that identifies the seller

_NOT_LETTER = re.compile(r"[^\w]+|[\d_]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_NOT_WORD = re.compile(r"[\W_]+")


def norm_label(text: str) -> str:
    """A label as profiles compare it: its last ``MAX_LABEL`` characters, letters only, lower case."""
    return " ".join(_NOT_LETTER.sub(" ", text[-MAX_LABEL:].lower()).split())


def norm_id(text: str) -> str:
    """An identifier as the page and the profile compare it: letters and digits, upper case."""
    return _NOT_ALNUM.sub("", text).upper()


def norm_value(text: str) -> str:
    """A value or a name as profiles compare it: its words (any script), upper case, single spaces."""
    return " ".join(_NOT_WORD.sub(" ", text).upper().split())


@dataclass(frozen=True)
class Anchor:
    """Where one labelled value sat: its label, page, and centre in page widths from the top and bottom."""

    label: str
    page: int
    x: float
    y_top: float
    y_bottom: float
    value: str = ""  # the normalised value, kept for the seller's own details only

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "page": self.page,
            "x": round(self.x, 4),
            "y_top": round(self.y_top, 4),
            "y_bottom": round(self.y_bottom, 4),
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Anchor:
        return cls(
            str(d["label"]),
            int(d["page"]),
            float(d["x"]),
            float(d["y_top"]),
            float(d["y_bottom"]),
            str(d["value"]),
        )


def page_sizes(pls: Sequence[PageLines]) -> dict[int, tuple[float, float]]:
    return {pl.page.number: (float(pl.page.width) or 1.0, float(pl.page.height) or 1.0) for pl in pls}


def _label_of(p: Proposal, pls: Sequence[PageLines]) -> str:
    """The text before the value on its line; when there is none, ``^`` and the line above it."""
    before = norm_label(p.line.text[: p.start])
    if before:
        return before
    box = p.evidence.bbox
    above = None
    for pl in pls:
        if pl.page.number != p.line.page:
            continue
        for tl in pl.lines:
            b = tl.bbox
            if (
                b[3] <= box[1] + 1
                and b[0] < box[2]
                and box[0] < b[2]
                and (above is None or b[3] > above.bbox[3])
            ):
                above = tl
    return "^" + norm_label(above.text) if above is not None else "^"


def anchor_of(f: str, p: Proposal, pls: Sequence[PageLines], sizes: dict[int, tuple[float, float]]) -> Anchor:
    """The anchor of candidate ``p`` as a value of field ``f``."""
    w, h = sizes.get(p.evidence.page, (1.0, 1.0))
    b = p.evidence.bbox
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    value = norm_value(p.value) if f in SELLER_FIELDS else ""
    return Anchor(_label_of(p, pls), p.evidence.page, cx / w, cy / w, (h - cy) / w, value)


def match_score(a: Anchor, b: Anchor) -> float:
    """How well candidate anchor ``a`` matches profiled anchor ``b``; 0 for no match.

    The same value of the seller's own details: 3; the same label: 2; a place within ``NEAR`` page
    widths: 2 (from the top or the bottom, whichever is nearer: a receipt's total moves with its
    length); and up to 0.5 more as the place nears, to break ties."""
    score = 3.0 if a.value and a.value == b.value else 0.0
    same_label = a.label == b.label and a.label not in ("", "^")
    score += 2.0 if same_label else 0.0
    if a.page == b.page:
        d = min(math.hypot(a.x - b.x, a.y_top - b.y_top), math.hypot(a.x - b.x, a.y_bottom - b.y_bottom))
        if d <= NEAR:
            score += 2.0
        if score > 0:
            score += 0.5 * max(0.0, 1.0 - d / FAR)
    return score


@dataclass
class SellerProfile:
    """One seller: the identifiers that tell its documents, and the anchors of each labelled field."""

    tax_id: str = ""
    iban: str = ""
    name: str = ""
    documents: int = 0
    fields: dict[str, list[Anchor]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tax_id": self.tax_id,
            "iban": self.iban,
            "name": self.name,
            "documents": self.documents,
            "fields": {f: [a.to_dict() for a in anchors] for f, anchors in sorted(self.fields.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SellerProfile:
        return cls(
            tax_id=str(d.get("tax_id") or ""),
            iban=str(d.get("iban") or ""),
            name=str(d.get("name") or ""),
            documents=int(d.get("documents") or 0),
            fields={
                f: [Anchor.from_dict(a) for a in anchors] for f, anchors in (d.get("fields") or {}).items()
            },
        )

    def identified_by(self, page_ids: str) -> float:
        """How surely a page belongs to this seller by an id: 3 by its VAT id, 2 by its IBAN; 0 not.
        (Its name is matched for all sellers at once: ``SellerProfiles.seller_of``.)"""
        if len(self.tax_id) >= 8 and self.tax_id in page_ids:
            return 3.0
        if len(self.iban) >= 12 and self.iban in page_ids:
            return 2.0
        return 0.0


@dataclass
class SellerProfiles:
    """All the profiles of a model folder, and the confidence each field's anchored choice earned."""

    sellers: list[SellerProfile] = field(default_factory=list)
    confidence: dict[str, float] = field(default_factory=dict)
    default_confidence: float = 0.7
    #: the fields profiles decide: the seller's own details, and the fields where anchored choices beat
    #: the rules on the labelled sellers with two documents or more (``docvlm.training.sellers``)
    fields: frozenset[str] = frozenset(SELLER_FIELDS)
    #: per field, (right, decided, rules right) of those measurements; continued training adds to them
    measured: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PROFILES_VERSION,
            "confidence": {f: round(c, 4) for f, c in sorted(self.confidence.items())},
            "default_confidence": round(self.default_confidence, 4),
            "fields": sorted(self.fields),
            "sellers": [s.to_dict() for s in self.sellers],
            "measured": {f: list(c) for f, c in sorted(self.measured.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SellerProfiles:
        if int(d.get("version", 0)) != PROFILES_VERSION:
            raise ValueError(
                f"seller profiles of version {d.get('version')!r}, this docvlm reads {PROFILES_VERSION}"
            )
        return cls(
            sellers=[SellerProfile.from_dict(s) for s in d.get("sellers") or []],
            confidence={str(f): float(c) for f, c in (d.get("confidence") or {}).items()},
            default_confidence=float(d.get("default_confidence", 0.7)),
            fields=frozenset(str(f) for f in d.get("fields", SELLER_FIELDS)),
            measured={
                str(f): (int(c[0]), int(c[1]), int(c[2]))
                for f, c in (d.get("measured") or {}).items()
                if isinstance(c, list) and len(c) == 3
            },
        )

    def seller_of(self, pls: Sequence[PageLines]) -> SellerProfile | None:
        """The profile the document belongs to, by the surest identifier found on its pages: a VAT id
        or IBAN in the page's text, else a page line that reads as the seller's name."""
        if not self.sellers:
            return None
        texts = [tl.text for pl in pls for tl in pl.lines]
        page_ids = norm_id(" ".join(texts))
        best: tuple[float, int, SellerProfile] | None = None
        for s in self.sellers:
            how = s.identified_by(page_ids)
            if how > 0 and (best is None or (how, s.documents) > best[:2]):
                best = (how, s.documents, s)
        if best is not None:
            return best[2]
        named = [s for s in self.sellers if len(s.name) >= MIN_NAME]
        if not named or not texts:
            return None
        from rapidfuzz import fuzz, process

        # every seller's name against every line in one call (C loops; the cutoff prunes early)
        scores = process.cdist(
            [s.name for s in named],
            [norm_value(t) for t in texts],
            scorer=fuzz.ratio,
            score_cutoff=NAME_MATCH,
        )
        hits = [s for s, row in zip(named, scores, strict=True) if row.max() >= NAME_MATCH]
        return max(hits, key=lambda s: s.documents) if hits else None


def load_profiles(model_dir: str | Path | None) -> SellerProfiles | None:
    """The seller profiles of a model folder, or None when it has none (the package's model)."""
    if model_dir is None:
        return None
    path = Path(model_dir) / PROFILES_FILE
    if not path.is_file():
        return None
    try:
        return SellerProfiles.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        _log.warning("seller profiles in %s not used: %s", path, e)
        return None


#: the least match score that decides a field other than the seller's own details (which match by
#: their value only): its label and its place together (a label alone recurs, "Total" over the net
#: and the gross; a place alone moves with the length of a receipt or of a table)
MIN_ANCHOR_MATCH = 4.0


def best_candidate(f: str, profile: SellerProfile, pool: Pool) -> Proposal | None:
    """The candidate of ``f``'s kind whose anchor matches the profile's best, if any matches surely."""
    anchors = profile.fields.get(f)
    props = pool.by_kind.get(KIND_OF.get(f, ""), [])
    if not anchors or not props:
        return None
    by_value = f in SELLER_FIELDS
    sizes = page_sizes(pool.pls)
    best: tuple[float, Proposal] | None = None
    for p in props:
        mine = anchor_of(f, p, pool.pls, sizes)
        mates = [a for a in anchors if a.value == mine.value] if by_value else anchors
        if not mates or (by_value and not mine.value):
            continue
        score = max(match_score(mine, a) for a in mates)
        if (by_value or score >= MIN_ANCHOR_MATCH) and (best is None or score > best[0]):
            best = (score, p)
    return best[1] if best is not None else None


def profile_kinds(profiles: SellerProfiles, profile: SellerProfile) -> set[str]:
    """The candidate kinds the pool needs for ``profile`` to decide its fields."""
    return {KIND_OF[f] for f in profile.fields if f in profiles.fields and f in KIND_OF}


def apply_profile(
    profiles: SellerProfiles, profile: SellerProfile, pool: Pool, res: HeaderResult
) -> list[str]:
    """Let the profile of the document's seller (``SellerProfiles.seller_of``) decide the fields it
    knows; returns those it decided."""
    decided: list[str] = []
    for f in sorted(profile.fields):
        if f not in profiles.fields or (pool.is_receipt and f not in RECEIPT_FIELDS):
            continue
        p = best_candidate(f, profile, pool)
        if p is None:
            continue
        res.values[f] = p.value
        res.evidence[f] = p.evidence
        res.confidence[f] = profiles.confidence.get(f, profiles.default_confidence)
        decided.append(f)
    _log.debug("seller profile (%s) decided %s", profile.name or profile.tax_id or profile.iban, decided)
    return decided
