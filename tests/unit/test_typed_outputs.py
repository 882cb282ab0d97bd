"""Typed outputs: the table columns come from the model, Parquet has one fixed Arrow schema, CSV keeps
every field, money that a column cannot hold is never rounded, and the JSON Schema types money as a
decimal string."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import BaseModel

from docvlm.columns import table_layout, typed_value
from docvlm.errors import OutputError, ValueNotRepresentable
from docvlm.paths import iter_leaves
from docvlm.sinks import DROPPED_CODE, output_format, write_records
from schemas import json_schema
from schemas.invoice import Invoice

FULL = Invoice.model_validate(
    {
        "invoice_number": "INV-7",
        "invoice_date": "2024-03-01",
        "due_date": "2024-03-31",
        "purchase_order": "PO-1",
        "currency": "EUR",
        "vendor": {
            "name": "Seller",
            "address": "1 Road",
            "tax_id": "DE123456789",
            "iban": "DE89370400440532013000",
            "email": "s@example.org",
            "phone": "+49 1",
        },
        "customer": {
            "name": "Buyer",
            "address": "2 Lane",
            "tax_id": "FR1",
            "iban": "FR7630006000011234567890189",
            "email": "b@example.org",
            "phone": "+33 2",
        },
        "subtotal": "100.00",
        "tax_total": "21.00",
        "total": "121.00",
        "amount_due": "121.00",
        "line_items": [
            {
                "description": "Widget",
                "quantity": "2.5",
                "unit": "kilogram",
                "unit_price": "40.0000",
                "amount": "100.00",
                "tax_rate": "21",
                "product_code": "W-1",
            }
        ],
    }
)


def _record(source: str, data: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    return {
        "source": source,
        "sha256": "0" * 64,
        "status": "ok" if data is not None else "error",
        "document_type": "invoice",
        "engine": "layout",
        "pages": 1,
        "part": 1,
        "parts": 1,
        "page_range": [1, 1] if data is not None else None,
        "data": data,
        "evidence": {},
        "confidence": {"total": 0.9} if data else {},
        "warnings": [],
        "error": None if data is not None else {"type": "IngestError", "message": "bad"},
        "timings": {"total_s": 0.5},
        **extra,
    }


FULL_REC = _record("full.pdf", FULL.model_dump(mode="json"))


def test_the_columns_are_every_field_of_the_model():
    layout = table_layout(Invoice)
    dumped = FULL.model_dump(mode="json")
    header = {path for path, _ in iter_leaves({k: v for k, v in dumped.items() if k != "line_items"})}
    item = {path for path, _ in iter_leaves(dumped["line_items"][0])}
    assert {c.name for c in layout.fields} == header  # every header field of the full invoice, none else
    assert {c.name for c in layout.item_fields} == item
    assert {"customer.email", "customer.phone", "customer.iban"} <= header
    assert layout.items_field == "line_items"


def test_a_user_model_gets_its_own_columns():
    class Address(BaseModel):
        city: str | None = None

    class Row(BaseModel):
        sku: str
        weight: Decimal | None = None

    class DeliveryNote(BaseModel):
        number: str | None = None
        shipped: dt.date | None = None
        boxes: int | None = None
        to: Address = Address()
        rows: list[Row] = []
        tags: list[str] = []

    layout = table_layout(DeliveryNote)
    docs, items = layout.arrow_schemas()
    assert [c.name for c in layout.fields] == ["number", "shipped", "boxes", "to.city", "tags"]
    assert docs.field("shipped").type == pa.date32()
    assert docs.field("boxes").type == pa.int64()
    assert docs.field("tags").type == pa.string()  # JSON text
    assert layout.items_field == "rows"
    assert items.field("weight").type == pa.decimal128(18, 2)
    assert typed_value(layout.fields[-1], ["a", "b"]) == '["a", "b"]'


def test_arrow_types_of_the_invoice_tables():
    docs, items = table_layout(Invoice).arrow_schemas()
    for money in ("subtotal", "tax_total", "total", "amount_due"):
        assert docs.field(money).type == pa.decimal128(18, 2)
    for date in ("invoice_date", "due_date"):
        assert docs.field(date).type == pa.date32()
    assert docs.field("customer.email").type == pa.string()
    assert docs.field("pages").type == pa.int64() and docs.field("min_confidence").type == pa.float64()
    assert items.field("amount").type == pa.decimal128(18, 2)
    for f in ("quantity", "unit_price", "tax_rate"):
        assert items.field(f).type == pa.decimal128(18, 4)
    assert [f.name for f in items][:3] == ["source", "part", "index"]


def test_two_batches_write_the_same_parquet_schema_whatever_their_values(tmp_path):
    errors_only = [_record("a.pdf", None), _record("b.pdf", None)]
    sparse = [_record("c.pdf", Invoice(total=Decimal("5")).model_dump(mode="json"))]
    written = []
    for i, batch in enumerate((errors_only, sparse, [FULL_REC])):
        out = tmp_path / f"batch{i}.parquet"
        write_records(batch, out)
        written.append(out)
    for name in ("{}.parquet", "{}.line_items.parquet"):
        schemas = [pq.read_schema(tmp_path / name.format(p.stem)) for p in written]
        assert all(s.equals(schemas[0], check_metadata=True) for s in schemas)
        raw = {s.serialize().to_pybytes() for s in schemas}
        assert len(raw) == 1  # byte-identical
    first = pq.read_table(written[0])
    assert first.column("total").null_count == 2 and first.schema.field("total").type == pa.decimal128(18, 2)


def test_parquet_values_are_typed_and_exact(tmp_path):
    out = tmp_path / "o.parquet"
    write_records([FULL_REC, _record("bad.pdf", None)], out)
    docs = pq.read_table(out).to_pylist()
    items = pq.read_table(tmp_path / "o.line_items.parquet").to_pylist()
    assert docs[0]["total"] == Decimal("121.00") and isinstance(docs[0]["total"], Decimal)
    assert docs[0]["invoice_date"] == dt.date(2024, 3, 1)
    assert docs[0]["customer.iban"] == "FR7630006000011234567890189"
    assert docs[0]["warnings"] == ""
    assert (
        docs[1]["total"] is None and docs[1]["error_type"] == "IngestError" and docs[1]["page_first"] is None
    )
    assert items[0]["quantity"] == Decimal("2.5") and items[0]["unit_price"] == Decimal("40")
    assert (items[0]["source"], items[0]["part"], items[0]["index"]) == ("full.pdf", 1, 0)


def test_a_value_the_column_cannot_hold_is_null_and_flagged_never_rounded(tmp_path, caplog):
    data = FULL.model_dump(mode="json")
    data["total"] = "121.005"  # three decimals (a 3-decimal currency, a misread): not decimal128(18, 2)
    data["line_items"][0]["unit_price"] = "0.123456"  # six decimals: not decimal128(18, 4)
    huge = {**FULL.model_dump(mode="json"), "subtotal": "1" + "0" * 16}  # 17 integer digits
    recs = [
        _record("odd.pdf", data, warnings=[{"code": "total_mismatch", "message": "m"}]),
        _record("huge.pdf", huge),
        FULL_REC,
    ]
    with caplog.at_level(logging.WARNING, logger="docvlm.sinks"):
        write_records(recs, tmp_path / "o.parquet")
    docs = pq.read_table(tmp_path / "o.parquet").to_pylist()
    items = pq.read_table(tmp_path / "o.line_items.parquet").to_pylist()
    assert docs[0]["total"] is None and docs[0]["subtotal"] == Decimal("100.00")
    assert docs[0]["warnings"] == f"total_mismatch;{DROPPED_CODE}"
    assert items[0]["unit_price"] is None and items[0]["amount"] == Decimal("100.00")
    assert docs[1]["subtotal"] is None and docs[1]["warnings"] == DROPPED_CODE
    assert docs[2]["warnings"] == "" and docs[2]["total"] == Decimal("121.00")
    logged = caplog.text
    assert "odd.pdf: total '121.005' does not fit decimal128(18, 2)" in logged
    assert "line_items.0.unit_price '0.123456' does not fit decimal128(18, 4)" in logged
    # CSV is text: it keeps the exact values
    write_records(recs, tmp_path / "o.csv")
    rows = list(csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8")))
    assert rows[0]["total"] == "121.005" and rows[1]["subtotal"] == "1" + "0" * 16
    with (tmp_path / "o.line_items.csv").open(encoding="utf-8") as fh:
        assert next(csv.DictReader(fh))["unit_price"] == "0.123456"


@pytest.mark.parametrize(
    ("value", "fits"),
    [("12.50", True), ("12.5", True), ("12.500", True), ("-0.01", True), ("12.505", False), ("1e3", True),
     ("NaN", False), ("Infinity", False), ("abc", False), (True, False), ("9" * 16 + ".99", True),
     ("9" * 17, False)],
)  # fmt: skip
def test_decimal_cells(value, fits):
    total = next(c for c in table_layout(Invoice).fields if c.name == "total")
    if fits:
        assert typed_value(total, value) == Decimal(str(value))
    else:
        with pytest.raises(ValueNotRepresentable):
            typed_value(total, value)


def test_csv_keeps_every_field_as_text(tmp_path):
    write_records([FULL_REC, _record("bad.pdf", None)], tmp_path / "o.csv")
    with (tmp_path / "o.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = reader.fieldnames or []
    assert header == [c.name for c in table_layout(Invoice).documents]
    assert rows[0]["customer.email"] == "b@example.org"
    assert rows[0]["customer.phone"] == "'+33 2"  # the formula guard: a cell starting with + gets a '

    assert rows[0]["customer.iban"] == "FR7630006000011234567890189"
    assert rows[0]["total"] == "121.00" and rows[0]["invoice_date"] == "2024-03-01"
    assert rows[0]["pages"] == "1" and rows[1]["page_first"] == ""  # integers stay integers, null is empty
    with (tmp_path / "o.line_items.csv").open(encoding="utf-8") as fh:
        item = next(csv.DictReader(fh))
    assert item["unit_price"] == "40.0000" and item["product_code"] == "W-1"


def test_json_schema_types_money_as_a_decimal_string():
    schema = json_schema("invoice")
    total = schema["properties"]["total"]
    assert {"type": "number"} not in total["anyOf"]
    string = next(o for o in total["anyOf"] if o.get("type") == "string")
    assert string["pattern"] == r"^-?[0-9]+(\.[0-9]+)?$"
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(FULL.model_dump(mode="json")))  # a real record's data validates
    for bad in (121.0, "121,00", "1.2.3", ""):
        assert list(validator.iter_errors({**FULL.model_dump(mode="json"), "total": bad})), bad
    line = schema["$defs"]["LineItem"]["properties"]["tax_rate"]
    assert line["description"] == "percent, e.g. 21 for 21%"
    assert json.dumps(line).count("pattern") == 1


@pytest.mark.parametrize(
    ("path", "fmt", "ok"),
    [("x.xlsx", "jsonl", False), ("x.csv", "parquet", False), ("x.parquet", "parquet", True),
     ("x.JSONL", "jsonl", True), ("out", "parquet", True), ("x.xlsx", None, False), ("x.pq", None, True)],
)  # fmt: skip
def test_an_extension_must_fit_the_format(path, fmt, ok):
    if ok:
        output_format(path, fmt)
    else:
        with pytest.raises(OutputError):
            output_format(path, fmt)


def test_a_user_schema_writes_its_own_tables(tmp_path):
    class Row(BaseModel):
        sku: str
        weight: Decimal | None = None

    class DeliveryNote(BaseModel):
        number: str | None = None
        shipped: dt.date | None = None
        rows: list[Row] = []

    data = DeliveryNote(
        number="DN-1", shipped=dt.date(2024, 5, 2), rows=[Row(sku="A", weight=Decimal("1.25"))]
    )
    recs = [_record("dn.pdf", data.model_dump(mode="json")), _record("bad.pdf", None)]
    write_records(recs, tmp_path / "o.parquet", schema=DeliveryNote)
    docs = pq.read_table(tmp_path / "o.parquet")
    assert docs.schema.field("shipped").type == pa.date32() and "total" not in docs.column_names
    assert docs.to_pylist()[0]["number"] == "DN-1" and docs.to_pylist()[0]["line_item_count"] == 1
    items = pq.read_table(tmp_path / "o.line_items.parquet").to_pylist()
    assert items == [{"source": "dn.pdf", "part": 1, "index": 0, "sku": "A", "weight": Decimal("1.25")}]
