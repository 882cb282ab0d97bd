"""The sellers component: profiles of the sellers in the training labels (``sellers.json``).

In: ``TrainingDoc``s (their candidate pools, as the header component featurised them) and, when
training continues, the profiles of the folder it continues from. Out: ``sellers.json`` in the
model folder (``docvlm.engines.layout.sellers`` reads it) and the meta entry: how many sellers,
and per field the confidence its anchored choice earned.

A seller is known by what the labels say of it: its VAT id, else its IBAN, else its name. Each
labelled header field whose value is among the document's candidates adds the anchors of the
candidates that hold it (``sellers.anchor_of``). The confidence of a field's anchored choice is
measured, not assumed: for every seller with two documents or more, each document is read with a
profile built from the seller's other documents, and the share of right choices per field,
shrunk toward the share over all fields, is that field's confidence (``default_confidence`` for
fields never measured).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docvlm.engines.layout.candidates.pool import KIND_OF
from docvlm.engines.layout.sellers import (
    PROFILES_FILE,
    SELLER_FIELDS,
    Anchor,
    SellerProfile,
    SellerProfiles,
    anchor_of,
    best_candidate,
    load_profiles,
    norm_id,
    norm_value,
    page_sizes,
)
from docvlm.training.data import TrainingDoc, gold_value

_log = logging.getLogger(__name__)

MAX_ANCHORS = 3  # anchors kept per document and field (a number printed in the header and the footer)
# the share of right anchored choices assumed before any is measured. On the shared data (each
# document read with a profile of its seller's other documents, where the page names the seller,
# 4 December 2026: a fit of this constant), value matches of the seller's details were right 365
# times in 398 (name 208/210, address 140/171, VAT id 17/17); anchored choices of the other fields
# 270/299
PRIOR_RATE = 0.9
PRIOR_N = 4.0  # pseudo-documents of the pooled share in every field's confidence
MIN_MEASURED = 3  # documents read with a profile of their seller's others before a field may be decided so
MIN_MARGIN = 1  # documents more the anchored choice must get right than the rules


def seller_key(gold: dict[str, Any]) -> tuple[str, str, str] | None:
    """(VAT id, IBAN, name) of the document's seller as labelled, normalised; None when none is labelled."""
    found = gold.get("vendor")
    vendor: dict[str, Any] = found if isinstance(found, dict) else {}
    tax = norm_id(str(vendor.get("tax_id") or ""))
    iban = norm_id(str(vendor.get("iban") or ""))
    name = norm_value(str(vendor.get("name") or ""))
    return (tax, iban, name) if tax or iban or name else None


def _identity(key: tuple[str, str, str]) -> str:
    tax, iban, name = key
    return f"tax:{tax}" if tax else f"iban:{iban}" if iban else f"name:{name}"


def doc_anchors(doc: TrainingDoc, table_model: str | None) -> dict[str, list[Anchor]]:
    """Per labelled header field, the anchors of the candidates that hold the labelled value."""
    from docvlm.training.header import featurise

    feats = featurise(doc, table_model)
    sizes = page_sizes(feats.pool.pls)
    out: dict[str, list[Anchor]] = {}
    for f, y in feats.y.items():
        props = feats.pool.by_kind.get(KIND_OF.get(f, ""), [])
        hits = [props[i] for i in range(len(props)) if y[i] > 0][:MAX_ANCHORS]
        if hits:
            out[f] = [anchor_of(f, p, feats.pool.pls, sizes) for p in hits]
    return out


def all_anchors(
    docs: Sequence[TrainingDoc], table_model: str | None = None
) -> dict[str, dict[str, list[Anchor]]]:
    """``doc_anchors`` of every document whose labels name its seller, keyed by source (computed once:
    the profiles and their measurement both read them)."""
    return {d.source: doc_anchors(d, table_model) for d in docs if seller_key(d.gold) is not None}


def build_profiles(
    docs: Sequence[TrainingDoc], anchors: dict[str, dict[str, list[Anchor]]]
) -> list[SellerProfile]:
    """One profile per seller of ``docs``: its identifiers and every anchor of its labelled fields
    (``anchors``: ``all_anchors`` of the documents)."""
    by_seller: dict[str, SellerProfile] = {}
    for d in docs:
        key = seller_key(d.gold)
        if key is None:
            continue
        prof = by_seller.setdefault(_identity(key), SellerProfile(tax_id=key[0], iban=key[1], name=key[2]))
        prof.documents += 1
        for f, found in anchors[d.source].items():
            prof.fields.setdefault(f, []).extend(a for a in found if a not in prof.fields.get(f, []))
    return [by_seller[k] for k in sorted(by_seller)]


