import json
import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_extract_jsonl_and_exit_code_for_errors(tmp_path, invoice_pdf, bad_inputs):
    out = tmp_path / "out.jsonl"
    res = runner.invoke(
        app, ["extract", str(invoice_pdf), str(bad_inputs["empty"]), "-o", str(out), "--no-progress"]
    )
    assert res.exit_code == 1, res.output  # one record is an error
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["status"] == "error" for r in recs] == [False, True]


def test_extract_all_good_exits_zero_and_writes_csv(tmp_path, invoice_pdf):
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["extract", str(invoice_pdf), "-o", str(out), "--format", "csv"])
    assert res.exit_code == 0, res.output
    docs = pd.read_csv(out)
    assert docs.loc[0, "total"] == 119.0
    assert (tmp_path / "out.line_items.csv").exists()


def test_stdout_jsonl(invoice_pdf):
    res = runner.invoke(app, ["extract", str(invoice_pdf), "-o", "-"])
    assert res.exit_code == 0
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("{"))
    assert json.loads(line)["data"]["invoice_number"] == "RE-2024-0042"


def test_usage_errors_exit_2(tmp_path, invoice_pdf):
    assert runner.invoke(app, ["extract", str(invoice_pdf), "--engine", "transformers"]).exit_code == 2
    assert runner.invoke(app, ["extract", str(invoice_pdf), "--engine", "nope"]).exit_code == 2
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert runner.invoke(app, ["extract", str(empty)]).exit_code == 2  # nothing to do is a usage error
    # a named input that matches nothing is not lost: it becomes an error record
    res = runner.invoke(app, ["extract", str(tmp_path / "nothing_*.pdf"), "-o", "-"])
    assert res.exit_code == 1
    assert json.loads(res.stdout.splitlines()[0])["status"] == "error"
    assert runner.invoke(app, ["schema", "nope"]).exit_code == 2


def test_schema_command_prints_json_schema():
    res = runner.invoke(app, ["schema", "invoice"])
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    assert set(schema["properties"]) >= {"invoice_number", "total", "line_items", "vendor"}


def test_console_script_entry_point(invoice_pdf, tmp_path):
    out = tmp_path / "o.parquet"
    proc = subprocess.run(
        [sys.executable, "-c", "from cli import app; app()", "extract", str(invoice_pdf), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert pd.read_parquet(out).loc[0, "invoice_number"] == "RE-2024-0042"


def test_env_settings_apply_unless_a_flag_overrides(monkeypatch):
    from docvlm.pipeline import PipelineOptions

    monkeypatch.setenv("DOCVLM_DPI", "150")
    monkeypatch.setenv("DOCVLM_OCR_BACKEND", "tesseract")
    opts = PipelineOptions.from_settings()
    assert opts.ingest.dpi == 150 and opts.ocr.backend == "tesseract"
    opts = PipelineOptions.from_settings(dpi=300, ocr_backend="rapidocr", workers=2)
    assert opts.ingest.dpi == 300 and opts.ocr.backend == "rapidocr" and opts.workers == 2


def test_pipeline_options_and_extract_read_the_settings(monkeypatch, invoice_pdf):
    import docvlm
    from docvlm.ingest import IngestOptions
    from docvlm.pipeline import Pipeline, PipelineOptions

    monkeypatch.setenv("DOCVLM_DPI", "120")
    monkeypatch.setenv("DOCVLM_WORKERS", "3")
    monkeypatch.setenv("DOCVLM_MAX_FILE_MB", "7")
    opts = PipelineOptions()
    assert opts.ingest.dpi == 120 and opts.ingest.max_file_mb == 7 and opts.workers == 3
    assert Pipeline().options.ingest.dpi == 120  # what docvlm.extract() builds
    explicit = PipelineOptions(ingest=IngestOptions(dpi=300), workers=1)
    assert explicit.ingest.dpi == 300 and explicit.workers == 1
    # the pages of a run carry its dpi: VLM engines render at most at it
    ex = docvlm.extract(invoice_pdf)
    assert ex.status.value != "error"
    assert Pipeline().load_pages(invoice_pdf)[0].dpi == 120


def test_log_level_setting_is_read(monkeypatch):
    import logging

    from cli import _setup_logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        root.handlers = []
        monkeypatch.setenv("DOCVLM_LOG_LEVEL", "info")
        _setup_logging(0)
        assert root.level == logging.INFO
        root.handlers = []
        _setup_logging(2)  # -vv wins over the setting
        assert root.level == logging.DEBUG
    finally:
        root.handlers, root.level = handlers, level
