"""What the CLI tells a user: missing and unsupported inputs on stderr, resume counts, the progress bar,
format/extension usage errors and clean help texts."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from cli import app
from docvlm.progress import ProgressBar, survey_inputs

runner = CliRunner()
IN_PROCESS = ["--doc-timeout", "0", "--max-worker-mb", "0"]  # no worker processes: quicker


def test_missing_and_unsupported_inputs_are_told_on_stderr(tmp_path, invoice_pdf):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(invoice_pdf, folder / "a.pdf")
    for name in ("photo1.heic", "photo2.heic", "letter.docx"):
        (folder / name).write_bytes(b"not empty, not readable")
    (folder / "labels.txt").write_text("not a document")
    missing = tmp_path / "gone.pdf"
    res = runner.invoke(
        app, ["extract", str(folder), str(missing), "-o", str(tmp_path / "o.jsonl"), *IN_PROCESS]
    )
    assert res.exit_code == 1
    err = res.stderr.splitlines()
    assert f"error: input not found: {missing} (its record is an error)" in err
    notes = [line for line in err if line.startswith("note:")]
    assert len(notes) == 1  # listed once, with a count
    assert notes[0].startswith("note: 3 files of a type docvlm does not read")
    assert all(name in notes[0] for name in ("photo1.heic", "photo2.heic", "letter.docx"))
    assert "labels.txt" not in res.stderr
    recs = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(recs) == 5  # the pdf, the three unsupported files and the missing one: every input a record
    assert {r["error"]["type"] for r in recs if r["status"] == "error"} == {"UnsupportedType", "IngestError"}


def test_resume_says_how_many_documents_were_already_done(tmp_path, invoice_pdf):
    other = tmp_path / "b.pdf"
    shutil.copy(invoice_pdf, other)
    out = str(tmp_path / "o.jsonl")
    first = runner.invoke(app, ["extract", str(invoice_pdf), str(other), "-o", out, *IN_PROCESS])
    assert first.exit_code == 0, first.stderr
    again = runner.invoke(app, ["extract", str(invoice_pdf), str(other), "-o", out, "--resume", *IN_PROCESS])
    assert again.exit_code == 0
    assert f"resuming {out}: 2 documents already done, 0 to read" in again.stderr
    assert "0 documents: 0 ok, 0 partial, 0 error; 2 already done" in again.stderr
    third = tmp_path / "c.pdf"
    shutil.copy(invoice_pdf, third)
    more = runner.invoke(app, ["extract", str(tmp_path), "-o", out, "--resume", *IN_PROCESS])
    assert "2 documents already done, 1 to read" in more.stderr
    assert "1 documents: 1 ok, 0 partial, 0 error; 2 already done" in more.stderr


@pytest.mark.parametrize(("name", "fmt"), [("o.xlsx", "jsonl"), ("o.csv", "parquet"), ("o.xlsx", None)])
def test_an_output_extension_that_does_not_fit_the_format_exits_2(tmp_path, invoice_pdf, name, fmt):
    args = ["extract", str(invoice_pdf), "-o", str(tmp_path / name), *(["--format", fmt] if fmt else [])]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "error:" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.pdf"]  # nothing was written


def test_the_survey_counts_before_reading(tmp_path, invoice_pdf):
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    survey = survey_inputs([tmp_path, tmp_path / "no.pdf"], done={str(invoice_pdf)})
    assert survey.done == 1
    assert survey.todo == [str(tmp_path / "x.gif"), str(tmp_path / "no.pdf")]
    assert survey.missing == [str(tmp_path / "no.pdf")] and survey.unsupported == [str(tmp_path / "x.gif")]


def test_the_notice_of_many_unsupported_files_stays_one_line(tmp_path):
    for i in range(30):
        (tmp_path / f"p{i:02d}.heic").write_bytes(b"x")
    (line,) = survey_inputs([tmp_path]).notices()
    assert line.startswith("note: 30 files") and line.endswith("and 10 more")


def test_the_progress_bar_shows_total_percentage_eta_and_the_current_file():
    stream = io.StringIO()
    bar = ProgressBar(4, file=stream)
    on_source = bar.on_source()
    assert on_source is not None
    for i in range(3):
        on_source(f"/in/doc{i}.pdf")
        bar.finished({"ok": i + 1, "partial": 0, "error": 0}, file_done=True)
    on_source("/in/doc3.pdf")
    bar.finished({"ok": 3, "partial": 1, "error": 0}, file_done=False)  # the first invoice of a file of two
    bar.close()
    last = stream.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert re.search(r"\b75%\|", last) and "3/4" in last
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d", last)  # elapsed<remaining: the ETA
    assert "file=doc3.pdf" in last and "partial=1" in last
    off = ProgressBar(4, enabled=False)
    assert off.on_source() is None
    off.finished({"ok": 1}, file_done=True)
    off.close()


@pytest.mark.parametrize(
    "command",
    [["extract"], ["ask"], ["review"], ["train"], ["schema"], ["eval", "extract"], ["eval", "report"]],
)
def test_help_texts_are_clean(command):
    res = runner.invoke(app, [*command, "--help"], terminal_width=100)
    assert res.exit_code == 0
    assert "<bool>" not in res.output
    assert not re.search(r"\w \.(\s|$)", res.output), res.output  # no space before a full stop (eaten markup)
    if command == ["extract"]:
        assert "[default: 200]" in res.output and "--resume " in res.output
