import hashlib
import json
import zipfile

from docvlm.datamodel import Status
from docvlm.ingest import iter_sources
from docvlm.pipeline import Pipeline, PipelineOptions
from docvlm.runner import LimitOptions


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


def test_error_records_keep_the_sha256_of_a_file_that_was_read(bad_inputs):
    pipe = Pipeline()
    for name in ("corrupt", "encrypted", "not_pdf"):
        rec = pipe.extract(bad_inputs[name]).to_record()
        assert rec["status"] == "error"
        assert rec["sha256"] == hashlib.sha256(bad_inputs[name].read_bytes()).hexdigest(), name
    assert pipe.extract(bad_inputs["empty"]).sha256 is None  # nothing was read


def test_unsupported_documents_in_a_folder_get_an_error_record(tmp_path, invoice_pdf):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "logo.gif").write_bytes(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
    (folder / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    with zipfile.ZipFile(folder / "letter.docx", "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    (folder / "labels.json").write_text("{}")  # not a document: skipped, as notes and code are
    (folder / "README.md").write_text("notes")
    invoice_pdf.rename(folder / "invoice.pdf")
    names = [p.name for p in iter_sources([folder])]
    assert names == ["drawing.svg", "invoice.pdf", "letter.docx", "logo.gif"]
    pipe = Pipeline(PipelineOptions(limits=LimitOptions(doc_timeout_s=0, max_worker_mb=0)))
    records = {r.source.rsplit("/", 1)[-1]: r.to_record() for r in pipe.run([folder])}
    assert records["invoice.pdf"]["status"] == "ok"
    for name in ("drawing.svg", "letter.docx", "logo.gif"):
        assert records[name]["error"]["type"] == "UnsupportedType", records[name]
        assert records[name]["sha256"]
