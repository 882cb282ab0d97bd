"""Readers on the shared data: the invoice2data and SROIE labels, read folder by folder.

Nothing here names a file or a value of the data: each label is checked against its own raw JSON
(every labelled key is read, pseudo-rows and the template's made-up ``desc`` are left out) and
against the folder (one label per document, each with its document).
"""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.readers import read_gold

# the invoice2data keys of a line-item row (README of the shared data); other rows are pseudo-rows
_I2D_ITEM_KEYS = {"name", "desc", "item", "qty", "price_unit", "price", "price_subtotal"}
_I2D_ITEM_KEYS |= {"line_tax_percent", "taxpercent", "code", "uom"}


def test_real_invoice2data_labels(shared_data: Path) -> None:
    folder = shared_data / "invoices/invoice2data"
    raw = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}
    gold = read_gold(folder, "invoice2data")
    assert set(gold) == set(raw) and len(gold) >= 5
    for key, g in gold.items():
        (obj,) = raw[key]  # a list holding one object
        assert "desc" not in g.fields and g.fields, key
        if "amount" in obj:
            assert g.fields["total"] == obj["amount"], key
        rows = obj.get("lines", obj.get("line_items")) or []
        real_rows = [r for r in rows if isinstance(r, dict) and _I2D_ITEM_KEYS & set(r)]
        assert len(g.line_items) == len(real_rows), key  # section headers and notes are not items
        assert g.document and g.document.endswith(".pdf") and Path(g.document).stem == key


def test_real_sroie_labels(shared_data: Path) -> None:
    folder = shared_data / "receipts/sroie"
    keys = sorted(folder.glob("key/*.json"))
    gold = read_gold(folder, "sroie")
    assert set(gold) == {p.stem for p in keys} and len(gold) >= 10
    for p in keys:
        obj = json.loads(p.read_text(encoding="utf-8"))
        g = gold[p.stem]
        want = obj["total"] if obj.get("total", "").strip() else None
        assert g.fields["total"] == want, p.stem
    assert all(g.document and Path(g.document).is_file() for g in gold.values())
