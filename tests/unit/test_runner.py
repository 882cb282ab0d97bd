"""The supervised runner on hostile files it builds itself: time and memory limits, dead workers."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from docvlm.pipeline import PipelineOptions
from docvlm.runner import BatchRunner, LimitOptions, _Task, _Worker, supervised
from tests.helpers.documents import INVOICE_LINES, make_text_pdf, write_huge_png
from tests.helpers.hostile import nested_xobject_pdf


def _good(tmp_path: Path, n: int) -> list[Path]:
    return [make_text_pdf(tmp_path / f"good{i}.pdf", INVOICE_LINES) for i in range(n)]


def _check_limit_record(rec: dict, *limits: str) -> None:
    assert rec["status"] == "error" and rec["data"] is None, rec
    assert rec["error"]["type"] == "ResourceLimit" and rec["error"]["limit"] in limits, rec["error"]
    assert "page 1 of" in rec["error"]["message"]  # how far it got
    assert rec["sha256"] and len(rec["sha256"]) == 64


def test_a_stuck_and_an_oversized_document_are_stopped_and_the_batch_goes_on(tmp_path):
    good = _good(tmp_path, 3)
    stuck = nested_xobject_pdf(tmp_path / "nested.pdf")
    # 81 MP: under the pixel limit; RGBA, so 324 MB decoded (a plain page is read as 81 MB of grey)
    big = write_huge_png(tmp_path / "big.png", 9000, 9000, rgba=True)
    order = [good[0], stuck, good[1], big, good[2]]
    timeout, max_mb = 15.0, 400  # a good PDF in a fresh worker must fit, also at load 40 on 2 cores
    runner = BatchRunner(
        PipelineOptions(workers=2, limits=LimitOptions(doc_timeout_s=timeout, max_worker_mb=max_mb))
    )
    t0 = time.monotonic()
    records = [ex.to_record() for ex in runner.run([str(p) for p in order])]
    elapsed = time.monotonic() - t0
    assert [r["source"] for r in records] == [str(p) for p in order]  # every input, in input order
    assert [r["status"] for r in records[::2]] == ["ok", "ok", "ok"], [r["error"] for r in records]
    # the nested XObjects grow about 11 MB a second: the time limit or the memory limit stops them,
    # whichever comes first on this machine; a failed allocation inside MuPDF counts as the memory limit
    _check_limit_record(records[1], "time", "memory")
    _check_limit_record(records[3], "memory")
    assert f"{max_mb} MB" in records[3]["error"]["message"]
    # the stuck document held the others back no longer than its limit (plus worker start-ups)
    assert elapsed < timeout + sum(runner.startup_s) + 5, (elapsed, runner.startup_s)
    # the watchdog's samples of every worker (RLIMIT_DATA keeps allocations under the limit between them)
    assert 0 < runner.peak_worker_mb < max_mb


def test_a_document_that_kills_two_workers_is_not_tried_a_third_time(tmp_path):
    good = _good(tmp_path, 2)
    once = nested_xobject_pdf(tmp_path / "killed_once.pdf")
    twice = nested_xobject_pdf(tmp_path / "killed_twice.pdf")
    opts = PipelineOptions(workers=2, limits=LimitOptions(doc_timeout_s=20, max_worker_mb=0))
    runner = BatchRunner(opts)
    kills = {str(once): 1, str(twice): 2}
    killed: list[tuple[int, str]] = []
    stop = threading.Event()

    def killer() -> None:  # plays the OOM killer: SIGKILL the worker that reads a chosen document
        while not stop.is_set():
            for pid, source in runner.busy().items():
                if kills.get(source, 0) > 0 and (pid, source) not in killed:
                    time.sleep(0.5)
                    kills[source] -= 1
                    killed.append((pid, source))
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        records = [ex.to_record() for ex in runner.run([str(good[0]), str(once), str(twice), str(good[1])])]
    finally:
        stop.set()
        thread.join()
    assert [Path(r["source"]).name for r in records] == [
        "good0.pdf",
        "killed_once.pdf",
        "killed_twice.pdf",
        "good1.pdf",
    ]
    assert records[0]["status"] == "ok" and records[3]["status"] == "ok"
    # killed once: tried again on a new worker, where it ran into its time limit
    assert records[1]["error"]["type"] == "ResourceLimit", records[1]
    # killed twice: a WorkerDied record with the signal, and no third worker spent on it
    err = records[2]["error"]
    assert err["type"] == "WorkerDied" and err["signal"] == "SIGKILL", err
    assert "twice" in err["message"]
    assert sum(1 for _, s in killed if s == str(twice)) == 2


def test_in_process_when_limits_are_off_or_an_engine_is_handed_in():
    off = PipelineOptions(limits=LimitOptions(doc_timeout_s=0, max_worker_mb=0))
    assert not supervised(off)
    assert supervised(PipelineOptions())  # the default: limits on, one child process
    assert supervised(off.model_copy(update={"workers": 2}))
    assert not supervised(PipelineOptions(), engine_injected=True)


def test_text_layer_pages_extend_the_time_limit():
    """The watchdog's deadline as a worker reports a document's pages (no process needed)."""
    runner = BatchRunner(PipelineOptions(limits=LimitOptions(doc_timeout_s=30, max_worker_mb=0)))
    out: list = []

    def allowed(kinds: list[str]) -> float:
        w = _Worker(proc=SimpleNamespace(pid=0), conn=None, spawned=0.0)  # type: ignore[arg-type]
        w.task = _Task(seq=7, source="x.pdf")
        runner._handle(w, ("start", 7), out)
        runner._handle(w, ("opened", 7, len(kinds), "sha"), out)
        for number, kind in enumerate(kinds, start=1):
            runner._handle(w, ("page", 7, number, kind), out)
        assert w.pages_done == len(kinds)
        return w.deadline - w.started

    assert allowed(["text"]) == pytest.approx(30)
    assert allowed(["text"] * 40) == pytest.approx(30 * (1 + 0.01 * 39))
    assert allowed(["ocr"] * 300) == pytest.approx(30)  # rendered and OCR'd pages earn nothing
    assert allowed(["text"] * 5000) == pytest.approx(30 * 10)  # at most ten times the limit
    assert out == []


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("doc_timeout", "max_mb"), [(0.0, 0), (120.0, 0), (0.0, 1500)])
@pytest.mark.parametrize(
    ("engine", "base_url"),
    [
        ("layout", None),
        ("openai", "http://localhost:8000/v1"),
        ("transformers", None),
        ("hybrid", None),
        ("hybrid", "http://localhost:8000/v1"),
    ],
)
def test_the_cli_starts_its_worker_early_exactly_when_the_run_is_supervised(
    workers, doc_timeout, max_mb, engine, base_url
):
    # the CLI decides from its raw flags, before the options exist; the runner from the options
    from cli import EngineKind, _local_model, build_engine_options
    from docvlm.spawn import runs_in_workers

    kind = EngineKind(engine)
    model = "Qwen/Qwen2.5-VL-3B-Instruct" if engine in ("transformers", "hybrid") else "served"
    options = PipelineOptions(
        engine=build_engine_options(kind, model if engine != "layout" else None, base_url),
        workers=workers,
        limits=LimitOptions(doc_timeout_s=doc_timeout, max_worker_mb=max_mb),
    )
    early = runs_in_workers(workers, doc_timeout > 0 or max_mb > 0, _local_model(kind, base_url))
    assert early == supervised(options)
    # a local model (transformers, or hybrid without a server) runs in this process
    local = engine == "transformers" or (engine == "hybrid" and base_url is None)
    assert early == ((workers > 1 or doc_timeout > 0 or max_mb > 0) and not local)
