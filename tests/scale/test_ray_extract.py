"""The extraction job on a local Ray: one row per input, the local pipeline's records, resume, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from docvlm.pipeline import Pipeline
from docvlm.scale import RayOptions, extract_dataset, records, run_job
from docvlm.scale.dataset import row_schema
from docvlm.sinks import document_row

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def _strip(rec: dict) -> dict:
    rec = dict(rec)
    rec.pop("timings")
    return rec


@pytest.fixture()
def inputs(tmp_path: Path, bad_inputs: dict[str, Path]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("invoice_us_cedar_ridge.pdf", "rechnung_de_nordlicht.pdf", "factuur_nl_duinzicht.pdf"):
        shutil.copy(SAMPLES / name, folder / name)
    shutil.copy(bad_inputs["corrupt"], folder / "corrupt.pdf")
    shutil.copy(bad_inputs["not_pdf"], folder / "notes.pdf")
    return folder


def test_rows_are_the_local_records(ray_cluster, inputs: Path) -> None:
    missing = str(inputs / "missing.pdf")
    ds = extract_dataset([str(inputs), missing], RayOptions(concurrency=2, batch_size=2))
    assert ds.schema().base_schema == row_schema()
    got = {r["source"]: r for r in records(ds)}
    pipe = Pipeline()
    try:
        want = {ex.source: ex.to_record() for ex in pipe.run([str(inputs), missing])}
    finally:
        pipe.close()
    assert sorted(got) == sorted(want) and len(got) == 6
    for source, rec in want.items():
        assert _strip(got[source]) == _strip(rec), source
    assert got[missing]["error"]["message"] == f"file not found: {missing}"
    assert {r["status"] for r in got.values()} == {"ok", "error"}
    # the flat columns are the Parquet sink's documents table
    row = ds.filter(lambda r: r["source"].endswith("cedar_ridge.pdf")).take(1)[0]
    flat = document_row(want[row["source"]])
    assert {k: row[k] for k in flat if k != "total_s"} == {k: v for k, v in flat.items() if k != "total_s"}
    assert len(row["line_items"]) == flat["line_item_count"] > 0


def test_a_dataset_of_bytes_and_an_fsspec_uri(ray_cluster, inputs: Path) -> None:
    ds_in = ray_cluster.data.read_binary_files(str(inputs / "invoice_us_cedar_ridge.pdf"), include_paths=True)
    (rec,) = list(records(extract_dataset(ds_in, RayOptions(concurrency=1))))
    assert rec["status"] == "ok" and rec["source"].endswith("invoice_us_cedar_ridge.pdf")
    # a scheme pyarrow does not know is read through fsspec (here its local filesystem)
    uri = f"local://{inputs}"
    got = {r["source"]: r["status"] for r in records(extract_dataset([uri], RayOptions(concurrency=1)))}
    assert got[f"local://{inputs}/corrupt.pdf"] == "error"
    assert got[f"local://{inputs}/invoice_us_cedar_ridge.pdf"] == "ok"
    assert len(got) == 5


def test_cli_job_writes_parquet_and_jsonl_and_resumes(ray_cluster, inputs: Path, tmp_path: Path) -> None:
    import pyarrow.dataset as pads

    from docvlm.pipeline import PipelineOptions

    first = [str(inputs / "invoice_us_cedar_ridge.pdf"), str(inputs / "corrupt.pdf")]
    out = tmp_path / "out_parquet"
    counts, done = run_job(first, str(out), "parquet", PipelineOptions())
    assert counts == {"ok": 1, "partial": 0, "error": 1} and done == 0
    (out / "torn.parquet").write_bytes(b"PAR1 cut short")  # what a killed writer can leave
    counts, done = run_job(
        [*first, str(inputs / "notes.pdf")], str(out), "parquet", PipelineOptions(), resume=True
    )
    assert counts == {"ok": 0, "partial": 0, "error": 1} and done == 2
    assert (out / ".torn.parquet.torn").is_file() and not (out / "torn.parquet").exists()
    assert not (tmp_path / "out_parquet.lock").exists()  # released
    table = pads.dataset(str(out), format="parquet").to_table()
    assert sorted(table.column("source").to_pylist()) == sorted([*first, str(inputs / "notes.pdf")])

    jsonl = tmp_path / "out.jsonl"
    counts, _ = run_job(first, str(jsonl), None, PipelineOptions())
    counts, done = run_job(
        [*first, str(inputs / "notes.pdf")], str(jsonl), None, PipelineOptions(), resume=True
    )
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert done == 2 and counts["error"] == 1
    assert sorted(r["source"] for r in lines) == sorted([*first, str(inputs / "notes.pdf")])
    # --retry-errors reads the error records' documents again; the new records replace the old
    counts, done = run_job(first, str(jsonl), None, PipelineOptions(), retry_errors=True)
    assert done == 3 and counts == {"ok": 0, "partial": 0, "error": 1}
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert sorted(r["source"] for r in lines) == sorted([*first, str(inputs / "notes.pdf")])
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.lock"))


def test_output_is_checked_and_locked_before_the_job(inputs: Path, tmp_path: Path) -> None:
    """The local sinks' checks: nothing runs (no Ray needed) when the output cannot be written."""
    from docvlm.errors import OutputError, OutputLocked
    from docvlm.pipeline import PipelineOptions
    from docvlm.spool import OutputLock

    src = [str(inputs / "invoice_us_cedar_ridge.pdf")]
    with pytest.raises(OutputError, match="does not exist"):
        run_job(src, str(tmp_path / "nope" / "out.jsonl"), None, PipelineOptions())
    with pytest.raises(OutputError, match="not csv"):
        run_job(src, str(tmp_path / "out.csv"), "csv", PipelineOptions())
    with pytest.raises(OutputError, match="needs JSONL"):
        run_job(src, str(tmp_path / "out_parquet"), "parquet", PipelineOptions(), retry_errors=True)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        run_job(src, str(tmp_path / "a_file"), "parquet", PipelineOptions())
    for out, fmt in ((tmp_path / "out.jsonl", None), (tmp_path / "out_parquet", "parquet")):
        lock = OutputLock(out)
        lock.acquire()
        try:
            with pytest.raises(OutputLocked):
                run_job(src, str(out), fmt, PipelineOptions())
        finally:
            lock.release()
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out_parquet").exists()


def test_cli_ray_to_stdout_and_a_locked_output(ray_cluster, inputs: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli import app
    from docvlm.spool import OutputLock

    src = str(inputs / "invoice_us_cedar_ridge.pdf")
    result = CliRunner().invoke(app, ["extract", "--ray", "--workers", "1", src, "-o", "-"])
    assert result.exit_code == 0, result.output
    (rec,) = [json.loads(line) for line in result.stdout.splitlines()]  # nothing else on stdout
    assert rec["source"] == src and rec["status"] == "ok"
    lock = OutputLock(tmp_path / "out.jsonl")
    lock.acquire()
    try:
        result = CliRunner().invoke(app, ["extract", "--ray", src, "-o", str(tmp_path / "out.jsonl")])
    finally:
        lock.release()
    assert result.exit_code == 2 and "another docvlm run" in result.stderr
