"""The CLI as a real process under kills, signals, concurrent runs and planted symlinks.

The scenarios are those of ``evaluation/reliability.py``, at sizes that keep the tests short. The
slow-marked ones repeat, through real processes, what faster tests show at the API level
(``test_runner``: worker deaths; ``test_output_safety``: symlinks, resume of every format).
"""

from __future__ import annotations

import signal

import pytest

from evaluation import reliability


@pytest.mark.slow
def test_the_hostile_batch_of_the_reliability_trial(tmp_path):
    """9-deep nested XObjects, a 1 GiB content stream, a 300-frame TIFF and good files, 2 workers."""
    timeout = 10
    res = reliability.hostile(tmp_path, timeout=timeout, max_mb=1500)
    assert res["every_input_recorded"] and res["good_ok"], res["records"]
    for name, error in res[
        "stuck"
    ].items():  # stopped by the time limit, or by the memory limit if it came first
        assert error["type"] == "ResourceLimit" and error["limit"] in ("time", "memory"), (name, error)
    assert "of 300" in res["stuck"]["frames.tif"]["message"]
    # two limits back to back on one worker, beyond what a run on one good document takes (start-up)
    assert res["over_one_document_s"] < 2 * timeout + 10, res
    assert res["under_memory_limit"] and not res["traceback"]


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_no_record(tmp_path):
    res = reliability.worker_kill(tmp_path)
    assert res["workers_killed"] == 1
    assert res["one_record_each"], res["records"]
    assert res["good_ok"]
    assert res["stuck_error"]["type"] == "ResourceLimit"  # tried again after the kill, then stopped
    assert res["returncode"] == 1 and not res["traceback"]


def test_a_second_run_on_the_same_output_refuses_and_the_first_loses_nothing(tmp_path):
    res = reliability.two_runs(tmp_path)
    assert res["second_returncode"] == 2
    assert "another docvlm run" in res["second_stderr"] and "Traceback" not in res["second_stderr"]
    assert res["first_returncode"] == 1  # its stuck document is an error record
    assert res["first_complete"], res["first_records"]
    assert res["leftovers"] == []  # no .partial, no .lock


@pytest.mark.parametrize("in_process", [False, True], ids=["workers", "in-process"])
def test_stdout_is_pure_jsonl_when_mupdf_complains(tmp_path, in_process):
    res = reliability.stdout_purity(tmp_path, in_process=in_process)
    assert res["stdout_lines"] == res["json_lines"] == 2
    assert res["sources"] == res["expected"]
    assert res["statuses"][0] != "error"  # MuPDF repaired it: the text is read despite its complaints


@pytest.mark.parametrize(
    "fmt",
    ["jsonl", pytest.param("csv", marks=pytest.mark.slow), pytest.param("parquet", marks=pytest.mark.slow)],
)
def test_kill_9_during_resume_loses_nothing_and_duplicates_nothing(tmp_path, fmt):
    # JSONL through a worker process (a killed main process must not leave it behind); the table
    # formats in the CLI process: their spool and resume are the same, and it keeps the test short
    res = reliability.resume_after_kills(tmp_path, fmt, in_process=fmt != "jsonl")
    assert res["returncode"] == 0, res["stderr"]
    assert 4 <= res["kept_after_kill"] < res["kept_after_resume_kill"] < res["inputs"]
    assert res["nothing_lost_nothing_twice"]
    assert res["records"] == res["items"] == res["inputs"]
    assert not res["partial_left"]
    assert res["orphans_gone_s"] < 5


@pytest.mark.slow
def test_sigterm_stops_every_process_within_5_s_and_resume_finishes(tmp_path):
    res = reliability.sigterm(tmp_path)
    assert res["processes_before"] == 3  # the main process and two workers
    assert res["all_gone_s"] is not None and res["all_gone_s"] < 5
    assert res["returncode"] == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in res["stderr"] and "--resume" in res["stderr"]
    assert "Traceback" not in res["stderr"]
    assert res["kept"] == ["good00.pdf", "good01.pdf"]
    assert res["resume_returncode"] == 1  # the stuck documents are error records now
    assert res["final"] == ["good00.pdf", "good01.pdf", "z0.pdf", "z1.pdf"]
