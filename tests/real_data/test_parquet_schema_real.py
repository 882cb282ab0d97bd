"""The Parquet schema of two batches of different shared documents is byte-identical, and its typed
values are the records' exact decimal strings and ISO dates."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.runner import LimitOptions
from docvlm.sinks import create_sink

IN_PROCESS = LimitOptions(doc_timeout_s=0, max_worker_mb=0)


def _extract(pipe: Pipeline, docs: list[Path], out: Path) -> list[dict]:
    recs = [ex.to_record() for ex in pipe.run(docs)]
    with create_sink(out) as sink:
        for rec in recs:
            sink.write(rec)
    return recs


def test_two_batches_of_shared_documents_have_byte_identical_parquet_schemas(shared_data, tmp_path):
    batch_a = sorted((shared_data / "invoices").rglob("*.pdf"))
    batch_b = sorted((shared_data / "einvoices").glob("*.pdf"))[:6]
    assert len(batch_a) >= 5 and len(batch_b) == 6 and not set(batch_a) & set(batch_b)
    pipe = Pipeline(PipelineOptions(limits=IN_PROCESS))
    try:
        recs_a = _extract(pipe, batch_a, tmp_path / "a.parquet")
        recs_b = _extract(pipe, batch_b, tmp_path / "b.parquet")
    finally:
        pipe.close()

    for name in ("{}.parquet", "{}.line_items.parquet"):
        sa, sb = (pq.read_schema(tmp_path / name.format(b)) for b in "ab")
        assert sa.serialize().to_pybytes() == sb.serialize().to_pybytes()
        fa, fb = (pq.ParquetFile(tmp_path / name.format(b)).schema for b in "ab")
        assert fa.equals(fb)  # the Parquet physical schema too

    ta, tb = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    # the batches differ in which columns they fill, so a schema inferred from the values would differ
    null_in_one = [
        c
        for c in ta.column_names
        if (ta.column(c).null_count == ta.num_rows) != (tb.column(c).null_count == tb.num_rows)
    ]
    assert null_in_one, "the two batches fill the same columns; pick batches that differ"

    for recs, table in ((recs_a, ta), (recs_b, tb)):
        rows = table.to_pylist()
        assert [r["source"] for r in rows] == [r["source"] for r in recs]
        for rec, row in zip(recs, rows, strict=True):
            data = rec["data"] or {}
            for money in ("subtotal", "tax_total", "total", "amount_due"):
                want = data.get(money)
                assert row[money] == (None if want is None else Decimal(want)), (rec["source"], money)
            date = data.get("invoice_date")
            assert row["invoice_date"] == (None if date is None else dt.date.fromisoformat(date))
            assert "parquet_value_dropped" not in (row["warnings"] or "")
    items = pq.read_table(tmp_path / "b.line_items.parquet").to_pylist()
    assert len(items) == sum(len((r["data"] or {}).get("line_items") or []) for r in recs_b) > 0
    first = next(r for r in recs_b if (r["data"] or {}).get("line_items"))
    got = next(i for i in items if i["source"] == first["source"] and i["index"] == 0)
    want = first["data"]["line_items"][0]
    assert got["amount"] == (None if want["amount"] is None else Decimal(want["amount"])), json.dumps(want)
