"""Readers: DocVQA files, the four gold-label formats, prediction JSONL; fixtures and the shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.readers import (
    DatasetError,
    detect_label_format,
    read_docile_label,
    read_docvlm_label,
    read_docvqa,
    read_gold,
    read_invoice2data_label,
    read_predictions,
    read_sroie_label,
    record_fields,
)
from evaluation.score import score_extraction


def _write(path: Path, obj: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


# ---- DocVQA --------------------------------------------------------------------------------


def test_docvqa_reader_resolves_images_and_pdf_substitutes(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.png").write_bytes(b"png")
    (tmp_path / "docs" / "b.pdf").write_bytes(b"%PDF")
    ds = _write(
        tmp_path / "qa.json",
        {
            "dataset_name": "t",
            "dataset_split": "val",
            "data": [
                {"questionId": 1, "question": "q1", "image": "docs/a.png", "docId": 7, "answers": ["x"]},
                {"questionId": 2, "question": "q2", "image": "docs/b.png", "docId": 8, "answers": ["y", "z"]},
            ],
        },
    )
    dataset, items = read_docvqa(ds, tmp_path)
    assert dataset.dataset_name == "t"
    assert [i.document.name for i in items] == ["a.png", "b.pdf"]
    assert items[1].question.answers == ["y", "z"]


def test_docvqa_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError):
        read_docvqa(tmp_path / "missing.json")
    bad = _write(tmp_path / "bad.json", {"data": [{"question": "no id"}]})
    with pytest.raises(DatasetError):
        read_docvqa(bad)
    ds = _write(tmp_path / "qa.json", {"data": [{"questionId": 1, "question": "q", "image": "nope.png"}]})
    with pytest.raises(DatasetError, match=r"nope\.png"):
        read_docvqa(ds, tmp_path)


# ---- gold formats on fixtures --------------------------------------------------------------


def test_invoice2data_mapping(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "inv.json",
        [
            {
                "issuer": "ACME",
                "amount": 121.0,
                "amount_untaxed": 100,
                "amount_tax": 21,
                "date": "2024-03-01",
                "date_due": "2024-03-31",
                "invoice_number": "F-1",
                "currency": "EUR",
                "vat": "NL123",
                "iban": "NL50INGB0683251309",
                "desc": "Invoice from ACME",
                "partner_name": "Someone",
                "lines": [
                    {"sectionheader": "--- food ---"},
                    {
                        "name": "Tea",
                        "qty": 2,
                        "price_unit": 5.0,
                        "price_subtotal": 10.0,
                        "line_tax_percent": 21,
                    },
                    {"line_note": "a note"},
                    {"desc": "Coffee", "item": "C", "price": "3.5", "taxpercent": 9, "code": "", "uom": "kg"},
                ],
            }
        ],
    )
    g = read_invoice2data_label(p)
    assert g.key == "inv"
    assert g.fields == {
        "vendor.name": "ACME",
        "total": 121.0,
        "subtotal": 100,
        "tax_total": 21,
        "invoice_date": "2024-03-01",
        "due_date": "2024-03-31",
        "invoice_number": "F-1",
        "currency": "EUR",
        "vendor.tax_id": "NL123",
        "vendor.iban": "NL50INGB0683251309",
    }
    assert g.line_items_labelled
    assert g.line_items == [
        {"description": "Tea", "quantity": 2, "unit_price": 5.0, "amount": 10.0, "tax_rate": 21},
        {"description": "Coffee", "unit_price": "3.5", "tax_rate": 9, "product_code": "", "unit": "kg"},
    ]
    assert set(g.line_item_fields) == {
        "description",
        "quantity",
        "unit_price",
        "amount",
        "tax_rate",
        "product_code",
        "unit",
    }


def test_invoice2data_without_lines_is_not_line_labelled(tmp_path: Path) -> None:
    g = read_invoice2data_label(_write(tmp_path / "x.json", [{"issuer": "X", "amount": 1}]))
    assert not g.line_items_labelled
    with pytest.raises(DatasetError):
        read_invoice2data_label(_write(tmp_path / "y.json", [{"a": 1}, {"b": 2}]))


def test_sroie_mapping_and_empty(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "001.jpg").write_bytes(b"jpg")
    p = _write(
        tmp_path / "key" / "001.json", {"company": "SHOP", "date": "", "address": "1 ROAD", "total": "9.00"}
    )
    g = read_sroie_label(p)
    assert g.key == "001"
    assert g.fields == {
        "vendor.name": "SHOP",
        "invoice_date": None,
        "vendor.address": "1 ROAD",
        "total": "9.00",
    }
    assert g.document is not None and g.document.endswith("img/001.jpg")
    assert not g.line_items_labelled


def test_docvlm_ground_truth(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "ground_truth" / "inv-001.json",
        {
            "source": "inv-001.pdf",
            "document_type": "invoice",
            "data": {
                "invoice_number": "A1",
                "due_date": None,
                "vendor": {"name": "V", "iban": None},
                "total": "10.00",
                "line_items": [{"description": "x", "amount": "10.00"}],
            },
        },
    )
    g = read_docvlm_label(p)
    assert g.key == "inv-001"
    assert g.fields == {
        "invoice_number": "A1",
        "due_date": None,
        "vendor.name": "V",
        "vendor.iban": None,
        "total": "10.00",
    }
    assert g.line_items == [{"description": "x", "amount": "10.00"}]
    assert g.line_item_fields == ("description", "amount")


def test_docile_mapping(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "annotations" / "abc.json",
        {
            "field_extractions": [
                {"fieldtype": "document_id", "text": "INV-9", "page": 0, "bbox": [0.1, 0.1, 0.2, 0.12]},
                {
                    "fieldtype": "amount_total_gross",
                    "text": "1 210,00",
                    "page": 1,
                    "bbox": [0.7, 0.8, 0.9, 0.82],
                },
                {"fieldtype": "vendor_address", "text": "Street 1", "page": 0, "bbox": [0, 0, 0.1, 0.1]},
                {"fieldtype": "vendor_address", "text": "Town", "page": 0, "bbox": [0, 0.1, 0.1, 0.2]},
                {"fieldtype": "not_mapped", "text": "?", "page": 0, "bbox": [0, 0, 1, 1]},
            ],
            "line_item_extractions": [
                {
                    "fieldtype": "line_item_description",
                    "line_item_id": 1,
                    "text": "Bolt",
                    "page": 0,
                    "bbox": [0, 0, 1, 1],
                },
                {
                    "fieldtype": "line_item_amount_net",
                    "line_item_id": 1,
                    "text": "5,00",
                    "page": 0,
                    "bbox": [0, 0, 1, 1],
                },
                {
                    "fieldtype": "line_item_amount_gross",
                    "line_item_id": 1,
                    "text": "6,05",
                    "page": 0,
                    "bbox": [0, 0, 1, 1],
                },
                {
                    "fieldtype": "line_item_quantity",
                    "line_item_id": 2,
                    "text": "3",
                    "page": 0,
                    "bbox": [0, 0, 1, 1],
                },
            ],
            "metadata": {"page_count": 2},
        },
    )
    g = read_docile_label(p)
    assert g.fields["invoice_number"] == "INV-9"
    assert g.fields["total"] == "1 210,00"
    assert g.fields["vendor.address"] == "Street 1 Town"
    assert g.fields["due_date"] is None  # DocILE annotates every present field: absent means empty
    assert g.boxes["total"].page == 2 and g.boxes["total"].relative
    assert g.line_items[0]["description"] == "Bolt" and g.line_items[0]["amount"] == "5,00"
    assert g.line_items[1]["quantity"] == "3" and g.line_items[1]["description"] is None
    # an empty prediction gets nothing right: the many fields null on both sides are not counted
    score = score_extraction({"abc": {"source": "abc.pdf", "status": "ok", "data": {}}}, {"abc": g})
    assert score.overall.tn > 5 and score.overall.accuracy == 0.0 and score.docs[0].accuracy == 0.0


def test_detect_format_and_read_gold_auto(tmp_path: Path) -> None:
    assert detect_label_format([{"issuer": "x"}]) == "invoice2data"
    assert detect_label_format({"company": "", "date": "", "address": "", "total": ""}) == "sroie"
    assert detect_label_format({"field_extractions": []}) == "docile"
    assert detect_label_format({"data": {}, "source": "x"}) == "docvlm"
    with pytest.raises(DatasetError):
        detect_label_format({"foo": 1})
    _write(tmp_path / "a.json", [{"issuer": "A", "amount": 1}])
    _write(tmp_path / "b.json", {"company": "B", "date": "", "address": "", "total": "2"})
    _write(tmp_path / "manifest.json", {"foo": 1})
    gold = read_gold(tmp_path)
    assert set(gold) == {"a", "b"}
    with pytest.raises(DatasetError):
        read_gold(tmp_path, "sroie")  # explicit format: a file that is not SROIE is an error


# ---- predictions ---------------------------------------------------------------------------


def test_read_predictions_and_score(tmp_path: Path) -> None:
    recs = [
        {
            "source": "in/b.pdf",
            "status": "error",
            "data": None,
            "error": {"type": "IngestError", "message": "x"},
        },
        {
            "source": "in/a.pdf",
            "status": "ok",
            "data": {"vendor": {"name": "a"}, "total": "1.00", "line_items": []},
            "confidence": {"vendor.name": 0.9, "total": 0.8},
            "timings": {"engine_s": 0.5},
        },
    ]
    f = tmp_path / "out.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in recs) + "\n\n", encoding="utf-8")
    preds = read_predictions(f)
    assert set(preds) == {"a", "b"}
    fields, items = record_fields(preds["b"])
    assert fields == {} and items == []
    _write(tmp_path / "gold" / "a.json", [{"issuer": "A", "amount": 1, "date": "2024-01-01"}])
    _write(tmp_path / "gold" / "b.json", [{"issuer": "B"}])
    _write(tmp_path / "gold" / "c.json", [{"issuer": "C"}])
    score = score_extraction(preds, read_gold(tmp_path / "gold", "invoice2data"))
    assert score.per_field["vendor.name"].tp == 1 and score.per_field["vendor.name"].fn == 2
    assert score.per_field["total"].tp == 1
    assert score.per_field["invoice_date"].fn == 1
    assert score.missing_predictions == ["c"]
    assert score.overall.accuracy == pytest.approx(2 / 5)
    assert score.timings["engine_s"]["total_s"] == 0.5
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"no_source": 1}\n', encoding="utf-8")
    with pytest.raises(DatasetError):
        read_predictions(bad)


def test_two_sources_with_one_key_are_flagged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "out.jsonl"
    recs = [
        {"source": "in/a.pdf", "data": {"total": "1.00"}},
        {"source": "in/a.png", "data": {"total": "2.00"}},
        {"source": "in/a.png", "data": {"total": "3.00"}},  # a resumed run: the same source again
    ]
    f.write_text("\n".join(json.dumps(r) for r in recs), encoding="utf-8")
    with caplog.at_level("WARNING", logger="evaluation.readers"):
        preds = read_predictions(f)
    assert preds["a"]["data"]["total"] == "3.00"
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "in/a.pdf" in warned[0] and "in/a.png" in warned[0]


# ---- the real shared files -----------------------------------------------------------------
