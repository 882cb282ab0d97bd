"""Safe output: path checks before any document, the lock, planted symlinks, resume semantics, CSV cells."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from docvlm.errors import OutputError, OutputLocked
from docvlm.sinks import JsonlSink, create_sink
from docvlm.spool import OutputLock
from evaluation.reliability import NO_LIMITS
from tests.helpers.documents import INVOICE_LINES, make_text_pdf

runner = CliRunner()


def _extract(*args: str):
    return runner.invoke(app, ["extract", *args, "--no-progress", *NO_LIMITS])


def _record(source: Path | str, status: str = "ok", **extra) -> dict:
    p = Path(source)
    sha = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return {"source": str(source), "sha256": sha, "status": status, "data": None, "error": None, **extra}


# ---- the output path is checked before any document is read ----------------------------------


@pytest.mark.parametrize(
    ("output", "extra", "needle"),
    [
        ("{tmp}", [], "is a directory"),
        ("{tmp}/missing/out.jsonl", [], "does not exist"),
        ("/proc/docvlm-out.jsonl", [], "cannot create a file"),
        ("{tmp}/out.csv", ["--format", "parquet"], "does not fit --format parquet"),
        ("{tmp}/out.txt", [], "cannot tell the output format"),
        ("-", ["--format", "csv"], "needs a file path"),
        ("-", ["--resume"], "--resume needs an output file"),
    ],
)
def test_a_bad_output_path_exits_2_before_any_document(tmp_path, output, extra, needle):
    stuck = tmp_path / "never_read.pdf"  # a document that would be an error record if it were read
    res = _extract(str(stuck), "-o", output.format(tmp=tmp_path), *extra)
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert not res.stdout.strip().startswith("{")  # no record was written
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_lock_refuses_a_second_holder_and_goes_away(tmp_path):
    out = tmp_path / "out.jsonl"
    first = OutputLock(out)
    first.acquire()
    with pytest.raises(OutputLocked, match=f"pid {os.getpid()}"):
        OutputLock(out).acquire()
    first.release()
    assert not out.with_name("out.jsonl.lock").exists()
    again = OutputLock(out)
    again.acquire()
    again.release()


# ---- planted symlinks are never followed ---------------------------------------------------


def test_a_planted_partial_symlink_is_replaced_not_followed(tmp_path):
    good = make_text_pdf(tmp_path / "good.pdf", INVOICE_LINES)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    partial.symlink_to(victim)
    res = _extract(str(good), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink() and [json.loads(x)["source"] for x in out.read_text().splitlines()] == [
        str(good)
    ]
    # resuming from a planted symlink is refused outright
    partial.symlink_to(victim)
    res = _extract(str(good), "-o", str(out), "--resume")
    assert res.exit_code == 2 and "symbolic link" in res.output, res.output
    assert victim.read_text() == "precious\n"


def test_a_planted_lock_symlink_is_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "out.jsonl.lock").symlink_to(victim)
    res = _extract(str(tmp_path / "x.pdf"), "-o", str(tmp_path / "out.jsonl"))
    assert res.exit_code == 2 and "symbolic link" in res.output
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_table_temp_files_have_no_guessable_name(tmp_path, fmt):
    good = make_text_pdf(tmp_path / "good.pdf", INVOICE_LINES)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for name in (f"out.{fmt}", f"out.line_items.{fmt}"):  # the names the old sink used
        (tmp_path / f".{name}.tmp-{os.getpid()}").symlink_to(victim)
    res = _extract(str(good), "-o", str(tmp_path / f"out.{fmt}"))
    assert res.exit_code == 0, res.output
    assert victim.read_text() == "precious\n"
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".") and not p.is_symlink())
    assert left == []  # no temporary file stays behind


# ---- resume --------------------------------------------------------------------------------


def test_resume_matches_resolved_paths_and_sha256(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    a, b = tmp_path / "in" / "a.pdf", tmp_path / "in" / "b.pdf"
    a.write_bytes(b"%PDF-1.7 a")
    b.write_bytes(b"%PDF-1.7 b")
    out = tmp_path / "out.jsonl"
    sink = create_sink(out)
    sink.write(_record("in/a.pdf"))  # an interrupted run that used relative paths
    sink.write(_record("in/b.pdf"))
    sink.abort()
    b.write_bytes(b"%PDF-1.7 b, changed since")
    done = JsonlSink(out, resume=True).done_sources()
    assert str(a) in done and "in/a.pdf" in done and "./in/../in/a.pdf" in done
    assert str(b) not in done  # same path, other content: read again
    assert str(tmp_path / "in" / "c.pdf") not in done


def test_resume_keeps_uris_as_they_are(tmp_path):
    out = tmp_path / "out.jsonl"
    sink = create_sink(out)
    sink.write({"source": "s3://bucket/in/a.pdf", "sha256": "abc", "status": "ok"})  # a Ray job's record
    sink.abort()
    sink = create_sink(out, resume=True)
    done = sink.done_sources()
    assert "s3://bucket/in/a.pdf" in done and "s3://bucket/in/b.pdf" not in done
    assert list(done) == ["s3://bucket/in/a.pdf"] and len(done) == 1
    sink.abort()


def test_resume_appends_to_the_kept_partial_and_never_rewrites_it(tmp_path):
    docs = [tmp_path / f"{n}.pdf" for n in "abc"]
    for d in docs:
        d.write_bytes(b"%PDF-1.7 " + d.name.encode())
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    sink = create_sink(out)
    sink.write(_record(docs[0]))
    sink.write(_record(docs[1]))
    sink.abort()
    kept = partial.read_bytes()
    with partial.open("ab") as fh:
        fh.write(b'{"source": "' + str(docs[2]).encode() + b'", "sta')  # torn by a kill mid-write
    inode = partial.stat().st_ino
    sink = create_sink(out, resume=True)
    assert partial.stat().st_ino == inode and partial.read_bytes() == kept  # torn line cut, rest untouched
    assert docs[2].as_posix() not in sink.done_sources()
    sink.write(_record(docs[2]))
    assert partial.read_bytes().startswith(kept)
    sink.close()
    assert [json.loads(x)["source"] for x in out.read_text().splitlines()] == [str(d) for d in docs]


def test_retry_errors_reruns_error_records_and_keeps_one_record_each(tmp_path):
    ok_doc, bad_doc = tmp_path / "ok.pdf", tmp_path / "later.pdf"
    ok_doc.write_bytes(b"%PDF-1.7 ok")
    bad_doc.write_bytes(b"%PDF-1.7 read during an outage")
    out = tmp_path / "out.jsonl"
    sink = create_sink(out)
    sink.write(_record(ok_doc))
    sink.write(_record(bad_doc, "error", error={"type": "EngineError", "message": "HTTP 503"}))
    sink.abort()
    sink = create_sink(out, resume=True)
    assert str(bad_doc) in sink.done_sources()  # an error record counts as done...
    sink.abort()
    sink = create_sink(out, resume=True, retry_errors=True)
    done = sink.done_sources()
    assert str(ok_doc) in done and str(bad_doc) not in done  # ...unless errors are retried
    sink.write(_record(bad_doc))
    sink.close()
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(Path(r["source"]).name, r["status"]) for r in recs] == [("ok.pdf", "ok"), ("later.pdf", "ok")]


def test_the_cli_retries_errors_only_when_asked(tmp_path):
    good = make_text_pdf(tmp_path / "good.pdf", INVOICE_LINES)
    out = tmp_path / "out.jsonl"
    sink = create_sink(out)  # a finished run during an API outage
    sink.write(_record(good, "error", error={"type": "EngineError", "message": "HTTP 503"}))
    sink.close()
    res = _extract(str(good), "-o", str(out), "--resume")
    assert res.exit_code == 0 and "0 documents" in res.output, res.output
    assert json.loads(out.read_text())["status"] == "error"
    res = _extract(str(good), "-o", str(out), "--retry-errors")
    assert res.exit_code == 0, res.output
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(Path(r["source"]).name, r["status"]) for r in recs] == [("good.pdf", "ok")]


# ---- CSV cells -----------------------------------------------------------------------------


def test_csv_cells_that_would_run_as_formulas_get_a_quote(tmp_path):
    data = {
        "invoice_number": '=HYPERLINK("http://x","y")',
        "vendor": {"name": "@SUM(A1:A9)", "address": "+49 30 1234", "tax_id": "-DE123"},
        "customer": {"name": "Plain Name"},
        "total": "-12.50",
        "line_items": [{"description": "=1+1", "amount": "-3.00"}],
    }
    rec = {**_record(tmp_path / "x.pdf"), "data": data}
    out = tmp_path / "out.csv"
    with create_sink(out) as sink:
        sink.write(rec)
    with out.open(newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["invoice_number"] == '\'=HYPERLINK("http://x","y")'
    assert row["vendor.name"] == "'@SUM(A1:A9)"
    assert row["vendor.address"] == "'+49 30 1234"
    assert row["vendor.tax_id"] == "'-DE123"
    assert row["customer.name"] == "Plain Name"
    assert row["total"] == "-12.50"  # a plain number stays a number
    with (tmp_path / "out.line_items.csv").open(newline="") as fh:
        item = next(csv.DictReader(fh))
    assert item["description"] == "'=1+1" and item["amount"] == "-3.00"


def test_output_error_is_a_value_error_for_old_callers():
    with pytest.raises(ValueError, match="file path"):
        create_sink("-", "csv")
    assert issubclass(OutputLocked, OutputError)
