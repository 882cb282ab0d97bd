"""The CLI as a real process under kills, signals, concurrent runs and planted symlinks."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.documents import INVOICE_LINES, make_text_pdf
from tests.helpers.hostile import complaining_pdf, nested_xobject_pdf
from tests.helpers.processes import (
    NO_LIMITS,
    children,
    group_alive,
    pid_alive,
    read_jsonl,
    run_cli,
    start_cli,
    wait_for,
)


def _goods(folder: Path, n: int, prefix: str = "good") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    first = make_text_pdf(folder / f"{prefix}00.pdf", INVOICE_LINES)
    out = [first]
    for i in range(1, n):
        p = folder / f"{prefix}{i:02d}.pdf"
        p.write_bytes(first.read_bytes().replace(b"RE-2024-0042", f"RE-2024-{i:04d}".encode()))
        out.append(p)
    return out


def _no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr


def test_a_worker_killed_mid_batch_costs_no_record(tmp_path):
    goods = _goods(tmp_path / "in", 5)
    stuck = nested_xobject_pdf(tmp_path / "in" / "good01_stuck.pdf")  # sorted after good01
    out = tmp_path / "out.jsonl"
    proc = start_cli(str(tmp_path / "in"), "-o", str(out), "--workers", "1", "--doc-timeout", "5")
    partial = out.with_name("out.jsonl.partial")
    wait_for(lambda: len(read_jsonl(partial)) >= 2, 120, "the records before the stuck document")
    time.sleep(0.5)
    workers = children(proc.pid)
    assert len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)  # as the OOM killer would, mid-document
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 1, stderr  # the stuck document is an error record, nothing else
    _no_traceback(stderr)
    records = read_jsonl(out)
    assert sorted(r["source"] for r in records) == sorted(str(p) for p in [*goods, stuck])
    by_name = {Path(r["source"]).name: r for r in records}
    assert by_name[stuck.name]["error"]["type"] == "ResourceLimit"  # tried again after the kill
    assert all(by_name[p.name]["status"] == "ok" for p in goods)


def test_a_second_run_on_the_same_output_refuses_and_the_first_loses_nothing(tmp_path):
    inputs = [*_goods(tmp_path / "in", 3), nested_xobject_pdf(tmp_path / "in" / "stuck.pdf")]
    out = tmp_path / "out.jsonl"
    first = start_cli(*map(str, inputs), "-o", str(out), "--doc-timeout", "4")
    wait_for(lambda: out.with_name("out.jsonl.lock").exists(), 60, "the first run's lock")
    second = run_cli(str(inputs[0]), "-o", str(out), *NO_LIMITS)
    assert second.returncode == 2
    assert "another docvlm run" in second.stderr and str(out) in second.stderr
    _no_traceback(second.stderr)
    _, stderr = first.communicate(timeout=180)
    assert first.returncode == 1, stderr
    records = read_jsonl(out)
    assert [r["source"] for r in records] == [str(p) for p in inputs]
    assert [r["status"] for r in records] == ["ok", "ok", "ok", "error"]
    assert not out.with_name("out.jsonl.lock").exists() and not out.with_name("out.jsonl.partial").exists()


@pytest.mark.parametrize("limits", [[], NO_LIMITS], ids=["workers", "in-process"])
def test_stdout_is_pure_jsonl_when_mupdf_complains(tmp_path, limits):
    bad = complaining_pdf(tmp_path / "complains.pdf")
    good = make_text_pdf(tmp_path / "good.pdf", INVOICE_LINES)
    res = run_cli(str(bad), str(good), "-o", "-", *limits)
    lines = res.stdout.splitlines()
    assert len(lines) == 2, res.stdout
    records = [json.loads(line) for line in lines]  # every stdout line is a record
    assert [r["source"] for r in records] == [str(bad), str(good)]
    assert "MuPDF" not in res.stdout
    assert records[0]["status"] != "error"  # MuPDF repaired it: the text is read despite its complaints


def _kill_when(proc, partial: Path, at_least: int) -> None:
    wait_for(lambda: len(read_jsonl(partial)) >= at_least, 120, f"{at_least} records")
    proc.kill()
    proc.wait(timeout=30)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_kill_9_during_resume_loses_nothing_and_duplicates_nothing(tmp_path, fmt):
    inputs = _goods(tmp_path / "in", 24)
    out = tmp_path / f"out.{fmt}"
    partial = out.with_name(out.name + ".partial")
    # JSONL through a worker process (a killed parent must not leave it behind); the table formats
    # in the CLI process: their spool and resume are the same, and it keeps the test fast
    limits = [] if fmt == "jsonl" else NO_LIMITS
    first = start_cli(str(tmp_path / "in"), "-o", str(out), *limits)
    wait_for(lambda: len(read_jsonl(partial)) >= 4, 120, "4 records")
    workers = children(first.pid)
    first.kill()  # kill -9 of the main process
    first.wait(timeout=30)
    wait_for(lambda: not any(pid_alive(w) for w in workers), 5, "the orphaned workers to exit")
    kept = len(read_jsonl(partial))
    resumed = start_cli(str(tmp_path / "in"), "-o", str(out), "--resume", *limits)
    _kill_when(resumed, partial, kept + 4)  # kill -9 during --resume
    # the last run resumes with absolute paths where the others used the folder as given
    done = run_cli(*(str(p.resolve()) for p in inputs), "-o", str(out), "--resume", *limits)
    assert done.returncode == 0, done.stderr
    if fmt == "jsonl":
        sources = [r["source"] for r in read_jsonl(out)]
    else:
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        sources = list(read(out)["source"])
        items = read(out.with_name(f"out.line_items.{fmt}"))
        assert len(items) == len(inputs) and items["source"].is_unique
    assert len(sources) == len(inputs)
    assert sorted(os.path.realpath(s) for s in sources) == sorted(str(p.resolve()) for p in inputs)
    assert not partial.exists()


def test_sigterm_stops_every_process_within_5_s_and_resume_finishes(tmp_path):
    _goods(tmp_path / "in", 2)
    for i in range(2):
        nested_xobject_pdf(tmp_path / "in" / f"z{i}.pdf")
    out = tmp_path / "out.jsonl"
    partial = out.with_name("out.jsonl.partial")
    proc = start_cli(str(tmp_path / "in"), "-o", str(out), "--workers", "2", "--doc-timeout", "60")
    wait_for(lambda: len(read_jsonl(partial)) >= 2, 120, "the good records")
    time.sleep(1.0)  # both workers are now deep in a stuck document
    proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    # proc.poll() reaps the main process, which would otherwise stay a zombie of this test
    wait_for(
        lambda: proc.poll() is not None and not group_alive(proc.pid), 5, "every process of the run to exit"
    )
    stopped_in = time.monotonic() - t0
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "stopped by SIGTERM" in stderr and "--resume" in stderr
    _no_traceback(stderr)
    assert stopped_in < 5
    assert [Path(r["source"]).name for r in read_jsonl(partial)] == ["good00.pdf", "good01.pdf"]
    done = run_cli(str(tmp_path / "in"), "-o", str(out), "--resume", "--doc-timeout", "2", "--workers", "2")
    assert done.returncode == 1, done.stderr
    assert [Path(r["source"]).name for r in read_jsonl(out)] == [
        "good00.pdf",
        "good01.pdf",
        "z0.pdf",
        "z1.pdf",
    ]
