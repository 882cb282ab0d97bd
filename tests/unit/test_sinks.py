import hashlib
import json

import pandas as pd
import pytest

from docvlm.sinks import JsonlSink, create_sink, write_records

REC_OK = {
    "source": "a.pdf",
    "sha256": "x",
    "status": "ok",
    "document_type": "invoice",
    "engine": "layout",
    "pages": 1,
    "data": {
        "invoice_number": "1",
        "total": "10.00",
        "vendor": {"name": "V"},
        "customer": {},
        "line_items": [{"description": "d", "amount": "10.00"}],
    },
    "evidence": {},
    "confidence": {"total": 0.9},
    "warnings": [],
    "error": None,
    "timings": {},
}
REC_ERR = {
    **REC_OK,
    "source": "b.pdf",
    "status": "error",
    "data": None,
    "error": {"type": "IngestError", "message": "bad"},
}


def test_jsonl_roundtrip(tmp_path):
    out = tmp_path / "o.jsonl"
    assert write_records([REC_OK, REC_ERR], out) == 2
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["source"] for r in lines] == ["a.pdf", "b.pdf"]
    assert lines[0]["data"]["total"] == "10.00"
    assert not list(tmp_path.glob("*.partial"))


def test_crash_leaves_no_half_written_output_and_resume_picks_up(tmp_path):
    doc = tmp_path / "a.pdf"
    doc.write_bytes(b"%PDF-1.7 a document")
    rec = {**REC_OK, "source": str(doc), "sha256": hashlib.sha256(doc.read_bytes()).hexdigest()}
    out = tmp_path / "o.jsonl"
    with pytest.raises(RuntimeError), create_sink(out) as sink:
        sink.write(rec)
        raise RuntimeError("crash")
    assert not out.exists()
    # a torn last line, as a kill mid-write would leave
    partial = tmp_path / "o.jsonl.partial"
    partial.write_text(partial.read_text() + '{"source": "tor')
    sink = JsonlSink(out, resume=True)
    done = sink.done_sources()
    assert str(doc) in done and "b.pdf" not in done
    sink.write(REC_ERR)
    sink.close()
    assert [json.loads(x)["source"] for x in out.read_text().splitlines()] == [str(doc), "b.pdf"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables(tmp_path, fmt):
    out = tmp_path / f"o.{fmt}"
    write_records([REC_OK, REC_ERR], out)
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    docs = read(out)
    items = read(tmp_path / f"o.line_items.{fmt}")
    assert list(docs["source"]) == ["a.pdf", "b.pdf"]
    assert list(docs["status"]) == ["ok", "error"]
    assert docs.loc[1, "error_type"] == "IngestError"
    assert list(items["source"]) == ["a.pdf"]
    assert (
        str(items.loc[0, "amount"]) == "10.00" if fmt == "parquet" else float(items.loc[0, "amount"]) == 10.0
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_stdout_only_for_jsonl():
    with pytest.raises(ValueError, match="file path"):
        create_sink("-", "csv")
