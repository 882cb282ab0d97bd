"""The benchmark's measurements: the PyMuPDF floor, the ratio to it, scan percentiles, CLI mode."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest

from docvlm.hardware import read_cpu
from evaluation.bench_data import write_copies
from evaluation.benchmark import BenchmarkResult, Floor, Machine, _tally, percentile, pymupdf_floor


def _pdf(path: Path, pages: int = 1) -> Path:
    doc = pymupdf.open()
    for i in range(pages):
        doc.new_page(width=595, height=842).insert_text((72, 72), f"Invoice page {i + 1}  Total 12.50")
    doc.save(path)
    doc.close()
    return path


def test_percentile_interpolates():
    xs = [4.0, 1.0, 3.0, 2.0]
    assert percentile(xs, 0.5) == pytest.approx(2.5)
    assert percentile(xs, 0.0) == 1.0 and percentile(xs, 1.0) == 4.0
    assert percentile(xs, 0.9) == pytest.approx(3.7)
    assert percentile([], 0.5) == 0.0


def test_floor_reads_every_page_of_the_pdfs_only(tmp_path: Path):
    a, b = _pdf(tmp_path / "a.pdf", 2), _pdf(tmp_path / "b.pdf", 3)
    (tmp_path / "c.png").write_bytes(b"not read")
    f = pymupdf_floor([a, b, tmp_path / "c.png"])
    assert (f.files, f.pages) == (2, 5) and f.seconds > 0


def test_copies_are_byte_distinct_and_read_the_same(tmp_path: Path):
    src = _pdf(tmp_path / "src.pdf", 2)
    files, pages = write_copies([src], tmp_path / "out", pages=5)
    assert (files, pages) == (3, 6)
    copies = sorted((tmp_path / "out").glob("*.pdf"))
    assert len({c.read_bytes() for c in copies}) == 3
    for c in copies:
        with pymupdf.open(c) as doc:
            assert doc.page_count == 2 and "Total 12.50" in doc[1].get_text()


def _rec(source: str, pages: int, total: float, ocr: float = 0.0, status: str = "ok") -> dict:
    timings = {"total_s": total, **({"ocr_s": ocr, "ocr_cpu_s": ocr / 2} if ocr else {})}
    return {"source": source, "pages": pages, "status": status, "timings": timings}


def test_tally_splits_born_digital_from_scans_and_the_ratio_uses_the_right_time():
    res = BenchmarkResult(
        documents=4,
        pages=0,
        errors=0,
        seconds=10.0,
        peak_rss_mb=1,
        peak_rss_children_mb=2,
        workers=2,
        ocr="rapidocr, int8 detector",
    )
    res.floor = Floor(seconds=0.5, files=2, pages=3)
    _tally(
        res,
        [
            _rec("a.pdf", 2, 1.0),
            _rec("b.pdf", 1, 0.5),
            _rec("s.jpg", 1, 3.0, ocr=2.5),
            _rec("t.png", 2, 4.0, ocr=3.5),
            _rec("bad.pdf", 0, 0.0, status="error"),
        ],
    )
    assert (res.pages, res.errors, res.text_pages, res.scan_pages) == (6, 1, 3, 3)
    assert sorted(res.scan_page_seconds) == [2.0, 3.0]
    # with scans in the batch, only the born-digital documents' own time is compared to the floor
    assert res.floor_ratio == pytest.approx(1.5 / 0.5)
    assert res.peak_rss_worker_mb == 2
    d = res.to_dict()
    assert d["scans"]["s_per_page_p50"] == 2.5 and d["scans"]["s_per_page_max"] == 3.0
    assert d["scans"]["ocr_cpu_s_per_page_max"] == pytest.approx(1.25)
    text = res.summary()
    assert "floor" in text and "p50 2.50" in text and "max 3.00" in text
    assert "(rapidocr, int8 detector)" in text and d["scans"]["ocr"] == "rapidocr, int8 detector"
    only_pdfs = BenchmarkResult(
        documents=1, pages=0, errors=0, seconds=4.0, peak_rss_mb=1, peak_rss_children_mb=0
    )
    only_pdfs.floor = Floor(seconds=0.5, files=1, pages=2)
    _tally(only_pdfs, [_rec("a.pdf", 2, 1.0)])
    assert only_pdfs.floor_ratio == pytest.approx(8.0)  # wall time, start-up and all


def test_benchmark_through_the_cli_counts_start_up(tmp_path: Path):
    from typer.testing import CliRunner

    from evaluation.cli import eval_app

    data = tmp_path / "docs"
    data.mkdir()
    _pdf(data / "a.pdf", 2)
    _pdf(data / "b.pdf")
    js = tmp_path / "bench.json"
    res = CliRunner().invoke(
        eval_app, ["benchmark", "--data", str(data), "--no-labels", "--cli", "--json", str(js)]
    )
    assert res.exit_code == 0, res.output
    m = json.loads(js.read_text())
    assert m["via_cli"] and m["documents"] == 2 and m["pages"] == 3
    assert m["floor"]["pages"] == 3 and m["floor_ratio"] > 1
    # the child process's own peak: a Python with the pipeline loaded, not this test process
    assert m["peak_rss_worker_mb"] > 30
    assert "ratio" in res.output and "start-up included" in res.output
    # the figures name the machine they were measured on
    assert m["machine"]["cores"] >= 1 and m["machine"]["cpu"] and len(m["machine"]["load"]) == 2
    assert "machine " in res.output


def test_cpu_model_and_the_features_that_move_ocr_speed_are_read_from_cpuinfo():
    info = (
        "processor\t: 0\nmodel name\t: Example CPU 9000\nflags\t\t: fpu sse2 avx2 fma avx512f\n\n"
        "processor\t: 1\nmodel name\t: Other\nflags\t\t: fpu avx512_vnni\n"
    )
    assert read_cpu(info) == ("Example CPU 9000", ("avx2", "avx512f"))
    assert read_cpu("") == ("", ())
    m = Machine(cpu="Example CPU 9000", cores=2, features=(), load=(0.5, 1.25))
    assert "none of avx2" in m.summary() and "0.50 -> 1.25" in m.summary()


def test_chooser_cost_times_born_digital_pages_after_the_first_document(tmp_path: Path):
    from docvlm.pipeline import Pipeline
    from evaluation.benchmark import chooser_cost

    paths = [_pdf(tmp_path / f"{name}.pdf") for name in "abc"]
    (tmp_path / "d.png").write_bytes(b"not a pdf: left out")
    pipe = Pipeline()
    try:
        cost = chooser_cost(pipe, [*paths, tmp_path / "d.png"])
    finally:
        pipe.close()
    assert (cost.documents, cost.pages) == (2, 2)  # the first PDF warms the process up
    assert cost.pool_s >= 0 and cost.score_s > 0
    assert cost.ms_per_page == pytest.approx(1000 * (cost.pool_s + cost.score_s) / 2)
    assert "ms CPU a page" in cost.summary()