def measure(
    docs: Sequence[TrainingDoc], anchors: dict[str, dict[str, list[Anchor]]], table_model: str | None = None
) -> dict[str, tuple[int, int, int]]:
    """Per field, (right, decided, rules right where decided) of anchored choices on each document read
    with a profile of its seller's other documents (sellers with two documents or more)."""
    from docvlm.labels.values import values_match
    from docvlm.training.header import featurise

    groups: dict[str, list[TrainingDoc]] = {}
    for d in docs:
        key = seller_key(d.gold)
        if key is not None:
            groups.setdefault(_identity(key), []).append(d)
    counts: dict[str, list[int]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        for d in members:
            profile = build_profiles([m for m in members if m is not d], anchors)[0]
            pool = featurise(d, table_model).pool
            if SellerProfiles(sellers=[profile]).seller_of(pool.pls) is not profile:
                continue  # the engine would not know this page for the seller's
            for f in profile.fields:
                labelled, value = gold_value(d.gold, f)
                if not labelled or value is None:
                    continue
                p = best_candidate(f, profile, pool)
                if p is None:
                    continue
                c = counts.setdefault(f, [0, 0, 0])
                c[0] += int(values_match(f, p.value, value))
                c[1] += 1
                c[2] += int(values_match(f, pool.rules.values.get(f), value))
    return {f: (r, n, q) for f, (r, n, q) in counts.items()}


def confidences(counts: dict[str, tuple[int, int, int]]) -> tuple[dict[str, float], float]:
    """Per field, the measured share of right anchored choices shrunk toward the pooled share; and that pooled share."""
    right = sum(c[0] for c in counts.values())
    n = sum(c[1] for c in counts.values())
    pooled = (right + 2 * PRIOR_RATE) / (n + 2)
    return {f: (c[0] + PRIOR_N * pooled) / (c[1] + PRIOR_N) for f, c in counts.items()}, pooled


def decided_fields(counts: dict[str, tuple[int, int, int]]) -> frozenset[str]:
    """The fields profiles decide: the seller's own details unless, where measured, their value
    matches got fewer right than the rules; any other field only where its anchored choices beat the
    rules by ``MIN_MARGIN`` documents."""
    measured = {f: c for f, c in counts.items() if c[1] >= MIN_MEASURED}
    own = {f for f in SELLER_FIELDS if f not in measured or measured[f][0] >= measured[f][2]}
    won = {f for f, (r, _, q) in measured.items() if f not in SELLER_FIELDS and r >= q + MIN_MARGIN}
    return frozenset(own | won)


class SellerTrainer:
    """Writes the seller profiles of the training labels; continued training keeps the earlier ones."""

    name = "sellers"

    def fit(self, docs: list[TrainingDoc], out_dir: Any, init_dir: Any, seed: int) -> dict[str, Any]:
        out = Path(out_dir)
        table_model = str(out)
        docs = [d for d in docs if not d.synthetic]  # a generated seller is nobody's
        anchors = all_anchors(docs, table_model)
        profiles = build_profiles(docs, anchors)
        counts = measure(docs, anchors, table_model)
        earlier = load_profiles(init_dir) if init_dir else None
        if earlier is not None:
            mine = {_identity((p.tax_id, p.iban, p.name)) for p in profiles}
            profiles = [
                p for p in earlier.sellers if _identity((p.tax_id, p.iban, p.name)) not in mine
            ] + profiles
            for f, (r, k, q) in earlier.measured.items():
                r0, k0, q0 = counts.get(f, (0, 0, 0))
                counts[f] = (r0 + r, k0 + k, q0 + q)
        conf, pooled = confidences(counts)
        store = SellerProfiles(
            sellers=profiles,
            confidence=conf,
            default_confidence=pooled,
            fields=decided_fields(counts),
            measured=counts,
        )
        (out / PROFILES_FILE).write_text(
            json.dumps(store.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        _log.info("%d seller profiles written to %s", len(profiles), out / PROFILES_FILE)
        return {
            "file": PROFILES_FILE,
            "sellers": len(profiles),
            "documents": sum(p.documents for p in profiles),
            "fields": sorted(store.fields),
            "measured": {
                f: {"right": r, "decided": k, "rules_right": q} for f, (r, k, q) in sorted(counts.items())
            },
            "confidence": {f: round(c, 4) for f, c in sorted(conf.items())},
        }
