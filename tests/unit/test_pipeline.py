import json

from docvlm.datamodel import Status
from docvlm.pipeline import Pipeline, PipelineOptions


def test_good_invoice_end_to_end(invoice_pdf):
    ex = Pipeline().extract(invoice_pdf)
    rec = ex.to_record()
    assert rec["status"] in {"ok", "partial"}, rec
    assert rec["pages"] == 1 and len(rec["sha256"]) == 64
    assert rec["data"]["total"] == "119.00"
    assert rec["data"]["invoice_number"] == "RE-2024-0042"
    assert rec["data"]["invoice_date"] == "2024-03-05"
    assert rec["evidence"]["total"]["page"] == 1 and len(rec["evidence"]["total"]["bbox"]) == 4
    assert 0 <= rec["confidence"]["total"] <= 1
    json.dumps(rec)  # the record is plain JSON


def test_bad_inputs_become_error_records_and_the_batch_goes_on(invoice_pdf, bad_inputs):
    order = [
        bad_inputs["corrupt"],
        invoice_pdf,
        bad_inputs["encrypted"],
        bad_inputs["empty"],
        bad_inputs["not_pdf"],
        bad_inputs["huge"],
    ]
    records = [ex.to_record() for ex in Pipeline().run(order)]
    assert [r["source"] for r in records] == [str(p) for p in order]
    by_name = {r["source"].rsplit("/", 1)[-1]: r for r in records}
    assert by_name["good.pdf"]["status"] != "error"
    for name, needle in [
        ("corrupt.pdf", "corrupt pdf"),
        ("encrypted.pdf", "encrypt"),
        ("empty.pdf", "empty"),
        ("notes.pdf", "not a pdf"),
        ("huge.png", "megapixel"),
    ]:
        rec = by_name[name]
        assert rec["status"] == "error", rec
        assert rec["data"] is None
        assert rec["error"]["type"] == "IngestError"
        assert needle in rec["error"]["message"].lower(), rec["error"]


def test_missing_file_is_an_error_record(tmp_path):
    ex = Pipeline().extract(tmp_path / "nope.pdf")
    assert ex.status is Status.ERROR and ex.error is not None


def test_parallel_workers_keep_order_and_records(invoice_pdf, bad_inputs):
    import shutil

    twin = shutil.copy(invoice_pdf, invoice_pdf.with_name("twin.pdf"))
    order = [invoice_pdf, bad_inputs["empty"], twin]
    pipe = Pipeline(PipelineOptions(workers=2))
    records = [ex.to_record() for ex in pipe.run(order)]
    assert [r["source"] for r in records] == [str(p) for p in order]
    assert [r["status"] == "error" for r in records] == [False, True, False]
    assert records[0]["data"] == records[2]["data"]
